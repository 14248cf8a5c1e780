"""Row-level parsing of the event file: one row's cells into one event (or a row error).

Used by :mod:`rtcheck.events.reader`, which adds the file-level checks. Every rule here
is documented in ``fixtures/cohort/README.md``.

* Dates are ISO ``YYYY-MM-DD``. In the ``date`` column a partial date is accepted and
  imputed, with a ``DATE_IMPUTED`` warning: ``YYYY-MM`` -> day 15 of that month,
  ``YYYY`` -> 1 July of that year (the middle of the unknown period, so that the
  imputation error is at most half a month / half a year either way). Day/month order
  is never guessed (``03/04/2021``, ``2020-1-5`` stay errors).
* PSA below the limit of detection: ``value`` ``<0.1``, or ``value`` empty (or ``<LOD``)
  with the limit in the ``lod`` column; stored as a censored-low value (``below_lod``).
  A number below the row's ``lod`` is taken as ``<lod`` (``PSA_BELOW_LOD``, info).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from rtcheck.events.schema import (
    CLAVIEN_DINDO_GRADES,
    CTCAE_GRADES,
    PSA_UNITS,
    ClinicalProgression,
    Death,
    DeathCause,
    Event,
    EventType,
    GradeSystem,
    Imaging,
    ImagingModality,
    ImagingResult,
    LastFollowUp,
    Metastasectomy,
    Modality,
    NestReason,
    NestStart,
    OffStudy,
    ProgressionSite,
    PsaValue,
    Radiotherapy,
    Registration,
    SurgeryKind,
    TestosteroneValue,
    Toxicity,
)

#: Partial dates of the ``date`` column: imputed day (15) and month-day (1 July).
IMPUTED_DAY = 15
IMPUTED_MONTH_DAY = (7, 1)
_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_ISO_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Drugs that are not next-line systemic treatment on their own (protocol, "Inclusion
#: criteria": "Denosumab is allowed but not considered as second-line systemic treatment").
NOT_NEST_DRUGS = frozenset({"denosumab"})


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


class RowError(Exception):
    """A problem of one field of one row."""

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
        if _ISO_SHAPE.fullmatch(text):
            raise RowError(column, f"{text!r} does not exist (day or month out of range); "
                                   "correct it from the source document") from None
        raise RowError(column, f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def parse_event_date(text: str) -> tuple[date, str | None]:
    """The ``date`` column: a full date, or a partial one imputed (with the note to report)."""
    m = _PARTIAL.match(text)
    if not m:
        return parse_date(text), None
    year, month = int(m.group(1)), m.group(2)
    try:
        day = (date(year, int(month), IMPUTED_DAY) if month
               else date(year, *IMPUTED_MONTH_DAY))
    except ValueError:
        raise RowError("date", f"{text!r} does not exist (month out of range); correct it "
                               "from the source document") from None
    rule = "day 15" if month else "1 July"
    return day, (f"partial date {text!r} imputed as {day} ({rule}); give the full date "
                 "if the CRF has it")


def number(row: RawRow, column: str = "value") -> float:
    text = row.get(column)
    if not text:
        raise RowError(column, "missing; give a number")
    try:
        value = float(text)
    except ValueError:
        comma = " with '.' as the decimal mark" if "," in text else ""
        raise RowError(column, f"{text!r} is not a number; give a number{comma}") from None
    if not math.isfinite(value):
        raise RowError(column, f"{text!r} is not a finite number; give the measured value "
                               "(or leave the row out if there is none)")
    return value


def choice(row: RawRow, column: str, enum: Any, required: bool = True) -> Any:
    text = row.get(column)
    allowed = ", ".join(m.value for m in enum)
    if not text:
        if not required:
            return None
        raise RowError(column, f"missing for a {row.get('event_type')} row; use one of {allowed}")
    for member in enum:
        if member.value.casefold() == text.casefold():
            return member
    raise RowError(column, f"{text!r} is not allowed; use one of {allowed}")


def _course(row: RawRow) -> int:
    text = row.get("course")
    if not text:
        return 1
    if not text.isdigit() or int(text) < 1:
        raise RowError("course", f"{text!r} is not a course number; use 1 (protocol MDT), 2, ...")
    return int(text)


def _psa_value(row: RawRow) -> tuple[float, bool, str | None]:
    """(value or limit, below the limit?, note) of a PSA row (see the module docstring)."""
    text, lod_text = row.get("value"), row.get("lod")
    lod = number(row, "lod") if lod_text else None
    if lod is not None and lod <= 0:
        raise RowError("lod", f"limit of detection {lod_text!r} must be > 0")
    if text.startswith("<") and text[1:].strip().casefold() != "lod":
        if not text[1:].strip():
            raise RowError("value", f"{text!r} has no limit; write the limit of detection "
                                    "after '<', e.g. '<0.1'")
        limit = number(RawRow(row.row, {"value": text[1:].strip()}))
        if limit <= 0:
            raise RowError("value", f"{text!r}: the limit must be > 0")
        if lod is not None and lod != limit:
            raise RowError("value", f"{text!r} disagrees with the limit of detection "
                                    f"{lod_text} in 'lod'; keep one limit")
        return limit, True, None
    if not text or text.casefold() == "<lod":
        if lod is None and text:
            raise RowError("lod", f"the value {text!r} needs the limit of detection, which is "
                                  "missing; give it in 'lod' (e.g. 0.1) or write the value "
                                  "as '<0.1'")
        if lod is None:
            raise RowError("value", "PSA value missing; give a number, or for a value below "
                                    "the limit of detection write it as '<0.1' (or leave "
                                    "'value' empty and give the limit in 'lod')")
        return lod, True, None
    value = number(row)
    if lod is not None and 0 <= value < lod:
        return lod, True, (f"PSA {text} is below the limit of detection {lod_text} of the row: "
                           f"used as <{lod:g}")
    return value, False, None


def psa_event(row: RawRow, base: dict[str, Any]) -> tuple[PsaValue, str | None]:
    """A PSA row and an optional note (value below the row's limit of detection)."""
    value, below, note = _psa_value(row)
    unit = row.get("unit")
    if not unit:
        raise RowError("unit", "PSA unit missing; write ng/mL (or µg/L)")
    if unit.casefold() not in PSA_UNITS:
        raise RowError("unit", f"PSA unit {unit!r} not accepted; convert the value to ng/mL")
    if value < 0:
        raise RowError("value", f"PSA {value} is negative; correct the value")
    return PsaValue(**base, psa_ng_ml=value * PSA_UNITS[unit.casefold()], below_lod=below), note


def _testosterone(row: RawRow, base: dict[str, Any]) -> Event:
    value = number(row)
    unit = row.get("unit")
    if not unit:
        raise RowError("unit", "testosterone unit missing; write ng/dL or nmol/L")
    if unit.casefold() not in ("ng/dl", "nmol/l"):
        raise RowError("unit", f"testosterone unit {unit!r} not accepted; use ng/dL or nmol/L")
    if value < 0:
        raise RowError("value", f"testosterone {value} is negative; correct the value")
    return TestosteroneValue(**base, value=value, unit=unit)


def _toxicity(row: RawRow, base: dict[str, Any]) -> Event:
    term = row.get("term")
    if not term:
        raise RowError("term", "missing; give the CTCAE v4.0 term (or the complication)")
    system = choice(row, "grade_system", GradeSystem)
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
        raise RowError(col, f"{exc}; correct it") from None


def _nest(row: RawRow, base: dict[str, Any]) -> Event:
    decision = row.get("decision_date")
    decided = parse_date(decision, "decision_date") if decision else None
    if decided is not None and decided > base["event_date"]:
        raise RowError("decision_date", f"tumour-board decision {decided} is after the NEST "
                                        f"start {base['event_date']}; correct one of them")
    return NestStart(**base, reason=choice(row, "reason", NestReason), drug=row.get("drug"),
                     decision_date=decided)


_RT_MODALITIES = [Modality.SBRT, Modality.FRACTIONATED]

BUILDERS: dict[EventType, Callable[[RawRow, dict[str, Any]], Event]] = {
    EventType.REGISTRATION: lambda r, b: Registration(**b),
    EventType.RT_FRACTION: lambda r, b: Radiotherapy(
        **b, modality=choice(r, "modality", _RT_MODALITIES), course=_course(r)),
    EventType.RT_END: lambda r, b: Radiotherapy(
        **b, modality=choice(r, "modality", _RT_MODALITIES), is_last_day=True, course=_course(r)),
    EventType.METASTASECTOMY: lambda r, b: Metastasectomy(
        **b, course=_course(r), surgery=choice(r, "surgery", SurgeryKind, required=False)),
    EventType.NEST: _nest,
    EventType.PROGRESSION: lambda r, b: ClinicalProgression(
        **b, site=choice(r, "site", ProgressionSite)),
    EventType.DEATH: lambda r, b: Death(**b, cause=choice(r, "cause", DeathCause)),
    EventType.LAST_FOLLOWUP: lambda r, b: LastFollowUp(**b),
    EventType.TESTOSTERONE: _testosterone,
    EventType.TOXICITY: _toxicity,
    EventType.IMAGING: lambda r, b: Imaging(
        **b, modality=choice(r, "modality", ImagingModality),
        result=choice(r, "result", ImagingResult)),
    EventType.WITHDRAWAL: lambda r, b: OffStudy(**b),
    EventType.LOST_TO_FOLLOWUP: lambda r, b: OffStudy(**b, lost=True),
}


def is_not_nest(event: Event) -> bool:
    """A ``nest`` row whose drug is denosumab alone (not NEST per the protocol)."""
    return isinstance(event, NestStart) and event.drug.strip().casefold() in NOT_NEST_DRUGS
