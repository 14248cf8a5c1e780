"""Acute/late toxicity classification (protocol e., CTCAE v4.0, Clavien-Dindo 2004)."""

from __future__ import annotations

from datetime import date

import pytest

from rtcheck.events import analyse_file
from rtcheck.events.schema import GradeSystem, PatientEvents, Toxicity
from rtcheck.events.toxicity import add_months, classify, toxicity_summary
from tests.events_helpers import P1_BASE, write_lines

START = date(2020, 1, 24)
BOUNDARY = date(2020, 4, 24)  # 3 calendar months after START
END = date(2021, 1, 1)


def _tox(onset: date, grade: str = "2", resolved: date | None = None,
         system: GradeSystem = GradeSystem.CTCAE, term: str = "Proctitis") -> Toxicity:
    return Toxicity(patient_id="P", event_date=onset, term=term, grade=grade,
                    grade_system=system, resolution_date=resolved)


def test_add_months_clips_to_month_end():
    assert add_months(START, 3) == BOUNDARY
    assert add_months(date(2019, 11, 30), 3) == date(2020, 2, 29)
    assert add_months(date(2020, 11, 30), 3) == date(2021, 2, 28)
    assert add_months(date(2020, 12, 15), 1) == date(2021, 1, 15)


def test_toxicity_exactly_at_three_months_is_late():
    c = classify(_tox(BOUNDARY), START, END)
    assert (c.acute, c.late, c.late_date) == (False, True, BOUNDARY)
    day_before = classify(_tox(date(2020, 4, 23), resolved=date(2020, 4, 30)), START, END)
    assert (day_before.acute, day_before.late) == (True, True)  # persists beyond the boundary
    resolved_before = classify(_tox(date(2020, 4, 23), resolved=date(2020, 4, 24)), START, END)
    assert (resolved_before.acute, resolved_before.late) == (True, False)


def test_acute_event_lasting_beyond_three_months_is_also_late():
    c = classify(_tox(date(2020, 2, 1), resolved=None), START, END)
    assert (c.acute, c.late, c.late_date) == (True, True, BOUNDARY)
    short_fu = classify(_tox(date(2020, 2, 1), resolved=None), START, date(2020, 4, 1))
    assert (short_fu.acute, short_fu.late) == (True, False)


def test_during_treatment_is_acute():
    c = classify(_tox(date(2020, 1, 21), grade="1", resolved=date(2020, 2, 1)), START, END)
    assert (c.acute, c.late, c.onset_day) == (True, False, -3)


def test_worst_grades_and_first_late_grade2():
    events = (
        _tox(date(2020, 2, 1), grade="1", resolved=date(2020, 2, 20), term="Fatigue"),
        _tox(date(2020, 3, 1), grade="3", resolved=date(2020, 3, 20), term="Diarrhea"),
        _tox(date(2020, 6, 1), grade="1", term="Proctitis"),
        _tox(date(2020, 9, 1), grade="2", term="Cystitis noninfective"),
        _tox(date(2020, 2, 5), grade="IIIa", system=GradeSystem.CLAVIEN_DINDO,
             resolved=date(2020, 3, 1), term="Lymphocele"),
        _tox(date(2020, 2, 5), grade="II", system=GradeSystem.CLAVIEN_DINDO,
             resolved=date(2020, 2, 10), term="Wound infection"),
    )
    s = toxicity_summary(PatientEvents("P", events), START, END)
    assert s.worst_acute_ctcae == "3"
    assert s.worst_late_ctcae == "2"
    assert s.worst_acute_clavien_dindo == "IIIa"
    assert s.worst_late_clavien_dindo is None
    assert s.first_late_grade2_date == date(2020, 9, 1)
    assert s.boundary_date == BOUNDARY


def test_grade_validation():
    with pytest.raises(ValueError, match="not one of"):
        _tox(START, grade="6")
    with pytest.raises(ValueError, match="not one of"):
        _tox(START, grade="3", system=GradeSystem.CLAVIEN_DINDO)
    with pytest.raises(ValueError, match="before the onset"):
        _tox(START, resolved=date(2020, 1, 1))


# ------------------------------------------------------------ resolution after the cut-off
CYSTITIS = "P1,toxicity,2023-05-10,,,,cystitis,2,CTCAE_v4,2023-09-15,"


def test_resolution_after_the_cutoff_does_not_make_a_toxicity_late(tmp_path):
    """Follow-up ends at the cut-off (2023-06-30) before the 3-month boundary (2023-08-01);
    the resolution date 2023-09-15 lies after the cut-off and may not be used, yet the
    event was reported as late grade 2."""
    p = write_lines(tmp_path, [*P1_BASE, CYSTITIS, "P1,last_followup,2023-10-01,,,,,,,,"])
    (pr,) = analyse_file(p, date(2023, 6, 30)).patients
    assert pr.toxicity.worst_acute_ctcae == "2"
    assert pr.toxicity.worst_late_ctcae is None


def test_resolution_before_the_cutoff_still_makes_a_persisting_toxicity_late(tmp_path):
    p = write_lines(tmp_path, [*P1_BASE, CYSTITIS, "P1,last_followup,2023-10-01,,,,,,,,"])
    (pr,) = analyse_file(p, date(2023, 12, 31)).patients
    assert pr.toxicity.worst_late_ctcae == "2"
    assert pr.toxicity.first_late_grade2_date == date(2023, 8, 1)


def test_resolution_before_the_cutoff_but_after_last_contact_is_still_used(tmp_path):
    """The fix drops only data after the cut-off: a resolution dated before it is known."""
    p = write_lines(tmp_path, [*P1_BASE, CYSTITIS, "P1,last_followup,2023-06-01,,,,,,,,"])
    (pr,) = analyse_file(p, date(2023, 12, 31)).patients
    assert pr.toxicity.worst_late_ctcae == "2"
