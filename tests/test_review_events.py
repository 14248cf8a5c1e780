"""Review of the MEDCARE event reader and endpoints: reproducers of defects.

Each test reproduces one defect found in the 2026-11-26 review; it failed before the fix.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from rtcheck.errors import EventDataError
from rtcheck.events import analyse_file
from rtcheck.events.reader import read_event_file

HEADER = ("patient_id,event_type,date,value,unit,modality,term,grade,grade_system,"
          "resolution_date,covariate\n")
BASE = [
    "P1,registration,2023-04-01,,,,,,,,",
    "P1,rt_end,2023-05-01,,,SBRT,,,,,",
    "P1,psa,2023-04-20,4.0,ng/mL,,,,,,",
    "P1,testosterone,2023-04-20,30,ng/dL,,,,,,",
    "P1,covariate,,70,,,,,,,age_years",
    "P1,covariate,,1,,,,,,,who_ps",
    "P1,covariate,,0,,,,,,,local_recurrence",
]


def write(tmp_path: Path, lines: list[str], name: str = "ev.csv", header: str = HEADER) -> Path:
    p = tmp_path / name
    p.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return p


def endpoints(*args: str):
    return CliRunner().invoke(cli, ["endpoints", *args])


# ------------------------------------------------------------ reader
def test_non_utf8_file_is_bad_input_not_an_internal_error(tmp_path: Path) -> None:
    """A Latin-1 file (µ as 0xB5) crashed with UnicodeDecodeError, exit 4."""
    p = tmp_path / "latin1.csv"
    p.write_bytes((HEADER + "P1,psa,2023-04-20,4.0,\xb5g/L,,,,,,\n").encode("latin-1"))
    res = endpoints(str(p), "--cutoff", "2023-06-30")
    assert res.exit_code == 3, res.output
    assert "UTF-8" in res.output and "latin1.csv" in res.output


def test_non_utf8_yaml_is_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_bytes(b"\xb5\xff: [\n")
    res = endpoints(str(p), "--cutoff", "2023-06-30")
    assert res.exit_code == 3, res.output


def test_duplicate_column_is_refused(tmp_path: Path) -> None:
    """Two 'value' columns: the later non-empty cell silently won."""
    p = write(tmp_path, ["P1,psa,2023-04-20,4.0,ng/mL,40"],
              header="patient_id,event_type,date,value,unit,value\n")
    with pytest.raises(EventDataError, match="value"):
        read_event_file(p)


def test_row_with_more_cells_than_the_header_is_a_problem(tmp_path: Path) -> None:
    """'1,5' (decimal comma) in the last column: the '5' was dropped, PSA read as 1 ng/mL."""
    p = write(tmp_path, ["P1,psa,2023-04-20,ng/mL,1,5"],
              header="patient_id,event_type,date,unit,value\n")
    parsed = read_event_file(p)
    assert not parsed.events
    assert any("row 2" in pr and "more cells" in pr for pr in parsed.problems), parsed.problems


def test_yaml_numeric_patient_id_is_a_problem(tmp_path: Path) -> None:
    """YAML reads 0012 as the octal integer 10: patient '0012' silently became '10'."""
    p = tmp_path / "ev.yaml"
    p.write_text("- {patient_id: 0012, event_type: registration, date: 2020-01-06}\n"
                 "- {patient_id: '0012', event_type: rt_end, date: 2020-01-24, modality: SBRT}\n",
                 encoding="utf-8")
    parsed = read_event_file(p)
    assert any("row 1" in pr and "patient_id" in pr for pr in parsed.problems), parsed.problems
    assert [e.patient_id for e in parsed.events] == ["0012"]


def test_yaml_syntax_error_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "ev.yaml"
    p.write_text("- {patient_id: P1, event_type: [\n", encoding="utf-8")
    with pytest.raises(EventDataError) as exc:
        read_event_file(p)
    assert "\n" not in str(exc.value)


# ------------------------------------------------------------ toxicity after the cut-off
def test_resolution_after_the_cutoff_does_not_make_a_toxicity_late(tmp_path: Path) -> None:
    """Follow-up ends at the cut-off (2023-06-30) before the 3-month boundary (2023-08-01);
    the resolution date 2023-09-15 lies after the cut-off and may not be used, yet the
    event was reported as late grade 2."""
    p = write(tmp_path, [*BASE,
                         "P1,toxicity,2023-05-10,,,,cystitis,2,CTCAE_v4,2023-09-15,",
                         "P1,last_followup,2023-10-01,,,,,,,,"])
    (pr,) = analyse_file(p, date(2023, 6, 30)).patients
    assert pr.toxicity.worst_acute_ctcae == "2"
    assert pr.toxicity.worst_late_ctcae is None


def test_resolution_before_the_cutoff_still_makes_a_persisting_toxicity_late(
        tmp_path: Path) -> None:
    p = write(tmp_path, [*BASE,
                         "P1,toxicity,2023-05-10,,,,cystitis,2,CTCAE_v4,2023-09-15,",
                         "P1,last_followup,2023-10-01,,,,,,,,"])
    (pr,) = analyse_file(p, date(2023, 12, 31)).patients
    assert pr.toxicity.worst_late_ctcae == "2"
    assert pr.toxicity.first_late_grade2_date == date(2023, 8, 1)


# ------------------------------------------------------------ eligibility counts
@pytest.mark.parametrize("mets, local", [("3.9", "0"), ("-1", "0"), ("2", "0.5"), ("1", "2")])
def test_non_whole_lesion_counts_are_not_a_pass(tmp_path: Path, mets: str, local: str) -> None:
    """3.9 progressive metastases were truncated to 3 and PASSed (max 3)."""
    lines = [ln for ln in BASE if "local_recurrence" not in ln]
    p = write(tmp_path, [*lines, f"P1,covariate,,{mets},,,,,,,n_progressive_metastases",
                         f"P1,covariate,,{local},,,,,,,local_recurrence",
                         "P1,last_followup,2023-06-01,,,,,,,,"])
    (pr,) = analyse_file(p, date(2023, 6, 30)).patients
    lesions = next(c for c in pr.eligibility.criteria if c.name == "lesions")
    assert lesions.status == "MISSING", lesions
    assert pr.eligibility.verdict != "eligible"


# ------------------------------------------------------------ KM reference at an exact half
def test_km_median_at_an_exact_half_in_floating_point() -> None:
    """0.8 * 0.75 * 5/6 = 0.5 exactly, 0.5000000000000001 in floats: the median is reached
    (README: 1e-9 tolerance). The test reference lacked the tolerance (hypothesis found it)."""
    from datetime import timedelta

    from rtcheck.events.endpoints import EndpointResult
    from rtcheck.events.schema import DAYS_PER_MONTH
    from rtcheck.events.survival import kaplan_meier
    from tests.test_events_survival import first_at_or_below, product_limit

    data = [(0, True), (0, True), (1, True), (1, True), (2, True)] + [(2, False)] * 5
    start = date(2020, 1, 1)
    res = [EndpointResult(f"P{i}", "os", start, start + timedelta(days=d), e, "x")
           for i, (d, e) in enumerate(data)]
    km = kaplan_meier("os", res)
    assert km.median_months == pytest.approx(2 / DAYS_PER_MONTH)
    curve = product_limit([r.duration_months for r in res], [r.event_observed for r in res])
    assert first_at_or_below(curve, 1) == pytest.approx(2 / DAYS_PER_MONTH)


def test_clavien_dindo_grade_is_matched_case_insensitively(tmp_path: Path) -> None:
    """README: "Enumerated values are matched case-insensitively"; 'iiia' was refused."""
    p = write(tmp_path, [*BASE, "P1,toxicity,2023-05-10,,,,wound infection,iiia,clavien-dindo,,"])
    parsed = read_event_file(p)
    assert not parsed.problems, parsed.problems
    (tox,) = [e for e in parsed.events if e.kind.value == "toxicity"]
    assert tox.grade == "IIIa"


def test_resolution_before_the_cutoff_but_after_last_contact_is_still_used(
        tmp_path: Path) -> None:
    """The fix drops only data after the cut-off: a resolution dated before it is known."""
    p = write(tmp_path, [*BASE,
                         "P1,toxicity,2023-05-10,,,,cystitis,2,CTCAE_v4,2023-09-15,",
                         "P1,last_followup,2023-06-01,,,,,,,,"])
    (pr,) = analyse_file(p, date(2023, 12, 31)).patients
    assert pr.toxicity.worst_late_ctcae == "2"
