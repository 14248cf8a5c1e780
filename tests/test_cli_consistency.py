"""Consistent messages and exit codes across ``info``, ``dvh`` and ``endpoints`` (issue #8).

Each test names the defect of issue #8 it guards: numbers in the truncation message that
cannot be true (1), a ``--plan`` that matches several plans (2), the exit codes of ``dvh``
(3), a ``--cutoff`` that does not exist or lies in the future (4), ``--records`` without
treatment records (5), repeated warnings (6), a structure name reported in another case
than typed (8), test data paths that ignore ``$RTCHECK_REFDATA`` / ``$RTCHECK_REFERENCE``
(9) and a benchmark that prints dicompyler-core's warnings (11).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from rtcheck.errors import UsageError
from rtcheck.findings import Finding, Severity
from tests.conftest import FIXTURES, REPO

SPINE = FIXTURES / "spine_sbrt"
SPINE01_EVENTS = FIXTURES / "cohort" / "spine01_events.csv"
SPINE_FOLDERS = ["spine_sbrt", "spine_cord_overdose", "spine_ptv_undercoverage",
                 "spine_consecutive_days", "spine_grid_misses_oar", "spine_beam_doses"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# ------------------------------------------------------------------ 1. truncation message
@pytest.mark.parametrize("size", [1000, 1830, 3000, 100_000])
def test_truncation_message_numbers_are_true(tmp_path: Path, size: int) -> None:
    """#1: the byte where the last complete element ends is within the file; the message
    names the cut element and the byte where the file ends."""
    data = (SPINE / "RD.dcm").read_bytes()[:size]
    (tmp_path / "RD.dcm").write_bytes(data)
    res = run("info", str(tmp_path))
    assert res.exit_code == 3
    assert res.stdout == ""
    message = res.stderr.strip()
    assert "\n" not in message
    assert message.startswith(f"rtcheck: error: {tmp_path / 'RD.dcm'}: file is truncated")
    assert f"the file ends at byte {size}" in message
    assert re.search(r"element \([0-9A-F]{4},[0-9A-F]{4}\)", message), message
    ends = [int(n) for n in re.findall(r"last complete element ends at byte (\d+)", message)]
    assert all(n <= size for n in ends), message
    assert not re.search(r"of \d+\)", message)  # the old "byte 370978 of 3000"


def test_truncated_pixel_data_names_the_element_and_its_declared_length(tmp_path: Path) -> None:
    (tmp_path / "RD.dcm").write_bytes((SPINE / "RD.dcm").read_bytes()[:3000])
    res = run("dvh", str(tmp_path / "RD.dcm"), str(SPINE / "RS.dcm"))
    assert res.exit_code == 3
    assert "element (7FE0,0010) PixelData declares" in res.stderr
    assert "but the file ends at byte 3000; the last complete element ends at byte" in res.stderr


# ------------------------------------------------------------------ 2. --plan
@pytest.mark.parametrize("command", ["info", "dvh"])
def test_plan_selector_matching_several_plans_is_a_usage_error(command: str) -> None:
    """#2: six spine fixtures share the label T9_SBRT: exit 2, listing folder + UID."""
    res = run(command, str(FIXTURES), "--plan", "T9_SBRT")
    assert res.exit_code == 2
    assert res.stdout == ""
    line = res.stderr.strip()
    assert "\n" not in line
    assert line.startswith("rtcheck: error: --plan 'T9_SBRT' matches 6 plans: ")
    for name in SPINE_FOLDERS:
        uid = str(pydicom.dcmread(FIXTURES / name / "RP.dcm").SOPInstanceUID)
        assert f"{FIXTURES / name} ({uid})" in line


def test_plan_selector_by_uid_selects_exactly_one_plan() -> None:
    uid = str(pydicom.dcmread(SPINE / "RP.dcm").SOPInstanceUID)
    res = run("info", str(FIXTURES), "--plan", uid)
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("1 case(s) found")
    assert f"case 1: T9_SBRT  [{SPINE}]" in res.stdout


