"""Real trial data (issue #11): limits of detection, evaluability, exclusions, imaging, same-day
events, KM median conventions and the CRF items the format gained. Hand-computed values."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rtcheck.events import DAYS_PER_MONTH, AnalysisConfig, analyse_file, read_event_file
from rtcheck.events.psa import psa_summary
from rtcheck.events.schema import PatientEvents, PsaValue
from tests.events_helpers import COHORT_CSV, analyse_rows, row, sbrt, write_events

START = date(2020, 1, 1)
CUTOFF = date(2022, 1, 1)


def _psa(series: list[tuple[int, float, bool]]):
    """(day, value, below the limit) relative to START."""
    events = [PsaValue(patient_id="P", event_date=START + timedelta(days=d), psa_ng_ml=v,
                       below_lod=b, row=i + 2) for i, (d, v, b) in enumerate(series)]
    return psa_summary(PatientEvents("P", tuple(events)), START, CUTOFF)


def _day(n: int) -> date:
    return START + timedelta(days=n)


def _p(result, pid):
    return next(p for p in result.patients if p.patient_id == pid)


def _codes(result, pid):
    return [f.code for f in result.findings if f.subject == pid]


# --- (1) PSA below the limit of detection -------------------------------------------------

def test_reader_accepts_less_than_values_and_a_lod_column(tmp_path):
    rows = [row("P", "psa", "2020-01-01", value="<0.1", unit="ng/mL"),
            row("P", "psa", "2020-02-01", unit="ng/mL", lod="0.05"),
            row("P", "psa", "2020-03-01", value="<LOD", unit="ng/mL", lod="0.2"),
            row("P", "psa", "2020-04-01", value="0.03", unit="ng/mL", lod="0.05"),
            row("P", "psa", "2020-05-01", value="0.3", unit="ng/mL", lod="0.05")]
    parsed = read_event_file(write_events(tmp_path / "e.csv", rows))
    assert parsed.problems == []
    assert [(e.psa_ng_ml, e.below_lod) for e in parsed.events] == [
        (0.1, True), (0.05, True), (0.2, True), (0.05, True), (0.3, False)]
    assert [f.code for f in parsed.findings] == ["PSA_BELOW_LOD"]
    assert "row 5: PSA 0.03 is below the limit of detection 0.05 of the row: used as <0.05" in \
        parsed.findings[0].message


def test_value_below_the_limit_counts_as_at_most_the_limit_for_a_decline():
    # baseline 10; <0.1 on day 30 and 60: 0.1 <= 5.0 (50 %) -> a decline confirmed 30 days later
    s = _psa([(0, 10.0, False), (30, 0.1, True), (60, 0.1, True)])
    assert s.response_outcome == "yes"
    assert (s.response_date, s.response_confirm_date) == (_day(30), _day(60))
    assert (s.nadir_psa_ng_ml, s.nadir_below_lod) == (0.1, True)


def test_a_limit_above_half_the_baseline_cannot_show_a_decline():
    # baseline 0.15: <0.1 may be anything in [0, 0.1]; 0.1 > 0.075 (50 %): undetermined -> "no"
    s = _psa([(0, 0.15, False), (30, 0.1, True), (60, 0.1, True)])
    assert s.response_outcome == "no"
    assert any("limit of detection is above 50 % of baseline" in n for n in s.notes)


def test_value_below_the_limit_counts_as_the_limit_for_a_rise():
    # nadir <0.5 -> reference 0.5: 2.4 is +1.9 ng/mL (no); 2.5 = 0.5 + 2.0 and >= 0.625 (rise,
    # day 120), confirmed by 2.6 on day 141 (21 days)
    no = _psa([(0, 10.0, False), (30, 0.5, True), (120, 2.4, False), (141, 2.6, False)])
    assert no.progression_date is None
    yes = _psa([(0, 10.0, False), (30, 0.5, True), (120, 2.5, False), (141, 2.6, False)])
    assert (yes.progression_date, yes.progression_confirm_date) == (_day(120), _day(141))
    assert yes.progression_rule is not None and "above nadir 0.5" in yes.progression_rule


def test_value_below_the_limit_never_confirms_a_rise():
    # no decline, baseline 1.0: 3.5 on day 90 rises (>= 1.25 and +2.5); day 111 is '<4' (its
    # true value may be lower than 3.25): not a confirmation
    s = _psa([(0, 1.0, False), (90, 3.5, False), (111, 4.0, True)])
    assert s.progression_date is None


def test_week12_change_with_a_value_below_the_limit_is_an_upper_bound():
    s = _psa([(0, 10.0, False), (84, 0.1, True)])
    assert s.week12_change_pct == pytest.approx(-99.0)
    assert s.week12_below_lod is True


def test_baseline_below_the_limit_makes_the_response_not_evaluable():
    s = _psa([(0, 0.1, True), (30, 0.1, True), (60, 0.1, True)])
    assert s.response_outcome == "not evaluable"
    assert s.not_evaluable_reason == "baseline PSA <0.1 is below the limit of detection"
    assert s.progression_evaluable is True


# --- (2) three-valued evaluability ----------------------------------------------------------

@pytest.fixture
def evaluability(tmp_path):
    rows = [
        # R: responder (10 -> 4 on day 36 -> 4 on day 70), start 2020-01-24
        row("R", "registration", "2020-01-06"), *sbrt("R", "2020-01-20", "2020-01-22",
                                                      "2020-01-24"),
        row("R", "psa", "2020-01-10", value=10, unit="ng/mL"),
        row("R", "psa", "2020-02-29", value=4, unit="ng/mL"),
        row("R", "psa", "2020-04-03", value=4, unit="ng/mL"),
        row("R", "last_followup", "2020-06-01"),
        # N: non-responder
        row("N", "registration", "2020-01-06"), *sbrt("N", "2020-01-20", "2020-01-22",
                                                      "2020-01-24"),
        row("N", "psa", "2020-01-10", value=10, unit="ng/mL"),
        row("N", "psa", "2020-03-01", value=9, unit="ng/mL"),
        row("N", "last_followup", "2020-06-01"),
        # B: only a baseline PSA; X: no PSA at all -> both not evaluable, both left out
        row("B", "registration", "2020-01-06"), *sbrt("B", "2020-01-20", "2020-01-22",
                                                      "2020-01-24"),
        row("B", "psa", "2020-01-10", value=10, unit="ng/mL"),
        row("B", "last_followup", "2020-06-01"),
        row("X", "registration", "2020-01-06"), *sbrt("X", "2020-01-20", "2020-01-22",
                                                      "2020-01-24"),
        row("X", "last_followup", "2020-06-01"),
    ]
    return analyse_rows(tmp_path, rows, "2021-01-01")


def test_response_is_yes_no_or_not_evaluable_with_the_reason(evaluability):
    outcome = {p.patient_id: (p.psa.response_outcome, p.psa.not_evaluable_reason)
               for p in evaluability.patients}
    assert outcome == {"R": ("yes", None), "N": ("no", None),
                       "B": ("not evaluable", "no PSA value after the start"),
                       "X": ("not evaluable", "no PSA value on or before the start (no baseline)")}
    assert evaluability.psa_response_rate() == (1, 2, [
        ("B", "no PSA value after the start"),
        ("X", "no PSA value on or before the start (no baseline)")])


def test_baseline_only_and_no_psa_are_both_left_out_of_psa_progression(evaluability):
    assert {e.patient_id for e in evaluability.endpoint_results("psa_progression")} == {"R", "N"}
    km = next(k for k in evaluability.km if k.endpoint == "psa_progression")
    assert (km.n, km.n_not_evaluable) == (2, 2)
    assert "PATIENT_NOT_EVALUABLE" in _codes(evaluability, "B")
    assert "PATIENT_NOT_EVALUABLE" in _codes(evaluability, "X")


def test_text_report_states_the_rate_and_not_evaluable_patients(evaluability):
    from rtcheck.events import render

    text = render(evaluability, "text")
    assert ("PSA response (confirmed decline >= 50 %): 1/2 evaluable patients (50 %); "
            "2 not evaluable: B (no PSA value after the start); X (no PSA value on or before "
            "the start (no baseline))") in text
    line = next(ln for ln in text.splitlines() if ln.startswith("B   "))
    assert line.split()[7:10] == ["n/e", "4.2+", "n/e"]  # PSA-prog, late tox (129 d), resp


# --- (3) not treated, withdrawn, lost to follow-up -----------------------------------------

def test_not_treated_withdrawn_and_lost_patients(tmp_path):
    rows = [
        row("T", "registration", "2020-01-06"),  # registered, never treated
        row("W", "registration", "2020-01-06"),  # withdrew before SBRT
        row("W", "withdrawal", "2020-01-15"),
        # V: withdrew 2020-06-01 after SBRT (start 2020-01-24); the later PSA is not used
        row("V", "registration", "2020-01-06"), *sbrt("V", "2020-01-20", "2020-01-22",
                                                      "2020-01-24"),
        row("V", "withdrawal", "2020-06-01"),
        row("V", "psa", "2020-07-01", value=3, unit="ng/mL"),
        # L: lost to follow-up, last contact 2020-09-01
        row("L", "registration", "2020-01-06"), *sbrt("L", "2020-01-20", "2020-01-22",
                                                      "2020-01-24"),
        row("L", "lost_to_followup", "2020-09-01"),
    ]
    result = analyse_rows(tmp_path, rows, "2021-01-01")
    assert [(e.patient_id, e.reason) for e in result.excluded] == [
        ("T", "not_treated"), ("W", "off_study_before_start")]
    v_os = _p(result, "V").endpoint("os")
    assert (v_os.end_date, v_os.deciding_event) == (date(2020, 6, 1),
                                                    "censored: withdrawal, row 10")
    assert v_os.duration_days == 129  # 2020-01-24 -> 2020-06-01
    assert "EVENTS_AFTER_OFF_STUDY" in _codes(result, "V")
    l_os = _p(result, "L").endpoint("os")
    assert (l_os.end_date, l_os.deciding_event) == (date(2020, 9, 1),
                                                    "censored: lost_to_followup, row 17")
    assert "NO_LAST_FOLLOWUP" not in _codes(result, "L")


def test_interim_cutoff_on_the_shipped_cohort():
    # cut-off 2020-06-18: MC07 (start 2020-06-18) is in, MC08 (2020-06-19) and later are out
    result = analyse_file(COHORT_CSV, date(2020, 6, 18))
    assert [p.patient_id for p in result.patients][-1] == "MC07"
    assert len(result.patients) == 7
    reasons = {e.patient_id: e.reason for e in result.excluded}
    assert reasons["MC08"] == "started_after_cutoff"
    assert reasons["MC19"] == "registered_after_cutoff"


# --- (4) imaging assessments and the cPFS censoring rule ---------------------------------------

@pytest.fixture
def imaging_rows():
    return [
        row("I", "registration", "2020-01-06"), *sbrt("I", "2020-01-20", "2020-01-22",
                                                      "2020-01-24"),
        row("I", "imaging", "2020-07-24", modality="conventional", result="no_progression"),
        row("I", "imaging", "2021-01-25", modality="conventional", result="no_progression"),
        row("I", "imaging", "2021-03-01", modality="PSMA", result="progression"),
        row("I", "last_followup", "2021-06-01"),
        row("J", "registration", "2020-01-06"), *sbrt("J", "2020-01-20", "2020-01-22",
                                                      "2020-01-24"),
        row("J", "imaging", "2020-07-24", modality="conventional", result="progression"),
        row("J", "last_followup", "2021-06-01"),
    ]


def test_cpfs_is_censored_at_the_last_conventional_imaging(tmp_path, imaging_rows):
    result = analyse_rows(tmp_path, imaging_rows, "2022-01-01")
    cpfs = _p(result, "I").endpoint("cpfs")
    # 2020-01-24 -> 2021-01-25 = 367 days; PSMA (investigational, blinded) never counts
    assert (cpfs.end_date, cpfs.duration_days, cpfs.event_observed) == (date(2021, 1, 25), 367,
                                                                        False)
    assert cpfs.deciding_event == "censored: last imaging without progression, row 8"
    j = _p(result, "J").endpoint("cpfs")
    assert (j.end_date, j.deciding_event) == (
        date(2020, 1, 24),
        "censored: no conventional imaging without progression after the start (day 0)")
    assert {"CPFS_NO_IMAGING", "IMAGING_PROGRESSION_NOT_RECORDED"} <= set(_codes(result, "J"))


def test_cpfs_last_contact_rule_is_kept_as_an_option(tmp_path, imaging_rows):
    path = write_events(tmp_path / "e.csv", imaging_rows)
    result = analyse_file(path, date(2022, 1, 1),
                          config=AnalysisConfig(cpfs_censoring="last-contact"))
    cpfs = _p(result, "I").endpoint("cpfs")
    assert (cpfs.end_date, cpfs.deciding_event) == (
        date(2021, 6, 1), "censored: last follow-up (last_followup, row 10)")


# --- (5) same-day events and NEST without progression --------------------------------------

def test_nest_and_death_on_the_same_day_are_both_named(tmp_path):
    rows = [row("S", "registration", "2020-01-06"), *sbrt("S", "2020-01-20", "2020-01-22",
                                                          "2020-01-24"),
            row("S", "progression", "2020-06-01", site="metastatic"),
            row("S", "death", "2020-08-01", cause="prostate_cancer"),
            row("S", "nest", "2020-08-01", reason="polyprogression")]
    result = analyse_rows(tmp_path, rows, "2021-01-01")
    nest_fs = _p(result, "S").endpoint("nest_fs")
    assert nest_fs.end_date == date(2020, 8, 1) and nest_fs.event_observed
    assert nest_fs.deciding_event == ("nest (polyprogression), row 9; same day: "
                                      "death (prostate_cancer), row 8")
    assert "NEST_WITHOUT_PROGRESSION" not in _codes(result, "S")


def test_nest_for_polyprogression_without_progression_is_a_warning(tmp_path):
    rows = [row("Q", "registration", "2020-01-06"), *sbrt("Q", "2020-01-20", "2020-01-22",
                                                          "2020-01-24"),
            row("Q", "progression", "2020-01-10", site="nodal"),  # the qualifying one
            row("Q", "nest", "2020-08-01", reason="polyprogression"),
            row("Q", "progression", "2020-08-02", site="metastatic"),  # after the NEST
            row("Q", "last_followup", "2020-12-01")]
    result = analyse_rows(tmp_path, rows, "2021-01-01")
    msg = next(f.message for f in result.findings if f.code == "NEST_WITHOUT_PROGRESSION")
    assert msg.startswith("row 8: NEST on 2020-08-01 for polyprogression but no progression "
                          "after the start 2020-01-24 on or before that day")


# --- (6) KM median convention -------------------------------------------------------------------

def _km_rows(durations: list[tuple[int, bool]]):
    rows = []
    for i, (days, event) in enumerate(durations):
        pid = f"K{i}"
        end = (date(2020, 1, 24) + timedelta(days=days)).isoformat()
        rows += [row(pid, "registration", "2020-01-06"),
                 *sbrt(pid, "2020-01-20", "2020-01-22", "2020-01-24"),
                 row(pid, "death" if event else "last_followup", end,
                     **({"cause": "other"} if event else {}))]
    return rows


@pytest.mark.parametrize(("durations", "first_days", "midpoint_days"), [
    # S = 3/4 after day 100, 3/4 x 2/3 = 1/2 from day 365 to the next drop on day 395 (1/4)
    ([(100, True), (365, True), (395, True), (400, False)], 365, (365 + 395) / 2),
    # S = 1/2 from day 365 to the end of follow-up (600, censored): midpoint of the flat
    ([(100, True), (365, True), (500, False), (600, False)], 365, (365 + 600) / 2),
    # no flat at 0.5 (S jumps from 2/3 to 1/3): both conventions give the jump
    ([(100, True), (200, True), (300, True)], 200, 200),
])
def test_km_median_first_and_midpoint_conventions(tmp_path, durations, first_days,
                                                  midpoint_days):
    path = write_events(tmp_path / "e.csv", _km_rows(durations))
    for rule, days in (("first", first_days), ("midpoint", midpoint_days)):
        result = analyse_file(path, date(2023, 1, 1), config=AnalysisConfig(km_median=rule))
        km = next(k for k in result.km if k.endpoint == "os")
        assert km.median_rule == rule
        assert km.median_months == pytest.approx(days / DAYS_PER_MONTH), rule


# --- (7) unknown cause of death, partial dates, NEST drug, decision date, surgery, registration

def test_unknown_cause_of_death_is_a_css_event_or_censored_by_setting(tmp_path):
    rows = [row("U", "registration", "2020-01-06"), *sbrt("U", "2020-01-20", "2020-01-22",
                                                          "2020-01-24"),
            row("U", "death", "2020-07-23", cause="unknown")]
    path = write_events(tmp_path / "e.csv", rows)
    event = analyse_file(path, date(2021, 1, 1))
    censor = analyse_file(path, date(2021, 1, 1),
                          config=AnalysisConfig(unknown_death_cause="censor"))
    assert _p(event, "U").endpoint("css").event_observed is True
    css = _p(censor, "U").endpoint("css")
    assert (css.event_observed, css.deciding_event) == (
        False, "censored: death from unknown cause, row 7")
    assert "DEATH_CAUSE_UNKNOWN" in _codes(event, "U")


def test_partial_dates_are_imputed_with_a_warning(tmp_path):
    rows = [row("D", "registration", "2020-01-06"), *sbrt("D", "2020-01-20", "2020-01-22",
                                                          "2020-01-24"),
            row("D", "progression", "2020-09", site="nodal"),
            row("D", "death", "2021", cause="prostate_cancer")]
    result = analyse_rows(tmp_path, rows, "2022-01-01")
    assert _p(result, "D").endpoint("cpfs").end_date == date(2020, 9, 15)  # day 15
    assert _p(result, "D").endpoint("os").end_date == date(2021, 7, 1)  # 1 July
    messages = [f.message for f in result.findings if f.code == "DATE_IMPUTED"]
    assert messages == [
        "row 7: partial date '2020-09' imputed as 2020-09-15 (day 15); give the full date if "
        "the CRF has it",
        "row 8: partial date '2021' imputed as 2021-07-01 (1 July); give the full date if the "
        "CRF has it"]


def test_denosumab_alone_is_not_nest_and_decision_date_and_surgery_are_kept(tmp_path):
    rows = [row("Z", "registration", "2020-01-06"),
            row("Z", "metastasectomy", "2020-02-03", surgery="lymph_node_dissection"),
            row("Z", "progression", "2020-06-01", site="nodal"),
            row("Z", "nest", "2020-06-10", reason="polyprogression", drug="Denosumab"),
            row("Z", "nest", "2020-07-01", reason="polyprogression", drug="enzalutamide",
                decision_date="2020-06-20"),
            row("Z", "last_followup", "2020-12-01")]
    result = analyse_rows(tmp_path, rows, "2021-01-01")
    nest_fs = _p(result, "Z").endpoint("nest_fs")
    assert (nest_fs.end_date, nest_fs.deciding_event) == (date(2020, 7, 1),
                                                          "nest (polyprogression), row 6")
    assert "NEST_NOT_SYSTEMIC" in _codes(result, "Z")
    parsed = read_event_file(tmp_path / "events.csv")
    nest = next(e for e in parsed.events if e.label == "nest")
    assert (nest.drug, nest.decision_date) == ("enzalutamide", date(2020, 6, 20))
    surgery = next(e for e in parsed.events if e.label == "metastasectomy")
    assert surgery.surgery.value == "lymph_node_dissection"


def test_missing_registration_is_a_warning_not_an_error(tmp_path):
    rows = [*sbrt("G", "2020-01-20", "2020-01-22", "2020-01-24"),
            row("G", "last_followup", "2020-06-01")]
    result = analyse_rows(tmp_path, rows, "2021-01-01")
    assert [p.patient_id for p in result.patients] == ["G"]
    assert "NO_REGISTRATION" in _codes(result, "G")
