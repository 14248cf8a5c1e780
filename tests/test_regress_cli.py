"""``rtcheck check PLAN --baseline FILE|DIR`` and ``rtcheck regress ROOT --baseline DIR``.

The evidence of issue #10: a deliberately changed DVH setting (``--end-cap none``) and a
deliberately changed protocol limit (SpinalCord D0.035cc 21.9 → 20 Gy in a copy of
tg101.yaml used by a copy of medcare.yaml) are caught — as drift of exactly the checks
they move, in text, JSON and JUnit — while changes within tolerance are listed and
ignored. Exit codes: 0 no drift, 1 drift, 2 usage error, 3 unusable baseline.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from rtcheck.audit.run import AuditRun, run_audit
from rtcheck.rules.protocol import constraints_dir
from tests.audit_helpers import make_tree, medcare_config
from tests.check_helpers import fixture, run
from tests.golden.regenerate import golden_path

FIXTURES = Path(__file__).parents[1] / "fixtures"
CORD = "tg101.row4.D0.035cc[Gy]"
#: spine_sbrt with --end-cap none against its golden (half-slice) report:
#: check -> (baseline, current) value in Gy; the first two move beyond 0.01 Gy
END_CAP_DRIFT = {"sbrt.ptv_coverage": (30.7956, 31.065),
                 "tg101.row4.D0.35cc[Gy]": (12.8751, 12.8935)}
END_CAP_WITHIN = {CORD: (15.4916, 15.4992), "tg101.row5.D1.2cc[Gy]": (10.1789, 10.1801),
                  "tg101.row9.D5cc[Gy]": (8.5821, 8.5809),
                  "tg101.row9.D0.035cc[Gy]": (14.0397, 14.0449)}




def golden(case: str = "spine_sbrt") -> Path:
    return golden_path(case)


@pytest.fixture(scope="module")
def changed_limit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of medcare.yaml whose tg101.yaml (copied beside it) has SpinalCord D0.035cc
    (3 fractions, row 4) at 20 Gy instead of 21.9 Gy; every other limit unchanged."""
    folder = tmp_path_factory.mktemp("protocol")
    shutil.copy(constraints_dir() / "medcare.yaml", folder / "medcare.yaml")
    lines = (constraints_dir() / "tg101.yaml").read_text(encoding="utf-8").split("\n")
    row4 = next(i for i, line in enumerate(lines) if "row: 4," in line)
    cord = row4 + 2  # the D0.035cc limit of row 4 (row 6 has the same text: not changed)
    assert 'metric: "D0.035cc[Gy]"' in lines[cord] and '3: "21.9 Gy"' in lines[cord]
    lines[cord] = lines[cord].replace('3: "21.9 Gy"', '3: "20 Gy"')
    (folder / "tg101.yaml").write_text("\n".join(lines), encoding="utf-8")
    return folder / "medcare.yaml"


def failing(xml: str) -> list[str]:
    root = ET.fromstring(xml)
    return [tc.get("name", "") for tc in root.iter("testcase") if tc.find("failure") is not None]


def drifts(doc: dict[str, Any]) -> dict[str, list[tuple[str, Any, Any, bool]]]:
    return {c["id"]: [(d["what"], d["baseline"], d["current"], d["drift"])
                      for d in c["differences"]]
            for r in doc["reports"] for case in r["cases"] for c in case["checks"]}


# ------------------------------------------------------------------ rtcheck check --baseline
@pytest.mark.parametrize("case", ["spine_sbrt", "spine_cord_overdose", "spine_grid_misses_oar"])
def test_a_plan_against_its_golden_report_does_not_drift(case: str) -> None:
    result = run(fixture(case), "--baseline", golden(case))
    assert result.exit_code == 0, result.output  # a FAIL or INCOMPLETE as before: no drift
    assert result.output.startswith("NO DRIFT: 1 plan(s), 63 check(s) compared; nothing "
                                    "beyond tolerance; 0 change(s) within tolerance")


