"""Reading and validating event files: every data error is reported per patient, row, field."""

from __future__ import annotations

from datetime import date

import pytest

from rtcheck.errors import EventDataError
from rtcheck.events import analyse_file, load_cohort, read_event_file
from tests.test_events_helpers import BAD_CSV, analyse_rows, row, sbrt, write_events

CUTOFF = date(2023, 6, 30)

#: (patient, row, field, text) expected for fixtures/cohort/bad_events.csv
BAD_CORPUS = [
    ("B01", 4, "date", "'2020-13-45' is not a date; write it as YYYY-MM-DD"),
    ("B01", 5, "date", "'03/04/2021' is not a date"),
    ("B02", 7, "date", "rt_end on 2020-02-14 is before registration (2020-03-02)"),
    ("B03", 11, "date", "death on 2021-01-10 (row 10) is followed by a psa on 2021-02-01"),
    ("B03", 12, "date", "followed by a last_followup on 2021-03-01"),
    ("B04", 18, "value", "different PSA values on 2020-05-20: 2.5 (row 17), 25 (row 18)"),
    ("B05", 21, "unit", "PSA unit missing; write ng/mL"),
    ("B05", 22, "unit", "PSA unit 'ng/dL' not accepted"),
    ("B06", None, "event_type", "start date missing"),
    ("B07", None, "event_type", "no 'registration' row"),
    ("B08", 28, "event_type", "'chemo' is not an event type"),
    ("B09", 31, "site", "'bone' is not allowed; use one of local, nodal, metastatic"),
    ("B09", 32, "reason", "missing for a nest row"),
    ("B09", 33, "cause", "missing for a death row; use one of prostate_cancer, other"),
    ("B10", 36, "grade", "grade '6' is not one of 1, 2, 3, 4, 5"),
    ("B10", 37, "resolution_date", "resolution_date 2020-04-01 is before the onset 2020-04-10"),
    ("B10", 38, "grade", "grade '3' is not one of I, II, IIIa"),
    ("B11", 41, "unit", "testosterone unit missing"),
    ("B11", 42, "value", "'seventy' is not a number"),
    ("B12", 44, "date", "NEST on 2020-03-20 is before the start of follow-up 2020-04-10"),
    ("B13", 49, "event_type", "2 death rows; keep one"),
    ("?", 50, "patient_id", "missing; every row needs one"),
    ("B14", 53, "date", "missing for a psa row"),
    ("B15", 55, "modality", "missing for a rt_end row; use one of SBRT, fractionated"),
    ("B16", 60, "value", "covariate who_ps given 2 times with different values (rows 59, 60)"),
]


def _prefix(pid, line, column):
    where = f", row {line}" if line else ""
    return f"patient {pid}{where}, field '{column}': "


@pytest.fixture(scope="module")
def bad_error():
    with pytest.raises(EventDataError) as info:
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
    assert "(warning) B04: DUPLICATE_ROW: row 16 repeats row 15 exactly" in "\n".join(
        bad_error.problems)
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
    with pytest.raises(EventDataError) as info:
        load_cohort(tmp_path / "e.yaml", CUTOFF)
    assert any(p.startswith("patient Q, row 2, field 'unit': PSA unit missing")
               for p in info.value.problems)


def test_cutoff_before_start_is_an_error(tmp_path):
    rows = [row("P", "registration", "2020-01-06"), *sbrt("P", "2020-01-20", "2020-01-22",
                                                          "2020-01-24")]
    with pytest.raises(EventDataError) as info:
        load_cohort(write_events(tmp_path / "e.csv", rows), date(2020, 1, 23))
    assert any("field 'cutoff': the cut-off 2020-01-23 is before the start 2020-01-24" in p
               for p in info.value.problems)
