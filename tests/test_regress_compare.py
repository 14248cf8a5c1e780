"""Baseline comparison of plan-check results, on the golden reports (tests/golden/check/).

Each test perturbs a copy of a golden report the way a changed rtcheck, protocol or plan
would, and asserts exactly which differences are found, with their values, and whether
they drift.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from rtcheck.errors import InputError
from rtcheck.regress.baseline import compare_with_baseline, load_baseline, pairs_for_check
from rtcheck.regress.compare import Side, compare_reports, compare_sides, pair_cases
from rtcheck.regress.model import Difference
from rtcheck.regress.render_junit import render_junit
from rtcheck.regress.render_text import render, render_json, render_text
from rtcheck.regress.tolerances import Tolerances, resolve_tolerances
from rtcheck.rules.result import CheckReport
from tests.golden.regenerate import golden_path

CORD = "tg101.row4.D0.035cc[Gy]"  # spine_sbrt: 15.4916 Gy <= 21.9 Gy, pass


def golden(case: str = "spine_sbrt") -> dict[str, Any]:
    return json.loads(golden_path(case).read_text(encoding="utf-8"))


def check_of(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in report["cases"][0]["checks"] if c["id"] == check_id)


def diffs_of(comparison: Any, check_id: str) -> tuple[Difference, ...]:
    (case,) = comparison.reports[0].cases
    return next(c.differences for c in case.checks if c.check_id == check_id)


def all_diffs(comparison: Any) -> list[tuple[str, Difference]]:
    return [(c.check_id, d) for r in comparison.reports for case in r.cases
            for c in (*case.checks, *case.structures) for d in c.differences] + [
            ("-", d) for r in comparison.reports for case in r.cases for d in case.differences]


@pytest.mark.parametrize("case", ["spine_sbrt", "spine_cord_overdose", "pelvic_node_sbrt",
                                  "spine_grid_misses_oar"])
def test_identical_results_do_not_drift(case: str) -> None:
    g = golden(case)
    comparison = compare_reports(g, copy.deepcopy(g))
    assert not comparison.drift and comparison.exit_code == 0
    assert all_diffs(comparison) == [] and comparison.reports[0].provenance == ()
    counts = comparison.counts()
    assert counts["plans"] == 1 and counts["checks"] == len(g["cases"][0]["checks"])
    assert counts["checks_drifted"] == counts["within_tolerance"] == 0
    # a FAIL identical to its baseline is no drift
    assert comparison.reports[0].cases[0].current_verdict == g["verdict"]


def test_value_within_tolerance_is_listed_not_drift() -> None:
    base, cur = golden(), golden()
    check_of(cur, CORD)["value"] = 15.4916 + 0.009
    comparison = compare_reports(cur, base)
    assert not comparison.drift
    (d,) = diffs_of(comparison, CORD)
    assert (d.what, d.baseline, d.current, d.kind, d.allowed, d.drift) == (
        "value", 15.4916, 15.5006, "Gy", 0.01, False)
    assert d.delta == pytest.approx(0.009)
    assert comparison.counts()["within_tolerance"] == 1
    assert "NO DRIFT" in render_text(comparison).splitlines()[0]


def test_value_beyond_tolerance_drifts() -> None:
    base, cur = golden(), golden()
    check_of(cur, CORD)["value"] = 15.4916 + 0.011
    comparison = compare_reports(cur, base)
    assert comparison.drift and comparison.exit_code == 1
    (d,) = diffs_of(comparison, CORD)
    assert d.drift and d.delta == pytest.approx(0.011)
    assert comparison.counts()["checks_drifted"] == 1
    text = render_text(comparison)
    assert text.startswith("DRIFT: 1 plan(s), 63 check(s) compared; 1 plan(s) drifted: "
                           "1 check(s), 0 verdict change(s)")
    assert ("DRIFT   tg101.row4.D0.035cc[Gy]  SpinalCord  value  15.4916 Gy  15.5026 Gy  "
            "+0.011  > 0.01 (Gy)") in text


def test_command_line_tolerance_widens_the_band() -> None:
    base, cur = golden(), golden()
    check_of(cur, CORD)["value"] = 15.4916 + 0.04
    assert compare_reports(cur, base).drift
    assert not compare_reports(cur, base, resolve_tolerances((), ["Gy=0.05"])).drift


def test_status_and_verdict_change_drift() -> None:
    base, cur = golden(), golden()
    cord = check_of(cur, CORD)
    cord.update(status="fail", value=22.5, margin=-0.6)
    cur["cases"][0]["verdict"] = cur["verdict"] = "FAIL"
    comparison = compare_reports(cur, base)
    (case,) = comparison.reports[0].cases
    assert [(d.what, d.baseline, d.current) for d in case.differences] == [
        ("verdict", "PASS", "FAIL")]
    assert [(d.what, d.baseline, d.current, d.drift) for d in diffs_of(comparison, CORD)] == [
        ("status", "pass", "fail", True), ("value", 15.4916, 22.5, True)]
    assert comparison.counts()["verdict_changes"] == 1


def test_changed_limit_drifts_even_with_the_same_value_and_status() -> None:
    base, cur = golden(), golden()
    check_of(cur, CORD)["limit"] = 20.0
    comparison = compare_reports(cur, base)
    (d,) = diffs_of(comparison, CORD)
    assert (d.what, d.baseline, d.current, d.drift) == ("limit", 21.9, 20.0, True)
    assert d.delta == pytest.approx(-1.9)


@pytest.mark.parametrize(("field", "value"), [("tier", "optional"), ("comparison", "<"),
                                              ("unit", "cGy"), ("roi", "Cord_old"),
                                              ("priority", 3), ("minor_limit", 23.0)])
def test_never_toleranced_fields(field: str, value: Any) -> None:
    base, cur = golden(), golden()
    check_of(cur, CORD)[field] = value
    diffs = diffs_of(compare_reports(cur, base), CORD)
    assert [(d.what, d.current, d.drift) for d in diffs] == [(field, value, True)]


def test_ignored_fields_do_not_drift() -> None:
    base, cur = golden(), golden()
    c = check_of(cur, CORD)
    c.update(message="reworded", notes=["a new note"], source="TG-101 (2010)", margin=6.5,
             match="SpinalCord ← 'SpinalCord' (alias)", title="new title")
    assert all_diffs(compare_reports(cur, base)) == []


def test_check_added_and_removed() -> None:
    base, cur = golden(), golden()
    checks = cur["cases"][0]["checks"]
    removed = checks.pop(next(i for i, c in enumerate(checks) if c["id"] == CORD))
    checks.append({**removed, "id": "tg101.row4.D0.03cc[Gy]"})
    comparison = compare_reports(cur, base)
    got = [(cid, d.what, d.baseline, d.current, d.note) for cid, d in all_diffs(comparison)]
    assert got == [("tg101.row4.D0.03cc[Gy]", "check", None, "pass", "not in the baseline"),
                   (CORD, "check", "pass", None, "no longer in the result")]
    assert comparison.counts()["checks_drifted"] == 2


def test_unit_change_makes_the_value_change_drift() -> None:
    base, cur = golden(), golden()
    check_of(cur, CORD).update(unit="cGy", value=1549.16)
    diffs = diffs_of(compare_reports(cur, base), CORD)
    assert [(d.what, d.drift) for d in diffs] == [("value", True), ("unit", True)]


def test_cases_pair_by_plan_uid_then_label() -> None:
    a = {"label": "A", "plan_uid": "1.2.3"}
    b = {"label": "B", "plan_uid": "1.2.4"}
    renamed = {"label": "A_renamed", "plan_uid": "1.2.3"}
    new_uid = {"label": "B", "plan_uid": "9.9"}
    extra = {"label": "C", "plan_uid": None}
    pairs = pair_cases([a, b], [new_uid, renamed, extra])
    assert pairs == [(a, renamed), (b, new_uid), (None, extra)]
    assert pair_cases([a, b], [a]) == [(a, a), (b, None)]


def test_plan_missing_on_either_side_drifts() -> None:
    base, cur = golden(), golden()
    cur["cases"] = []
    comparison = compare_reports(cur, base)
    (case,) = comparison.reports[0].cases
    assert comparison.drift and case.current_verdict is None
    assert [(d.what, d.baseline, d.current, d.note) for d in case.differences] == [
        ("case", "PASS", None, "no longer in the result")]
    comparison = compare_reports(base, cur)
    (case,) = comparison.reports[0].cases
    assert case.differences[0].note == "not in the baseline" and comparison.drift


def test_provenance_differences_are_information_only() -> None:
    base, cur = golden(), golden()
    prov = cur["provenance"]
    prov["rtcheck_version"] = "9.9.9"
    prov["protocol"]["sha256"] = "0" * 64
    prov["inputs"][0]["sha256"] = "1" * 64
    prov["inputs"][0]["path"] = "/elsewhere/spine_sbrt/RD.dcm"  # compared by file name
    prov["inputs"][1]["path"] = "/elsewhere/spine_sbrt/RP.dcm"
    prov["dvh_settings"]["end_cap"] = "NONE"
    prov["options"]["site"] = "thorax"
    comparison = compare_reports(cur, base)
    assert not comparison.drift
    got = {d.what: (d.baseline, d.current) for d in comparison.reports[0].provenance}
    assert got == {
        "provenance.rtcheck_version": ("<rtcheck_version>", "9.9.9"),
        "provenance.protocol.sha256": (base["provenance"]["protocol"]["sha256"], "0" * 64),
        "provenance.inputs.RD.dcm": (base["provenance"]["inputs"][0]["sha256"], "1" * 64),
        "provenance.dvh_settings.end_cap": ("HALF_SLICE", "NONE"),
        "provenance.options.site": ("spine", "thorax"),
    }
    assert all(not d.drift for d in comparison.reports[0].provenance)
    assert "provenance.dvh_settings.end_cap: HALF_SLICE → NONE" in render_text(comparison)


def test_a_result_without_geometry_was_computed_with_the_staircase() -> None:
    """A schema-1.0 result (before issue #12) has no ``dvh_settings.geometry``: it was
    computed with the stacked model, so only another model is listed."""
    old, cur = golden(), golden()
    del old["provenance"]["dvh_settings"]["geometry"]
    old["schema_version"] = "1.0"
    assert cur["provenance"]["dvh_settings"]["geometry"] == "stacked"
    comparison = compare_reports(cur, old)
    assert not comparison.drift and comparison.reports[0].provenance == ()
    cur["provenance"]["dvh_settings"]["geometry"] = "smooth"
    comparison = compare_reports(cur, old)
    assert not comparison.drift
    got = {d.what: (d.baseline, d.current) for d in comparison.reports[0].provenance}
    assert got == {"provenance.dvh_settings.geometry": ("stacked", "smooth")}
    assert "provenance.dvh_settings.geometry: stacked → smooth" in render_text(comparison)
    back = compare_reports(old, cur)  # either side may be the old one
    assert {d.what: (d.baseline, d.current) for d in back.reports[0].provenance} == {
        "provenance.dvh_settings.geometry": ("smooth", "stacked")}


GEOMETRY_NOTE = ("the DVH geometry model changed (baseline stacked, now smooth): DVH numbers "
                 "differ by the model, not only by the plan; rerun with --geometry stacked to "
                 "compare like with like, or record a new baseline with --geometry smooth")


def test_another_geometry_model_is_noted_before_the_plans() -> None:
    """Issue #12: a changed model stays information (``drift=False``) but says what it
    means and what to do, in the JSON and in a NOTE line before the per-plan details."""
    base, cur = golden(), golden()
    cur["provenance"]["dvh_settings"]["geometry"] = "smooth"
    check_of(cur, CORD)["value"] += 0.02  # a DVH value the model moved beyond 0.01 Gy
    comparison = compare_reports(cur, base)
    assert comparison.drift  # by the check, not by the provenance
    (geometry,) = comparison.reports[0].provenance
    assert (geometry.what, geometry.baseline, geometry.current, geometry.drift,
            geometry.note) == ("provenance.dvh_settings.geometry", "stacked", "smooth",
                               False, GEOMETRY_NOTE)
    doc = json.loads(render_json(comparison))
    assert doc["reports"][0]["provenance"][0]["note"] == GEOMETRY_NOTE
    lines = render_text(comparison).splitlines()
    assert lines[0].startswith("DRIFT: ")
    assert lines[1:4] == ["", f"NOTE: {GEOMETRY_NOTE}", ""]  # before the plans
    assert lines[4].startswith("DRIFT  plan T9_SBRT")
    assert ("  provenance.dvh_settings.geometry: stacked → smooth (see the NOTE above)"
            in lines)
    assert GEOMETRY_NOTE in render_junit(comparison)  # with the provenance differences


def test_another_end_cap_gets_no_geometry_note() -> None:
    base, cur = golden(), golden()
    cur["provenance"]["dvh_settings"]["end_cap"] = "NONE"
    comparison = compare_reports(cur, base)
    assert [d.note for d in comparison.reports[0].provenance] == [""]
    assert "NOTE" not in render_text(comparison)


def test_geometry_source_is_compared_only_when_both_record_it() -> None:
    base, cur = golden(), golden()
    assert base["provenance"]["options"]["geometry_source"] == "default"
    cur["provenance"]["options"]["geometry_source"] = "option"  # --geometry stacked
    got = {d.what: (d.baseline, d.current, d.drift)
           for d in compare_reports(cur, base).reports[0].provenance}
    assert got == {"provenance.options.geometry_source": ("default", "option", False)}
    del base["provenance"]["options"]["geometry_source"]  # a result written before it
    assert compare_reports(cur, base).reports[0].provenance == ()
    assert compare_reports(base, cur).reports[0].provenance == ()


def test_structure_summaries_only_when_asked() -> None:
    base, cur = golden(), golden()
    cur["cases"][0]["structures"][0]["volume_cc"] = 19.6759 * 1.004  # PTV, within 0.5 %
    cur["cases"][0]["structures"][1]["mean_gy"] = 8.4369 + 0.02  # SpinalCord, beyond 0.01 Gy
    assert not compare_reports(cur, base).drift
    comparison = compare_reports(cur, base, structures=True)
    (case,) = comparison.reports[0].cases
    got = {(s.structure, d.what): (d.kind, d.drift) for s in case.structures
           for d in s.differences}
    assert got == {("PTV", "volume_cc"): ("cc", False), ("SpinalCord", "mean_gy"): ("Gy", True)}
    assert 'name="T9_SBRT/structures/SpinalCord"' in render_junit(comparison)


def test_other_major_schema_is_refused_with_a_clear_message(tmp_path: Any) -> None:
    base, cur = golden(), golden()
    base["schema_version"] = "2.0"
    with pytest.raises(InputError, match=r"schema_version '2.0' cannot be compared by this "
                                         r"rtcheck \(reads 1.1\)"):
        compare_reports(cur, base)
    base["schema_version"] = "1.7"  # a newer minor version is readable
    assert not compare_reports(cur, base).drift
    path = tmp_path / "old.json"
    path.write_text(json.dumps({**base, "schema_version": "0.9"}), encoding="utf-8")
    with pytest.raises(InputError, match=r"old\.json: baseline: result schema_version '0\.9'"):
        load_baseline(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the baseline"):
        load_baseline(path)
    with pytest.raises(InputError, match="no such baseline"):
        load_baseline(tmp_path / "missing.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no baseline result \(\*.json\)"):
        load_baseline(tmp_path / "empty")


def test_error_results_drift_only_against_a_checked_baseline() -> None:
    tol = Tolerances()
    same = compare_sides("a/b", Side(None, "RD.dcm: truncated"), Side(None, "RD.dcm: truncated"),
                         tol)
    assert not same.drift and same.differences[0].note == "could not be checked, as in the " \
                                                          "baseline"
    reworded = compare_sides("a/b", Side(None, "/old/RD.dcm: truncated"),
                             Side(None, "/new/RD.dcm: file is truncated"), tol)
    assert not reworded.drift  # could not be checked on both sides: the wording may differ
    broke = compare_sides("a/b", Side(golden()), Side(None, "RD.dcm: truncated"), tol)
    assert broke.drift and (broke.differences[0].baseline, broke.differences[0].current) == (
        "checked", "RD.dcm: truncated")
    missing = compare_sides("a/b", None, Side(golden()), tol, prefix="a/b")
    assert missing.drift and missing.cases[0].name == "a/b"
    assert missing.differences[0].note == "not in the baseline"


def test_a_baseline_folder_pairs_each_plan_with_the_result_holding_it(tmp_path: Any) -> None:
    for case in ("spine_sbrt", "spine_cord_overdose"):
        (tmp_path / f"{case}.json").write_text(json.dumps(golden(case)), encoding="utf-8")
    baseline = load_baseline(tmp_path)
    assert len(baseline.entries) == 2
    current = golden("spine_cord_overdose")
    pairs = pairs_for_check(current, baseline)
    assert [key for key, _, _ in pairs] == [str(tmp_path / "spine_cord_overdose.json")]
    comparison = compare_with_baseline(current, baseline, Tolerances())
    assert not comparison.drift and comparison.counts()["plans"] == 1
    stranger = golden("pelvic_node_sbrt")
    comparison = compare_with_baseline(stranger, baseline, Tolerances())
    assert comparison.drift
    assert comparison.reports[0].key == "(not in the baseline)"


def test_renderings() -> None:
    base, cur = golden(), golden()
    check_of(cur, CORD)["value"] = 15.5116  # +0.02: drift
    check_of(cur, "tg101.row9.D5cc[Gy]")["value"] = 8.5861  # +0.004: within tolerance
    comparison = compare_reports(cur, base, baseline_source="base.json")
    doc = json.loads(render_json(comparison))
    assert doc["regress_schema_version"] == "1.0" and doc["drift"] is True
    assert doc["counts"] == {"results": 1, "results_drifted": 1,
                             "results_missing_or_unchecked": 0, "plans": 1, "plans_drifted": 1,
                             "checks": 63, "checks_drifted": 1, "verdict_changes": 0,
                             "within_tolerance": 1}
    (case,) = doc["reports"][0]["cases"]
    assert [c["id"] for c in case["checks"]] == [CORD, "tg101.row9.D5cc[Gy]"]
    assert case["checks"][0]["differences"][0] == {
        "what": "value", "baseline": 15.4916, "current": 15.5116, "drift": True, "kind": "Gy",
        "delta": 0.02, "allowed": 0.01, "note": ""}
    assert doc["tolerances"]["Gy"]["text"] == "0.01"
    root = ET.fromstring(render(comparison, "junit"))
    assert (root.get("tests"), root.get("failures")) == ("64", "1")
    (failure,) = root.iter("failure")
    failing = [tc.get("name") for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert failing == [f"T9_SBRT/{CORD}/SpinalCord"]
    assert failure.get("type") == "DRIFT"
    assert failure.get("message") == "DRIFT: value: 15.4916 Gy → 15.5116 Gy (Δ +0.02 > 0.01 (Gy))"
    names = [tc.get("name") for tc in root.iter("testcase")]
    assert names[0] == "T9_SBRT/verdict/-" and len(names) == len(set(names)) == 64
    assert render(comparison, "text") == render_text(comparison)


def test_a_check_report_roundtrip_is_a_valid_baseline() -> None:
    g = golden()
    again = CheckReport.from_dict(g).to_dict()
    assert not compare_reports(again, g).drift
