"""New-user trial findings: interim cut-off warnings, a complete CSV, week-12 bounds, messages,
and a PSA response whose confirmation is pending at the cut-off. Values computed by hand."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from rtcheck.events import analyse_file
from rtcheck.events.psa import psa_summary, week12_text
from rtcheck.events.report import CSV_COLUMNS, render
from rtcheck.events.schema import Death, DeathCause, PatientEvents, PsaValue
from tests.events_helpers import COHORT_CSV, analyse_rows, row, sbrt, write_events, write_lines

EXCLUDED_C = ("not_treated: start date missing: no course-1 'rt_end'/'rt_fraction' or "
              "'metastasectomy' row, so the patient counts as registered but not treated and is "
              "excluded from every endpoint; if treated, add the last day of treatment")


def _interim_rows() -> list[dict[str, str]]:
    """Patient I: start 2020-01-24, followed to 2020-06-30; then rows after that day."""
    return [
        row("I", "registration", "2020-01-06"),                                     # 2
        *sbrt("I", "2020-01-20", "2020-01-22", "2020-01-24"),                       # 3-6
        row("I", "psa", "2020-01-10", value="4.0", unit="ng/mL"),                   # 7
        row("I", "psa", "2020-04-17", value="1.0", unit="ng/mL"),                   # 8
        row("I", "psa", "2020-05-20", value="0.9", unit="ng/mL"),                   # 9
        row("I", "imaging", "2020-06-01", modality="conventional",                  # 10
            result="no_progression"),
        row("I", "last_followup", "2020-06-30"),                                    # 11
        row("I", "psa", "2020-08", value="0.8", unit="ng/mL"),                      # 12
        row("I", "psa", "2020-09-01", value="0.03", lod="0.05", unit="ng/mL"),      # 13
        row("I", "imaging", "2020-09-10", modality="conventional",                  # 14
            result="progression"),
        row("I", "nest", "2020-10-01", reason="polyprogression", drug="denosumab"),  # 15
        row("I", "nest", "2020-10-05", reason="polyprogression", drug="enzalutamide"),  # 16
        row("I", "withdrawal", "2020-11-01"),                                       # 17
        row("I", "death", "2020-12-01", cause="unknown"),                           # 18
    ]


def _messages(result, pid: str) -> list[tuple[str, str]]:
    return [(f.code, f.message) for f in result.findings if f.subject == pid]


def test_interim_rows_after_the_cutoff_are_not_described_as_used(tmp_path):
    result = analyse_rows(tmp_path, _interim_rows(), "2020-06-30")
    assert _messages(result, "I") == [
        ("DATE_IMPUTED", "row 12: partial date '2020-08' imputed as 2020-08-15 (day 15); give "
                         "the full date if the CRF has it (after the cut-off, not used)"),
        ("PSA_BELOW_LOD", "row 13: PSA 0.03 is below the limit of detection 0.05 of the row: "
                          "read as <0.05 (after the cut-off, not used)"),
        ("NEST_NOT_SYSTEMIC", "row 15: nest with drug 'denosumab' alone is not next-line "
                              "systemic treatment (protocol: denosumab is not NEST) (after the "
                              "cut-off, not used)"),
        # psa 08-15, psa 09-01, imaging, nest 10-05, withdrawal, death (the denosumab row is
        # not an event)
        ("EVENTS_AFTER_CUTOFF", "6 event(s) after the cut-off 2020-06-30 were not used for "
                                "endpoints (the patient is censored at the cut-off)"),
    ]
    css = result.patients[0].endpoint("css")
    assert css is not None and (css.end_date, css.event_observed) == (date(2020, 6, 30), False)


def test_same_rows_inside_the_cutoff_are_warned_as_before(tmp_path):
    result = analyse_rows(tmp_path, _interim_rows(), "2021-06-30")
    codes = [code for code, _ in _messages(result, "I")]
    assert codes == ["DATE_IMPUTED", "PSA_BELOW_LOD", "NEST_NOT_SYSTEMIC",
                     "NEST_WITHOUT_PROGRESSION", "IMAGING_PROGRESSION_NOT_RECORDED",
                     "EVENTS_AFTER_OFF_STUDY"]
    messages = dict(_messages(result, "I"))
    assert messages["NEST_NOT_SYSTEMIC"].endswith("(protocol: denosumab is not NEST); not used")
    assert messages["EVENTS_AFTER_OFF_STUDY"] == ("1 row(s) after the withdrawal on 2020-11-01 "
                                                  "(row 17) are not used (rows 18)")
    # the death of unknown cause (row 18) comes after the withdrawal: not used, no
    # DEATH_CAUSE_UNKNOWN saying it counts for CSS


def test_cutoff_between_withdrawal_and_later_rows(tmp_path):
    """Withdrawal 2020-11-01 <= cut-off 2020-11-15 < death: the death is only after the cut-off."""
    result = analyse_rows(tmp_path, _interim_rows(), "2020-11-15")
    messages = dict(_messages(result, "I"))
    assert "EVENTS_AFTER_OFF_STUDY" not in messages
    assert "DEATH_CAUSE_UNKNOWN" not in messages
    assert messages["EVENTS_AFTER_CUTOFF"] == (
        "1 event(s) after the cut-off 2020-11-15 were not used for endpoints (follow-up ended "
        "at the withdrawal on 2020-11-01)")


def test_unknown_death_within_the_cutoff_is_still_named(tmp_path):
    rows = [row("U", "registration", "2020-01-06"),
            *sbrt("U", "2020-01-20", "2020-01-22", "2020-01-24"),
            row("U", "death", "2020-06-20", cause="unknown")]  # row 7
    assert ("DEATH_CAUSE_UNKNOWN", "row 7: death of unknown cause on 2020-06-20: counted as a "
            "CSS event (--unknown-death-cause)") in _messages(
        analyse_rows(tmp_path, rows, "2020-12-31"), "U")
    assert "DEATH_CAUSE_UNKNOWN" not in dict(_messages(
        analyse_rows(tmp_path, rows, "2020-06-19", name="early.csv"), "U"))


def _csv_rows() -> list[dict[str, str]]:
    return [
        row("A", "registration", "2020-01-06"),                                      # 2
        *sbrt("A", "2020-01-20", "2020-01-22", "2020-01-24"),                        # 3-6
        row("A", "psa", "2020-01-10", value="0.8", unit="ng/mL"),                    # 7
        row("A", "psa", "2020-04-17", value="<0.1", unit="ng/mL"),                   # 8 day 84
        row("A", "psa", "2020-05-20", value="<0.1", unit="ng/mL"),                   # 9 +33 d
        row("A", "imaging", "2020-06-01", modality="conventional", result="no_progression"),
        row("A", "imaging", "2020-06-01", modality="conventional", result="no_progression"),
        row("A", "death", "2020-06-20", cause="unknown"),                            # 12
        row("B", "registration", "2020-01-06"),                                      # 13
        *sbrt("B", "2020-01-20", "2020-01-22", "2020-01-24"),                        # 14-17
        row("B", "psa", "2020-01-10", value="5.0", unit="ng/mL"),                    # 18
        row("B", "imaging", "2020-07-01", modality="conventional", result="no_progression"),
        row("B", "last_followup", "2020-12-01"),                                     # 20
        row("C", "registration", "2020-02-01"),                                      # 21
    ]


def test_csv_has_every_registered_patient_and_endpoint(tmp_path):
    """A: start 2020-01-24, death 2020-06-20 = day 148 (4.86 months); last PSA 2020-05-20 =
    day 117 (3.84); week 12: <0.1 vs 0.8 -> at most -87.5 %. B: no PSA after the start;
    imaging 2020-07-01 = day 159 (5.22); last follow-up 2020-12-01 = day 312 (10.25).
    C: registered, not treated. DUPLICATE_ROW (A's imaging) is patient-level: every row of A;
    DEATH_CAUSE_UNKNOWN only on A's css row; PATIENT_NOT_EVALUABLE only on B's psa_progression."""
    result = analyse_rows(tmp_path, _csv_rows(), "2020-12-31")
    rows = list(csv.reader(io.StringIO(render(result, "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert CSV_COLUMNS[:10] == ("patient_id", "endpoint", "start_date", "start_basis",
                                "end_date", "duration_days", "duration_months",
                                "event_observed", "deciding_event", "warnings")
    a = ["A", "", "2020-01-24", "radiotherapy"]
    b = ["B", "", "2020-01-24", "radiotherapy"]
    death = "death (unknown), row 12"
    dup = "DUPLICATE_ROW"
    b_fu = "censored: last follow-up (last_followup, row 20)"
    no_psa = "no PSA value after the start"
    expected = [
        (a, "nest_fs", "2020-06-20", "148", "4.86", "1", death, dup, "analysed", "", ""),
        (a, "cpfs", "2020-06-20", "148", "4.86", "1", death, dup, "analysed", "", ""),
        (a, "css", "2020-06-20", "148", "4.86", "1", death, "DEATH_CAUSE_UNKNOWN;DUPLICATE_ROW",
         "analysed", "", ""),
        (a, "os", "2020-06-20", "148", "4.86", "1", death, dup, "analysed", "", ""),
        (a, "psa_progression", "2020-05-20", "117", "3.84", "0", "censored: last PSA value",
         dup, "analysed", "", ""),
        (a, "late_toxicity_g2", "2020-06-20", "148", "4.86", "0", f"censored: {death}", dup,
         "analysed", "", ""),
        (a, "psa_response", "2020-04-17", "", "", "",
         "decline >= 50 % on 2020-04-17 confirmed on 2020-05-20", dup, "analysed", "", "yes"),
        (a, "psa_week12_change", "2020-04-17", "", "", "",
         "PSA <0.1 ng/mL on 2020-04-17 (day 84) vs baseline 0.8 ng/mL on 2020-01-10", dup,
         "analysed", "", "<=-87.5"),
        (b, "nest_fs", "2020-12-01", "312", "10.25", "0", b_fu, "", "analysed", "", ""),
        (b, "cpfs", "2020-07-01", "159", "5.22", "0",
         "censored: last imaging without progression, row 19", "", "analysed", "", ""),
        (b, "css", "2020-12-01", "312", "10.25", "0", b_fu, "", "analysed", "", ""),
        (b, "os", "2020-12-01", "312", "10.25", "0", b_fu, "", "analysed", "", ""),
        (b, "psa_progression", "", "", "", "", "", "PATIENT_NOT_EVALUABLE", "not_evaluable",
         no_psa, ""),
        (b, "late_toxicity_g2", "2020-12-01", "312", "10.25", "0", b_fu, "", "analysed", "",
         ""),
        (b, "psa_response", "", "", "", "", "", "", "not_evaluable", no_psa, "not evaluable"),
        (b, "psa_week12_change", "", "", "", "", "", "", "not_evaluable", no_psa, ""),
        *((["C", "", "", ""], name, "", "", "", "", "", "PATIENT_EXCLUDED", "excluded",
           EXCLUDED_C, "") for name in ("nest_fs", "cpfs", "css", "os", "psa_progression",
                                         "late_toxicity_g2", "psa_response",
                                         "psa_week12_change")),
    ]
    want = [[head[0], name, head[2], head[3], *rest] for head, name, *rest in expected]
    assert rows[1:] == want


def test_week12_upper_bound_never_rounds_toward_more_decline():
    assert week12_text((0.1 - 0.8) / 0.8 * 100, True) == "<=-87.5"  # not <=-88
    assert week12_text(-87.54, True) == "<=-87.5"
    assert week12_text(-87.56, True) == "<=-87.5"  # rounded up, toward less decline
    assert week12_text(-99.0, True) == "<=-99.0"
    assert week12_text(-53.12, False) == "-53"
    assert week12_text(-53.12, False, decimals=1) == "-53.1"
    assert week12_text(None, False) is None


def test_text_report_wk12_bound_and_not_evaluable_are_explained(tmp_path):
    result = analyse_rows(tmp_path, _csv_rows(), "2020-12-31")
    text = render(result, "text")
    lines = text.splitlines()
    assert lines[1] == ("Durations in months of 30.4375 days (365.25/12); '+' marks censored "
                        "values; n/e = not evaluable (reasons under the Kaplan–Meier summary); "
                        "'<=' = upper bound (PSA below the limit of detection).")
    table = [ln for ln in lines if ln.startswith(("A  ", "B  "))][:2]
    # columns: patient, start, basis, 6 endpoints, PSA resp, wk12 %, eligibility
    assert table[0].split()[:11] == ["A", "2020-01-24", "RT", "4.9", "4.9", "4.9", "4.9",
                                     "3.8+", "4.9+", "yes", "<=-87.5"]
    assert table[1].split()[:11] == ["B", "2020-01-24", "RT", "10.3+", "5.2+", "10.3+", "10.3+",
                                     "n/e", "10.3+", "n/e", "n/e"]
    assert ("Week-12 PSA change (value in days 70-98): 1/2 patients; 1 not evaluable: "
            "B (no PSA value after the start)") in lines


@pytest.mark.parametrize(("value", "lod", "field", "message"), [
    ("<LOD", "", "lod", "the value '<LOD' needs the limit of detection, which is missing; give "
                        "it in 'lod' (e.g. 0.1) or write the value as '<0.1'"),
    ("", "", "value", "PSA value missing; give a number, or for a value below the limit of "
                      "detection write it as '<0.1' (or leave 'value' empty and give the limit "
                      "in 'lod')"),
    ("<", "", "value", "'<' has no limit; write the limit of detection after '<', e.g. '<0.1'"),
])
def test_psa_limit_messages(tmp_path, value, lod, field, message):
    path = write_lines(tmp_path, [f"P1,psa,2023-04-20,{value},ng/mL,{lod}"],
                       header="patient_id,event_type,date,value,unit,lod\n")
    res = CliRunner().invoke(cli, ["endpoints", str(path), "--cutoff", "2023-06-30"])
    assert res.exit_code == 3
    assert f"  - patient P1, row 2, field '{field}': {message}\n" in res.stderr


START = date(2020, 1, 1)


def _series(values: list[tuple[int, float]], death_day: int | None = None) -> PatientEvents:
    events: list = [PsaValue(patient_id="P", event_date=START + timedelta(days=d), psa_ng_ml=v,
                             row=i + 2) for i, (d, v) in enumerate(values)]
    if death_day is not None:
        events.append(Death(patient_id="P", event_date=START + timedelta(days=death_day),
                            cause=DeathCause.OTHER, row=99))
    return PatientEvents("P", tuple(events))


def test_decline_with_confirmation_after_the_cutoff_is_pending_not_no():
    """Baseline 10; 4.0 on day 60 (<= 5.0); the protocol's confirmation needs a value
    >= 28 days later (day 88); the cut-off is day 80 and the patient is still followed."""
    cutoff = START + timedelta(days=80)
    s = psa_summary(_series([(0, 10.0), (60, 4.0), (75, 4.5), (100, 3.0)]), START, cutoff)
    assert s.response_outcome == "not evaluable"
    assert s.not_evaluable_reason == ("confirmation pending at the cut-off: decline >= 50 % on "
                                      "2020-03-01, no value >= 4 weeks later by 2020-03-21")
    # the final analysis sees the confirmation (day 100, 40 days later): a response
    final = psa_summary(_series([(0, 10.0), (60, 4.0), (75, 4.5), (100, 3.0)]), START,
                        START + timedelta(days=365))
    assert (final.response_outcome, final.response_date) == ("yes", START + timedelta(days=60))


def test_decline_without_confirmation_when_follow_up_ended_is_no():
    """Death on day 70 ends PSA follow-up before a confirmation could be drawn: no."""
    s = psa_summary(_series([(0, 10.0), (60, 4.0)], death_day=70), START,
                    START + timedelta(days=365))
    assert s.response_outcome == "no"
    assert "decline >= 50 % on 2020-03-01 not confirmed: no value >= 4 weeks later" in s.notes


def test_pending_confirmation_in_the_cli_report(tmp_path):
    rows = [row("Q", "registration", "2020-01-06"),
            *sbrt("Q", "2020-01-20", "2020-01-22", "2020-01-24"),
            row("Q", "psa", "2020-01-10", value="10", unit="ng/mL"),
            row("Q", "psa", "2020-06-10", value="4", unit="ng/mL"),
            row("Q", "psa", "2020-07-20", value="3", unit="ng/mL"),
            row("Q", "last_followup", "2020-08-01")]
    result = analyse_file(write_events(tmp_path / "q.csv", rows), date(2020, 6, 30))
    text = render(result, "text")
    assert ("PSA response (confirmed decline >= 50 %): 0/0 evaluable patients; 1 not evaluable: "
            "Q (confirmation pending at the cut-off: decline >= 50 % on 2020-06-10, no value "
            ">= 4 weeks later by 2020-06-30)") in text.splitlines()


def test_interim_exclusion_reason_is_the_registration_when_it_is_after_the_cutoff() -> None:
    """Cut-off 2020-09-30 on the shipped cohort: MC13 and MC14 were registered before it and
    started after it; MC15-MC18 were registered after it (treated or not, the registration
    decides; found by a data-manager trial); MC19 was registered after it too."""
    result = analyse_file(COHORT_CSV, date(2020, 9, 30))
    reasons = {e.patient_id: e.reason for e in result.excluded}
    assert reasons == {"MC13": "started_after_cutoff", "MC14": "started_after_cutoff",
                       "MC15": "registered_after_cutoff", "MC16": "registered_after_cutoff",
                       "MC17": "registered_after_cutoff", "MC18": "registered_after_cutoff",
                       "MC19": "registered_after_cutoff"}
    mc15 = next(e for e in result.excluded if e.patient_id == "MC15")
    assert mc15.detail == ("registered on 2020-10-05, after the cut-off 2020-09-30 (interim "
                           "analysis): not analysed")


@pytest.mark.parametrize(("value", "message"), [
    ("nan", "'nan' is not a finite number; give the measured value (or leave the row out if "
            "there is none)"),
    ('"1,5"', "'1,5' is not a number; give a number with '.' as the decimal mark"),
])
def test_bad_psa_values_say_what_to_do(tmp_path, value: str, message: str) -> None:
    path = write_lines(tmp_path, ["P1,registration,2020-01-01,,", "P1,rt_end,2020-01-10,,,SBRT",
                                  f"P1,psa,2020-02-01,{value},ng/mL"],
                       header="patient_id,event_type,date,value,unit,modality\n")
    result = CliRunner().invoke(cli, ["endpoints", str(path), "--cutoff", "2021-01-01"])
    assert result.exit_code == 3
    assert f"patient P1, row 4, field 'value': {message}" in result.stderr


def test_an_exclusion_caused_by_a_refused_row_says_so(tmp_path) -> None:
    """The rt_end row lacks its modality: it is refused, so the patient looks untreated; the
    PATIENT_EXCLUDED warning shown with the errors points at the row (data-manager trial)."""
    path = write_lines(tmp_path, ["P1,registration,2020-01-01,,", "P1,rt_end,2020-01-10,,,"],
                       header="patient_id,event_type,date,value,unit,modality\n")
    result = CliRunner().invoke(cli, ["endpoints", str(path), "--cutoff", "2021-01-01"])
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert any(ln.strip().startswith("- patient P1, row 3, field 'modality'") for ln in lines)
    excluded = [ln for ln in lines if "PATIENT_EXCLUDED" in ln]
    assert len(excluded) == 1 and excluded[0].endswith(
        "(this patient also has a refused row above: fix it first, it may be the cause)")
