"""Fraction times of a course: treatment records grouped by fraction, merged with a schedule.

The earliest session of each fraction stands for it; records without a fraction
number are numbered by delivery time; the schedule fills fractions without a record.
What is found on the way (missing fractions, duplicate deliveries, times without a
timezone, sessions that did not terminate NORMAL) is collected in :class:`Notes` for
:func:`rtcheck.rules.spacing.evaluate_spacing`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rtcheck.dicom.plan_model import TreatmentRecord
from rtcheck.rules.schedule import FractionTime

SPACING_PENDING = "SPACING_PENDING"
SPACING_TIMEZONE_UNKNOWN = "SPACING_TIMEZONE_UNKNOWN"
FRACTION_NOT_COMPLETED = "FRACTION_NOT_COMPLETED"
CODES = (SPACING_PENDING, SPACING_TIMEZONE_UNKNOWN, FRACTION_NOT_COMPLETED)

SAME_FRACTION_HOURS = 1.0
"""Sessions of one fraction lie within this many hours of the fraction's first session."""
DST_MARGIN_HOURS = 1.0
"""A wall-clock gap this close to a bound is not evaluated (a DST change moves clocks 1 h)."""


@dataclass
class Notes:
    """Accumulates what the evaluation found besides the gaps."""

    messages: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    blocking: bool = False
    ambiguous: set[int] = field(default_factory=set)

    def note(self, message: str, code: str | None = None) -> None:
        self.messages.append(message)
        if code and code not in self.codes:
            self.codes.append(code)

    def block(self, message: str) -> None:
        """A problem that keeps the outcome from being a pass."""
        self.blocking = True
        self.note(message)



# --- records → fraction times ------------------------------------------------------------


def _number(record: TreatmentRecord) -> int | None:
    number = record.fraction_number
    return number if number is not None and number >= 1 else None


def record_fractions(records: Sequence[TreatmentRecord], notes: Notes) -> list[FractionTime]:
    if all(_number(r) is not None for r in records):
        groups: dict[int, list[TreatmentRecord]] = defaultdict(list)
        for record in records:
            groups[_number(record) or 0].append(record)
    else:
        groups = _number_by_time(records, notes)
    return [_fraction_of(number, groups[number], notes) for number in sorted(groups)]


def _comparable(times: Sequence[datetime]) -> list[datetime]:
    """UTC instants when every time is aware, else wall-clock times (naive)."""
    if all(t.utcoffset() is not None for t in times):
        return [t.astimezone(UTC) for t in times]
    return [t.replace(tzinfo=None) for t in times]


def _number_by_time(
    records: Sequence[TreatmentRecord], notes: Notes
) -> dict[int, list[TreatmentRecord]]:
    missing = sum(_number(r) is None for r in records)
    notes.note(f"{missing} of {len(records)} record(s) have no usable CurrentFractionNumber: "
               f"fractions numbered by delivery time (sessions within {SAME_FRACTION_HOURS:g} h "
               "form one fraction)")
    for record in records:
        if record.delivery_datetime is None:
            notes.block(f"{record.source_path}: no fraction number and no treatment date, the "
                        "record cannot be placed — add TreatmentDate/TreatmentTime")
    dated = [r for r in records if r.delivery_datetime is not None]
    keys = _comparable([r.delivery_datetime for r in dated if r.delivery_datetime])
    groups: dict[int, list[TreatmentRecord]] = {}
    start: datetime | None = None
    for key, record in sorted(zip(keys, dated, strict=True), key=lambda pair: pair[0]):
        if start is None or key - start >= timedelta(hours=SAME_FRACTION_HOURS):
            start = key
            groups[len(groups) + 1] = []
        groups[len(groups)].append(record)
    return groups


def _fraction_of(number: int, group: list[TreatmentRecord], notes: Notes) -> FractionTime:
    """One fraction from its records: the earliest delivery time of the group."""
    _check_termination(number, group, notes)
    dated = [r for r in group if r.delivery_datetime is not None]
    _check_dates(number, group, dated, notes)
    if not dated:
        return FractionTime(number, None, "", "record", group[0].source_path, False)
    keys = _comparable([r.delivery_datetime for r in dated if r.delivery_datetime])
    spread_hours = (max(keys) - min(keys)).total_seconds() / 3600.0
    if spread_hours > SAME_FRACTION_HOURS:
        notes.ambiguous.add(number)
        paths = ", ".join(r.source_path for r in dated)
        notes.block(f"fraction {number} was delivered twice, {spread_hours:.1f} h apart ({paths}): "
                    "gaps to it are not evaluated — correct CurrentFractionNumber")
    first = min(zip(keys, dated, strict=True), key=lambda pair: pair[0])[1]
    return _record_time(number, first)


