"""Read a patient-event file (CSV, long format; or YAML) into events and problems.

This module checks each row on its own (dates, required fields, allowed values,
units). Checks across rows (registration, death followed by events, start date...)
live in :mod:`rtcheck.events.validate`. Nothing is dropped silently: every row that
cannot be used becomes a problem naming the patient, the row (line number in the
CSV, entry number in YAML) and the field, and saying what to do.

The format is documented in ``fixtures/cohort/README.md``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from rtcheck.errors import EventDataError
from rtcheck.events.schema import (
    CLAVIEN_DINDO_GRADES,
    CTCAE_GRADES,
    PSA_UNITS,
    ClinicalProgression,
    Covariate,
    Death,
    DeathCause,
    Event,
    EventType,
    GradeSystem,
    LastFollowUp,
    Metastasectomy,
    Modality,
    NestReason,
    NestStart,
    ProgressionSite,
    PsaValue,
    Radiotherapy,
    Registration,
    TestosteroneValue,
    Toxicity,
)
from rtcheck.findings import Finding, Severity

REQUIRED_COLUMNS = ("patient_id", "event_type", "date")
OPTIONAL_COLUMNS = (
    "value", "unit", "modality", "course", "site", "reason", "cause", "term",
    "grade", "grade_system", "resolution_date", "covariate", "comment",
)
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


@dataclass(frozen=True)
class RawRow:
    """One row of the file: its line number and its non-empty cells (stripped)."""

    row: int
    cells: Mapping[str, str]

    def get(self, name: str) -> str:
        return self.cells.get(name, "")

    def key(self) -> tuple[tuple[str, str], ...]:
        """Identity for duplicate detection (every cell except ``comment``)."""
        return tuple(sorted((k, v) for k, v in self.cells.items() if k != "comment"))


@dataclass
class ParsedEvents:
    """What the reader got out of a file, before cross-row validation."""

    path: str
    events: list[Event] = field(default_factory=list)
    covariates: list[Covariate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def problem(patient_id: str, row: int | None, column: str, what: str) -> str:
    """Format one problem: patient, row, field, what is wrong and what to do."""
    where = f", row {row}" if row else ""
    return f"patient {patient_id or '?'}{where}, field '{column}': {what}"


class _RowError(Exception):
    def __init__(self, column: str, what: str):
        super().__init__(what)
        self.column = column
        self.what = what


def parse_date(text: str, column: str = "date") -> date:
    """Parse an ISO ``YYYY-MM-DD`` date; anything else is refused (no guessing of day/month)."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise _RowError(column, f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def _number(row: RawRow, column: str = "value") -> float:
    text = row.get(column)
    if not text:
        raise _RowError(column, "missing; give a number")
    try:
        value = float(text)
    except ValueError:
        raise _RowError(column, f"{text!r} is not a number; give a number") from None
    if not math.isfinite(value):
        raise _RowError(column, f"{text!r} is not a finite number")
    return value


def _choice(row: RawRow, column: str, enum: Any) -> Any:
    text = row.get(column)
    allowed = ", ".join(m.value for m in enum)
    if not text:
        raise _RowError(column, f"missing for a {row.get('event_type')} row; use one of {allowed}")
    for member in enum:
        if member.value.casefold() == text.casefold():
            return member
    raise _RowError(column, f"{text!r} is not allowed; use one of {allowed}")


def _course(row: RawRow) -> int:
    text = row.get("course")
    if not text:
        return 1
    if not text.isdigit() or int(text) < 1:
        raise _RowError("course", f"{text!r} is not a course number; use 1 (protocol MDT), 2, ...")
    return int(text)


def _psa(row: RawRow, base: dict[str, Any]) -> Event:
    value = _number(row)
    unit = row.get("unit")
    if not unit:
        raise _RowError("unit", "PSA unit missing; write ng/mL (or µg/L)")
    if unit.casefold() not in PSA_UNITS:
        raise _RowError("unit", f"PSA unit {unit!r} not accepted; convert the value to ng/mL")
    if value < 0:
        raise _RowError("value", f"PSA {value} is negative; correct the value")
    return PsaValue(**base, psa_ng_ml=value * PSA_UNITS[unit.casefold()])


