"""Per-patient endpoints for hand-computed tricky patients (protocol "Endpoints")."""

from __future__ import annotations

from datetime import date

import pytest

from rtcheck.events import DAYS_PER_MONTH
from tests.events_helpers import analyse_rows, row, sbrt


def _ep(result, pid, name):
    p = next(p for p in result.patients if p.patient_id == pid)
    return p.endpoint(name)


@pytest.fixture
def cohort(tmp_path):
    rows = [
        # A: death from another cause without progression (start = SBRT last day 2020-01-24).
        row("A", "registration", "2020-01-06"),
        *sbrt("A", "2020-01-20", "2020-01-22", "2020-01-24"),
        row("A", "psa", "2020-01-10", value=4, unit="ng/mL"),
        row("A", "death", "2020-07-23", cause="other"),
        # B: SBRT (2020-03-06) and metastasectomy (2020-03-20): start is the later day.
        row("B", "registration", "2020-02-03"),
        *sbrt("B", "2020-03-02", "2020-03-04", "2020-03-06"),
        row("B", "metastasectomy", "2020-03-20"),
        row("B", "progression", "2020-09-16", site="nodal"),
        row("B", "nest", "2020-10-14", reason="polyprogression"),
        row("B", "death", "2021-06-01", cause="prostate_cancer"),
        # C: alive, last follow-up before the cut-off: censored at last follow-up.
        row("C", "registration", "2020-02-03"),
        row("C", "rt_end", "2020-03-06", modality="fractionated"),
        row("C", "last_followup", "2022-01-10"),
        # D: followed beyond the cut-off: censored at the cut-off; the later NEST is not used.
        row("D", "registration", "2020-02-03"),
        *sbrt("D", "2020-03-02", "2020-03-04", "2020-03-06"),
        row("D", "nest", "2023-08-01", reason="symptomatic"),
        row("D", "last_followup", "2023-09-01"),
        # E: progression treated by repeat SBRT (course 2): not NEST, start unchanged.
        row("E", "registration", "2020-02-03"),
        *sbrt("E", "2020-03-02", "2020-03-04", "2020-03-06"),
        row("E", "progression", "2020-09-16", site="metastatic"),
        row("E", "rt_end", "2020-10-02", modality="SBRT", course=2),
        row("E", "last_followup", "2022-01-10"),
    ]
    return analyse_rows(tmp_path, rows, "2023-06-30")


def test_death_without_progression_other_cause(cohort):
    # 2020-01-24 -> 2020-07-23 = 181 days (2020 is a leap year), 181 / 30.4375 = 5.9466 months.
    for name, observed in (("nest_fs", True), ("cpfs", True), ("os", True), ("css", False)):
        ep = _ep(cohort, "A", name)
        assert ep.start_date == date(2020, 1, 24)
        assert ep.end_date == date(2020, 7, 23)
        assert ep.duration_days == 181
        assert ep.duration_months == pytest.approx(5.9466, abs=1e-4)
        assert ep.event_observed is observed, name
    assert _ep(cohort, "A", "css").deciding_event.startswith("censored: death from other cause")
    assert _ep(cohort, "A", "cpfs").deciding_event.startswith("death (other)")


def test_surgery_and_sbrt_uses_the_later_day(cohort):
    p = next(p for p in cohort.patients if p.patient_id == "B")
    assert p.start.start_date == date(2020, 3, 20)
    assert p.start.basis == "radiotherapy+metastasectomy"
    assert "later day (metastasectomy, 2020-03-20)" in p.start.description
    assert (_ep(cohort, "B", "cpfs").duration_days, _ep(cohort, "B", "cpfs").event_observed) == (
        180, True)
    assert _ep(cohort, "B", "nest_fs").duration_days == 208
    assert _ep(cohort, "B", "nest_fs").deciding_event.startswith("nest (polyprogression)")
    assert _ep(cohort, "B", "css").duration_days == 438
    assert _ep(cohort, "B", "css").event_observed
    assert _ep(cohort, "B", "os").duration_days == 438
    assert any(f.code == "START_BOTH_TREATMENTS" and f.subject == "B" for f in cohort.findings)


def test_censoring_at_last_follow_up(cohort):
    ep = _ep(cohort, "C", "os")
    assert (ep.end_date, ep.duration_days, ep.event_observed) == (date(2022, 1, 10), 675, False)
    assert ep.deciding_event.startswith("censored: last follow-up (last_followup")
    assert ep.duration_months == pytest.approx(675 / 30.4375)


def test_censoring_at_cutoff_ignores_later_events(cohort):
    ep = _ep(cohort, "D", "nest_fs")
    assert (ep.end_date, ep.duration_days, ep.event_observed) == (date(2023, 6, 30), 1211, False)
    assert "cut-off" in ep.deciding_event
    assert any(f.code == "EVENTS_AFTER_CUTOFF" and f.subject == "D" for f in cohort.findings)


def test_repeat_mdt_is_not_nest_and_keeps_the_start(cohort):
    p = next(p for p in cohort.patients if p.patient_id == "E")
    assert p.start.start_date == date(2020, 3, 6)
    assert not p.endpoint("nest_fs").event_observed
    assert p.endpoint("nest_fs").end_date == date(2022, 1, 10)
    assert p.endpoint("cpfs").event_observed
    assert p.endpoint("cpfs").end_date == date(2020, 9, 16)


def test_days_per_month_constant():
    assert DAYS_PER_MONTH == 30.4375


def test_progression_on_start_day_is_baseline_not_event(tmp_path):
    rows = [row("F", "registration", "2020-01-06"),
            *sbrt("F", "2020-01-20", "2020-01-22", "2020-01-24"),
            row("F", "progression", "2020-01-24", site="local"),
            row("F", "last_followup", "2020-12-01")]
    result = analyse_rows(tmp_path, rows, "2021-01-01")
    assert not _ep(result, "F", "cpfs").event_observed
    assert any(f.code == "PROGRESSION_BEFORE_START" for f in result.findings)