def test_plan_selector_matching_nothing_is_still_a_usage_error() -> None:
    res = run("info", str(SPINE), "--plan", "nope")
    assert res.exit_code == 2
    assert "--plan 'nope' matches no plan" in res.stderr


def test_every_case_of_info_text_names_its_folder() -> None:
    """#2: info over several plan folders says which folder each case is."""
    res = run("info", str(FIXTURES))
    heads = [line for line in res.stdout.splitlines() if re.match(r"case \d+: ", line)]
    assert len(heads) == 7
    folders = {re.search(r"\[(.*?)\]", h).group(1) for h in heads}  # type: ignore[union-attr]
    assert folders == {str(FIXTURES / n) for n in [*SPINE_FOLDERS, "pelvic_node_sbrt"]}


def test_every_case_of_dvh_text_names_its_folder() -> None:
    res = run("dvh", str(FIXTURES), "--structure", "PTV", "--metric", "D90%[Gy]",
              "--no-indices")
    assert res.exit_code == 0, res.stderr
    heads = [line for line in res.stdout.splitlines() if line.startswith("Case ")]
    assert len(heads) == 7
    for name in [*SPINE_FOLDERS, "pelvic_node_sbrt"]:
        assert sum(f"  [{FIXTURES / name}]: Rx " in h for h in heads) == 1, name


# ------------------------------------------------------------------ 3. dvh exit codes
@pytest.mark.parametrize("spec", ["BAD", "D95", "V20Gy[Gy]"])
def test_malformed_metric_is_a_usage_error(spec: str) -> None:
    """#3: a bad --metric value exits 2, like every other bad option value."""
    res = run("dvh", str(SPINE), "--metric", spec)
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith(f"rtcheck: error: --metric: invalid DVH metric {spec!r}")


def test_dvh_exits_0_only_when_every_requested_number_is_computed() -> None:
    res = run("dvh", str(SPINE), "--structure", "PTV", "--structure", "SpinalCord",
              "--metric", "D90%[Gy]", "--metric", "D0.035cc[Gy]", "--no-indices")
    assert res.exit_code == 0
    assert res.stderr == ""


def test_dvh_structure_outside_the_dose_grid_exits_1_with_one_line() -> None:
    """#3: a script gating on the exit code must not read 0 for NOT EVALUATED numbers."""
    res = run("dvh", str(FIXTURES / "spine_grid_misses_oar"), "--structure", "PTV",
              "--structure", "SpinalCord", "--metric", "D0.035cc[Gy]", "--no-indices")
    assert res.exit_code == 1
    assert res.stderr == ("rtcheck: not all requested numbers were computed (NOT EVALUATED): "
                          "SpinalCord: every number (STRUCTURE_OUTSIDE_DOSE_GRID)\n")
    assert "NOT EVALUATED" in res.stdout  # the report is still printed


def test_dvh_structure_not_found_and_metric_not_evaluated_exit_1() -> None:
    res = run("dvh", str(SPINE), "--structure", "PTV", "--structure", "Nope",
              "--metric", "D100cc[Gy]", "--metric", "Max[Gy]", "--format", "csv",
              "--no-indices")
    assert res.exit_code == 1
    assert res.stderr == ("rtcheck: not all requested numbers were computed (NOT EVALUATED): "
                          "PTV: D100cc[Gy]; Nope: every number (STRUCTURE_NOT_FOUND)\n")