def _testosterone(row: RawRow, base: dict[str, Any]) -> Event:
    value = _number(row)
    unit = row.get("unit")
    if not unit:
        raise _RowError("unit", "testosterone unit missing; write ng/dL or nmol/L")
    if unit.casefold() not in ("ng/dl", "nmol/l"):
        raise _RowError("unit", f"testosterone unit {unit!r} not accepted; use ng/dL or nmol/L")
    if value < 0:
        raise _RowError("value", f"testosterone {value} is negative; correct the value")
    return TestosteroneValue(**base, value=value, unit=unit)


def _toxicity(row: RawRow, base: dict[str, Any]) -> Event:
    term = row.get("term")
    if not term:
        raise _RowError("term", "missing; give the CTCAE v4.0 term (or the complication)")
    system = _choice(row, "grade_system", GradeSystem)
    grade = row.get("grade")  # enumerated values match case-insensitively (README): iiia -> IIIa
    scale = CTCAE_GRADES if system is GradeSystem.CTCAE else CLAVIEN_DINDO_GRADES
    grade = next((g for g in scale if g.casefold() == grade.casefold()), grade)
    try:
        resolution = parse_date(row.get("resolution_date"), "resolution_date") \
            if row.get("resolution_date") else None
        return Toxicity(**base, term=term, grade=grade, grade_system=system,
                        resolution_date=resolution)
    except ValueError as exc:
        col = "resolution_date" if "resolution" in str(exc) else "grade"
        raise _RowError(col, f"{exc}; correct it") from None


_BUILDERS: dict[EventType, Callable[[RawRow, dict[str, Any]], Event]] = {
    EventType.REGISTRATION: lambda r, b: Registration(**b),
    EventType.RT_FRACTION: lambda r, b: Radiotherapy(
        **b, modality=_choice(r, "modality", [Modality.SBRT, Modality.FRACTIONATED]),
        course=_course(r)),
    EventType.RT_END: lambda r, b: Radiotherapy(
        **b, modality=_choice(r, "modality", [Modality.SBRT, Modality.FRACTIONATED]),
        is_last_day=True, course=_course(r)),
    EventType.METASTASECTOMY: lambda r, b: Metastasectomy(**b, course=_course(r)),
    EventType.NEST: lambda r, b: NestStart(**b, reason=_choice(r, "reason", NestReason)),
    EventType.PROGRESSION: lambda r, b: ClinicalProgression(
        **b, site=_choice(r, "site", ProgressionSite)),
    EventType.DEATH: lambda r, b: Death(**b, cause=_choice(r, "cause", DeathCause)),
    EventType.LAST_FOLLOWUP: lambda r, b: LastFollowUp(**b),
    EventType.PSA: _psa,
    EventType.TESTOSTERONE: _testosterone,
    EventType.TOXICITY: _toxicity,
}


def _convert(row: RawRow, out: ParsedEvents) -> None:
    pid = row.get("patient_id")
    if not pid:
        out.problems.append(problem("?", row.row, "patient_id", "missing; every row needs one"))
        return
    type_text = row.get("event_type")
    try:
        etype = EventType(type_text.casefold())
    except ValueError:
        allowed = ", ".join(t.value for t in EventType)
        out.problems.append(problem(pid, row.row, "event_type",
                                    f"{type_text!r} is not an event type; use one of {allowed}"))
        return
    try:
        if etype is EventType.COVARIATE:
            name = row.get("covariate")
            if not name:
                raise _RowError("covariate", "covariate name missing; e.g. age_years")
            out.covariates.append(Covariate(pid, name, _number(row), row.row))
            return
        if not row.get("date"):
            raise _RowError("date", f"missing for a {etype.value} row; give YYYY-MM-DD")
        base = {"patient_id": pid, "event_date": parse_date(row.get("date")), "row": row.row}
        out.events.append(_BUILDERS[etype](row, base))
    except _RowError as exc:
        out.problems.append(problem(pid, row.row, exc.column, exc.what))
    except ValueError as exc:  # a dataclass refused a value the row checks let through
        out.problems.append(problem(pid, row.row, "value", f"{exc}; correct the row"))