def test_end_cap_none_drifts_exactly_the_checks_it_moves_beyond_tolerance() -> None:
    result = run(fixture("spine_sbrt"), "--end-cap", "none", "--baseline", golden(),
                 "--format", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    expected = {cid: [("value", b, c, True)] for cid, (b, c) in END_CAP_DRIFT.items()}
    expected |= {cid: [("value", b, c, False)] for cid, (b, c) in END_CAP_WITHIN.items()}
    assert drifts(doc) == expected
    assert doc["counts"]["checks_drifted"] == 2 and doc["counts"]["within_tolerance"] == 4
    prov = {d["what"]: (d["baseline"], d["current"]) for d in doc["reports"][0]["provenance"]}
    assert prov["provenance.dvh_settings.end_cap"] == ("HALF_SLICE", "NONE")
    # the structures shrink (no half-slice end caps): their volumes drift with the option
    result = run(fixture("spine_sbrt"), "--end-cap", "none", "--baseline", golden(),
                 "--format", "json", "--compare-structures")
    doc = json.loads(result.output)
    structures = {(c["structure"], d["what"]): (d["baseline"], d["current"], d["drift"])
                  for c in doc["reports"][0]["cases"][0]["checks"] if c["id"] == "structures"
                  for d in c["differences"]}
    assert structures[("PTV", "volume_cc")] == (19.6759, 18.9162, True)  # -3.9 % > 0.5 %
    assert structures[("SpinalCord", "volume_cc")] == (4.4884, 4.2932, True)
    assert ("SpinalCord", "max_gy") not in structures  # unchanged: 17.4057 Gy both
    # a wider Gy tolerance (0.3 Gy) takes the same change as no drift
    again = run(fixture("spine_sbrt"), "--end-cap", "none", "--baseline", golden(),
                "--tolerance", "Gy=0.3")
    assert again.exit_code == 0, again.output
    assert "6 change(s) within tolerance" in again.output.splitlines()[0]


def test_changed_protocol_limit_fails_exactly_that_check_in_junit(
        changed_limit: Path, tmp_path: Path) -> None:
    out = tmp_path / "drift.xml"
    result = run(fixture("spine_sbrt"), "--protocol", changed_limit, "--baseline", golden(),
                 "-o", out)
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"DRIFT: comparison written to {out}"
    xml = out.read_text(encoding="utf-8")
    assert failing(xml) == [f"T9_SBRT/{CORD}/SpinalCord"]
    (failure,) = ET.fromstring(xml).iter("failure")
    assert failure.get("message") == "DRIFT: limit: 21.9 Gy → 20 Gy (Δ -1.9)"
    text = run(fixture("spine_sbrt"), "--protocol", changed_limit, "--baseline", golden())
    assert "provenance.libraries.tg101.yaml:" in text.output  # information, not drift
    assert "DRIFT   tg101.row4.D0.035cc[Gy]  SpinalCord  limit  21.9 Gy   20 Gy    -1.9" \
        in text.output


def test_json_side_file_is_the_next_baseline(tmp_path: Path) -> None:
    stored = tmp_path / "spine_sbrt.json"
    first = run(fixture("spine_sbrt"), "--json", stored)
    assert first.exit_code == 0
    again = run(fixture("spine_sbrt"), "--baseline", stored, "--json", tmp_path / "new.json",
                "--junit", tmp_path / "check.xml")
    assert again.exit_code == 0 and again.output.startswith("NO DRIFT")
    # the side files are the check's own reports, as without --baseline
    assert json.loads((tmp_path / "new.json").read_text(encoding="utf-8"))["verdict"] == "PASS"
    assert 'name="rtcheck medcare"' in (tmp_path / "check.xml").read_text(encoding="utf-8")
    # structures too: identical
    same = run(fixture("spine_sbrt"), "--baseline", stored, "--compare-structures")
    assert same.exit_code == 0 and "Structures compared" in same.output


@pytest.mark.parametrize(("args", "message"), [
    (["--baseline", "GOLDEN", "--tolerance", "Gy=fast"], "--tolerance tolerance 'fast'"),
    (["--baseline", "GOLDEN", "--tolerance", "Sv=1"], "unknown tolerance kind 'Sv'"),
    (["--baseline", "GOLDEN", "--tolerance", "Gy"], "write KIND=VALUE"),
    (["--tolerance", "Gy=0.1"], "give --baseline FILE|DIR"),
    (["--compare-structures"], "give --baseline FILE|DIR"),
    (["--baseline", "GOLDEN", "--format", "csv"], "text, json or junit, not csv"),
    (["--baseline", "GOLDEN", "-o", "x.html"], "text, json or junit, not html"),
    (["--baseline", "no/such/file.json"], "does not exist"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    args = [str(golden()) if a == "GOLDEN" else a for a in args]
    result = run(fixture("spine_sbrt"), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_unusable_baseline_exits_3(tmp_path: Path) -> None:
    doc = json.loads(golden().read_text(encoding="utf-8"))
    doc["schema_version"] = "2.0"
    future = tmp_path / "future.json"
    future.write_text(json.dumps(doc), encoding="utf-8")
    result = run(fixture("spine_sbrt"), "--baseline", future)
    assert result.exit_code == 3
    assert (f"rtcheck: error: {future}: baseline: result schema_version '2.0' cannot be "
            "compared by this rtcheck (reads 1.1)") in result.output
    (tmp_path / "notes.json").write_text('{"hello": 1}', encoding="utf-8")
    result = run(fixture("spine_sbrt"), "--baseline", tmp_path / "notes.json")
    assert result.exit_code == 3 and "not a plan-check result" in result.output


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "drift.json"
    out.write_text("{}", encoding="utf-8")
    result = run(fixture("spine_sbrt"), "--baseline", golden(), "-o", out)
    assert result.exit_code == 2 and "give --overwrite" in result.output


# ------------------------------------------------------------------ rtcheck regress
@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A multi-site tree (with an unreadable case) and its audit: the stored baseline."""
    base = tmp_path_factory.mktemp("regress")
    root = make_tree(base / "root", broken=True)
    run_audit(root, base / "baseline", medcare_config(), AuditRun(workers=1),
              stream=StringIO())
    return root, base / "baseline"


def regress(root: Path, baseline: Path, *args: str | Path) -> Result:
    return run("regress", root, "--baseline", baseline, "--protocol", "medcare",
               "--workers", "1", *args)


def test_regress_unchanged_tree_does_not_drift(stored: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    root, baseline = stored
    result = regress(root, baseline, "--junit", tmp_path / "r.xml")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("NO DRIFT: 4 plan(s), 254 check(s) compared in 5 "
                                    "result(s); nothing beyond tolerance")
    xml = (tmp_path / "r.xml").read_text(encoding="utf-8")
    names = [tc.get("name") for tc in ET.fromstring(xml).iter("testcase")]
    assert failing(xml) == [] and len(names) == 254 + 4 + 1
    assert "site_a/spine_sbrt/verdict/-" in names and "site_b/broken/result/-" in names
    assert f"site_a/spine_cord_overdose/{CORD}/SpinalCord" in names


def test_regress_changed_limit_fails_exactly_that_check_per_plan(
        stored: tuple[Path, Path], changed_limit: Path, tmp_path: Path) -> None:
    root, baseline = stored
    out = tmp_path / "drift.xml"
    result = run("regress", root, "--baseline", baseline, "--protocol", changed_limit,
                 "--workers", "1", "-o", out)
    assert result.exit_code == 1, result.output
    with_cord = ["site_a/spine_cord_overdose", "site_a/spine_sbrt", "site_b/pelvic_node_sbrt",
                 "site_b/spine_grid_misses_oar"]
    assert sorted(failing(out.read_text(encoding="utf-8"))) == [
        f"{key}/{CORD}/SpinalCord" for key in with_cord]


def test_regress_cases_missing_on_either_side_drift(stored: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    root, baseline = stored
    partial = tmp_path / "root"
    shutil.copytree(root, partial)
    shutil.rmtree(partial / "site_a" / "spine_sbrt")
    shutil.copytree(fixture("spine_consecutive_days"), partial / "site_b" / "new_case")
    result = regress(partial, baseline, "--format", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    got = {r["key"]: [(d["what"], d["baseline"], d["current"], d["note"])
                      for d in r["differences"]] for r in doc["reports"] if r["differences"]}
    assert got == {
        "site_a/spine_sbrt": [("result", "present", None, "no longer in the result")],
        "site_b/broken": [("result", got["site_b/broken"][0][1], got["site_b/broken"][0][2],
                           "could not be checked, as in the baseline")],
        "site_b/new_case": [("result", None, "present", "not in the baseline")],
    }
    assert doc["counts"]["results_drifted"] == doc["counts"]["results_missing_or_unchecked"] == 2
    assert "2 result(s) missing or not checked" in regress(partial, baseline).output


def test_regress_refusals(stored: tuple[Path, Path], tmp_path: Path) -> None:
    root, baseline = stored
    bad = regress(root, baseline, "--tolerance", "cc=big")
    assert bad.exit_code == 2 and "--tolerance tolerance 'big'" in bad.output
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(golden(), plain / "spine_sbrt.json")
    result = regress(root, plain)
    assert result.exit_code == 3 and "is a plan-check result, not an audit result" in \
        result.output
    result = run("regress", root, "--baseline", baseline, "--protocol", "nosuch")
    assert result.exit_code == 2 and "known: medcare" in result.output
    result = regress(root, baseline, "--arm", "nosuch")
    assert result.exit_code == 2 and "has no arm 'nosuch'" in result.output
    help_text = run("--help").output
    assert "regress" in help_text and "Compare plan checks with a stored baseline" in help_text