def test_dvh_loader_error_still_exits_3(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    shutil.copytree(SPINE, folder)
    plan = pydicom.dcmread(folder / "RP.dcm")
    plan.FrameOfReferenceUID = "1.2.3.4"
    plan.save_as(folder / "RP.dcm")
    res = run("dvh", str(folder), "--structure", "PTV", "--no-indices")
    assert res.exit_code == 3
    assert res.stderr.startswith("rtcheck: error: the input has")


def test_readme_exit_code_table_states_the_dvh_rule() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text[text.index("### Exit codes"):text.index("## The plan check")]
    row1 = next(line for line in table.splitlines() if line.startswith("| 1 |"))
    assert "`dvh`" in row1 and "NOT EVALUATED" in row1
    row2 = next(line for line in table.splitlines() if line.startswith("| 2 |"))
    assert "--metric" in row2


# ------------------------------------------------------------------ 4. --cutoff
def test_cutoff_that_does_not_exist_says_so() -> None:
    """#4: 2023-06-31 is well-formed but does not exist: a usage error that says so."""
    res = run("endpoints", str(SPINE01_EVENTS), "--cutoff", "2023-06-31")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith("rtcheck: error: --cutoff: 2023-06-31 does not exist")
    assert "does not match the format" not in res.stderr


def test_cutoff_that_is_not_a_date_is_a_usage_error() -> None:
    res = run("endpoints", str(SPINE01_EVENTS), "--cutoff", "30.06.2023")
    assert res.exit_code == 2
    assert "'30.06.2023' is not a date; write it as YYYY-MM-DD" in res.stderr


def test_cutoff_in_the_future_is_a_warning() -> None:
    """#4: a future cut-off runs (exit 0) with a warning on stderr."""
    res = run("endpoints", str(SPINE01_EVENTS), "--cutoff", "2999-12-31",
              "--records", str(SPINE))
    assert res.exit_code == 0, res.stderr
    assert f"rtcheck: warning: --cutoff 2999-12-31 is after today ({date.today()})" in res.stderr
    assert "cut-off 2999-12-31" in res.stdout


def test_parse_cutoff_takes_today_from_its_caller() -> None:
    from rtcheck.cli.endpoints import parse_cutoff

    today = date(2024, 1, 10)
    assert parse_cutoff("2024-01-10", today) == (date(2024, 1, 10), None)
    cut, warning = parse_cutoff("2024-01-11", today)
    assert cut == date(2024, 1, 11) and warning is not None and "after today" in warning
    with pytest.raises(UsageError, match=r"2023-02-29 does not exist"):
        parse_cutoff("2023-02-29", today)


def test_only_the_cli_asks_for_today() -> None:
    """The library never reads the clock for a date (no hidden "today")."""
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "rtcheck").rglob("*.py")
                 if "cli" not in p.relative_to(REPO / "rtcheck").parts
                 and re.search(r"\b(date|datetime)\.today\(", p.read_text(encoding="utf-8"))]
    assert offenders == []


# ------------------------------------------------------------------ 5. --records
def test_records_path_without_treatment_records_is_a_usage_error(tmp_path: Path) -> None:
    """#5: nothing found at all: say so (exit 2) instead of carrying on silently."""
    shutil.copy(SPINE / "RP.dcm", tmp_path / "RP.dcm")
    res = run("endpoints", str(SPINE01_EVENTS), "--cutoff", "2026-07-01",
              "--records", str(tmp_path))
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith(
        f"rtcheck: error: --records: no RT (Ion) Beams Treatment Records found in {tmp_path}")
    assert len(res.stderr.strip().splitlines()) == 1


def test_records_path_without_records_beside_one_with_records_is_named(tmp_path: Path) -> None:
    res = run("endpoints", str(SPINE01_EVENTS), "--cutoff", "2026-07-01",
              "--records", str(tmp_path), "--records", str(SPINE))
    assert res.exit_code == 0, res.stderr
    assert (f"rtcheck: warning: --records: no RT (Ion) Beams Treatment Records found in "
            f"{tmp_path}") in res.stderr


# ------------------------------------------------------------------ 6. repeated warnings
def test_repeated_warnings_are_one_line_with_a_count() -> None:
    """#6: one patient: age_years cannot vary for any of the four Cox endpoints."""
    res = run("endpoints", str(SPINE01_EVENTS), "--cutoff", "2026-07-01",
              "--records", str(SPINE))
    assert res.exit_code == 0, res.stderr
    cox = [line for line in res.stderr.splitlines() if "COX_NOT_ESTIMABLE" in line]
    assert cox == ["rtcheck: WARNING COX_NOT_ESTIMABLE (nest_fs, cpfs, css, os): covariate "
                   "age_years does not vary (4×)"]
    report = [line for line in res.stdout.splitlines() if "COX_NOT_ESTIMABLE" in line]
    assert len(report) == 1 and report[0].endswith("(4×)")


