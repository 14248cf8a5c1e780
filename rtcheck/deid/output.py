"""Where the output goes: path checks, the temporary folder, the move into place, the map.

Nothing is ever written into IN_DIR; OUT_DIR may neither be IN_DIR nor lie inside it, nor
contain it. Everything is written into a temporary folder beside OUT_DIR
(``.OUT.*.rtcheck-tmp``), verified there and then renamed to OUT_DIR (an existing
OUT_DIR, empty or replaced under ``--overwrite``, is swapped out the same way); on any
failure the temporary folder is removed, so OUT_DIR is either complete and verified or
untouched.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from rtcheck.atomic import write_text_atomic
from rtcheck.errors import InputError, UsageError


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_paths(in_dir: Path, out_dir: Path, *, overwrite: bool,
                patient_map: Path | None) -> tuple[Path, Path, Path | None]:
    """Resolved IN_DIR, OUT_DIR and map path; refuse everything that could write wrongly."""
    src, dest = in_dir.resolve(), out_dir.resolve()
    if not src.is_dir():
        raise InputError("no such folder; check the path", path=in_dir)
    if _inside(dest, src) or _inside(src, dest):
        raise UsageError(f"{out_dir}: OUT_DIR must lie outside IN_DIR {in_dir} (and not "
                         "contain it): rtcheck never writes into its input")
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{out_dir} exists and is not a folder; choose another OUT_DIR")
    if dest.is_dir() and any(dest.iterdir()) and not overwrite:
        raise UsageError(f"{out_dir} exists and is not empty; give --overwrite to replace "
                         "its contents")
    mapped = None
    if patient_map is not None:
        mapped = patient_map.resolve()
        if _inside(mapped, dest) or _inside(mapped, src):
            raise UsageError(f"--patient-map {patient_map}: the map re-identifies the "
                             "patients; write it outside OUT_DIR and IN_DIR")
        if mapped.exists() and not overwrite:
            raise UsageError(f"--patient-map {patient_map} exists; give --overwrite to "
                             "replace it")
        if not mapped.parent.is_dir():
            raise UsageError(f"--patient-map {patient_map}: the folder {mapped.parent} "
                             "does not exist; create it first")
    return src, dest, mapped


def make_temporary(dest: Path) -> Path:
    """The temporary folder beside OUT_DIR, with the permissions of a normal folder.

    Missing parent folders of OUT_DIR are created (like ``mkdir -p``).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".rtcheck-tmp",
                                dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    return tmp


def move_into_place(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``; an existing ``dest`` is swapped out, then removed."""
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".rtcheck-old",
                                dir=dest.parent))
    os.rmdir(old)
    os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def remove_temporary(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        shutil.rmtree(tmp)


MAP_COLUMNS = ("patient_id", "patient_name", "pseudonym_id", "pseudonym_name",
               "date_offset_days")


def write_patient_map(path: Path, rows: Iterable[tuple[str, str, str, str, int]],
                      *, overwrite: bool) -> Path:
    """The re-identification table (CSV), written atomically. Keep it at the hospital."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(MAP_COLUMNS)
    writer.writerows(sorted(set(rows)))
    return write_text_atomic(path, text.getvalue(), overwrite=overwrite)
