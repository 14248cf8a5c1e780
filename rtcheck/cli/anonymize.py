"""``rtcheck anonymize IN_DIR OUT_DIR``: de-identify a DICOM-RT export, keyed and verified.

Exit codes: 0 written and verified; 2 usage error (no key, OUT_DIR inside IN_DIR, a
non-empty OUT_DIR without ``--overwrite``, a patient map inside OUT_DIR...); 3 unreadable
input, or the verification failed (an identifier survived, or a link differs) — nothing
is written then.
"""

from __future__ import annotations

import click

from rtcheck.audit.anonymize import KEY_ENV, load_key
from rtcheck.cli.output import emit
from rtcheck.deid import anonymize_tree  # imports pydicom before the group's logging set-up


@click.command()
@click.argument("in_dir", type=click.Path(file_okay=False, path_type=str))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--key", "key_file", default=None, type=click.Path(dir_okay=False),
              help=f"File holding the secret key (at least 16 bytes); else ${KEY_ENV}.")
@click.option("--patient-map", default=None, type=click.Path(dir_okay=False),
              help="Write original PatientID/PatientName -> pseudonym (and date offset) to "
                   "this CSV; it re-identifies: keep it outside OUT_DIR, at the hospital.")
@click.option("--overwrite", is_flag=True,
              help="Replace the contents of a non-empty OUT_DIR (and an existing map).")
def anonymize(in_dir: str, out_dir: str, key_file: str | None, patient_map: str | None,
              overwrite: bool) -> None:
    """De-identify every DICOM file under IN_DIR into OUT_DIR (PS3.15 Annex E).

    Basic Application Level Confidentiality Profile with modified dates (one keyed
    whole-day offset per patient: fraction gaps unchanged), keyed consistent UIDs,
    keyed patient pseudonyms, private elements removed, structure names and dosimetric
    content kept. OUT_DIR is verified before it appears: no original identifier in any
    element, and plan, dose, structures, records and CT link as in IN_DIR.
    """
    key = load_key(key_file, option="--key", needed_by="rtcheck anonymize")
    result = anonymize_tree(in_dir, out_dir, key, overwrite=overwrite,
                            patient_map=patient_map)
    for line in result.file_lines():
        click.echo(line, err=True)
    emit(result.summary())