#: (header, rows, problems) of a file
_Rows = tuple[list[str], list[RawRow], list[str]]


def _csv_rows(path: Path) -> _Rows:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise EventDataError("the event file is empty; see fixtures/cohort/README.md",
                                 path=path) from None
        twice = sorted({h for h in header if h and header.count(h) > 1})
        if twice:
            raise EventDataError(f"column(s) {', '.join(twice)} appear more than once in the "
                                 "header; keep one of each", path=path)
        rows: list[RawRow] = []
        problems: list[str] = []
        for cells in reader:
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            mapping = {h: c.strip() for h, c in zip(header, cells, strict=False) if c.strip()}
            if any(c.strip() for c in cells[len(header):]):  # never drop a cell silently
                problems.append(problem(mapping.get("patient_id", ""), reader.line_num, "value",
                                        f"{len(cells)} cells but the header has {len(header)} "
                                        "columns (more cells than columns; a decimal comma or "
                                        "an unquoted comma?); use '.' and quote text"))
                continue
            rows.append(RawRow(reader.line_num, mapping))
    return header, rows, problems


def _yaml_rows(path: Path) -> _Rows:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        where = " ".join(str(exc).split())
        raise EventDataError(f"not valid YAML ({where}); see fixtures/cohort/README.md",
                             path=path) from None
    entries = doc.get("events") if isinstance(doc, dict) else doc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise EventDataError("YAML event file must be a list of mappings (or 'events:' list); "
                             "see fixtures/cohort/README.md", path=path)
    header: list[str] = sorted({str(k) for e in entries for k in e})
    rows: list[RawRow] = []
    problems: list[str] = []
    for i, e in enumerate(entries, start=1):
        pid = e.get("patient_id")
        if pid is not None and not isinstance(pid, str):  # YAML reads 0012 as the integer 10
            problems.append(problem(str(pid), i, "patient_id",
                                    f"{pid!r} was read by YAML as a {type(pid).__name__}, not "
                                    "as text; quote it, e.g. patient_id: '0012'"))
            continue
        rows.append(RawRow(i, {str(k): _yaml_cell(v) for k, v in e.items() if _yaml_cell(v)}))
    return header, rows, problems


def _yaml_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_event_file(path: str | Path) -> ParsedEvents:
    """Read ``path`` (``.csv``, ``.yaml``/``.yml``) into events, covariates and problems.

    Raises
    ------
    EventDataError
        Only when the file as a whole is unusable (missing, empty, not UTF-8, missing or
        repeated columns);
        row problems are collected in ``ParsedEvents.problems``.
    """
    path = Path(path)
    if not path.is_file():
        raise EventDataError("event file not found; give the path of a CSV or YAML file",
                             path=path)
    try:
        header, rows, problems = (_yaml_rows(path) if path.suffix.casefold() in (".yaml", ".yml")
                                  else _csv_rows(path))
    except UnicodeDecodeError as exc:
        raise EventDataError(f"not UTF-8 text (byte {exc.start}: {exc.reason}); save the file "
                             "as UTF-8", path=path) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise EventDataError(f"required column(s) missing: {', '.join(missing)}; "
                             "see fixtures/cohort/README.md", path=path)
    out = ParsedEvents(str(path), problems=problems)
    unknown = [c for c in header if c not in ALL_COLUMNS]
    if unknown:
        out.findings.append(Finding(
            "UNKNOWN_COLUMN", Severity.WARNING,
            f"column(s) {', '.join(unknown)} are not part of the format and were ignored",
            path=str(path)))
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    for row in rows:
        first = seen.setdefault(row.key(), row.row)
        if first != row.row:
            pid = row.get("patient_id") or "?"
            out.findings.append(Finding(
                "DUPLICATE_ROW", Severity.WARNING,
                f"row {row.row} repeats row {first} exactly; it was counted once — "
                "delete the duplicate", path=str(path), subject=pid))
            continue
        _convert(row, out)
    return out