def test_finding_lines_keep_distinct_findings_apart() -> None:
    from rtcheck.events.report import finding_lines

    a = Finding("COX_NOT_ESTIMABLE", Severity.WARNING, "covariate x does not vary", subject="os")
    b = Finding("COX_NOT_ESTIMABLE", Severity.WARNING, "covariate y does not vary", subject="os")
    c = Finding("EVENTS_AFTER_CUTOFF", Severity.INFO, "1 row after the cut-off", subject="P1")
    assert finding_lines([a, b, a, c], min_severity=Severity.WARNING) == [
        "WARNING COX_NOT_ESTIMABLE (os): covariate x does not vary (2×)",
        "WARNING COX_NOT_ESTIMABLE (os): covariate y does not vary"]


@pytest.mark.parametrize("endpoint", ["nest_fs", "cpfs", "css", "os"])
def test_endpoint_name_is_not_repeated_inside_its_message(endpoint: str) -> None:
    from rtcheck.events.survival import cox_models

    # no patient: every covariate is constant and the multivariate model has no event
    _, findings = cox_models(endpoint, [], {}, ["age_years", "isup_grade"])
    assert len(findings) == 3
    for f in findings:
        assert f.subject == endpoint
        assert not re.search(rf"\b{endpoint}\b", f.message), f


# ------------------------------------------------------------------ 8. --alpha-beta-for
def test_alpha_beta_for_unknown_structure_is_named_as_typed() -> None:
    res = run("dvh", str(SPINE), "--alpha-beta-for", "FOO=3")
    assert res.exit_code == 2
    assert res.stderr.startswith("rtcheck: error: --alpha-beta-for: no structure named 'FOO';")


# ------------------------------------------------------------------ 9. test data paths
def test_no_test_module_hard_codes_the_shared_data_paths() -> None:
    """#9: every test reaches ../shared through tests/conftest.py (REFDATA, REFERENCE)."""
    offenders = []
    for path in sorted((REPO / "tests").glob("*.py")):
        if path.name in ("conftest.py", Path(__file__).name):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"""["']shared["']|REFDATA\.parent""", text):
            offenders.append(path.name)
    assert offenders == []


def _conftest_paths(env: dict[str, str]) -> list[str]:
    code = "from tests.conftest import REFDATA, REFERENCE; print(REFDATA); print(REFERENCE)"
    clean = {k: v for k, v in os.environ.items()
             if k not in ("RTCHECK_REFDATA", "RTCHECK_REFERENCE")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**clean, **env},
                          capture_output=True, text=True, check=True)
    return proc.stdout.splitlines()


def test_reference_path_follows_its_own_variable_not_refdata(tmp_path: Path) -> None:
    default = REPO.parent / "shared" / "reference"
    assert _conftest_paths({"RTCHECK_REFDATA": str(tmp_path / "elsewhere" / "refdata")}) == [
        str(tmp_path / "elsewhere" / "refdata"), str(default)]
    assert _conftest_paths({"RTCHECK_REFERENCE": str(tmp_path / "ref")})[1] == str(
        tmp_path / "ref")


# ------------------------------------------------------------------ 11. benchmark noise
def test_bench_dvh_does_not_print_dicompyler_warnings() -> None:
    """#11: the grid of spine_grid_misses_oar makes dicompyler-core log a warning per plane."""
    pytest.importorskip("dicompylercore")
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench_dvh.py", str(FIXTURES / "spine_grid_misses_oar"),
         "--repeat", "1", "--no-interp"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "spine_grid_misses_oar" in proc.stdout
