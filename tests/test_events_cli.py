"""``rtcheck endpoints`` through click's CliRunner (stdout and stderr separately)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from rtcheck.events.report import CSV_COLUMNS
from tests.events_helpers import BAD_CORPUS, BAD_CSV, COHORT_CSV, HEADER, REPO


def _run(*args: str):
    return CliRunner().invoke(cli, ["endpoints", *args])


def test_text_report_on_shipped_cohort():
    result = _run(str(COHORT_CSV), "--cutoff", "2023-06-30")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "18 patients" in out
    assert "Per patient (months)" in out and "Endpoint details" in out
    assert "Kaplan–Meier summary" in out and "Cox proportional hazards" in out
    km_line = next(ln for ln in out.splitlines() if ln.startswith("nest_fs  "))
    assert km_line.split()[:4] == ["nest_fs", "18", "13", "17.5"]
    assert "error" not in result.stderr


def test_json_report_fields():
    result = _run(str(COHORT_CSV), "--cutoff", "2023-06-30", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["cutoff"] == "2023-06-30"
    assert doc["constants"]["days_per_month"] == 30.4375
    assert doc["constants"]["psa_week12_window_days"] == [70, 98]
    assert len(doc["patients"]) == 18
    ep = doc["patients"][0]["endpoints"][0]
    assert set(ep) >= {"start_date", "end_date", "duration_days", "duration_months",
                       "event_observed", "deciding_event"}
    assert {k["endpoint"] for k in doc["kaplan_meier"]} == {
        "nest_fs", "cpfs", "css", "os", "psa_progression", "late_toxicity_g2"}


def test_csv_report_is_long_format():
    result = _run(str(COHORT_CSV), "--cutoff", "2023-06-30", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 19 * 8  # 18 analysed + MC19 excluded; 6 endpoints + PSA response, wk12
    mc19 = [r for r in rows if r["patient_id"] == "MC19"]
    assert {(r["status"], r["reason"].split(":")[0]) for r in mc19} == {
        ("excluded", "off_study_before_start")}
    mc02 = {r["endpoint"]: r for r in rows if r["patient_id"] == "MC02"}
    # week 12: (3.29 - 7.03) / 7.03 = -53.2 %
    assert (mc02["psa_response"]["value"], mc02["psa_week12_change"]["value"]) == ("yes", "-53.2")
    mc04 = {r["endpoint"]: r for r in rows if r["patient_id"] == "MC04"}
    assert mc04["css"]["event_observed"] == "0" and mc04["os"]["event_observed"] == "1"
    assert mc04["css"]["deciding_event"].startswith("censored: death from other cause")


def test_plots_are_written(tmp_path):
    result = _run(str(COHORT_CSV), "--cutoff", "2023-06-30", "--plots", str(tmp_path / "p"))
    assert result.exit_code == 0, result.stderr
    names = {p.name for p in (tmp_path / "p").iterdir()}
    for stem in ("km_nest_fs", "km_cpfs", "km_css", "km_os", "km_psa_progression",
                 "km_late_toxicity_g2", "psa_waterfall_week12", "swimmer"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
        assert (tmp_path / "p" / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote 16 plot files" in result.stderr


def test_who_ps_max_registry_setting():
    default = _run(str(COHORT_CSV), "--cutoff", "2023-06-30", "--format", "json")
    registry = _run(str(COHORT_CSV), "--cutoff", "2023-06-30", "--format", "json",
                    "--who-ps-max", "1")
    verdict = {p["patient_id"]: p["eligibility"]["verdict"]
               for p in json.loads(registry.stdout)["patients"]}
    assert verdict["MC11"] == "not eligible"
    assert {p["eligibility"]["verdict"] for p in json.loads(default.stdout)["patients"]} == {
        "eligible"}


def test_bad_corpus_exits_3_with_every_per_patient_message():
    result = _run(str(BAD_CSV), "--cutoff", "2023-06-30")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"rtcheck: error: {BAD_CSV}: 28 problem(s)")
    for pid, line, column, text in BAD_CORPUS:
        where = f", row {line}" if line else ""
        assert f"  - patient {pid}{where}, field '{column}': " in result.stderr
        assert text in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    ([], "Error: Missing option '--cutoff'."),
    (["--cutoff", "30/06/2023"],
     "rtcheck: error: --cutoff: '30/06/2023' is not a date; write it as YYYY-MM-DD"),
])
def test_usage_errors_exit_2(args, message):
    result = _run(str(COHORT_CSV), *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr.splitlines()


def test_readme_section_shows_real_output_and_existing_plots(monkeypatch):
    """README's endpoints section: every line of its example output is what the command prints."""
    monkeypatch.chdir(REPO)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    doc = readme.split("## Trial endpoints (MEDCARE)")[1].split("\n## ")[0]
    block = doc.split("```text\n")[2].split("```")[0]
    out = _run("fixtures/cohort/medcare_cohort.csv", "--cutoff", "2023-06-30").stdout
    shown = [ln for ln in block.splitlines() if ln and ln != "..."]
    assert len(shown) > 40
    assert [ln for ln in shown if ln not in out] == []
    for name in ("km_nest_fs", "km_cpfs", "km_os", "km_css", "km_psa_progression",
                 "km_late_toxicity_g2", "psa_waterfall_week12", "swimmer"):
        assert f"(docs/img/{name}.png)" in doc
        assert (REPO / "docs" / "img" / f"{name}.png").is_file()


def test_non_utf8_csv_is_bad_input_not_an_internal_error(tmp_path):
    """A Latin-1 file (µ as 0xB5) crashed with UnicodeDecodeError, exit 4."""
    p = tmp_path / "latin1.csv"
    p.write_bytes((HEADER + "P1,psa,2023-04-20,4.0,\xb5g/L,,,,,,\n").encode("latin-1"))
    res = _run(str(p), "--cutoff", "2023-06-30")
    assert res.exit_code == 3, res.output
    assert res.stdout == ""
    assert res.stderr == (f"rtcheck: error: {p}: not UTF-8 text (byte 119: invalid start "
                          "byte); save the file as UTF-8\n")


def test_non_utf8_yaml_is_bad_input(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_bytes(b"\xb5\xff: [\n")
    res = _run(str(p), "--cutoff", "2023-06-30")
    assert res.exit_code == 3, res.output
    assert res.stderr == (f"rtcheck: error: {p}: not UTF-8 text (byte 0: invalid start "
                          "byte); save the file as UTF-8\n")
