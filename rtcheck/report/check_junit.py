"""Render a :class:`~rtcheck.rules.result.CheckReport` as JUnit XML for CI.

One ``<testsuite>`` per case, one ``<testcase>`` per check, named
``"{case label}/{check id}/{structure or '-'}"`` (stable across runs) with classname
``rtcheck.{protocol id}.{case label}``. Mapping of the check status:

============================  ==========================================================
mandatory ``fail``            ``<failure type="FAIL">`` (value, limit, message)
mandatory ``not_evaluated``   ``<error type="NOT_EVALUATED">``: CI goes red, a check that
                              was not evaluated is never a pass
``pending``                   ``<skipped message="PENDING: ...">``
``not_applicable``            ``<skipped message="NOT_APPLICABLE: ...">``
optional fail/not evaluated   passed, ``<system-out>`` starting with ``OPTIONAL``
minor deviation, info         passed, the text in ``<system-out>``
============================  ==========================================================

When a case verdict is not PASS although no mandatory check failed or was not
evaluated (the input has ERROR findings), or when the report holds no case at all, a
``"{label}/verdict/-"`` testcase carries the verdict, so that CI is green only for PASS.
Deterministic: the only time stamp is ``provenance.created_utc`` (suite ``timestamp``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from rtcheck.rules.result import CaseResult, CheckReport, CheckResult
from rtcheck.rules.vocabulary import CheckStatus, Verdict

__all__ = ["junit_name", "render_junit"]

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: object) -> str:
    """Text safe for XML 1.0 (ElementTree escapes markup but not control characters)."""
    return _INVALID_XML.sub("?", "" if text is None else str(text))


def junit_name(case: CaseResult, check: CheckResult) -> str:
    """The stable testcase name ``"{case label}/{check id}/{structure or '-'}"``."""
    return f"{case.label}/{check.id}/{check.structure or '-'}"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _details(c: CheckResult) -> str:
    """Multi-line description of a check for failure/error/system-out bodies."""
    unit = f" {c.unit}" if c.unit else ""
    if c.value is not None:
        value = f"{_num(c.value)}{unit}"
    elif c.status is CheckStatus.NOT_EVALUATED:
        value = "NOT EVALUATED"
    else:
        value = "-"
    lines = [f"check: {c.id} ({c.title})",
             f"status: {c.status.value} ({c.tier.value}, priority {c.priority})"]
    if c.structure:
        lines.append(f"structure: {c.structure}" + (f" (ROI {c.roi}; {c.match})" if c.roi else
                                                     " (no ROI matched)"))
    if c.metric:
        lines.append(f"metric: {c.metric}")
    lines.append(f"value: {value}")
    if c.lower_bound is not None or c.upper_bound is not None:
        lines.append(f"bounds: {_num(c.lower_bound) or '?'} .. {_num(c.upper_bound) or '?'}"
                     f"{unit}")
    if c.limit_text:
        lines.append(f"limit: {c.limit_text}" + (f" (minor deviation up to "
                                                 f"{_num(c.minor_limit)})"
                                                 if c.minor_limit is not None else ""))
    if c.margin is not None:
        lines.append(f"margin: {c.margin:+.4g}{unit}")
    lines.append(f"message: {c.message}")
    lines += [f"note: {n}" for n in c.notes]
    lines.append(f"source: {c.source}")
    return "\n".join(lines)


def _summary(c: CheckResult) -> str:
    """One line for a ``message`` attribute."""
    head = f"{c.metric} " if c.metric else ""
    if c.value is not None:
        head += f"= {_num(c.value)}{' ' + c.unit if c.unit else ''} "
    if c.limit_text:
        head += f"(limit {c.limit_text}) "
    return f"{head}{c.message}".strip()


def _testcase(suite: ET.Element, case: CaseResult, c: CheckResult, name: str,
              classname: str) -> tuple[int, int, int]:
    """Append one testcase; return its (failures, errors, skipped) contribution."""
    tc = ET.SubElement(suite, "testcase", {"name": _x(name), "classname": _x(classname)})
    status, mandatory = c.status, c.mandatory
    if status is CheckStatus.FAIL and mandatory:
        el = ET.SubElement(tc, "failure", {"message": _x(_summary(c)), "type": "FAIL"})
        el.text = _x(_details(c))
        return 1, 0, 0
    if status is CheckStatus.NOT_EVALUATED and mandatory:
        el = ET.SubElement(tc, "error", {"message": _x(f"NOT EVALUATED: {c.message}"),
                                         "type": "NOT_EVALUATED"})
        el.text = _x(_details(c))
        return 0, 1, 0
    if status is CheckStatus.PENDING:
        ET.SubElement(tc, "skipped", {"message": _x(f"PENDING: {c.message}")})
        ET.SubElement(tc, "system-out").text = _x(_details(c))
        return 0, 0, 1
    if status is CheckStatus.NOT_APPLICABLE:
        ET.SubElement(tc, "skipped", {"message": _x(f"NOT_APPLICABLE: {c.message}")})
        return 0, 0, 1
    out = _details(c)
    if status in (CheckStatus.FAIL, CheckStatus.NOT_EVALUATED):
        out = f"OPTIONAL {status.value.upper()} (does not decide the verdict)\n{out}"
    elif status is CheckStatus.MINOR_DEVIATION:
        out = f"MINOR DEVIATION (acceptable per protocol)\n{out}"
    ET.SubElement(tc, "system-out").text = _x(out)
    return 0, 0, 0


def _verdict_testcase(suite: ET.Element, label: str, classname: str, verdict: Verdict,
                      why: str) -> tuple[int, int, int]:
    tc = ET.SubElement(suite, "testcase", {"name": _x(f"{label}/verdict/-"),
                                           "classname": _x(classname)})
    if verdict is Verdict.FAIL:
        ET.SubElement(tc, "failure", {"message": _x(f"verdict FAIL: {why}"),
                                      "type": "FAIL"}).text = _x(why)
        return 1, 0, 0
    ET.SubElement(tc, "error", {"message": _x(f"verdict INCOMPLETE: {why}"),
                                "type": "NOT_EVALUATED"}).text = _x(why)
    return 0, 1, 0


def _unique(name: str, seen: dict[str, int]) -> str:
    n = seen.get(name, 0) + 1
    seen[name] = n
    return name if n == 1 else f"{name}#{n}"


def _properties(suite: ET.Element, pairs: list[tuple[str, object]]) -> None:
    props = ET.SubElement(suite, "properties")
    for key, value in pairs:
        ET.SubElement(props, "property", {"name": key, "value": _x(value)})


def _case_suite(root: ET.Element, report: CheckReport, case: CaseResult,
                seen: dict[str, int]) -> tuple[int, int, int, int]:
    suite = ET.SubElement(root, "testsuite", {"name": _x(case.label)})
    _properties(suite, [
        ("verdict", case.verdict.value), ("protocol", report.protocol_id),
        ("protocol_version", report.protocol_version), ("arm", case.arm or ""),
        ("site", case.site or ""), ("plan_uid", case.plan_uid or ""),
        ("plan_label", case.plan_label or ""), ("folder", case.folder),
        ("dvh_geometry", report.provenance.dvh_settings.get("geometry", "")),
        ("dvh_geometry_source", report.provenance.options.get("geometry_source", "")),
        ("rtcheck_version", report.provenance.rtcheck_version)])
    classname = f"rtcheck.{report.protocol_id}.{case.label}"
    failures = errors = skipped = 0
    for c in case.checks:
        f, e, s = _testcase(suite, case, c, _unique(junit_name(case, c), seen), classname)
        failures, errors, skipped = failures + f, errors + e, skipped + s
    tests = len(case.checks)
    explained = (case.verdict is Verdict.FAIL and failures) or (
        case.verdict is Verdict.INCOMPLETE and (errors or failures))
    if case.verdict is not Verdict.PASS and not explained:
        why = ("the input has ERROR findings" if case.input_blocked else
               "the case verdict is not PASS although no mandatory check says why")
        f, e, s = _verdict_testcase(suite, case.label, classname, case.verdict, why)
        failures, errors, skipped, tests = failures + f, errors + e, skipped + s, tests + 1
    findings = [str(f) for f in (*case.findings, *report.findings)]
    if findings:
        ET.SubElement(suite, "system-out").text = _x("\n".join(findings))
    suite.attrib.update({"tests": str(tests), "failures": str(failures),
                         "errors": str(errors), "skipped": str(skipped),
                         "timestamp": _x(report.provenance.created_utc)})
    return tests, failures, errors, skipped


def render_junit(report: CheckReport) -> str:
    """The report as JUnit XML (pretty-printed, with an XML declaration).

    Parameters
    ----------
    report
        The plan check result.

    Returns
    -------
    str
        ``<testsuites>`` with one ``<testsuite>`` per case; counts on every suite and on
        the root agree with the testcases. The same report always gives the same text.
    """
    root = ET.Element("testsuites", {"name": _x(f"rtcheck {report.protocol_id}")})
    totals = [0, 0, 0, 0]
    seen: dict[str, int] = {}
    for case in report.cases:
        for i, n in enumerate(_case_suite(root, report, case, seen)):
            totals[i] += n
    if not report.cases:
        suite = ET.SubElement(root, "testsuite", {"name": "(no case)"})
        _properties(suite, [("verdict", report.verdict.value),
                            ("protocol", report.protocol_id)])
        _verdict_testcase(suite, "(no case)", f"rtcheck.{report.protocol_id}",
                          report.verdict, "no case with a plan, dose or structure set was found")
        suite.attrib.update({"tests": "1", "failures": "0", "errors": "1", "skipped": "0",
                             "timestamp": _x(report.provenance.created_utc)})
        totals = [1, 0, 1, 0]
        if report.findings:
            ET.SubElement(suite, "system-out").text = _x("\n".join(str(f)
                                                                   for f in report.findings))
    root.attrib.update({"tests": str(totals[0]), "failures": str(totals[1]),
                        "errors": str(totals[2]), "skipped": str(totals[3])})
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
