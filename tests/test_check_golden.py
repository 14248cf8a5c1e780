"""The plan check of every synthetic fixture against its golden report (tests/golden/check/).

Each report is recomputed (``check_load`` with the options of the fixture's rtcheck.yaml,
as ``rtcheck check fixtures/<case>`` does), normalised like the golden files, and compared
field by field: a mismatch names the JSON path, the expected and the actual value. Floats
are compared within 1e-3, everything else exactly. Regenerate the golden files after an
intended change with ``.venv/bin/python tests/golden/regenerate.py`` (see its docstring).

The verdict of each fixture and the reason for it are also asserted explicitly, so a
regenerated golden file cannot silently turn a FAIL into a PASS.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from rtcheck.rules.result import CheckReport
from tests.golden.regenerate import (
    CASES,
    FIXTURES,
    REPO,
    differences,
    golden_dict,
    golden_path,
    normalise,
)

SPINE_SUB_NE = {"tg101.row6.D10%[Gy]", "tg101.row6.D0.035cc[Gy]"}  # optional, SpinalCord_Sub
CORD_ROWS = {"tg101.row4.D0.35cc[Gy]", "tg101.row4.D0.035cc[Gy]", "tg101.row5.D1.2cc[Gy]"}

#: case → (verdict, ids of the failing checks, ids of the NOT EVALUATED checks)
EXPECTED: dict[str, tuple[str, set[str], set[str]]] = {
    "spine_sbrt": ("PASS", set(), SPINE_SUB_NE),
    "pelvic_node_sbrt": ("PASS", set(), set()),
    "spine_beam_doses": ("PASS", set(), SPINE_SUB_NE),
    "spine_cord_overdose": ("FAIL", CORD_ROWS, SPINE_SUB_NE),
    "spine_ptv_undercoverage": ("FAIL", {"sbrt.ptv_coverage"}, SPINE_SUB_NE),
    "spine_consecutive_days": ("FAIL", {"sbrt.fraction_spacing"}, SPINE_SUB_NE),
    "spine_grid_misses_oar": ("INCOMPLETE", set(),
                              SPINE_SUB_NE | CORD_ROWS | {"tg101.row9.D5cc[Gy]"}),
}


@pytest.fixture(scope="module")
def actual() -> dict[str, dict[str, Any]]:
    """The normalised report of every fixture, computed once for the module."""
    out = {}
    for case in CASES:
        if not (FIXTURES / case / "RS.dcm").is_file():
            pytest.skip(f"fixture {case} not generated (python fixtures/generate.py)")
        out[case] = golden_dict(case)
    return out


def golden(case: str) -> dict[str, Any]:
    path = golden_path(case)
    if not path.is_file():
        pytest.fail(f"{path.relative_to(REPO)} missing: run .venv/bin/python "
                    "tests/golden/regenerate.py from the repository root")
    return json.loads(path.read_text(encoding="utf-8"))


def checks_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (case,) = report["cases"]
    return {c["id"]: c for c in case["checks"]}


def test_every_fixture_has_a_golden_file() -> None:
    assert set(EXPECTED) == set(CASES)
    on_disk = {p.stem for p in golden_path("x").parent.glob("*.json")}
    assert on_disk == set(CASES), "golden files and fixture cases differ"


@pytest.mark.parametrize("case", CASES)
def test_report_equals_golden(case: str, actual: dict[str, dict[str, Any]]) -> None:
    diff = differences(golden(case), actual[case])
    assert not diff, (f"{case}: {len(diff)} difference(s) from {golden_path(case).name} "
                      "(regenerate with tests/golden/regenerate.py if intended):\n  "
                      + "\n  ".join(diff[:40]))


@pytest.mark.parametrize("case", CASES)
def test_golden_files_are_normalised_and_small(case: str) -> None:
    text = golden_path(case).read_text(encoding="utf-8")
    assert len(text) < 80_000
    assert str(REPO) not in text
    doc = json.loads(text)
    prov = doc["provenance"]
    assert prov["created_utc"] == "<created_utc>"
    assert prov["rtcheck_version"] == "<rtcheck_version>"
    assert prov["python_version"] == "<python_version>"
    assert prov["protocol"]["path"] == "constraints/medcare.yaml"
    for s in doc["cases"][0]["structures"]:
        assert s["curve"] is None


@pytest.mark.parametrize("case", CASES)
def test_verdict_and_which_checks_fail(case: str, actual: dict[str, dict[str, Any]]) -> None:
    verdict, failing, not_evaluated = EXPECTED[case]
    for report in (actual[case], golden(case)):
        assert report["schema_version"] == "1.1"
        assert report["verdict"] == verdict
        assert report["cases"][0]["verdict"] == verdict
        checks = checks_of(report)
        assert {i for i, c in checks.items() if c["status"] == "fail"} == failing
        assert {i for i, c in checks.items() if c["status"] == "not_evaluated"} == not_evaluated
        assert not {i for i, c in checks.items()
                    if c["status"] in ("minor_deviation", "pending")}
        assert report["cases"][0]["counts"]["fail"] == len(failing)
        # the optional SpinalCord_Sub rows need a derived structure; never a verdict changer
        for i in not_evaluated & SPINE_SUB_NE:
            assert checks[i]["tier"] == "optional"
            assert "derived structure" in checks[i]["message"]
            assert "SpinalCord_Sub" in checks[i]["message"]
        # a value only where evaluated; NOT EVALUATED is never 0
        for c in checks.values():
            if c["status"] in ("not_evaluated", "not_applicable"):
                assert c["value"] is None, c["id"]


def test_spine_cord_overdose_fails_on_the_cord_only(actual: dict[str, dict[str, Any]]) -> None:
    checks = checks_of(actual["spine_cord_overdose"])
    expected = {"tg101.row4.D0.35cc[Gy]": (18.0, 21.60), "tg101.row4.D0.035cc[Gy]": (21.9, 23.61),
                "tg101.row5.D1.2cc[Gy]": (12.3, 19.52)}
    for cid, (limit, value) in expected.items():
        c = checks[cid]
        assert c["structure"] == c["roi"] == "SpinalCord" and c["tier"] == "mandatory"
        assert c["limit"] == limit and c["comparison"] == "<="
        assert c["value"] == pytest.approx(value, abs=0.05)
        assert c["margin"] == pytest.approx(limit - c["value"], abs=1e-3) and c["margin"] < 0
        assert "violates the limit" in c["message"] and f"{limit:g} Gy" in c["message"]
    assert checks["sbrt.ptv_coverage"]["status"] == "pass"
    assert checks["tg101.row9.D0.035cc[Gy]"]["status"] == "pass"  # esophagus unchanged


def test_spine_ptv_undercoverage_fails_on_d90(actual: dict[str, dict[str, Any]]) -> None:
    c = checks_of(actual["spine_ptv_undercoverage"])["sbrt.ptv_coverage"]
    assert c["metric"] == "D90%[Gy]" and c["structure"] == "PTV"
    assert c["value"] == pytest.approx(28.47, abs=0.02)
    assert c["limit"] == 30.0 and c["comparison"] == ">="
    assert c["margin"] == pytest.approx(c["value"] - 30.0, abs=1e-3)
    assert "D90%" in c["message"] and "violates the limit >= 30 Gy" in c["message"]
    # no OAR limit is binding, so the shortfall is not softened to a minor deviation
    assert "COVERAGE_OAR_PRIORITY" not in c["message"]


def test_spine_consecutive_days_fails_on_spacing(actual: dict[str, dict[str, Any]]) -> None:
    case = actual["spine_consecutive_days"]["cases"][0]
    c = checks_of(actual["spine_consecutive_days"])["sbrt.fraction_spacing"]
    assert c["value"] == pytest.approx(24.08, abs=0.01) and c["unit"] == "h"
    assert "2 of 2 gap(s)" in c["message"] and "48 h" in c["message"]
    gaps = case["fraction_gaps"]
    assert [(g["from_fraction"], g["to_fraction"]) for g in gaps] == [(1, 2), (2, 3)]
    for g in gaps:
        assert g["gap_hours"] == pytest.approx(24.08, abs=0.01)
        assert g["status"] == "fail"
        assert "record → record" in g["message"]
    # the dose is spine_sbrt's: the coverage passes with the same D90%
    cov = checks_of(actual["spine_consecutive_days"])["sbrt.ptv_coverage"]
    ref = checks_of(actual["spine_sbrt"])["sbrt.ptv_coverage"]
    assert cov["status"] == "pass" and cov["value"] == pytest.approx(ref["value"], abs=1e-3)


def test_spine_grid_misses_oar_is_incomplete_for_the_right_reason(
        actual: dict[str, dict[str, Any]]) -> None:
    report = actual["spine_grid_misses_oar"]
    checks = checks_of(report)
    structures = {s["name"]: s for s in report["cases"][0]["structures"]}
    for name in ("SpinalCord", "Esophagus"):
        s = structures[name]
        assert s["state"] == "partial"
        assert s["grid_boundary_gy"] == pytest.approx(22.35, abs=0.01)
        assert s["in_grid_volume_cc"] < s["volume_cc"]
        assert s["max_gy"] is None  # a partial structure has no whole-structure statistic
    assert structures["PTV"]["state"] == "complete"
    for cid in (*sorted(CORD_ROWS), "tg101.row9.D5cc[Gy]"):
        c = checks[cid]
        assert c["status"] == "not_evaluated" and c["tier"] == "mandatory"
        assert c["value"] is None
        assert c["upper_bound"] == pytest.approx(22.35, abs=0.01)
        assert c["upper_bound"] > c["limit"]  # B exceeds the limit: cannot be decided
        assert c["lower_bound"] < c["limit"]  # and the in-grid part is within it
        assert "extends beyond the dose grid" in c["message"]
        assert "B 22.35 Gy" in c["message"] and "extend the dose calculation volume" in c[
            "message"]
        assert c["structure"] in c["message"]
    eso = checks["tg101.row9.D0.035cc[Gy]"]
    assert eso["status"] == "pass" and eso["value"] is None
    assert eso["upper_bound"] == pytest.approx(22.35, abs=0.01)
    assert eso["upper_bound"] < eso["limit"] == 25.2  # B is within the limit: decided
    assert any(n.startswith("GRID_BOUNDARY_ASSUMED") and "22.35 Gy" in n for n in eso["notes"])
    # the target is fully inside: coverage as in spine_sbrt
    ref = checks_of(actual["spine_sbrt"])["sbrt.ptv_coverage"]["value"]
    assert checks["sbrt.ptv_coverage"]["value"] == pytest.approx(ref, abs=1e-3)


def test_spine_beam_doses_are_summed(actual: dict[str, dict[str, Any]]) -> None:
    report = actual["spine_beam_doses"]
    case = report["cases"][0]
    assert case["dose"]["summation_type"] == "PLAN" and case["dose"]["basis"] == "TOTAL"
    assert case["dose"]["source_paths"] == ["fixtures/spine_beam_doses/RD_beam1.dcm",
                                            "fixtures/spine_beam_doses/RD_beam2.dcm"]
    assert case["dose"]["max_gy"] == pytest.approx(37.5, abs=0.01)
    assert "summing 2 BEAM doses" in checks_of(report)["sbrt.dose_summation"]["message"]
    assert [f["code"] for f in case["findings"]] == ["DOSE_BEAMS_SUMMED", "DOSE_GRID_ABOVE_2MM"]
    # beam1 + beam2 = spine_sbrt's plan dose within quantisation: the same checks and values
    ref = checks_of(actual["spine_sbrt"])
    for cid, c in checks_of(report).items():
        assert c["status"] == ref[cid]["status"], cid
        if c["value"] is not None:
            assert c["value"] == pytest.approx(ref[cid]["value"], abs=0.01), cid


def test_pelvic_node_sbrt_checks_the_pelvic_organs(actual: dict[str, dict[str, Any]]) -> None:
    report = actual["pelvic_node_sbrt"]
    checks = checks_of(report)
    assert report["cases"][0]["site"] == "pelvis"
    for organ in ("PTV", "Bowel", "Rectum", "Bladder"):
        assert checks[f"required.{organ}"]["status"] == "pass"
    evaluated = {c["structure"] for c in checks.values()
                 if c["kind"] == "dvh" and c["value"] is not None}
    assert {"PTV", "Bowel", "Rectum", "Bladder", "SacralPlexus", "CaudaEquina"} <= evaluated


@pytest.mark.parametrize("case", CASES)
def test_provenance_hashes_are_the_fixture_files(case: str,
                                                 actual: dict[str, dict[str, Any]]) -> None:
    folder = FIXTURES / case
    for report in (actual[case], golden(case)):
        inputs = report["provenance"]["inputs"]
        # every file of the folder (DICOM and rtcheck.yaml) is an input, and nothing else
        assert sorted(i["path"] for i in inputs) == sorted(
            f"fixtures/{case}/{p.name}" for p in folder.iterdir() if p.is_file())
        for i in inputs:
            path = REPO / i["path"]
            assert i["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), i["path"]
        proto = report["provenance"]["protocol"]
        assert proto["sha256"] == hashlib.sha256(
            (REPO / proto["path"]).read_bytes()).hexdigest()
        for lib in report["provenance"]["libraries"]:
            assert lib["sha256"] == hashlib.sha256(
                (REPO / lib["path"]).read_bytes()).hexdigest()
        assert report["provenance"]["options"]["arm"] == "sbrt"


def test_the_comparison_names_path_expected_and_actual() -> None:
    """The field-by-field comparison itself: path, expected, actual; float tolerance."""
    golden_doc = {"a": [{"id": "x", "value": 1.0, "n": 3, "s": "t"}], "k": None}
    same = {"a": [{"id": "x", "value": 1.0009, "n": 3, "s": "t"}], "k": None}
    assert differences(golden_doc, same) == []
    other = {"a": [{"id": "x", "value": 1.002, "n": 4, "s": "u"}], "extra": 1}
    diff = differences(golden_doc, other)
    assert "$.a[0 id=x].value: expected 1.0, got 1.002 (tolerance 0.001)" in diff
    assert "$.a[0 id=x].n: expected 3, got 4" in diff
    assert "$.a[0 id=x].s: expected 't', got 'u'" in diff
    assert "$.k: expected None, missing in actual" in diff
    assert "$.extra: not in the golden file, actual 1" in diff
    assert differences([1, 2], [1]) == ["$: expected 2 items, got 1"]
    assert differences({"b": True}, {"b": 1}) == ["$.b: expected True, got 1"]
    assert differences({"n": None}, {"n": 0.0}) == ["$.n: expected None, got 0.0"]


def test_normalise_is_idempotent(actual: dict[str, dict[str, Any]]) -> None:
    d = actual["spine_sbrt"]
    assert normalise(d) == d


@pytest.mark.parametrize("case", CASES)
def test_golden_file_is_a_readable_report(case: str) -> None:
    """A golden file is a schema-1.0 report: from_dict reads it and to_dict gives it back."""
    doc = golden(case)
    report = CheckReport.from_dict(doc)
    assert report.verdict.value == doc["verdict"]
    assert report.to_dict() == doc
