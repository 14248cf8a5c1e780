"""Fraction spacing (MEDCARE: "Fractions will be separated >/= 48 h and < 72 h")."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcheck.dicom.loader import load
from rtcheck.dicom.plan_model import DeliveredBeam, TreatmentRecord
from rtcheck.errors import InputError
from rtcheck.rules.spacing import (
    FRACTION_NOT_COMPLETED,
    SPACING_PENDING,
    SPACING_TIMEZONE_UNKNOWN,
    FractionGap,
    FractionTime,
    SpacingOutcome,
    SpacingRule,
    SpacingStatus,
    evaluate_spacing,
    read_schedule,
)
from tests.conftest import FIXTURES

CET = timezone(timedelta(hours=1))
START = datetime(2026, 1, 12, 8, 30, tzinfo=CET)
PASS, FAIL = SpacingStatus.PASS, SpacingStatus.FAIL
PENDING, NOT_EVALUATED = SpacingStatus.PENDING, SpacingStatus.NOT_EVALUATED


def record(fraction: int | None, when: datetime | str | None, path: str = "",
           termination: str = "NORMAL") -> TreatmentRecord:
    """A treatment record with two beams; ``when`` may be an ISO 8601 string."""
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    beams = (DeliveredBeam(1, "ARC1_CW", 1423.6, "NORMAL"),
             DeliveredBeam(2, "ARC2_CCW", 1389.2, termination))
    return TreatmentRecord(f"1.2.3.{fraction}", "1.2.3", fraction, moment, beams,
                           source_path=path or f"RT{fraction}.dcm")


def course(gaps_hours: Sequence[float], start: datetime = START) -> list[TreatmentRecord]:
    """Records of fractions 1..n separated by ``gaps_hours``."""
    times = [start]
    for gap in gaps_hours:
        times.append(times[-1] + timedelta(hours=gap))
    return [record(n, t) for n, t in enumerate(times, start=1)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the bounds ------------------------------------------------------------------------------


@pytest.mark.parametrize(("gap_hours", "status"), [
    (47.9, FAIL), (48.0, PASS), (71.9, PASS), (72.0, FAIL), (24.0, FAIL), (96.0, FAIL),
])
def test_gap_bounds_48_inclusive_72_exclusive(gap_hours: float, status: SpacingStatus) -> None:
    outcome = evaluate_spacing(course([gap_hours]), fractions_planned=2)
    assert outcome.status is status
    assert outcome.gaps[0].status is status
    assert outcome.gaps[0].gap_hours == pytest.approx(gap_hours, abs=1e-9)


def test_gap_messages_say_duration_verdict_and_sources() -> None:
    outcome = evaluate_spacing(course([47.9, 48.0]), fractions_planned=3)
    assert outcome.gaps[0].message == (
        "fraction 1 → 2: 47.90 h (47 h 54 min) too short, needs 48 h ≤ gap < 72 h "
        "(record → record)")
    assert outcome.gaps[1].message.endswith("within 48 h ≤ gap < 72 h (record → record)")
    assert outcome.messages[0].startswith("1 of 2 gap(s) outside 48 h ≤ gap < 72 h")


def test_configurable_inclusivity() -> None:
    strict = SpacingRule(min_inclusive=False, max_inclusive=True)
    assert evaluate_spacing(course([48.0]), 2, strict).status is FAIL
    assert evaluate_spacing(course([72.0]), 2, strict).status is PASS
    wide = SpacingRule(min_gap_hours=20.0, max_gap_hours=math.inf)
    assert evaluate_spacing(course([24.0, 500.0]), 3, wide).status is PASS


@pytest.mark.parametrize(("low", "high", "message"), [
    (72.0, 48.0, r"max_gap_hours \(48.0\) must exceed min_gap_hours \(72.0\)"),
    (48.0, 48.0, r"max_gap_hours \(48.0\) must exceed min_gap_hours \(48.0\)"),
    (-1.0, 72.0, "min_gap_hours must be finite and >= 0, got -1.0"),
    (math.nan, 72.0, "min_gap_hours must be finite and >= 0, got nan"),
    (48.0, math.nan, r"max_gap_hours \(nan\) must exceed min_gap_hours \(48.0\)"),
])
def test_rule_refuses_bad_bounds(low: float, high: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SpacingRule(min_gap_hours=low, max_gap_hours=high)


# --- timezones -------------------------------------------------------------------------------


def test_dst_change_aware_records_use_elapsed_time() -> None:
    """Europe/Berlin: clocks go forward on 2026-03-29; 09:00 → 09:00 two days later is 47 h."""
    records = [record(1, "2026-03-28T09:00:00+01:00"), record(2, "2026-03-30T09:00:00+02:00")]
    outcome = evaluate_spacing(records, fractions_planned=2)
    assert outcome.gaps[0].gap_hours == pytest.approx(47.0)
    assert outcome.status is FAIL
    assert outcome.codes == ()


def test_dst_change_schedule_with_iana_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "schedule.csv", "fraction,date,time,timezone\n"
                 "1,2026-03-28,09:00,Europe/Berlin\n2,2026-03-30,09:00,Europe/Berlin\n"
                 "3,2026-04-01,09:00,Europe/Berlin\n")
    schedule = read_schedule(path)
    assert [t.datetime_utc for t in schedule] == [
        datetime(2026, 3, 28, 8, tzinfo=UTC), datetime(2026, 3, 30, 7, tzinfo=UTC),
        datetime(2026, 4, 1, 7, tzinfo=UTC)]
    outcome = evaluate_spacing([], fractions_planned=3, schedule=schedule)
    assert [g.gap_hours for g in outcome.gaps] == pytest.approx([47.0, 48.0])
    assert [g.status for g in outcome.gaps] == [FAIL, PASS]
    assert outcome.status is FAIL
    assert outcome.gaps[0].message.endswith("(schedule → schedule)")


def test_autumn_dst_change_gains_an_hour() -> None:
    """Clocks go back on 2026-10-25: 09:00 → 09:00 two days later is 49 h."""
    records = [record(1, "2026-10-24T09:00:00+02:00"), record(2, "2026-10-26T08:00:00+01:00")]
    outcome = evaluate_spacing(records, fractions_planned=2)
    assert outcome.gaps[0].gap_hours == pytest.approx(48.0)
    assert outcome.status is PASS


def test_offsets_of_different_zones_compare_the_same_instant() -> None:
    """08:30+01:00 and 02:30-05:00 two days later are 48 h apart (42 h on the wall clocks)."""
    records = [record(1, "2026-01-12T08:30:00+01:00"), record(2, "2026-01-14T02:30:00-05:00")]
    outcome = evaluate_spacing(records, fractions_planned=2)
    assert outcome.gaps[0].gap_hours == 48.0
    assert outcome.status is PASS
    assert outcome.fractions[1].local_text == "2026-01-14T02:30:00-05:00"
    assert outcome.fractions[1].datetime_utc == datetime(2026, 1, 14, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("gap_hours", [47.0, 47.5, 48.0, 48.9, 71.2, 72.0, 72.9])
def test_naive_gap_near_a_bound_is_not_evaluated(gap_hours: float) -> None:
    outcome = evaluate_spacing(course([gap_hours], START.replace(tzinfo=None)), 2)
    assert outcome.status is NOT_EVALUATED
    assert outcome.gaps[0].status is NOT_EVALUATED
    assert "DST change" in outcome.gaps[0].message
    assert "TimezoneOffsetFromUTC" in outcome.gaps[0].message
    assert outcome.codes == (SPACING_TIMEZONE_UNKNOWN,)


@pytest.mark.parametrize(("gap_hours", "status"), [(46.9, FAIL), (49.1, PASS), (60.0, PASS),
                                                   (70.9, PASS), (73.1, FAIL), (24.0, FAIL)])
def test_naive_gap_far_from_a_bound_is_evaluated_on_the_wall_clock(
        gap_hours: float, status: SpacingStatus) -> None:
    outcome = evaluate_spacing(course([gap_hours], START.replace(tzinfo=None)), 2)
    assert outcome.status is status
    assert outcome.gaps[0].gap_hours == pytest.approx(gap_hours)
    assert "(wall clock)" in outcome.gaps[0].message
    assert SPACING_TIMEZONE_UNKNOWN in outcome.codes
    assert outcome.fractions[0].datetime_utc is None
    assert not outcome.fractions[0].timezone_known


def test_naive_dst_wall_clock_48_h_is_not_a_pass() -> None:
    """The same Berlin DST course without offsets: 48 h on the wall clock, not evaluated."""
    records = [record(1, "2026-03-28T09:00:00"), record(2, "2026-03-30T09:00:00")]
    assert evaluate_spacing(records, 2).status is NOT_EVALUATED


def test_mixing_naive_and_aware_times_is_not_evaluated() -> None:
    records = [record(1, "2026-01-12T08:30:00+01:00"), record(2, "2026-01-14T20:30:00")]
    outcome = evaluate_spacing(records, 2)
    assert outcome.status is NOT_EVALUATED
    assert "only one end has a UTC offset" in outcome.gaps[0].message


# --- pending, counts and single fractions ----------------------------------------------------


@pytest.mark.parametrize("planned", [1, 3, None])
def test_nothing_delivered_or_scheduled_is_pending(planned: int | None) -> None:
    outcome = evaluate_spacing([], planned)
    assert outcome.status is PENDING
    assert outcome.messages == ("no fraction delivered or scheduled yet: spacing pending",)
    assert outcome.codes == (SPACING_PENDING,)
    assert outcome.gaps == () and outcome.fractions_delivered == 0


def test_two_of_three_delivered_with_a_good_gap_is_pending() -> None:
    outcome = evaluate_spacing(course([48.5]), fractions_planned=3)
    assert outcome.status is PENDING
    assert outcome.messages[0].startswith("2 of 3 fractions delivered/scheduled")
    assert outcome.codes == (SPACING_PENDING,)
    assert outcome.fractions_delivered == 2


def test_two_of_three_delivered_with_a_24_h_gap_fails_already() -> None:
    outcome = evaluate_spacing(course([24.0]), fractions_planned=3)
    assert outcome.status is FAIL
    assert outcome.gaps[0].gap_hours == 24.0
    assert SPACING_PENDING not in outcome.codes


def test_single_fraction_plan_passes_without_gaps() -> None:
    outcome = evaluate_spacing([record(1, START)], fractions_planned=1)
    assert outcome.status is PASS
    assert outcome.messages == ("single fraction: no gaps",)
    assert outcome.gaps == ()


def test_unknown_planned_count_is_not_evaluated_unless_a_gap_fails() -> None:
    unknown = evaluate_spacing(course([48.5, 48.5]), fractions_planned=None)
    assert unknown.status is NOT_EVALUATED
    assert "planned number of fractions is unknown" in unknown.messages[0]
    assert any(m.startswith("planned number of fractions unknown") for m in unknown.messages)
    assert evaluate_spacing(course([48.5, 30.0]), None).status is FAIL


def test_more_fractions_than_planned_is_not_evaluated() -> None:
    outcome = evaluate_spacing(course([48.5, 48.5, 48.5]), fractions_planned=3)
    assert outcome.status is NOT_EVALUATED
    assert any("fraction(s) 4 beyond the 3 planned" in m for m in outcome.messages)


def test_missing_fraction_in_between_is_not_evaluated() -> None:
    records = course([48.5, 48.5])
    outcome = evaluate_spacing([records[0], records[2]], fractions_planned=3)
    assert outcome.status is NOT_EVALUATED
    assert outcome.gaps[0].status is NOT_EVALUATED
    assert "fraction(s) 2 missing in between" in outcome.gaps[0].message


def test_missing_first_fraction_is_not_pending() -> None:
    records = course([48.5, 48.5])
    assert evaluate_spacing(records[1:], fractions_planned=3).status is NOT_EVALUATED


def test_planned_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="fractions_planned must be >= 1 or None, got 0"):
        evaluate_spacing([], fractions_planned=0)


# --- grouping records ------------------------------------------------------------------------


def test_beam_sessions_of_one_fraction_use_the_earliest_time() -> None:
    records = [record(1, "2026-01-12T08:30:00+01:00"),
               record(1, "2026-01-12T08:50:00+01:00", path="RT1b.dcm"),
               record(2, "2026-01-14T08:45:00+01:00"), record(2, "2026-01-14T08:20:00+01:00",
                                                              path="RT2b.dcm")]
    outcome = evaluate_spacing(records, fractions_planned=2)
    assert outcome.gaps[0].gap_hours == pytest.approx(47 + 50 / 60)
    assert outcome.status is FAIL
    assert outcome.fractions[1].path == "RT2b.dcm"
    assert outcome.fractions_delivered == 2


def test_two_deliveries_called_the_same_fraction_are_not_evaluated() -> None:
    records = [record(1, "2026-01-12T08:30:00+01:00"), record(2, "2026-01-14T08:30:00+01:00"),
               record(2, "2026-01-16T08:30:00+01:00", path="RT2-again.dcm"),
               record(3, "2026-01-18T08:30:00+01:00")]
    outcome = evaluate_spacing(records, fractions_planned=3)
    assert outcome.status is NOT_EVALUATED
    assert [g.status for g in outcome.gaps] == [NOT_EVALUATED, NOT_EVALUATED]
    assert any("fraction 2 was delivered twice, 48.0 h apart (RT2.dcm, RT2-again.dcm)" in m
               for m in outcome.messages)


def test_records_without_fraction_number_are_numbered_by_time() -> None:
    records = [record(None, "2026-01-14T08:42:00+01:00", "b.dcm"),
               record(None, "2026-01-12T08:30:00+01:00", "a.dcm"),
               record(None, "2026-01-12T08:55:00+01:00", "a2.dcm"),  # second session, fx 1
               record(None, "2026-01-16T08:51:00+01:00", "c.dcm")]
    outcome = evaluate_spacing(records, fractions_planned=3)
    assert [f.path for f in outcome.fractions] == ["a.dcm", "b.dcm", "c.dcm"]
    assert [g.gap_hours for g in outcome.gaps] == pytest.approx([48.2, 48.15])
    assert outcome.status is PASS
    assert any("numbered by delivery time" in m for m in outcome.messages)


def test_record_without_date_or_number_cannot_be_placed() -> None:
    records = [*course([48.5, 48.5]), record(None, None, "lost.dcm")]
    outcome = evaluate_spacing(records, fractions_planned=3)
    assert outcome.status is NOT_EVALUATED
    assert any("lost.dcm: no fraction number and no treatment date" in m
               for m in outcome.messages)


def test_fraction_without_date_leaves_its_gaps_not_evaluated() -> None:
    records = course([48.5, 48.5])
    records[1] = record(2, None)
    outcome = evaluate_spacing(records, fractions_planned=3)
    assert outcome.status is NOT_EVALUATED
    assert [g.status for g in outcome.gaps] == [NOT_EVALUATED, NOT_EVALUATED]
    assert all(math.isnan(g.gap_hours) for g in outcome.gaps)
    assert any("fraction 2: no treatment date in RT2.dcm" in m for m in outcome.messages)


def test_undated_session_beside_a_dated_one_is_reported_only() -> None:
    records = [*course([48.5]), record(2, None, "RT2b.dcm")]
    outcome = evaluate_spacing(records, fractions_planned=2)
    assert outcome.status is PASS
    assert any("RT2b.dcm" in m and "other session" in m for m in outcome.messages)


def test_interrupted_fraction_counts_and_is_reported() -> None:
    records = course([48.5, 48.5])
    records[1] = record(2, records[1].delivery_datetime, termination="OPERATOR")
    outcome = evaluate_spacing(records, fractions_planned=3)
    assert outcome.status is PASS
    assert outcome.codes == (FRACTION_NOT_COMPLETED,)
    message = next(m for m in outcome.messages if "OPERATOR" in m)
    assert message.startswith("RT2.dcm: fraction 2, beam 2 'ARC2_CCW' (OPERATOR)")
    assert "still counts as a delivered session" in message


# --- records and schedule together -----------------------------------------------------------


def schedule_of(gaps_hours: Sequence[float], start: datetime = START) -> tuple[FractionTime, ...]:
    times = [start]
    for gap in gaps_hours:
        times.append(times[-1] + timedelta(hours=gap))
    return tuple(FractionTime(n, t, t.isoformat(), "schedule", "plan.csv", True)
                 for n, t in enumerate(times, start=1))


def test_schedule_supplies_the_fractions_not_yet_delivered() -> None:
    records = course([48.2])
    schedule = schedule_of([10.0, 50.0])  # fraction 2 differs from its record: record wins
    outcome = evaluate_spacing(records, 3, schedule=schedule)
    assert [f.source for f in outcome.fractions] == ["record", "record", "schedule"]
    assert [g.gap_hours for g in outcome.gaps] == pytest.approx([48.2, 60.0 - 48.2])
    assert outcome.gaps[1].from_source == "record" and outcome.gaps[1].to_source == "schedule"
    assert outcome.gaps[1].message.endswith("(record → schedule)")
    assert outcome.status is FAIL


def test_pass_relying_on_the_schedule_is_flagged_pending() -> None:
    outcome = evaluate_spacing(course([48.2]), 3, schedule=schedule_of([48.2, 48.0]))
    assert outcome.status is PASS
    assert outcome.codes == (SPACING_PENDING,)
    assert outcome.fractions_delivered == 2
    assert any("fraction(s) 3 from the schedule" in m for m in outcome.messages)


def test_schedule_cannot_stand_in_for_a_missing_past_record() -> None:
    records = course([48.5, 48.5])
    outcome = evaluate_spacing([records[0], records[2]], 3, schedule=schedule_of([48.5, 48.5]))
    assert outcome.status is NOT_EVALUATED
    assert any("fraction(s) 2 have no treatment record" in m for m in outcome.messages)


# --- shipped fixtures ------------------------------------------------------------------------


def test_fixture_spine_sbrt_passes() -> None:
    case = load([str(FIXTURES / "spine_sbrt")]).cases[0]
    assert case.plan is not None
    outcome = evaluate_spacing(case.records, case.plan.fractions_planned)
    assert outcome.status is PASS
    assert [g.gap_hours for g in outcome.gaps] == pytest.approx([48.2, 48.15])  # 48 h 12/09 min
    assert outcome.fractions_planned == outcome.fractions_delivered == 3
    assert outcome.codes == ()


def test_fixture_consecutive_days_fails() -> None:
    case = load([str(FIXTURES / "spine_consecutive_days")]).cases[0]
    assert case.plan is not None
    outcome = evaluate_spacing(case.records, case.plan.fractions_planned)
    assert outcome.status is FAIL
    # 2026-01-12 08:30, 01-13 08:35, 01-14 08:40 (+01:00): 24 h 05 min twice
    assert [g.gap_hours for g in outcome.gaps] == pytest.approx([24 + 5 / 60, 24 + 5 / 60])
    assert all(g.status is FAIL for g in outcome.gaps)


# --- schedule reader -------------------------------------------------------------------------


def test_read_csv_schedule_with_offsets(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "Fraction , DateTime\n2,2026-01-14T08:42:00+01:00\n"
                 "1,2026-01-12T08:30:00+01:00\n\n3,2026-01-16T08:51:00+01:00\n")
    schedule = read_schedule(path)
    assert [t.fraction for t in schedule] == [1, 2, 3]
    assert schedule[0] == FractionTime(1, datetime(2026, 1, 12, 7, 30, tzinfo=UTC),
                                       "2026-01-12T08:30:00+01:00", "schedule", str(path), True,
                                       datetime(2026, 1, 12, 8, 30))
    outcome = evaluate_spacing([], 3, schedule=schedule)
    assert outcome.status is PASS
    assert [g.gap_hours for g in outcome.gaps] == pytest.approx([48.2, 48.15])


def test_read_semicolon_csv_with_date_time_and_offset_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "fraction;date;time;timezone\n1;2026-01-12;08:30;+01:00\n"
                 "2;2026-01-14;02:30;-0500\n")
    schedule = read_schedule(path)
    assert schedule[1].datetime_utc == datetime(2026, 1, 14, 7, 30, tzinfo=UTC)
    assert schedule[1].local_text == "2026-01-14 02:30 -0500"


def test_read_yaml_schedule(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", "- {fraction: 1, datetime: 2026-01-12T08:30:00+01:00}\n"
                 "- fraction: 2\n  datetime: '2026-01-14T08:42:00+01:00'\n"
                 "- {fraction: 3, datetime: 2026-01-16T08:51:00, timezone: Europe/Berlin}\n")
    schedule = read_schedule(path)
    assert [t.datetime_utc for t in schedule] == [
        datetime(2026, 1, 12, 7, 30, tzinfo=UTC), datetime(2026, 1, 14, 7, 42, tzinfo=UTC),
        datetime(2026, 1, 16, 7, 51, tzinfo=UTC)]
    assert all(t.source == "schedule" and t.timezone_known for t in schedule)


def test_read_naive_schedule_keeps_wall_clock(tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "fraction,datetime\n1,2026-01-12 08:30\n2,2026-01-14 08:30\n")
    schedule = read_schedule(path)
    assert schedule[1].datetime_utc is None and not schedule[1].timezone_known
    assert schedule[1].wall_clock == datetime(2026, 1, 14, 8, 30)
    assert evaluate_spacing([], 2, schedule=schedule).status is NOT_EVALUATED  # 48 h, no zone


CSV_ERRORS = [
    ("fraction,datetime\n1,2026-13-01T08:30:00+01:00\n", "row 2", "datetime", "not an ISO 8601"),
    ("fraction,datetime\n1,2026-01-12\n", "row 2", "datetime", "no time of day"),
    ("fraction,datetime\n1,2026-01-12T08:30+01:00\n1,2026-01-14T08:30+01:00\n", "row 3",
     "fraction", "already given in row 2"),
    ("fraction,datetime\n1,2026-01-14T08:30+01:00\n2,2026-01-12T08:30+01:00\n", "row 3",
     "datetime", "is not after fraction 1"),
    ("fraction,datetime,room\n1,2026-01-12T08:30+01:00,A\n", "header", "room",
     "unknown column(s) room"),
    ("datetime\n2026-01-12T08:30+01:00\n", "header", "fraction", "column 'fraction' missing"),
    ("fraction,datetime,date,time\n1,,2026-01-12,08:30\n", "header", "datetime", "not both"),
    ("fraction,date\n1,2026-01-12\n", "header", "datetime", "'date' and 'time'"),
    ("fraction,datetime\nfirst,2026-01-12T08:30+01:00\n", "row 2", "fraction",
     "not a fraction number"),
    ("fraction,datetime\n0,2026-01-12T08:30+01:00\n", "row 2", "fraction", "not a fraction"),
    ("fraction,datetime\n1,\n", "row 2", "datetime", "missing"),
    ("fraction,date,time\n1,2026-01-12,25:00\n", "row 2", "time", "not an time"),
    ("fraction,date,time\n1,12/01/2026,08:30\n", "row 2", "date", "not an date"),
    ("fraction,date,time,timezone\n1,2026-01-12,08:30,Europe/Nowhere\n", "row 2", "timezone",
     "neither a UTC offset"),
    ("fraction,date,time,timezone\n1,2026-01-12,08:30,+15:00\n", "row 2", "timezone",
     "between -14:00 and +14:00"),
    ("fraction,date,time,timezone\n1,2026-03-29,02:30,Europe/Berlin\n", "row 2", "timezone",
     "does not exist in Europe/Berlin"),
    ("fraction,date,time,timezone\n1,2026-10-25,02:30,Europe/Berlin\n", "row 2", "timezone",
     "occurs twice in Europe/Berlin"),
    ("fraction,datetime,timezone\n1,2026-01-12T08:30+02:00,Europe/Berlin\n", "row 2",
     "timezone", "disagrees with Europe/Berlin"),
    ("fraction,datetime\n1,2026-01-12T08:30+01:00\n2,2026-01-14T08:30\n", "row 3", "datetime",
     "some rows have a UTC offset"),
    ("fraction,datetime\n1,2026-01-12T08:30+01:00,extra\n", "row 2", None, "extra cells"),
    ("", None, None, "empty file"),
    ("fraction,datetime\n", None, None, "no fraction rows"),
]


@pytest.mark.parametrize(("text", "where", "field", "what"), CSV_ERRORS)
def test_csv_schedule_errors_name_file_row_and_field(
        tmp_path: Path, text: str, where: str | None, field: str | None, what: str) -> None:
    path = write(tmp_path, "schedule.csv", text)
    with pytest.raises(InputError, match=re.escape(what)) as caught:
        read_schedule(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert what in message
    assert "\n" not in message
    assert caught.value.field == field
    if field:
        assert f": {field}: " in message
    if where:
        assert f"{where}: " in message


YAML_ERRORS = [
    ("- {fraction: 1, datetime: 2026-01-12T08:30:00+01:00}\n- {fraction: 1, datetime: x}\n",
     "entry 2", "datetime", "not an ISO 8601"),
    ("- {fraction: 1, when: 2026-01-12T08:30:00+01:00}\n", "entry 1", "when", "unknown column"),
    ("- 2026-01-12T08:30:00+01:00\n", "entry 1", None, "not a mapping"),
    ("fraction: 1\n", None, None, "must be a list"),
    ("- {fraction: 1\n", None, None, "not valid YAML"),
    ("", None, None, "empty file"),
]


@pytest.mark.parametrize(("text", "where", "field", "what"), YAML_ERRORS)
def test_yaml_schedule_errors_name_file_entry_and_field(
        tmp_path: Path, text: str, where: str | None, field: str | None, what: str) -> None:
    path = write(tmp_path, "schedule.yaml", text)
    with pytest.raises(InputError, match=re.escape(what)) as caught:
        read_schedule(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and what in message and "\n" not in message
    assert caught.value.field == field
    if where:
        assert f"{where}: " in message


def test_schedule_file_missing_or_of_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        read_schedule(tmp_path / "absent.csv")
    with pytest.raises(InputError, match=r"unknown schedule format '\.xlsx'"):
        read_schedule(write(tmp_path, "s.xlsx", "x"))


# --- value types -----------------------------------------------------------------------------


def test_fraction_time_is_valid_from_birth() -> None:
    with pytest.raises(ValueError, match="fraction number must be >= 1, got 0"):
        FractionTime(0, START, "", "record", "", True)
    with pytest.raises(ValueError, match=r"source must be one of \(.*\), got 'oncology'"):
        FractionTime(1, START, "", "oncology", "", True)
    with pytest.raises(ValueError, match="timezone_known needs a timezone-aware datetime_utc"):
        FractionTime(1, START.replace(tzinfo=None), "", "record", "", True)
    with pytest.raises(ValueError, match="datetime_utc must be None when the time zone is unknown"):
        FractionTime(1, START, "", "record", "", False)
    converted = FractionTime(1, START, "", "record", "", True)
    assert converted.datetime_utc == START and converted.datetime_utc.tzinfo is UTC
    assert converted.wall_clock == datetime(2026, 1, 12, 8, 30)


def test_outcome_and_gap_invariants() -> None:
    failing = FractionGap(1, 2, 24.0, FAIL, "")
    every = "a pass needs every gap to pass and every planned fraction known"
    with pytest.raises(ValueError, match=every):
        SpacingOutcome(PASS, (failing,), schedule_of([24.0]), 2, 0, (), ())
    with pytest.raises(ValueError, match=every):
        SpacingOutcome(PASS, (), schedule_of([]), None, 0, (), ())
    with pytest.raises(ValueError, match=r"unknown spacing code\(s\) \['SOMETHING_ELSE'\]"):
        SpacingOutcome(PENDING, (), (), 3, 0, (), ("SOMETHING_ELSE",))
    with pytest.raises(ValueError, match="gap must go forward, got 2 → 1"):
        FractionGap(2, 1, 24.0, FAIL, "")
    with pytest.raises(ValueError, match="a pass gap needs a finite gap_hours"):
        FractionGap(1, 2, math.nan, PASS, "")


# --- properties ------------------------------------------------------------------------------

OFFSETS_HOURS = [None, 1, 2, -5, 0]
INTERESTING_GAPS = [0.5, 24.0, 47.0, 47.9, 48.0, 48.5, 49.0, 71.0, 71.9, 72.0, 73.0]


@st.composite
def courses(draw: st.DrawFn) -> tuple[list[TreatmentRecord], int | None]:
    planned = draw(st.one_of(st.none(), st.integers(1, 5)))
    n = draw(st.integers(0, (planned or 4) + 1))
    gaps = draw(st.lists(st.one_of(st.floats(0.0, 120.0), st.sampled_from(INTERESTING_GAPS)),
                         min_size=max(n - 1, 0), max_size=max(n - 1, 0)))
    same_zone = draw(st.booleans())
    zone = draw(st.sampled_from(OFFSETS_HOURS))
    numbered = draw(st.booleans())
    wall = datetime(2026, 3, 20, 8, 30)
    records = []
    for number in range(1, n + 1):
        offset = zone if same_zone else draw(st.sampled_from(OFFSETS_HOURS))
        tz = None if offset is None else timezone(timedelta(hours=offset))
        records.append(record(number if numbered else None, wall.replace(tzinfo=tz)))
        wall += timedelta(hours=gaps[number - 1]) if number <= len(gaps) else timedelta()
    return records, planned


def shifted(records: list[TreatmentRecord], shift: timedelta) -> list[TreatmentRecord]:
    return [record(r.fraction_number, r.delivery_datetime + shift) if r.delivery_datetime
            else r for r in records]


@settings(max_examples=200, deadline=None)
@given(course_=courses(), shift=st.timedeltas(timedelta(days=-400), timedelta(days=400)))
def test_shifting_every_time_never_changes_the_outcome(
        course_: tuple[list[TreatmentRecord], int | None], shift: timedelta) -> None:
    records, planned = course_
    before = evaluate_spacing(records, planned)
    after = evaluate_spacing(shifted(records, shift), planned)
    assert (after.status, after.gaps, after.messages, after.codes) == (
        before.status, before.gaps, before.messages, before.codes)


@settings(max_examples=200, deadline=None)
@given(course_=courses())
def test_pass_means_every_gap_within_bounds_and_all_planned_fractions(
        course_: tuple[list[TreatmentRecord], int | None]) -> None:
    records, planned = course_
    outcome = evaluate_spacing(records, planned)
    if outcome.status is not PASS:
        return
    assert len(outcome.fractions) == planned == len(outcome.gaps) + 1
    for start, end in pairwise(outcome.fractions):
        assert start.timezone_known == end.timezone_known
        first, second = ((start.datetime_utc, end.datetime_utc) if start.timezone_known
                         else (start.wall_clock, end.wall_clock))
        assert first is not None and second is not None
        assert 48.0 <= (second - first).total_seconds() / 3600.0 < 72.0
    assert all(48.0 <= g.gap_hours < 72.0 for g in outcome.gaps)
