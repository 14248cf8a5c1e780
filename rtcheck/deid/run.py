"""``anonymize_tree``: IN_DIR → OUT_DIR, de-identified, verified, all or nothing.

Steps: read every input file once (patients, identifiers, links); write each file
de-identified into a temporary folder beside OUT_DIR; copy the YAML configuration files
(``rtcheck.yaml``, alias files) as data, without their comments; verify the temporary
folder (:mod:`rtcheck.deid.verify`, which loads IN_DIR as rtcheck sees it); write the
patient map if asked; rename the folder to OUT_DIR.
Any failure removes the temporary folder (:mod:`rtcheck.deid.output`).

Output names carry no input name: ``<Modality>.<keyed SOPInstanceUID>.dcm`` in the same
sub-folders as in IN_DIR, except that a sub-folder whose name holds an identifier is
renamed ``folder-<keyed hash>``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from rtcheck.deid.identifiers import Identifiers
from rtcheck.deid.keys import KeyedMapper
from rtcheck.deid.output import (
    check_paths,
    make_temporary,
    move_into_place,
    remove_temporary,
    write_patient_map,
)
from rtcheck.deid.sources import SourceFile, patients, read_dataset, read_source
from rtcheck.deid.transform import Counts, Patient, Transformer
from rtcheck.deid.verify import compare_links, load_reference, scan_file, scan_text
from rtcheck.dicom.model import LoadResult
from rtcheck.dicom.scan import iter_files, sniff
from rtcheck.errors import InputError
from rtcheck.rules.plan_config import FILENAME as CONFIG_FILENAME

#: non-DICOM files copied (rtcheck's configuration beside a plan); all others are skipped
COPIED_SUFFIXES = (".yaml", ".yml")
#: Media Storage Directory Storage: a DICOMDIR, skipped (it names the input's file paths)
DICOMDIR = "1.2.840.10008.1.3.10"


class VerificationError(InputError):
    """The written output still holds an identifier, or its links differ (exit 3)."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass
class AnonymizeResult:
    """What :func:`anonymize_tree` did."""

    out_dir: Path
    #: (input path relative to IN_DIR, output path relative to OUT_DIR, modality)
    files: list[tuple[Path, Path, str]] = field(default_factory=list)
    copied: list[tuple[Path, Path]] = field(default_factory=list)
    #: (input path relative to IN_DIR, why it was not copied)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    patients: int = 0
    cases: int = 0
    #: the loader's error when rtcheck cannot load the input (the output must fail alike)
    unloadable: str | None = None
    counts: Counts = field(default_factory=Counts)
    patient_map: Path | None = None

    def file_lines(self) -> list[str]:
        """One line per input file, for stderr."""
        lines = [f"anonymize: {src} -> {dst} ({modality or 'DICOM'})"
                 for src, dst, modality in self.files]
        lines += [f"anonymize: {src} -> {dst} (YAML data copied, comments dropped)"
                  for src, dst in self.copied]
        lines += [f"anonymize: {src} skipped ({why})" for src, why in self.skipped]
        return lines

    def summary(self) -> str:
        """The result line for stdout."""
        links = (f"{self.cases} case(s) linked as in the input" if self.unloadable is None
                 else f"rtcheck refuses input and output alike ({self.unloadable})")
        text = (f"anonymized {len(self.files)} file(s) into {self.out_dir}: "
                f"{self.patients} patient(s), dates shifted by whole weeks, {links}, "
                "no original identifier found")
        if self.counts.dates_emptied:
            text += f"; {self.counts.dates_emptied} unreadable date(s) emptied"
        if self.patient_map is not None:
            text += f"; patient map: {self.patient_map}"
        return text


@dataclass
class _Plan:
    """What will be written where, decided before writing."""

    sources: list[SourceFile]
    #: YAML file → its data as written (comments dropped)
    yaml: dict[Path, str]
    skipped: list[tuple[Path, str]]
    ids: Identifiers
    targets: dict[Path, Path]


def _discover(src: Path, mapper: KeyedMapper) -> _Plan:
    dicom: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    yaml: dict[Path, str] = {}
    for path in iter_files([src]):
        text = _yaml_data(path) if path.suffix.lower() in COPIED_SUFFIXES else None
        if sniff(path) is not None:
            dicom.append(path)
        elif text is not None:
            yaml[path] = text
        else:
            skipped.append((path, "not DICOM and not a YAML configuration file"))
    if not dicom:
        raise InputError("no DICOM file found; check the path", path=src)
    ids = Identifiers()
    sources = []
    for source in (read_source(p, src, ids) for p in dicom):
        if source.sop_class_uid == DICOMDIR:
            skipped.append((source.path, "a DICOMDIR: its file references would not match the "
                                         "renamed files"))
        else:
            sources.append(source)
    ids.finish()
    targets: dict[Path, Path] = {}
    for source in sources:
        folder = _folder(source.rel.parent, ids, mapper)
        uid = mapper.uid(source.sop_instance_uid or str(source.rel))
        stem = f"{source.modality or 'DICOM'}.{uid}"
        target, n = folder / f"{stem}.dcm", 1
        while target in targets.values():
            n += 1
            target = folder / f"{stem}-{n}.dcm"
        targets[source.path] = target
    for path in yaml:
        rel = path.relative_to(src)
        targets[path] = _folder(rel.parent, ids, mapper) / rel.name
    return _Plan(sources, yaml, skipped, ids, targets)


