"""Reading and validating event files: every data error is reported per patient, row, field."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from rtcheck.errors import EventDataError
from rtcheck.events import analyse_file, load_cohort, read_event_file
from tests.events_helpers import (
    BAD_CORPUS,
    BAD_CSV,
    BAD_WARNINGS,
    P1_BASE,
    analyse_rows,
    row,
    sbrt,
    write_events,
    write_lines,
)

CUTOFF = date(2023, 6, 30)


def _prefix(pid, line, column):
    where = f", row {line}" if line else ""
    return f"patient {pid}{where}, field '{column}': "


@pytest.fixture(scope="module")
def bad_error():
    with pytest.raises(EventDataError, match=r"28 problem\(s\) in the event data; nothing was "
                                             "computed") as info:
        load_cohort(BAD_CSV, CUTOFF)
    return info.value


@pytest.mark.parametrize(("pid", "line", "column", "text"), BAD_CORPUS)
def test_every_data_error_of_the_bad_corpus_is_reported(bad_error, pid, line, column, text):
    prefix = _prefix(pid, line, column)
    assert any(p.startswith(prefix) and text in p for p in bad_error.problems), (
        prefix + text, bad_error.problems)


def test_bad_corpus_counts_and_duplicate_warning(bad_error):
    errors = [p for p in bad_error.problems if not p.startswith("(warning)")]
    assert len(errors) == len(BAD_CORPUS)
    text = "\n".join(bad_error.problems)
    for warning in BAD_WARNINGS:  # not treated (B06) and no registration (B07) do not stop
        assert warning in text
    assert str(BAD_CSV) in str(bad_error)


def test_duplicate_row_is_counted_once_and_kept_as_warning(tmp_path):
    rows = [row("P", "registration", "2020-01-06"), *sbrt("P", "2020-01-20", "2020-01-22",
                                                          "2020-01-24"),
            row("P", "psa", "2020-01-10", value=10, unit="ng/mL"),
            row("P", "psa", "2020-03-10", value=4, unit="ng/mL"),
            row("P", "psa", "2020-03-10", value=4, unit="ng/mL"),
            row("P", "last_followup", "2020-06-01")]
    result = analyse_rows(tmp_path, rows, "2021-01-01")
    assert result.patients[0].psa.n_values == 2
    dup = [f for f in result.findings if f.code == "DUPLICATE_ROW"]
    assert len(dup) == 1 and dup[0].subject == "P" and "row 9 repeats row 8" in dup[0].message


def test_missing_column_and_missing_file(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("patient_id,date\nP,2020-01-01\n", encoding="utf-8")
    with pytest.raises(EventDataError, match="required column\\(s\\) missing: event_type"):
        read_event_file(path)
    with pytest.raises(EventDataError, match="not found"):
        read_event_file(tmp_path / "absent.csv")


def test_unknown_column_is_a_warning_and_ug_per_l_is_ng_per_ml(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("patient_id,event_type,date,value,unit,lab\n"
                    "P,psa,2020-01-01,3.5,µg/L,central\n", encoding="utf-8")
    parsed = read_event_file(path)
    assert parsed.events[0].psa_ng_ml == 3.5  # type: ignore[attr-defined]
    assert [f.code for f in parsed.findings] == ["UNKNOWN_COLUMN"]


def test_yaml_gives_the_same_endpoints_as_csv(tmp_path):
    rows = [row("Y", "registration", "2020-01-06"), *sbrt("Y", "2020-01-20", "2020-01-22",
                                                          "2020-01-24"),
            row("Y", "psa", "2020-01-10", value=10, unit="ng/mL"),
            row("Y", "nest", "2020-09-01", reason="polyprogression"),
            row("Y", "death", "2021-02-01", cause="prostate_cancer")]
    csv_result = analyse_file(write_events(tmp_path / "e.csv", rows), CUTOFF)
    yaml_text = "events:\n" + "".join(
        "  - " + "\n    ".join(f"{k}: {v!r}" if k != "date" else f"{k}: {v}"
                               for k, v in r.items()) + "\n" for r in rows)
    (tmp_path / "e.yaml").write_text(yaml_text, encoding="utf-8")
    yaml_result = analyse_file(tmp_path / "e.yaml", CUTOFF)
    assert [(e.endpoint, e.duration_days, e.event_observed) for e in
            yaml_result.patients[0].endpoints] == [
        (e.endpoint, e.duration_days, e.event_observed) for e in csv_result.patients[0].endpoints]
    assert yaml_result.patients[0].endpoint("nest_fs").duration_days == 221


def test_yaml_row_problems_use_entry_numbers(tmp_path):
    (tmp_path / "e.yaml").write_text(
        "- {patient_id: Q, event_type: registration, date: 2020-01-06}\n"
        "- {patient_id: Q, event_type: psa, date: 2020-01-07, value: 3}\n", encoding="utf-8")
    with pytest.raises(EventDataError, match=r"e\.yaml: 1 problem\(s\) in the event data") as info:
        load_cohort(tmp_path / "e.yaml", CUTOFF)
    assert any(p.startswith("patient Q, row 2, field 'unit': PSA unit missing")
               for p in info.value.problems)


def test_interim_cutoff_excludes_later_starts_and_goes_on(tmp_path):
    """Interim analysis: P starts 2020-01-24, after the cut-off 2020-01-23; R before it."""
    rows = [row("P", "registration", "2020-01-06"), *sbrt("P", "2020-01-20", "2020-01-22",
                                                          "2020-01-24"),
            row("R", "registration", "2020-01-02"), *sbrt("R", "2020-01-06", "2020-01-08",
                                                          "2020-01-10"),
            row("R", "last_followup", "2020-03-01"),
            row("S", "registration", "2020-02-01")]  # registered after the cut-off
    result = analyse_file(write_events(tmp_path / "e.csv", rows), date(2020, 1, 23))
    assert [p.patient_id for p in result.patients] == ["R"]
    assert [(e.patient_id, e.reason) for e in result.excluded] == [
        ("P", "started_after_cutoff"), ("S", "registered_after_cutoff")]
    warned = {f.subject: f.message for f in result.findings if f.code == "PATIENT_EXCLUDED"}
    assert "start of follow-up 2020-01-24 is after the cut-off 2020-01-23" in warned["P"]
    assert "registered on 2020-02-01, after the cut-off" in warned["S"]
    assert result.endpoint_results("os")[0].end_date == date(2020, 1, 23)  # R: censored at it


def test_cutoff_before_every_start_is_an_error(tmp_path):
    """Every patient excluded: one plain message (no 'patient ?'), the exclusions listed."""
    rows = [row("P", "registration", "2020-01-06"), *sbrt("P", "2020-01-20", "2020-01-22",
                                                          "2020-01-24")]
    path = write_events(tmp_path / "e.csv", rows)
    with pytest.raises(EventDataError) as info:
        load_cohort(path, date(2020, 1, 23))
    assert str(info.value) == (f"{path}: no patient can be analysed: all 1 registered "
                               "patient(s) are excluded (listed below); nothing was computed — "
                               "check the cut-off 2020-01-23 and the treatment rows")
    assert info.value.problems == [
        "(warning) P: PATIENT_EXCLUDED: start of follow-up 2020-01-24 is after the cut-off "
        "2020-01-23 (interim analysis): not analysed"]


def test_cli_all_excluded_message_is_one_line_without_patient_placeholder(tmp_path):
    rows = [row("P", "registration", "2020-01-06"), *sbrt("P", "2020-01-20", "2020-01-22",
                                                          "2020-01-24")]
    path = write_events(tmp_path / "e.csv", rows)
    res = CliRunner().invoke(cli, ["endpoints", str(path), "--cutoff", "2020-01-23"])
    assert res.exit_code == 3
    assert res.stderr == (
        f"rtcheck: error: {path}: no patient can be analysed: all 1 registered patient(s) are "
        "excluded (listed below); nothing was computed — check the cut-off 2020-01-23 and the "
        "treatment rows\n"
        "  - (warning) P: PATIENT_EXCLUDED: start of follow-up 2020-01-24 is after the cut-off "
        "2020-01-23 (interim analysis): not analysed\n")


def test_duplicate_column_is_refused(tmp_path):
    """Two 'value' columns: the later non-empty cell silently won."""
    p = write_lines(tmp_path, ["P1,psa,2023-04-20,4.0,ng/mL,40"],
                    header="patient_id,event_type,date,value,unit,value\n")
    with pytest.raises(EventDataError, match=r"column\(s\) value appear more than once"):
        read_event_file(p)


def test_row_with_more_cells_than_the_header_is_a_problem(tmp_path):
    """'1,5' (decimal comma) in the last column: the '5' was dropped, PSA read as 1 ng/mL."""
    p = write_lines(tmp_path, ["P1,psa,2023-04-20,ng/mL,1,5"],
                    header="patient_id,event_type,date,unit,value\n")
    parsed = read_event_file(p)
    assert not parsed.events
    assert any("row 2" in pr and "more cells" in pr for pr in parsed.problems), parsed.problems


def test_yaml_numeric_patient_id_is_a_problem(tmp_path):
    """YAML reads 0012 as the octal integer 10: patient '0012' silently became '10'."""
    p = tmp_path / "ev.yaml"
    p.write_text("- {patient_id: 0012, event_type: registration, date: 2020-01-06}\n"
                 "- {patient_id: '0012', event_type: rt_end, date: 2020-01-24, modality: SBRT}\n",
                 encoding="utf-8")
    parsed = read_event_file(p)
    assert any("row 1" in pr and "patient_id" in pr for pr in parsed.problems), parsed.problems
    assert [e.patient_id for e in parsed.events] == ["0012"]


def test_yaml_syntax_error_is_one_line(tmp_path):
    p = tmp_path / "ev.yaml"
    p.write_text("- {patient_id: P1, event_type: [\n", encoding="utf-8")
    with pytest.raises(EventDataError, match=r"ev\.yaml: not valid YAML \(") as exc:
        read_event_file(p)
    assert "\n" not in str(exc.value)


def test_clavien_dindo_grade_is_matched_case_insensitively(tmp_path):
    """README: "Enumerated values are matched case-insensitively"; 'iiia' was refused."""
    p = write_lines(tmp_path, [*P1_BASE,
                               "P1,toxicity,2023-05-10,,,,wound infection,iiia,clavien-dindo,,"])
    parsed = read_event_file(p)
    assert not parsed.problems, parsed.problems
    (tox,) = [e for e in parsed.events if e.kind.value == "toxicity"]
    assert tox.grade == "IIIa"
