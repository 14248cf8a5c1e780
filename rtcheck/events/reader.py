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
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import yaml

from rtcheck.errors import EventDataError
from rtcheck.events.fields import (
    BUILDERS,
    RawRow,
    RowError,
    is_not_nest,
    number,
    parse_event_date,
    psa_event,
)
from rtcheck.events.schema import (
    Covariate,
    Event,
    EventType,
)
from rtcheck.findings import Finding, Severity

REQUIRED_COLUMNS = ("patient_id", "event_type", "date")
OPTIONAL_COLUMNS = (
    "value", "unit", "lod", "modality", "course", "surgery", "site", "reason", "drug",
    "decision_date", "cause", "result", "term", "grade", "grade_system", "resolution_date",
    "covariate", "comment",
)
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


@dataclass
class ParsedEvents:
    """What the reader got out of a file, before cross-row validation."""

    path: str
    events: list[Event] = field(default_factory=list)
    covariates: list[Covariate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: id(finding) -> (row date, message to use when the row is after the cut-off)
    row_notes: dict[int, tuple[date, str]] = field(default_factory=dict)

    def findings_at(self, cutoff: date) -> list[Finding]:
        """``findings``, with the row notes of rows after ``cutoff`` saying they are not used."""
        out = []
        for f in self.findings:
            day, after = self.row_notes.get(id(f), (cutoff, ""))
            out.append(replace(f, message=after) if day > cutoff else f)
        return out


def problem(patient_id: str, row: int | None, column: str, what: str) -> str:
    """Format one problem: patient, row, field, what is wrong and what to do."""
    where = f", row {row}" if row else ""
    return f"patient {patient_id or '?'}{where}, field '{column}': {what}"


#: appended to a row note (DATE_IMPUTED, NEST_NOT_SYSTEMIC, PSA_BELOW_LOD) of a row dated after
#: the cut-off: the data manager fixes it anyway, but the analysis does not use the row
AFTER_CUTOFF = " (after the cut-off, not used)"


def _note(out: ParsedEvents, code: str, severity: Severity, pid: str, row: RawRow,
          what: str, day: date, what_after: str | None = None) -> None:
    """A row note; ``what_after``: its text when the row is after the cut-off (+ AFTER_CUTOFF)."""
    finding = Finding(code, severity, f"row {row.row}: {what}", path=out.path, subject=pid)
    out.findings.append(finding)
    out.row_notes[id(finding)] = (day, f"row {row.row}: {what_after or what}{AFTER_CUTOFF}")


def _build(row: RawRow, etype: EventType, pid: str, out: ParsedEvents) -> None:
    """Build a dated event, appending it (or the findings that say why it is not used)."""
    if not row.get("date"):
        raise RowError("date", f"missing for a {etype.value} row; give YYYY-MM-DD")
    day, imputed = parse_event_date(row.get("date"))
    base = {"patient_id": pid, "event_date": day, "row": row.row}
    event: Event
    if etype is EventType.PSA:
        event, note = psa_event(row, base)
        if note:
            _note(out, "PSA_BELOW_LOD", Severity.INFO, pid, row, note, day,
                  note.replace(": used as", ": read as"))
    else:
        event = BUILDERS[etype](row, base)
    if imputed:
        _note(out, "DATE_IMPUTED", Severity.WARNING, pid, row, imputed, day)
    if is_not_nest(event):
        what = (f"nest with drug {row.get('drug')!r} alone is not next-line systemic treatment "
                "(protocol: denosumab is not NEST)")
        _note(out, "NEST_NOT_SYSTEMIC", Severity.WARNING, pid, row, f"{what}; not used", day,
              what)
        return
    out.events.append(event)


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
                raise RowError("covariate", "covariate name missing; e.g. age_years")
            out.covariates.append(Covariate(pid, name, number(row), row.row))
            return
        _build(row, etype, pid, out)
    except RowError as exc:
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
