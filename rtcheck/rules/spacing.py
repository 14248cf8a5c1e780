"""Fraction spacing rule of the MEDCARE protocol.

Protocol, section "Radiotherapy": "Fractions will be separated >/= 48 h and < 72 h."
Every gap between consecutive delivered (or scheduled) fractions must satisfy
``min_gap_hours <= gap < max_gap_hours`` (48 h and 72 h by default; both bounds and
their inclusivity are set by :class:`SpacingRule`).

Where the times come from
-------------------------
* Treatment records (:class:`~rtcheck.dicom.plan_model.TreatmentRecord`), one per beam
  session: the records of one fraction number are grouped and the fraction time is the
  earliest delivery time of the group. Records are used whenever present.
* A schedule (:func:`rtcheck.rules.schedule.read_schedule`) supplies the fractions that
  have no record (planned future fractions). Each gap names the source of both ends
  (``record`` or ``schedule``).
* When any record lacks a usable CurrentFractionNumber, all dated records are numbered
  in delivery order; records less than 1 h after the first record of a fraction belong
  to that fraction.

How gaps are measured
---------------------
Times with a UTC offset are compared in UTC, so a gap across a DST change is the true
elapsed time (Europe/Berlin 2026-03-28 09:00+01:00 → 2026-03-30 09:00+02:00 is 47 h).
Times without an offset are compared on the wall clock; such a gap within 1 h of a
bound is not evaluated, because a DST change could move it across. A gap mixing a
time with and one without an offset is not evaluated.

Status (never a pass for something not evaluated)
-------------------------------------------------
``FAIL`` when any gap is outside the bounds, even if more fractions are to come;
otherwise ``PENDING`` when nothing is delivered or scheduled yet; otherwise
``NOT_EVALUATED`` when a gap could not be evaluated, a fraction is missing before a
known one, two deliveries carry the same fraction number more than 1 h apart, a record
cannot be placed, a fraction number exceeds the planned count, or the planned count is
unknown; otherwise ``PENDING`` when fewer fractions than planned are known; otherwise
``PASS``. A pass that relies on scheduled (not yet delivered) fractions carries the code
``SPACING_PENDING``: re-check after delivery. A fraction whose beam did not terminate
NORMAL still counts as a delivered session (code ``FRACTION_NOT_COMPLETED``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from rtcheck.dicom.plan_model import TreatmentRecord
from rtcheck.rules.fraction_times import (
    CODES,
    DST_MARGIN_HOURS,
    FRACTION_NOT_COMPLETED,
    SAME_FRACTION_HOURS,
    SPACING_PENDING,
    SPACING_TIMEZONE_UNKNOWN,
    Notes,
    check_numbers,
    check_timezones,
    merge,
    number_list,
    record_fractions,
)
from rtcheck.rules.schedule import SOURCES, FractionTime, read_schedule

__all__ = [
    "CODES",
    "DST_MARGIN_HOURS",
    "FRACTION_NOT_COMPLETED",
    "SAME_FRACTION_HOURS",
    "SPACING_PENDING",
    "SPACING_TIMEZONE_UNKNOWN",
    "FractionGap",
    "FractionTime",
    "SpacingOutcome",
    "SpacingRule",
    "SpacingStatus",
    "evaluate_spacing",
    "read_schedule",
]



class SpacingStatus(StrEnum):
    """Result of the spacing rule, for one gap or for the whole course."""

    PASS = "pass"
    FAIL = "fail"
    PENDING = "pending"
    NOT_EVALUATED = "not_evaluated"


@dataclass(frozen=True)
class SpacingRule:
    """Allowed gap between consecutive fractions, in hours.

    Attributes
    ----------
    min_gap_hours, max_gap_hours
        Bounds of the gap in h (protocol: 48 and 72); ``max_gap_hours`` may be ``inf``.
    min_inclusive, max_inclusive
        Whether a gap equal to the bound passes (protocol: ≥ 48 h, < 72 h).
    """

    min_gap_hours: float = 48.0
    max_gap_hours: float = 72.0
    min_inclusive: bool = True
    max_inclusive: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_gap_hours) and self.min_gap_hours >= 0):
            raise ValueError(f"min_gap_hours must be finite and >= 0, got {self.min_gap_hours}")
        if not self.max_gap_hours > self.min_gap_hours:
            raise ValueError(f"max_gap_hours ({self.max_gap_hours}) must exceed "
                             f"min_gap_hours ({self.min_gap_hours})")

    def describe(self) -> str:
        """The allowed range as text, e.g. ``"48 h ≤ gap < 72 h"``."""
        low = "≤" if self.min_inclusive else "<"
        high = "≤" if self.max_inclusive else "<"
        return f"{self.min_gap_hours:g} h {low} gap {high} {self.max_gap_hours:g} h"

    def violation(self, gap_hours: float) -> str | None:
        """``"too short"``/``"too long"`` when ``gap_hours`` is outside the bounds, else None."""
        low = self.min_gap_hours
        if gap_hours < low or (gap_hours == low and not self.min_inclusive):
            return "too short"
        high = self.max_gap_hours
        if gap_hours > high or (gap_hours == high and not self.max_inclusive):
            return "too long"
        return None

    def bound_near(self, gap_hours: float, margin_hours: float) -> float | None:
        """The bound (h) lying within ``margin_hours`` of ``gap_hours``, if any."""
        for bound in (self.min_gap_hours, self.max_gap_hours):
            if abs(gap_hours - bound) <= margin_hours:
                return bound
        return None


@dataclass(frozen=True)
class FractionGap:
    """The gap between two consecutive fractions.

    Attributes
    ----------
    from_fraction, to_fraction
        Fraction numbers of the two ends.
    gap_hours
        Elapsed time in h (UTC when both ends have an offset, else wall clock);
        NaN when it could not be computed.
    status
        PASS, FAIL or NOT_EVALUATED.
    message
        One line: the gap, the verdict, the reason and the sources of both ends.
    from_source, to_source
        ``"record"`` or ``"schedule"``.
    """

    from_fraction: int
    to_fraction: int
    gap_hours: float
    status: SpacingStatus
    message: str
    from_source: str = "record"
    to_source: str = "record"

    def __post_init__(self) -> None:
        if self.to_fraction <= self.from_fraction:
            raise ValueError(f"gap must go forward, got {self.from_fraction} → {self.to_fraction}")
        if self.status is SpacingStatus.PENDING:
            raise ValueError("a single gap is pass, fail or not_evaluated, never pending")
        if self.status is not SpacingStatus.NOT_EVALUATED and not math.isfinite(self.gap_hours):
            raise ValueError(f"a {self.status} gap needs a finite gap_hours")
        if self.from_source not in SOURCES or self.to_source not in SOURCES:
            raise ValueError(f"sources must be among {SOURCES}")


@dataclass(frozen=True)
class SpacingOutcome:
    """Result of :func:`evaluate_spacing`.

    Attributes
    ----------
    status
        Overall status (see the module docstring).
    gaps
        One per pair of consecutive known fractions.
    fractions
        Every known fraction, ascending, records first choice, schedule otherwise.
    fractions_planned
        As given (``None``: unknown).
    fractions_delivered
        Number of distinct fractions seen in the treatment records.
    messages
        One-line notes, the overall verdict first.
    codes
        Finding-like codes among :data:`CODES`.
    """

    status: SpacingStatus
    gaps: tuple[FractionGap, ...]
    fractions: tuple[FractionTime, ...]
    fractions_planned: int | None
    fractions_delivered: int
    messages: tuple[str, ...]
    codes: tuple[str, ...]

    def __post_init__(self) -> None:
        if unknown := set(self.codes) - set(CODES):
            raise ValueError(f"unknown spacing code(s) {sorted(unknown)}")
        if self.status is SpacingStatus.PASS and not (
            all(g.status is SpacingStatus.PASS for g in self.gaps)
            and self.fractions_planned == len(self.fractions)
        ):
            raise ValueError("a pass needs every gap to pass and every planned fraction known")
        if self.status is SpacingStatus.FAIL and not any(
            g.status is SpacingStatus.FAIL for g in self.gaps
        ):
            raise ValueError("a fail needs a failing gap")
        if not 0 <= self.fractions_delivered <= len(self.fractions):
            raise ValueError(f"fractions_delivered {self.fractions_delivered} out of range")



def evaluate_spacing(
    records: Sequence[TreatmentRecord],
    fractions_planned: int | None,
    rule: SpacingRule = SpacingRule(),
    schedule: Sequence[FractionTime] = (),
) -> SpacingOutcome:
    """Check the spacing of the fractions of one course.

    Parameters
    ----------
    records
        Treatment records of the course (one per beam session; any order).
    fractions_planned
        NumberOfFractionsPlanned of the plan, ``None`` when unknown; must be >= 1.
    rule
        Allowed gap in h.
    schedule
        Fraction times from :func:`~rtcheck.rules.schedule.read_schedule`; used for the
        fractions without a record. Fraction numbers must be unique.

    Returns
    -------
    SpacingOutcome
        Status, gaps, fractions, messages and codes (see the module docstring).
    """
    if fractions_planned is not None and fractions_planned < 1:
        raise ValueError(f"fractions_planned must be >= 1 or None, got {fractions_planned}")
    notes = Notes()
    delivered = record_fractions(records, notes)
    fractions = merge(delivered, schedule, notes)
    check_numbers(fractions, fractions_planned, notes)
    check_timezones(fractions, notes)
    gaps = tuple(_gap(a, b, rule, notes.ambiguous) for a, b in pairwise(fractions))
    status, verdict = _status(gaps, fractions, fractions_planned, rule, notes,
                              has_input=bool(records or schedule))
    pending = status is SpacingStatus.PENDING or (
        status is SpacingStatus.PASS and any(f.source == "schedule" for f in fractions))
    if pending:
        notes.codes.insert(0, SPACING_PENDING)
    return SpacingOutcome(status, gaps, fractions, fractions_planned, len(delivered),
                          (verdict, *notes.messages), tuple(notes.codes))



# --- gaps and status ---------------------------------------------------------------------


def _hours(a: FractionTime, b: FractionTime) -> float:
    """Gap in h: UTC when both ends are aware, wall clock otherwise; NaN without times."""
    if a.timezone_known and b.timezone_known and a.datetime_utc and b.datetime_utc:
        return (b.datetime_utc - a.datetime_utc).total_seconds() / 3600.0
    if a.wall_clock is None or b.wall_clock is None:
        return math.nan
    return (b.wall_clock - a.wall_clock).total_seconds() / 3600.0


def _duration(gap_hours: float) -> str:
    """``48.2`` → ``"48.20 h (48 h 12 min)"``."""
    minutes = round(abs(gap_hours) * 60)
    sign = "-" if gap_hours < 0 and minutes else ""
    return f"{gap_hours:.2f} h ({sign}{minutes // 60} h {minutes % 60:02d} min)"


def _unevaluable(a: FractionTime, b: FractionTime, gap_hours: float, rule: SpacingRule,
                 ambiguous: set[int]) -> str | None:
    """Why this gap cannot be evaluated, or None."""
    if b.fraction != a.fraction + 1:
        return f"fraction(s) {number_list(range(a.fraction + 1, b.fraction))} missing in between"
    if twice := sorted({a.fraction, b.fraction} & ambiguous):
        return f"fraction {twice[0]} was delivered twice more than {SAME_FRACTION_HOURS:g} h apart"
    if math.isnan(gap_hours):
        return f"fraction {a.fraction if not a.has_time else b.fraction} has no date-time"
    if a.timezone_known != b.timezone_known:
        return (f"wall-clock {_duration(gap_hours)}, but only one end has a UTC offset — "
                "record the offset for both")
    bound = None if a.timezone_known else rule.bound_near(gap_hours, DST_MARGIN_HOURS)
    if bound is not None:
        return (f"wall-clock {_duration(gap_hours)} is within {DST_MARGIN_HOURS:g} h of the "
                f"{bound:g} h bound and no timezone is recorded (a DST change could move it "
                "across) — record TimezoneOffsetFromUTC")
    return None


def _gap(a: FractionTime, b: FractionTime, rule: SpacingRule, ambiguous: set[int]) -> FractionGap:
    gap_hours = _hours(a, b)
    head = f"fraction {a.fraction} → {b.fraction}"
    tail = f"({a.source} → {b.source})"
    reason = _unevaluable(a, b, gap_hours, rule, ambiguous)
    if reason is not None:
        status, text = SpacingStatus.NOT_EVALUATED, f"not evaluated: {reason}"
    else:
        clock = "" if a.timezone_known else " (wall clock)"
        violation = rule.violation(gap_hours)
        status = SpacingStatus.FAIL if violation else SpacingStatus.PASS
        verdict = f"{violation}, needs" if violation else "within"
        text = f"{_duration(gap_hours)}{clock} {verdict} {rule.describe()}"
    return FractionGap(a.fraction, b.fraction, gap_hours, status, f"{head}: {text} {tail}",
                       a.source, b.source)


def _status(gaps: tuple[FractionGap, ...], fractions: tuple[FractionTime, ...],
            planned: int | None, rule: SpacingRule, notes: Notes,
            has_input: bool) -> tuple[SpacingStatus, str]:
    """Overall status and its one-line verdict."""
    failed = [g for g in gaps if g.status is SpacingStatus.FAIL]
    if failed:
        return SpacingStatus.FAIL, (f"{len(failed)} of {len(gaps)} gap(s) outside "
                                    f"{rule.describe()}: fraction spacing fails the protocol")
    if not has_input:
        return SpacingStatus.PENDING, "no fraction delivered or scheduled yet: spacing pending"
    open_gaps = sum(g.status is SpacingStatus.NOT_EVALUATED for g in gaps)
    if notes.blocking or open_gaps:
        detail = f"{open_gaps} gap(s) could not be evaluated" if open_gaps else "see below"
        return SpacingStatus.NOT_EVALUATED, f"spacing not evaluated: {detail}"
    if planned is None:
        return SpacingStatus.NOT_EVALUATED, (f"spacing not evaluated: the {len(gaps)} gap(s) "
                                             "pass, but the planned number of fractions "
                                             "is unknown")
    if len(fractions) < planned:
        return SpacingStatus.PENDING, (f"{len(fractions)} of {planned} fractions "
                                       "delivered/scheduled, gaps so far within "
                                       f"{rule.describe()}: spacing pending")
    if planned == 1:
        return SpacingStatus.PASS, "single fraction: no gaps"
    return SpacingStatus.PASS, f"all {len(gaps)} gaps within {rule.describe()}"
