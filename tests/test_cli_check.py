"""``rtcheck check PLAN_DIR`` / ``rtcheck PLAN_DIR`` end to end (click.testing.CliRunner).

Exit codes: 0 PASS, 1 FAIL or INCOMPLETE, 2 usage error, 3 unusable input (also when the
loader found an ERROR: the report is still written). Runs that several tests share are
made once per module (each run of the check takes about a second).
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pydicom
import pytest
from click.testing import Result

from rtcheck.cli.check import parse_rx
from rtcheck.errors import UsageError
from rtcheck.report.check_text import CSV_COLUMNS
from tests.check_helpers import fixture, run
from tests.golden.regenerate import CASES, differences, golden_path, normalise

ROOT = Path(__file__).parents[1]
FIXTURES = ROOT / "fixtures"

VERDICT = {"spine_sbrt": "PASS", "pelvic_node_sbrt": "PASS", "spine_beam_doses": "PASS",
           "spine_cord_overdose": "FAIL", "spine_ptv_undercoverage": "FAIL",
           "spine_consecutive_days": "FAIL", "spine_grid_misses_oar": "INCOMPLETE"}
EXIT = {"PASS": 0, "FAIL": 1, "INCOMPLETE": 1}
ANSI = "\x1b["


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry below ``folder`` (hidden ones too): size and mtime."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


@contextmanager
def cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def case_of(doc: dict[str, Any]) -> dict[str, Any]:
    (case,) = doc["cases"]
    return case


def checks_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in case_of(doc)["checks"]}


def plan_copy(tmp: Path, case: str = "spine_sbrt", *, records: bool = True,
              config: bool = True) -> Path:
    """A copy of a fixture (optionally without treatment records or rtcheck.yaml)."""
    dest = tmp / f"{case}_copy"
    dest.mkdir()
    for p in fixture(case).iterdir():
        if p.name.startswith("RT") and p.suffix == ".dcm" and not records:
            continue
        if p.name == "rtcheck.yaml" and not config:
            continue
        shutil.copy2(p, dest / p.name)
    return dest


# ------------------------------------------------------------------ shared runs
@pytest.fixture(scope="module")
def text_runs() -> dict[str, Any]:
    """``rtcheck check fixtures/<case>`` (text) for every case, with the fixture folders'
    listings before and after."""
    before = {c: snapshot(fixture(c)) for c in CASES}
    runs = {c: run("check", fixture(c)) for c in CASES}
    after = {c: snapshot(FIXTURES / c) for c in CASES}
    return {"runs": runs, "before": before, "after": after}


@pytest.fixture(scope="module")
def shorthand_json() -> dict[str, Result]:
    """The shorthand ``rtcheck fixtures/<case> --format json`` for every case."""
    return {c: run(fixture(c), "--format", "json") for c in CASES}


@pytest.fixture(scope="module")
def verbose_csv() -> dict[str, Result]:
    """``rtcheck -v fixtures/<case> --format csv`` (a group option before the shorthand),
    run from the repository root with the relative path, as a user types it."""
    cases = ("spine_sbrt", "spine_grid_misses_oar")
    for c in cases:
        fixture(c)
    with cwd(ROOT):
        return {c: run("-v", f"fixtures/{c}", "--format", "csv") for c in cases}


# ------------------------------------------------------------------ exit codes, formats
@pytest.mark.parametrize("case", CASES)
def test_check_exit_code_and_verdict(case: str, text_runs: dict[str, Any]) -> None:
    res = text_runs["runs"][case]
    verdict = VERDICT[case]
    assert res.exit_code == EXIT[verdict], res.stderr
    assert f"VERDICT: {verdict} — " in res.stdout
    assert res.stdout.startswith("rtcheck check — protocol medcare")
    assert res.stderr == ""


@pytest.mark.parametrize("case", CASES)
def test_text_on_a_non_tty_has_no_ansi(case: str, text_runs: dict[str, Any]) -> None:
    res = text_runs["runs"][case]
    assert ANSI not in res.stdout and ANSI not in res.stderr


@pytest.mark.parametrize("case", CASES)
def test_check_never_writes_into_the_plan_folder(case: str, text_runs: dict[str, Any]) -> None:
    assert text_runs["before"][case] == text_runs["after"][case]
    assert text_runs["before"][case]  # the folder was really listed


def test_colour_only_when_asked() -> None:
    """The no-ANSI assertions above mean something: the renderer does colour on request
    (the CLI asks only when stdout is a terminal)."""
    from rtcheck.report.check_text import render_text
    from rtcheck.rules.result import CheckReport

    report = CheckReport.from_dict(json.loads(golden_path("spine_cord_overdose").read_text(
        encoding="utf-8")))
    assert ANSI in render_text(report, color=True)
    assert ANSI not in render_text(report, color=False)


def test_text_report_explains_the_failures(text_runs: dict[str, Any]) -> None:
    out = text_runs["runs"]
    assert "VERDICT: FAIL — 3 mandatory check(s) fail" in out["spine_cord_overdose"].stdout
    assert "tg101.row4.D0.35cc[Gy]: D0.35cc[Gy] = 21.6 Gy, violates the limit <= 18 Gy" in out[
        "spine_cord_overdose"].stdout
    assert "Fraction gaps: 1→2 24.08 h fail; 2→3 24.08 h fail" in out[
        "spine_consecutive_days"].stdout
    grid = out["spine_grid_misses_oar"].stdout
    assert "VERDICT: INCOMPLETE — 4 mandatory check(s) NOT EVALUATED" in grid
    assert "note: GRID_BOUNDARY_ASSUMED" in grid
    assert "<= 22.35 Gy" in grid  # the esophagus D0.035cc bound, not a value
    assert "plan dose built by summing 2 BEAM doses" in out["spine_beam_doses"].stdout


@pytest.mark.parametrize("case", CASES)
def test_shorthand_json(case: str, shorthand_json: dict[str, Result]) -> None:
    res = shorthand_json[case]
    assert res.exit_code == EXIT[VERDICT[case]], res.stderr
    doc = json.loads(res.stdout)
    assert doc["schema_version"] == "1.1"
    assert doc["verdict"] == VERDICT[case] == case_of(doc)["verdict"]
    # the command line computes what the golden file holds (options from rtcheck.yaml)
    diff = differences(json.loads(golden_path(case).read_text(encoding="utf-8")),
                       normalise(doc))
    assert not diff, "\n".join(diff[:20])


@pytest.mark.parametrize("case", ["spine_sbrt", "spine_grid_misses_oar"])
def test_group_option_before_the_shorthand_and_csv(case: str, verbose_csv: dict[str, Result],
                                                   shorthand_json: dict[str, Result]) -> None:
    res = verbose_csv[case]
    assert res.exit_code == EXIT[VERDICT[case]], res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0]) == CSV_COLUMNS
    checks = case_of(json.loads(shorthand_json[case].stdout))["checks"]
    assert [r["check"] for r in rows] == [c["id"] for c in checks]  # one row per check
    assert {r["verdict"] for r in rows} == {VERDICT[case]}
    for r, c in zip(rows, checks, strict=True):
        assert r["status"] == c["status"]
        if c["status"] == "not_evaluated":
            assert r["value"] == ""  # never 0
        elif c["value"] is not None:
            assert float(r["value"]) == pytest.approx(c["value"], abs=1e-4)


def test_shorthand_needs_an_existing_path() -> None:
    res = run("no_such_plan_folder")
    assert res.exit_code == 2
    assert "no_such_plan_folder" in res.stderr


# ------------------------------------------------------------------ output files
def test_output_file_is_written_atomically_and_not_clobbered(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    res = run("check", fixture("spine_cord_overdose"), "-o", out)
    assert res.exit_code == 1, res.stderr
    assert res.stdout == ""
    assert "FAIL" in res.stderr and str(out) in res.stderr
    text = out.read_text(encoding="utf-8")
    assert "VERDICT: FAIL" in text and ANSI not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]  # no temp file left
    stat = out.stat()

    again = run("check", fixture("spine_cord_overdose"), "-o", out)
    assert again.exit_code == 2
    assert str(out) in again.stderr and "--overwrite" in again.stderr
    assert again.stdout == ""
    assert out.read_text(encoding="utf-8") == text
    assert out.stat().st_mtime_ns == stat.st_mtime_ns

    replaced = run("check", fixture("spine_cord_overdose"), "-o", out, "--overwrite",
                   "--format", "json")
    assert replaced.exit_code == 1, replaced.stderr
    assert replaced.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["verdict"] == "FAIL"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt"]


def test_extra_json_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    res = run("check", fixture("spine_sbrt"), "--json", target)
    assert res.exit_code == 0, res.stderr
    assert "VERDICT: PASS" in res.stdout  # the text still goes to stdout
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["schema_version"] == "1.1" and doc["verdict"] == "PASS"
    # an existing extra file is refused before any work
    again = run("check", fixture("spine_sbrt"), "--json", target)
    assert again.exit_code == 2 and str(target) in again.stderr


def need_renderer(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"{module} cannot be imported yet ({exc}); it is being written")


def test_extra_html_file(tmp_path: Path) -> None:
    need_renderer("rtcheck.report.check_html")
    target = tmp_path / "r.html"
    res = run("check", fixture("spine_cord_overdose"), "--html", target)
    assert res.exit_code == 1, res.stderr
    html = target.read_text(encoding="utf-8")
    assert "<html" in html.lower() and "FAIL" in html
    assert "tg101.row4.D0.35cc[Gy]" in html


def test_extra_junit_file(tmp_path: Path) -> None:
    need_renderer("rtcheck.report.check_junit")
    target = tmp_path / "r.xml"
    res = run("check", fixture("spine_cord_overdose"), "--junit", target)
    assert res.exit_code == 1, res.stderr
    root = ET.fromstring(target.read_text(encoding="utf-8"))
    assert root.tag in ("testsuites", "testsuite")
    assert len(list(root.iter("testcase"))) > 0
    assert any(True for _ in root.iter("failure"))


# ------------------------------------------------------------------ options
def test_site_option_overrides_a_missing_rtcheck_yaml(tmp_path: Path) -> None:
    plan = plan_copy(tmp_path, config=False)
    res = run("check", plan, "--format", "json")
    assert res.exit_code == 1, res.stderr
    doc = json.loads(res.stdout)
    assert doc["verdict"] == "INCOMPLETE"
    site = checks_of(doc)["site"]
    assert site["status"] == "not_evaluated" and "--site" in site["message"]
    mandatory_ne = {i for i, c in checks_of(doc).items()
                    if c["status"] == "not_evaluated" and c["tier"] == "mandatory"}
    assert mandatory_ne == {"site"}

    res = run("check", plan, "--site", "spine", "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["verdict"] == "PASS" and case_of(doc)["site"] == "spine"
    assert checks_of(doc)["required.SpinalCord"]["status"] == "pass"


@pytest.mark.parametrize(("option", "listed"), [("--arm", "sbrt, local_prostate, local_bed"),
                                                ("--site", "spine, thorax, pelvis")])
def test_unknown_arm_or_site_is_a_usage_error(option: str, listed: str) -> None:
    res = run("check", fixture("spine_sbrt"), option, "nope")
    assert res.exit_code == 2, res.stderr
    assert f"{option} nope" in res.stderr and listed in res.stderr
    assert res.stdout == ""


def test_unknown_site_in_rtcheck_yaml_is_bad_input(tmp_path: Path) -> None:
    plan = plan_copy(tmp_path)
    cfg = plan / "rtcheck.yaml"
    cfg.write_text(cfg.read_text().replace("site: spine", "site: spin"))
    res = run("check", plan)
    assert res.exit_code == 3
    assert str(cfg) in res.stderr and "'spin'" in res.stderr and "spine" in res.stderr


@pytest.mark.parametrize(("rx", "why"), [
    ("30", "e.g. 30Gy/3fx"), ("30Gy", "e.g. 30Gy/3fx"), ("thirty", "e.g. 30Gy/3fx"),
    ("30 Gy/0fx", "must be positive"), ("0Gy/3fx", "must be positive")])
def test_bad_rx_is_a_usage_error(rx: str, why: str) -> None:
    res = run("check", fixture("spine_sbrt"), "--rx", rx)
    assert res.exit_code == 2
    assert f"--rx {rx!r}" in res.stderr and why in res.stderr and res.stdout == ""


def test_parse_rx() -> None:
    assert parse_rx("30Gy/3fx") == (30.0, 3)
    assert parse_rx("3000cGy/3fx") == (30.0, 3)
    assert parse_rx(" 42.56 Gy / 16 fractions ") == (42.56, 16)
    assert parse_rx("24gy/3") == (24.0, 3)
    with pytest.raises(UsageError):
        parse_rx("30")


def test_rx_in_gy_and_cgy_give_the_same_report() -> None:
    gy = run("check", fixture("spine_sbrt"), "--rx", "30Gy/3fx", "--format", "json")
    cgy = run("check", fixture("spine_sbrt"), "--rx", "3000cGy/3fx", "--format", "json")
    assert gy.exit_code == cgy.exit_code == 0, gy.stderr + cgy.stderr
    a, b = normalise(json.loads(gy.stdout)), normalise(json.loads(cgy.stdout))
    rx = case_of(a)["prescription"]
    assert rx["total_gy"] == 30.0 and rx["fractions"] == 3 and rx["source"] == "command line"
    assert a["provenance"]["options"]["rx_gy"] == 30.0
    assert differences(a, b, tol=0.0) == []


def test_unknown_protocol_lists_the_known_ones() -> None:
    res = run("check", fixture("spine_sbrt"), "--protocol", "nope")
    assert res.exit_code == 2  # an unknown name is a usage error
    assert "nope" in res.stderr and "medcare" in res.stderr
    assert res.stderr.startswith("rtcheck: error: ") and res.stdout == ""


def test_bad_protocol_file_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nkind: protocol\nid: bad\ntitle: 5\n")
    res = run("check", fixture("spine_sbrt"), "--protocol", bad)
    assert res.exit_code == 3
    assert f"{bad}:4: title" in res.stderr  # file:line: field
    assert f"{bad}:1:" in res.stderr  # missing required keys, reported at the top
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_folder_without_dicom_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not DICOM\n")
    res = run("check", tmp_path)
    assert res.exit_code == 3
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtcheck: error: ")
    assert str(tmp_path) in lines[0] and "no DICOM" in lines[0]


def test_frame_of_reference_mismatch_still_reports(tmp_path: Path) -> None:
    plan = plan_copy(tmp_path)
    ds = pydicom.dcmread(plan / "RP.dcm")
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.save_as(plan / "RP.dcm")
    res = run("check", plan, "--format", "json")
    assert res.exit_code == 3
    assert "ERROR findings" in res.stderr
    doc = json.loads(res.stdout)  # the report is still printed
    assert doc["verdict"] == "INCOMPLETE"
    case = case_of(doc)
    assert case["input_blocked"] is True
    assert any(f["code"] == "FOR_MISMATCH" and f["severity"] == "ERROR"
               for f in case["findings"] + doc["findings"])
    checks = checks_of(doc)
    for cid in ("sbrt.ptv_coverage", "tg101.row4.D0.35cc[Gy]", "sbrt.dmax_plausible"):
        assert checks[cid]["status"] == "not_evaluated" and checks[cid]["value"] is None
        assert "CHECK_BLOCKED" in checks[cid]["message"]
        assert "FOR_MISMATCH" in checks[cid]["message"]
    assert not [c for c in checks.values() if c["status"] == "fail"]


def test_schedule_gives_the_spacing_of_a_plan_without_records(tmp_path: Path) -> None:
    plan = plan_copy(tmp_path, records=False)
    res = run("check", plan, "--format", "json")
    assert res.exit_code == 0, res.stderr  # spacing is pending, which still passes
    spacing = checks_of(json.loads(res.stdout))["sbrt.fraction_spacing"]
    assert spacing["status"] == "pending" and spacing["value"] is None

    schedule = tmp_path / "schedule.csv"
    schedule.write_text("fraction,datetime\n1,2026-01-12T08:30:00+01:00\n"
                        "2,2026-01-13T08:30:00+01:00\n3,2026-01-14T09:00:00+01:00\n")
    res = run("check", plan, "--schedule", schedule, "--format", "json")
    assert res.exit_code == 1, res.stderr
    doc = json.loads(res.stdout)
    assert doc["verdict"] == "FAIL"
    spacing = checks_of(doc)["sbrt.fraction_spacing"]
    assert spacing["status"] == "fail" and spacing["value"] == pytest.approx(24.0)
    assert any("schedule" in n for n in spacing["notes"])
    gaps = case_of(doc)["fraction_gaps"]
    assert [g["gap_hours"] for g in gaps] == pytest.approx([24.0, 24.5])
    assert all("schedule" in g["message"] for g in gaps)
    assert doc["provenance"]["options"]["schedule_fractions"] == 3
    assert str(schedule) in [i["path"] for i in doc["provenance"]["inputs"]]
    assert sorted(p.name for p in plan.iterdir()) == ["RD.dcm", "RP.dcm", "RS.dcm",
                                                      "rtcheck.yaml"]


# ------------------------------------------------------------------ constraints show
def test_constraints_show_lists_arms_and_cord_limits() -> None:
    res = run("constraints", "show", "medcare")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    for arm in ("sbrt", "local_prostate", "local_bed"):
        assert f"\narm {arm}: " in out
    assert "DVH limits for 3 fractions:" in out
    assert "tg101.row4.D0.35cc[Gy]: SpinalCord D0.35cc[Gy] <= 18 Gy" in out
    assert "tg101.row4.D0.035cc[Gy]: SpinalCord D0.035cc[Gy] <= 21.9 Gy" in out
    assert "sites: spine [SpinalCord]" in out


def test_constraints_show_for_four_fractions() -> None:
    res = run("constraints", "show", "medcare", "--arm", "sbrt", "--fractions", "4")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert "DVH limits for 4 fractions:" in out
    for cid in ("tg101.row4.D0.35cc[Gy]", "tg101.row4.D0.035cc[Gy]"):
        line = next(x for x in out.splitlines() if f"{cid}: SpinalCord" in x)
        assert "NOT EVALUATED" in line and "4 fractions" in line
        assert "18 Gy" not in line and "21.9 Gy" not in line
    assert "\narm local_prostate" not in out


@pytest.mark.parametrize("arg", ["fixtures/spine_sbrtx", "./no_plan", "~/no_plan_here"])
def test_shorthand_with_a_mistyped_folder_says_the_path_does_not_exist(arg: str) -> None:
    """``rtcheck fixtures/spine_sbrtx`` (a typo): the path is named, not "No such command"."""
    res = run(arg)
    assert res.exit_code == 2
    assert f"Path '{arg}' does not exist" in res.stderr
    assert "No such command" not in res.stderr


def test_an_unknown_word_is_still_an_unknown_command() -> None:
    res = run("chek")
    assert res.exit_code == 2
    assert "No such command 'chek'. Did you mean 'check'?" in res.stderr
    far = run("frobnicate")
    assert far.exit_code == 2
    assert "No such command 'frobnicate'." in far.stderr and "Did you mean" not in far.stderr
