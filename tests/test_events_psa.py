"""PSA response, week-12 change and PCWG3 progression on hand-built series."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rtcheck.events.psa import psa_summary
from rtcheck.events.schema import NestReason, NestStart, PatientEvents, PsaValue

START = date(2020, 1, 1)
CUTOFF = date(2022, 1, 1)


def _patient(series: list[tuple[int, float]], nest_day: int | None = None) -> PatientEvents:
    """PSA values at ``day`` (relative to START; negative = before) in ng/mL."""
    events = [PsaValue(patient_id="P", event_date=START + timedelta(days=d), psa_ng_ml=v, row=i + 2)
              for i, (d, v) in enumerate(series)]
    if nest_day is not None:
        events.append(NestStart(patient_id="P", event_date=START + timedelta(days=nest_day),
                                reason=NestReason.POLYPROGRESSION))
    return PatientEvents("P", tuple(events))


def _day(n: int) -> date:
    return START + timedelta(days=n)


def test_baseline_is_last_value_on_or_before_start():
    s = psa_summary(_patient([(-30, 12.0), (0, 10.0), (30, 8.0)]), START, CUTOFF)
    assert (s.baseline_date, s.baseline_psa_ng_ml) == (START, 10.0)


def test_bounce_that_does_not_confirm_is_no_response():
    # 4.0 on day 30 is a >= 50 % decline from 10; day 45 is < 4 weeks later and does not count;
    # the first value >= 28 days later (day 60: 6.5) is above 5.0: not confirmed.
    s = psa_summary(_patient([(0, 10.0), (30, 4.0), (45, 3.0), (60, 6.5), (90, 7.0)]),
                    START, CUTOFF)
    assert s.response is False
    assert s.response_date is None
    assert any("2020-01-31 not confirmed" in n and "6.5 ng/mL" in n for n in s.notes)


def test_response_confirmed_after_a_bounce():
    s = psa_summary(_patient([(0, 10.0), (30, 4.0), (58, 6.0), (84, 4.5), (112, 5.0)]),
                    START, CUTOFF)
    # day 30 fails (day 58 is 6.0); day 84 (4.5) is confirmed by day 112 (5.0 <= 50 % of 10).
    assert s.response is True
    assert (s.response_date, s.response_confirm_date) == (_day(84), _day(112))


def test_response_confirmation_exactly_28_days_counts_27_does_not():
    ok = psa_summary(_patient([(0, 10.0), (30, 4.0), (58, 4.0)]), START, CUTOFF)
    early = psa_summary(_patient([(0, 10.0), (30, 4.0), (57, 4.0)]), START, CUTOFF)
    assert ok.response and ok.response_confirm_date == _day(58)
    assert not early.response


def test_week12_value_closest_to_day_84_in_window():
    s = psa_summary(_patient([(0, 10.0), (70, 6.0), (80, 4.0), (90, 5.0), (99, 1.0)]),
                    START, CUTOFF)
    assert s.week12_date == _day(80)
    assert s.week12_change_pct == pytest.approx(-60.0)
    tie = psa_summary(_patient([(0, 10.0), (80, 4.0), (88, 12.0)]), START, CUTOFF)
    assert tie.week12_date == _day(80)  # equal distance: the earlier value
    outside = psa_summary(_patient([(0, 10.0), (69, 4.0), (99, 12.0)]), START, CUTOFF)
    assert outside.week12_change_pct is None
    rise = psa_summary(_patient([(0, 8.0), (84, 10.0)]), START, CUTOFF)
    assert rise.week12_change_pct == pytest.approx(25.0)


def test_progression_after_decline_confirmed_exactly_three_weeks_later():
    # nadir 3.0 (day 60); day 120: 5.0 = nadir + 2.0 and >= 1.25 x 3.0 -> rise;
    # confirmed by 6.0 on day 141, exactly 21 days later. Progression date = first rising value.
    s = psa_summary(_patient([(0, 10.0), (30, 4.0), (60, 3.0), (120, 5.0), (141, 6.0)]),
                    START, CUTOFF)
    assert s.progression_date == _day(120)
    assert s.progression_confirm_date == _day(141)
    assert s.progression_rule is not None and "above nadir 3" in s.progression_rule
    assert s.nadir_psa_ng_ml == 3.0


def test_progression_confirmation_20_days_later_is_not_enough():
    s = psa_summary(_patient([(0, 10.0), (30, 4.0), (60, 3.0), (120, 5.0), (140, 6.0)]),
                    START, CUTOFF)
    assert s.progression_date is None
    assert any("not confirmed (no value >= 3 weeks later)" in n for n in s.notes)


def test_rise_below_two_ng_ml_is_not_progression():
    # nadir 1.0: 1.9 is +90 % but only +0.9 ng/mL.
    s = psa_summary(_patient([(0, 4.0), (30, 1.0), (90, 1.9), (120, 2.5)]), START, CUTOFF)
    assert s.progression_date is None


def test_progression_without_decline_only_from_week_12():
    # No value below baseline 10; the rise on day 30 (confirmed on day 60) is before week 12
    # and ignored; day 90 (13.0 >= 12.5 and >= 12.0) confirmed on day 112.
    s = psa_summary(_patient([(0, 10.0), (30, 13.0), (60, 13.0), (90, 13.0), (112, 14.0)]),
                    START, CUTOFF)
    assert s.progression_date == _day(90)
    assert s.progression_rule is not None and s.progression_rule.startswith("no decline")


def test_values_after_nest_are_not_used():
    s = psa_summary(_patient([(0, 10.0), (30, 4.0), (60, 3.0), (120, 9.0), (150, 12.0)],
                             nest_day=100), START, CUTOFF)
    assert s.progression_date is None
    assert s.last_value_date == _day(60)
    assert any("after the start of NEST" in n for n in s.notes)


def test_no_baseline_is_not_evaluable():
    s = psa_summary(_patient([(30, 4.0)]), START, CUTOFF)
    assert s.baseline_psa_ng_ml is None and not s.response
    assert any("not evaluable" in n for n in s.notes)