def _folder(rel: Path, ids: Identifiers, mapper: KeyedMapper) -> Path:
    parts = [mapper.folder_name(p) if ids.find_in_text(p) else p for p in rel.parts]
    return Path(*parts) if parts else Path()


def _yaml_data(path: Path) -> str | None:
    """A YAML file as data only (comments are free text, as the profile's comments);
    None when it is not YAML."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _write(plan: _Plan, tmp: Path, people: dict[Path, Patient],
           transformer: Transformer) -> None:
    for source in plan.sources:
        ds = read_dataset(source.path, defer=False)
        transformer.anonymize(ds, people[source.path])
        target = tmp / plan.targets[source.path]
        target.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.save_as(target)
    for path, text in plan.yaml.items():
        target = tmp / plan.targets[path]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _own_values(people: dict[Path, Patient]) -> frozenset[str]:
    from rtcheck.deid.transform import METHOD, METHOD_CODES

    own = {"ANONYMIZED", "YES", "MODIFIED", "DCM", *METHOD}
    own |= {code for pair in METHOD_CODES for code in pair}
    own |= {p.pseudonym_id for p in people.values()} | {p.pseudonym_name for p in people.values()}
    return frozenset(own)


def _verify(plan: _Plan, src: Path, tmp: Path, people: dict[Path, Patient],
            mapper: KeyedMapper, shown: str) -> tuple[list[str], LoadResult | InputError]:
    own = _own_values(people)
    problems: list[str] = []
    for source in plan.sources:
        target = plan.targets[source.path]
        problems += scan_file(tmp / target, str(target), plan.ids, own, source.dates)
    for path, text in plan.yaml.items():
        problems += scan_text(str(plan.targets[path]), text, plan.ids)
    names = {part for t in plan.targets.values() for part in t.parent.parts}
    names |= {plan.targets[p].name for p in plan.yaml} - {CONFIG_FILENAME}
    for name in sorted(names):
        problems += scan_text(f"the output name {name!r}", name, plan.ids)
    reference = load_reference(src)
    problems += compare_links(reference, tmp, mapper.uid, shown)
    return problems, reference


def anonymize_tree(in_dir: str | Path, out_dir: str | Path, key: bytes, *,
                   overwrite: bool = False,
                   patient_map: str | Path | None = None) -> AnonymizeResult:
    """De-identify every DICOM file under ``in_dir`` into ``out_dir`` and verify it.

    Raises :class:`~rtcheck.errors.UsageError` for refused paths (OUT_DIR inside IN_DIR,
    non-empty without ``overwrite``, a map inside OUT_DIR...), :class:`VerificationError`
    when the output would still hold an identifier or link differently, and
    :class:`~rtcheck.errors.InputError` for unreadable input; nothing is left written then.
    """
    src, dest, map_path = check_paths(Path(in_dir), Path(out_dir), overwrite=overwrite,
                                      patient_map=Path(patient_map) if patient_map else None)
    mapper = KeyedMapper(key)
    plan = _discover(src, mapper)
    people = patients(plan.sources, mapper)
    transformer = Transformer(mapper)
    tmp = make_temporary(dest)
    map_written = False
    try:
        _write(plan, tmp, people, transformer)
        problems, reference = _verify(plan, src, tmp, people, mapper, str(out_dir))
        if problems:
            raise VerificationError(
                f"{out_dir}: verification failed, nothing was written: {problems[0]} "
                f"({len(problems)} problem(s); fix the input or report it)", problems)
        if map_path is not None:
            map_existed = map_path.exists()
            write_patient_map(map_path, _map_rows(plan.sources, people), overwrite=overwrite)
            map_written = not map_existed
        move_into_place(tmp, dest)
    except BaseException:
        remove_temporary(tmp)
        if map_written and map_path is not None:
            map_path.unlink(missing_ok=True)
        raise
    return AnonymizeResult(
        out_dir=Path(out_dir),
        files=[(s.rel, plan.targets[s.path], s.modality) for s in plan.sources],
        copied=[(p.relative_to(src), plan.targets[p]) for p in plan.yaml],
        skipped=[(p.relative_to(src), why) for p, why in plan.skipped],
        patients=len({p.pseudonym_id or p.pseudonym_name for p in people.values()}),
        cases=0 if isinstance(reference, InputError) else len(reference.cases),
        unloadable=type(reference).__name__ if isinstance(reference, InputError) else None,
        counts=transformer.counts, patient_map=map_path)


def _map_rows(sources: list[SourceFile],
              people: dict[Path, Patient]) -> list[tuple[str, str, str, str, int]]:
    return [(s.patient_id, s.patient_name, people[s.path].pseudonym_id,
             people[s.path].pseudonym_name, people[s.path].offset_days) for s in sources]
