"""Eligibility screen (protocol inclusion/exclusion numbers; WHO PS configurable)."""

from __future__ import annotations

from datetime import date

import pytest

from rtcheck.events import analyse_file
from rtcheck.events.eligibility import screen
from rtcheck.events.schema import Covariate, PatientEvents
from rtcheck.events.schema import TestosteroneValue as CastrationLab
from tests.events_helpers import P1_BASE, write_lines

START = date(2020, 3, 1)


def _patient(t_value: float | None = 30.0, unit: str = "ng/dL", **covs: float) -> PatientEvents:
    base = {"age_years": 70, "who_ps": 1, "n_progressive_metastases": 2, "local_recurrence": 0}
    base.update(covs)
    events = () if t_value is None else (
        CastrationLab(patient_id="P", event_date=date(2020, 2, 1), value=t_value, unit=unit),)
    return PatientEvents("P", events, tuple(Covariate("P", k, float(v)) for k, v in base.items()))


def _status(result, name):
    return next(c.status for c in result.criteria if c.name == name)


def test_eligible_patient():
    r = screen(_patient(), START)
    assert r.verdict == "eligible"


@pytest.mark.parametrize(("value", "unit", "status"), [
    (49.9, "ng/dL", "PASS"), (50.0, "ng/dL", "FAIL"),
    (1.69, "nmol/L", "PASS"), (1.7, "nmol/L", "FAIL"),
])
def test_testosterone_castrate_level(value, unit, status):
    assert _status(screen(_patient(value, unit), START), "testosterone") == status


def test_local_recurrence_counts_as_one_lesion():
    assert _status(screen(_patient(n_progressive_metastases=2, local_recurrence=1), START),
                   "lesions") == "PASS"
    r = screen(_patient(n_progressive_metastases=3, local_recurrence=1), START)
    assert _status(r, "lesions") == "FAIL"
    assert r.verdict == "not eligible"


def test_who_ps_paper_versus_registry():
    p = _patient(who_ps=2)
    assert _status(screen(p, START), "who_ps") == "PASS"  # paper: 0-2 (default)
    assert _status(screen(p, START, who_ps_max=1), "who_ps") == "FAIL"  # registry: 0-1


def test_age_and_missing_data():
    assert _status(screen(_patient(age_years=17), START), "age") == "FAIL"
    assert _status(screen(_patient(age_years=18), START), "age") == "PASS"
    r = screen(_patient(t_value=None), START)
    assert _status(r, "testosterone") == "MISSING"
    assert r.verdict == "not assessable"


def test_testosterone_after_start_is_not_used():
    p = PatientEvents("P", (CastrationLab(patient_id="P", event_date=date(2020, 4, 1),
                                              value=20, unit="ng/dL"),))
    assert _status(screen(p, START), "testosterone") == "MISSING"


@pytest.mark.parametrize(("mets", "local"), [("3.9", "0"), ("-1", "0"), ("2", "0.5"), ("1", "2")])
def test_non_whole_lesion_counts_are_not_a_pass(tmp_path, mets: str, local: str) -> None:
    """3.9 progressive metastases were truncated to 3 and PASSed (max 3)."""
    lines = [ln for ln in P1_BASE if "local_recurrence" not in ln]
    p = write_lines(tmp_path, [*lines, f"P1,covariate,,{mets},,,,,,,n_progressive_metastases",
                               f"P1,covariate,,{local},,,,,,,local_recurrence",
                               "P1,last_followup,2023-06-01,,,,,,,,"])
    (pr,) = analyse_file(p, date(2023, 6, 30)).patients
    lesions = next(c for c in pr.eligibility.criteria if c.name == "lesions")
    assert lesions.status == "MISSING", lesions
    assert pr.eligibility.verdict != "eligible"
