"""JUnit XML of the plan check (rtcheck.report.check_junit) on the shipped fixtures."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from rtcheck.dicom.loader import load
from rtcheck.report.check_junit import junit_name, render_junit
from rtcheck.rules.engine import check_load
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.protocol import load_protocol
from rtcheck.rules.result import CheckReport
from rtcheck.rules.vocabulary import CheckStatus, Tier, Verdict
from tests.conftest import FIXTURES

PLANS = {"spine_sbrt": "spine", "spine_cord_overdose": "spine",
         "spine_ptv_undercoverage": "spine", "spine_consecutive_days": "spine",
         "spine_grid_misses_oar": "spine", "pelvic_node_sbrt": "pelvis"}
CORD_FAILS = {"T9_SBRT/tg101.row4.D0.035cc[Gy]/SpinalCord",
              "T9_SBRT/tg101.row4.D0.35cc[Gy]/SpinalCord",
              "T9_SBRT/tg101.row5.D1.2cc[Gy]/SpinalCord"}


@pytest.fixture(scope="module")
def reports() -> dict[str, CheckReport]:
    """Each fixture plan checked once for the whole module."""
    protocol = load_protocol("medcare")
    return {name: check_load(load([str(FIXTURES / name)]), protocol, CheckOptions(site=site))
            for name, site in PLANS.items()}


def _xml(report: CheckReport) -> ET.Element:
    text = render_junit(report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text)


def _suite(report: CheckReport) -> ET.Element:
    root = _xml(report)
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


def _names(suite: ET.Element, child: str, type_: str | None = None) -> set[str]:
    return {tc.get("name", "") for tc in suite.iter("testcase")
            if (el := tc.find(child)) is not None and (type_ is None or el.get("type") == type_)}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_counts_agree_with_children_and_with_the_checks(reports: dict[str, CheckReport],
                                                        name: str) -> None:
    report = reports[name]
    root = _xml(report)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [c.label for c in report.cases]
    for suite, case in zip(suites, report.cases, strict=True):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases) == len(case.checks)
        assert int(suite.get("failures", "-1")) == sum(tc.find("failure") is not None
                                                       for tc in cases)
        assert int(suite.get("errors", "-1")) == sum(tc.find("error") is not None
                                                     for tc in cases)
        assert int(suite.get("skipped", "-1")) == sum(tc.find("skipped") is not None
                                                      for tc in cases)
        assert suite.get("timestamp") == report.provenance.created_utc
        mandatory = [c for c in case.checks if c.tier is Tier.MANDATORY]
        assert int(suite.get("failures", "-1")) == sum(c.status is CheckStatus.FAIL
                                                       for c in mandatory)
        assert int(suite.get("errors", "-1")) == sum(c.status is CheckStatus.NOT_EVALUATED
                                                     for c in mandatory)
        # CI is green exactly when the verdict is PASS
        red = int(suite.get("failures", "0")) + int(suite.get("errors", "0")) > 0
        assert red is (case.verdict is not Verdict.PASS)
    for attr in ("tests", "failures", "errors", "skipped"):
        assert int(root.get(attr, "-1")) == sum(int(s.get(attr, "0")) for s in suites)


def test_cord_overdose_has_exactly_the_three_cord_failures(
        reports: dict[str, CheckReport]) -> None:
    suite = _suite(reports["spine_cord_overdose"])
    assert suite.get("failures") == "3"
    assert suite.get("errors") == "0"
    assert _names(suite, "failure", "FAIL") == CORD_FAILS
    for tc in suite.iter("testcase"):
        failure = tc.find("failure")
        if failure is None:
            continue
        assert tc.get("classname") == "rtcheck.medcare.T9_SBRT"
        body = failure.text or ""
        assert "value: " in body and "limit: <= " in body and "violates" in body
        assert "<= " in failure.get("message", "") and "Gy" in failure.get("message", "")
    d035 = next(tc for tc in suite.iter("testcase")
                if tc.get("name") == "T9_SBRT/tg101.row4.D0.035cc[Gy]/SpinalCord")
    text = d035.findtext("failure") or ""
    assert "value: 23.61 Gy" in text and "limit: <= 21.9 Gy" in text
    assert "margin: -1.7" in text


def test_grid_misses_oar_errors_for_mandatory_not_evaluated(
        reports: dict[str, CheckReport]) -> None:
    suite = _suite(reports["spine_grid_misses_oar"])
    assert suite.get("failures") == "0"
    errors = _names(suite, "error", "NOT_EVALUATED")
    assert {"T9_SBRT/tg101.row4.D0.035cc[Gy]/SpinalCord",
            "T9_SBRT/tg101.row4.D0.35cc[Gy]/SpinalCord",
            "T9_SBRT/tg101.row5.D1.2cc[Gy]/SpinalCord"} <= errors
    assert errors == {f"T9_SBRT/{c.id}/{c.structure}" for c in reports[
        "spine_grid_misses_oar"].cases[0].checks
        if c.status is CheckStatus.NOT_EVALUATED and c.mandatory}
    assert suite.get("errors") == str(len(errors))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "INCOMPLETE"
    # the esophagus D0.035cc passes on a grid-boundary assumption: passed, note kept
    tc = next(t for t in suite.iter("testcase")
              if t.get("name") == "T9_SBRT/tg101.row9.D0.035cc[Gy]/Esophagus")
    assert tc.find("failure") is None and tc.find("error") is None
    assert "GRID_BOUNDARY_ASSUMED" in (tc.findtext("system-out") or "")


@pytest.mark.parametrize("name", ["spine_sbrt", "pelvic_node_sbrt"])
def test_passing_plans_have_no_failures_or_errors(reports: dict[str, CheckReport],
                                                  name: str) -> None:
    report = reports[name]
    suite = _suite(report)
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    n_na = sum(c.status is CheckStatus.NOT_APPLICABLE for c in report.cases[0].checks)
    assert suite.get("skipped") == str(n_na) and n_na > 0
    for tc in suite.iter("testcase"):
        skipped = tc.find("skipped")
        if skipped is not None:
            assert skipped.get("message", "").startswith("NOT_APPLICABLE: ")


def test_optional_not_evaluated_is_a_pass_marked_optional(
        reports: dict[str, CheckReport]) -> None:
    suite = _suite(reports["spine_sbrt"])
    tc = next(t for t in suite.iter("testcase")
              if t.get("name") == "T9_SBRT/tg101.row6.D10%[Gy]/SpinalCord_Sub")
    assert tc.find("error") is None and tc.find("failure") is None
    assert (tc.findtext("system-out") or "").startswith("OPTIONAL NOT_EVALUATED")


def test_fraction_spacing_failure(reports: dict[str, CheckReport]) -> None:
    suite = _suite(reports["spine_consecutive_days"])
    assert _names(suite, "failure") == {"T9_SBRT/sbrt.fraction_spacing/-"}


def test_ptv_undercoverage_failure(reports: dict[str, CheckReport]) -> None:
    suite = _suite(reports["spine_ptv_undercoverage"])
    assert _names(suite, "failure") == {"T9_SBRT/sbrt.ptv_coverage/PTV"}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_names_unique_stable_and_deterministic(reports: dict[str, CheckReport],
                                               name: str) -> None:
    report = reports[name]
    first = render_junit(report)
    assert render_junit(report) == first
    assert render_junit(CheckReport.from_dict(report.to_dict())) == first
    suite = _suite(report)
    names = [tc.get("name") for tc in suite.iter("testcase")]
    assert len(names) == len(set(names))
    case = report.cases[0]
    assert names == [junit_name(case, c) for c in case.checks]
    assert all(n == f"{case.label}/{c.id}/{c.structure or '-'}"
               for n, c in zip(names, case.checks, strict=True))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["protocol"] == "medcare" and props["verdict"] == case.verdict.value
    assert props["arm"] == case.arm and props["site"] == case.site
    assert props["plan_uid"] == case.plan_uid
    assert props["dvh_geometry"] == "stacked"  # the model the numbers describe (issue #12)


def test_only_timestamp_is_created_utc(reports: dict[str, CheckReport]) -> None:
    report = reports["spine_sbrt"]
    other = replace(report, provenance=replace(report.provenance,
                                               created_utc="2000-01-01T00:00:00Z"))
    a, b = render_junit(report), render_junit(other)
    assert a.replace(report.provenance.created_utc, "2000-01-01T00:00:00Z") == b


def test_pending_minor_and_escaping(reports: dict[str, CheckReport]) -> None:
    report = reports["spine_sbrt"]
    case = report.cases[0]
    checks = list(case.checks)
    spacing = next(i for i, c in enumerate(checks) if c.id == "sbrt.fraction_spacing")
    coverage = next(i for i, c in enumerate(checks) if c.id == "sbrt.ptv_coverage")
    checks[spacing] = replace(checks[spacing], status=CheckStatus.PENDING, value=None,
                              message="fraction 2 not delivered yet <&> \x01")
    checks[coverage] = replace(checks[coverage], status=CheckStatus.MINOR_DEVIATION)
    optional_fail = replace(checks[coverage], id="x.optional", tier=Tier.OPTIONAL,
                            status=CheckStatus.FAIL)
    new = replace(report, cases=(replace(case, checks=(*checks, optional_fail)),))
    suite = _suite(new)
    by_name = {tc.get("name"): tc for tc in suite.iter("testcase")}
    pending = by_name["T9_SBRT/sbrt.fraction_spacing/-"].find("skipped")
    assert pending is not None
    assert pending.get("message", "").startswith("PENDING: fraction 2 not delivered yet <&>")
    minor = by_name["T9_SBRT/sbrt.ptv_coverage/PTV"]
    assert minor.find("failure") is None and minor.find("skipped") is None
    assert (minor.findtext("system-out") or "").startswith("MINOR DEVIATION")
    opt = by_name["T9_SBRT/x.optional/PTV"]
    assert opt.find("failure") is None
    assert (opt.findtext("system-out") or "").startswith("OPTIONAL FAIL")
    assert suite.get("failures") == "0" and suite.get("skipped") == str(
        1 + sum(c.status is CheckStatus.NOT_APPLICABLE for c in checks))


def test_verdict_testcase_when_checks_do_not_explain_it(
        reports: dict[str, CheckReport]) -> None:
    report = reports["spine_sbrt"]
    blocked = replace(report, cases=(replace(report.cases[0], verdict=Verdict.FAIL,
                                             input_blocked=True),))
    suite = _suite(blocked)
    assert _names(suite, "failure") == {"T9_SBRT/verdict/-"}
    assert int(suite.get("tests", "0")) == len(report.cases[0].checks) + 1
    empty = _xml(replace(report, cases=()))
    assert empty.get("errors") == "1" and empty.get("failures") == "0"
    assert [tc.get("name") for tc in empty.iter("testcase")] == ["(no case)/verdict/-"]
