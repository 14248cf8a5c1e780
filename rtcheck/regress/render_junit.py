"""A baseline comparison as JUnit XML, so that a folder of sample plans is a CI job.

One ``<testsuite>`` per plan, with a ``"{case}/verdict/-"`` test case (the verdict and the
plan's presence on both sides) and one test case per check, named
``"{case}/{check id}/{structure or '-'}"`` as in the plan check's own JUnit report
(:mod:`rtcheck.report.check_junit`, whose XML helpers are reused); with
``--compare-structures`` also ``"{case}/structures/{name}"``. A drift is a
``<failure type="DRIFT">`` listing every difference with baseline → current values;
changes within tolerance go to ``<system-out>``. A result that is missing on one side
or could not be checked gets a ``"{key}/result/-"`` test case. Provenance differences
are in each suite's ``<system-out>`` (information, never a failure).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rtcheck.regress.model import (
    CaseComparison,
    CheckComparison,
    Comparison,
    Difference,
    ReportComparison,
)
from rtcheck.regress.render_text import difference_text
from rtcheck.report.check_junit import _properties, _unique, _x

__all__ = ["render_junit"]

_CLASS = "rtcheck.regress"


def _unit(check: CheckComparison, d: Difference) -> str | None:
    if check.check_id == "structures":
        return {"cc": "cc", "Gy": "Gy"}.get(d.kind or "")
    return check.unit if d.what in ("value", "lower_bound", "upper_bound", "limit",
                                    "minor_limit") else None


def _testcase(suite: ET.Element, name: str, classname: str,
              lines: list[tuple[Difference, str]]) -> int:
    """A test case failing on any drifting difference; returns 1 for a failure."""
    tc = ET.SubElement(suite, "testcase", {"name": _x(name), "classname": _x(classname)})
    drift = [text for d, text in lines if d.drift]
    within = [text for d, text in lines if not d.drift]
    if drift:
        el = ET.SubElement(tc, "failure", {"message": _x(f"DRIFT: {'; '.join(drift)}"),
                                           "type": "DRIFT"})
        el.text = _x("\n".join(f"DRIFT {t}" for t in drift)
                     + "".join(f"\nwithin tolerance: {t}" for t in within))
        return 1
    if within:
        ET.SubElement(tc, "system-out").text = _x("\n".join(f"within tolerance: {t}"
                                                            for t in within))
    return 0


def _suite(root: ET.Element, name: str, props: list[tuple[str, object]]) -> ET.Element:
    suite = ET.SubElement(root, "testsuite", {"name": _x(name)})
    _properties(suite, props)
    return suite


def _close(suite: ET.Element, tests: int, failures: int,
           provenance: tuple[Difference, ...]) -> None:
    if provenance:
        ET.SubElement(suite, "system-out").text = _x(
            "provenance differences (information, not drift):\n"
            + "\n".join(difference_text(d) for d in provenance))
    suite.attrib.update({"tests": str(tests), "failures": str(failures), "errors": "0",
                         "skipped": "0"})


def _case_suite(root: ET.Element, report: ReportComparison, case: CaseComparison,
                seen: dict[str, int]) -> tuple[int, int]:
    suite = _suite(root, case.name, [
        ("baseline_verdict", case.baseline_verdict or ""),
        ("current_verdict", case.current_verdict or ""), ("plan_uid", case.plan_uid or ""),
        ("folder", case.folder), ("baseline", report.baseline_source),
        ("drift", "yes" if case.drift else "no")])
    classname = f"{_CLASS}.{case.name}"
    head = [(d, difference_text(d)) for d in case.differences]
    failures = _testcase(suite, _unique(f"{case.name}/verdict/-", seen), classname, head)
    for check in (*case.checks, *case.structures):
        lines = [(d, difference_text(d, _unit(check, d))) for d in check.differences]
        name = f"{case.name}/{check.check_id}/{check.structure or '-'}"
        failures += _testcase(suite, _unique(name, seen), classname, lines)
    tests = 1 + len(case.checks) + len(case.structures)
    _close(suite, tests, failures, report.provenance)
    return tests, failures


def _report_suite(root: ET.Element, report: ReportComparison,
                  seen: dict[str, int]) -> tuple[int, int]:
    """The result-level test case (missing on one side, or not checked)."""
    suite = _suite(root, report.key, [("baseline", report.baseline_source),
                                      ("drift", "yes" if report.drift else "no")])
    lines = [(d, difference_text(d)) for d in report.differences]
    failures = _testcase(suite, _unique(f"{report.key}/result/-", seen),
                         f"{_CLASS}.{report.key}", lines)
    _close(suite, 1, failures, ())
    return 1, failures


def render_junit(comparison: Comparison) -> str:
    """The comparison as JUnit XML (pretty-printed, deterministic)."""
    root = ET.Element("testsuites", {"name": "rtcheck regress"})
    tests = failures = 0
    seen: dict[str, int] = {}
    for report in comparison.reports:
        parts = [_case_suite(root, report, case, seen) for case in report.cases]
        if report.differences or not report.cases:
            parts.append(_report_suite(root, report, seen))
        for t, f in parts:
            tests, failures = tests + t, failures + f
    root.attrib.update({"tests": str(tests), "failures": str(failures), "errors": "0",
                        "skipped": "0"})
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root,
                                                                    encoding="unicode") + "\n"