def _record_time(number: int, record: TreatmentRecord) -> FractionTime:
    when = record.delivery_datetime
    assert when is not None
    aware = when.utcoffset() is not None
    return FractionTime(
        fraction=number,
        datetime_utc=when.astimezone(UTC) if aware else None,
        local_text=when.isoformat(),
        source="record",
        path=record.source_path,
        timezone_known=aware,
        wall_clock=when.replace(tzinfo=None),
    )


def _check_dates(number: int, group: list[TreatmentRecord], dated: list[TreatmentRecord],
                 notes: Notes) -> None:
    undated = [r.source_path for r in group if r.delivery_datetime is None]
    if not undated:
        return
    if dated:
        notes.note(f"fraction {number}: no treatment date in {', '.join(undated)}; the fraction "
                   "time comes from its other session(s)")
    else:
        notes.note(f"fraction {number}: no treatment date in {', '.join(undated)}; gaps to it "
                   "are not evaluated — add TreatmentDate/TreatmentTime")


def _check_termination(number: int, group: list[TreatmentRecord], notes: Notes) -> None:
    for record in group:
        stopped = [f"beam {b.number} {b.name!r} ({b.termination_status.strip() or 'no status'})"
                   for b in record.beams if b.termination_status.strip().upper() != "NORMAL"]
        if stopped:
            notes.note(f"{record.source_path}: fraction {number}, {', '.join(stopped)} did not "
                       "terminate NORMAL; the fraction still counts as a delivered session for "
                       "spacing — check the delivered dose", FRACTION_NOT_COMPLETED)


# --- merging and completeness ------------------------------------------------------------


def merge(delivered: list[FractionTime], schedule: Sequence[FractionTime],
           notes: Notes) -> tuple[FractionTime, ...]:
    """Records first; the schedule for the fractions without a record."""
    numbers = [t.fraction for t in schedule]
    if len(set(numbers)) != len(numbers):
        raise ValueError("the schedule gives a fraction number twice; use read_schedule")
    by_fraction = {t.fraction: t for t in delivered}
    last_delivered = max(by_fraction, default=0)
    added = [t.fraction for t in schedule if t.fraction not in by_fraction]
    by_fraction.update({t.fraction: t for t in schedule if t.fraction in added})
    if added:
        notes.note(f"fraction(s) {number_list(added)} from the schedule (not delivered): "
                   "re-check the spacing after delivery")
    if early := [n for n in added if n < last_delivered]:
        notes.block(f"fraction(s) {number_list(early)} have no treatment record although fraction "
                    f"{last_delivered} was delivered: their schedule time is not evidence of "
                    "delivery — load the missing record(s)")
    return tuple(by_fraction[n] for n in sorted(by_fraction))


def number_list(numbers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in sorted(numbers))


def check_numbers(fractions: tuple[FractionTime, ...], planned: int | None,
                   notes: Notes) -> None:
    known = {f.fraction for f in fractions}
    if planned is None and known:
        notes.note("planned number of fractions unknown (no NumberOfFractionsPlanned): the "
                   "known fractions are checked, but the course cannot pass")
    if missing := sorted(set(range(1, max(known, default=0))) - known):
        notes.block(f"fraction(s) {number_list(missing)} neither recorded nor scheduled "
                    "although later fractions are: load the missing record(s) or schedule")
    if planned is not None and (extra := sorted(n for n in known if n > planned)):
        notes.block(f"fraction(s) {number_list(extra)} beyond the {planned} planned: check "
                    "that the records belong to this plan")


def check_timezones(fractions: tuple[FractionTime, ...], notes: Notes) -> None:
    naive = [f for f in fractions if f.has_time and not f.timezone_known]
    if naive:
        notes.note(f"{len(naive)} fraction time(s) without UTC offset (fraction(s) "
                   f"{number_list([f.fraction for f in naive])}): gaps use wall-clock hours and "
                   f"are not evaluated within {DST_MARGIN_HOURS:g} h of a bound — record "
                   "TimezoneOffsetFromUTC", SPACING_TIMEZONE_UNKNOWN)
