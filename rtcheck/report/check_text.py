"""Render a :class:`~rtcheck.rules.result.CheckReport` as text, JSON or CSV.

Pure functions of the report. A value that was not evaluated reads ``NOT EVALUATED``
(text), ``null`` (JSON) or an empty cell (CSV) — never 0. Colour (ANSI) only when
asked for (the CLI asks on a terminal); the status is always written as a word too.
"""

from __future__ import annotations

import csv
import io
import json

from rtcheck.report.geometry_notes import notes_text
from rtcheck.report.geometry_text import geometry_line
from rtcheck.rules.result import CaseResult, CheckReport, CheckResult
from rtcheck.rules.vocabulary import CheckStatus, Verdict

ORDER = [CheckStatus.FAIL, CheckStatus.NOT_EVALUATED, CheckStatus.MINOR_DEVIATION,
         CheckStatus.PENDING, CheckStatus.PASS, CheckStatus.INFO, CheckStatus.NOT_APPLICABLE]
_LABEL = {CheckStatus.FAIL: "FAIL", CheckStatus.NOT_EVALUATED: "NOT EVALUATED",
          CheckStatus.MINOR_DEVIATION: "MINOR DEV", CheckStatus.PENDING: "PENDING",
          CheckStatus.PASS: "pass", CheckStatus.INFO: "info",
          CheckStatus.NOT_APPLICABLE: "n/a"}
_ANSI = {CheckStatus.FAIL: "31;1", CheckStatus.NOT_EVALUATED: "33;1",
         CheckStatus.MINOR_DEVIATION: "33", CheckStatus.PENDING: "36", CheckStatus.PASS: "32",
         Verdict.PASS: "42;30;1", Verdict.FAIL: "41;37;1", Verdict.INCOMPLETE: "43;30;1"}


def render_json(report: CheckReport) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f}" if abs(value) >= 1000 else f"{value:.4g}"


def value_text(c: CheckResult) -> str:
    """The value column: the number, a bound, or NOT EVALUATED."""
    if c.value is not None:
        return f"{_num(c.value)} {c.unit or ''}".rstrip()
    if c.status in (CheckStatus.PASS, CheckStatus.MINOR_DEVIATION) and c.upper_bound is not None:
        return f"<= {_num(c.upper_bound)} {c.unit or ''}".rstrip()
    if c.status is CheckStatus.FAIL and c.lower_bound is not None:
        return f">= {_num(c.lower_bound)} {c.unit or ''}".rstrip()
    if c.status is CheckStatus.NOT_EVALUATED:
        return "NOT EVALUATED"
    return "-"


def _paint(text: str, key: object, color: bool) -> str:
    code = _ANSI.get(key)  # type: ignore[call-overload]
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def verdict_summary(case: CaseResult) -> str:
    """Why the verdict is what it is, in one line (the text and HTML reports share it)."""
    mandatory = [c for c in case.checks if c.mandatory]
    optional = [c for c in case.checks if not c.mandatory]

    def count(checks: list[CheckResult], status: CheckStatus) -> list[CheckResult]:
        return [c for c in checks if c.status is status]

    fails, ne = count(mandatory, CheckStatus.FAIL), count(mandatory, CheckStatus.NOT_EVALUATED)
    minor, pending = count(mandatory, CheckStatus.MINOR_DEVIATION), count(mandatory,
                                                                          CheckStatus.PENDING)
    parts = []
    if not fails and not ne and not case.input_blocked:
        passed = len(count(mandatory, CheckStatus.PASS))
        na = len(count(list(case.checks), CheckStatus.NOT_APPLICABLE))
        parts.append(f"all {passed} mandatory checks that apply pass"
                     + (f" ({na} library limits not applicable)" if na else ""))
    if fails:
        parts.append(f"{len(fails)} mandatory check(s) fail")
    if ne:
        parts.append(f"{len(ne)} mandatory check(s) NOT EVALUATED")
    if minor:
        parts.append(f"{len(minor)} minor deviation(s)")
    if pending:
        parts.append(", ".join(c.id for c in pending) + " PENDING: re-check once every "
                     "fraction is delivered")
    if case.input_blocked:
        parts.append("the input has ERROR findings")
    opt_fail = count(optional, CheckStatus.FAIL)
    if opt_fail:
        parts.append(f"{len(opt_fail)} optional check(s) fail (reported, not deciding)")
    rx = case.prescription
    if rx.get("source") == "command line" and rx.get("plan_total_gy") is not None and (
            rx.get("plan_total_gy") != rx.get("total_gy")
            or rx.get("plan_fractions") != rx.get("fractions")):
        parts.append(f"PRESCRIPTION FROM --rx {rx['total_gy']:g} Gy/{rx['fractions']} fx "
                     f"REPLACES THE PLAN'S {rx['plan_total_gy']:g} Gy/{rx['plan_fractions']} fx")
    return "; ".join(parts)


def _verdict_line(case: CaseResult) -> str:
    return f"VERDICT: {case.verdict.value} — {verdict_summary(case)}"


def _rows(checks: list[CheckResult]) -> list[list[str]]:
    return [[_LABEL[c.status], c.id, c.structure + (f" ({c.roi})" if c.roi and c.roi !=
                                                     c.structure else "")
             if c.structure else "-", c.metric or "-", value_text(c), c.limit_text or "-",
             _num(c.margin) or "-", "M" if c.mandatory else "opt", str(c.priority)]
            for c in checks]


def render_case(case: CaseResult, color: bool = False) -> list[str]:
    rx = case.prescription
    rx_text = (f"{rx['total_gy']:g} Gy / {rx['fractions']} fx ({rx['source']})"
               if rx.get("total_gy") is not None else "no prescription")
    dose = case.dose
    dose_text = (f"dose {dose['summation_type']} ({dose['basis'].lower()}), grid "
                 + " x ".join(f"{v:g}" for v in dose["grid_spacing_mm"])
                 + f" mm, Dmax {dose['max_gy']:.4g} Gy" if dose else "no dose")
    out = [f"Case {case.label}  [{case.folder}]  plan {case.plan_label or '-'}",
           f"  arm {case.arm}, site {case.site or '(none given)'}"
           + (f" (requires {', '.join(case.prescription.get('site_requires') or ()) or 'no organ'})"
              if case.site else "") + f"; Rx {rx_text}; {dose_text}",
           "", _paint(_verdict_line(case), case.verdict, color), ""]
    shown = sorted((c for c in case.checks if c.status is not CheckStatus.NOT_APPLICABLE),
                   key=lambda c: (not c.mandatory, ORDER.index(c.status), c.priority))
    rows = _rows(shown)
    table = _table(rows, ["Status", "Check", "Structure (ROI)", "Metric", "Value", "Limit",
                          "Margin", "Tier", "Prio"])
    for i, line in enumerate(table):
        out.append(_paint(line, shown[i - 2].status, color) if i >= 2 else line)
    matched = list(dict.fromkeys(c.match for c in case.checks if c.match and c.roi
                                 and c.status is not CheckStatus.NOT_APPLICABLE))
    if matched:
        out += ["", "Structures: " + "; ".join(matched)]
    out += notes_text(case)
    na = [c for c in case.checks if c.status is CheckStatus.NOT_APPLICABLE]
    if na:
        organs = sorted({c.structure or "" for c in na})
        out += ["", f"Not applicable (organ not contoured, not required): {len(na)} limit(s) "
                    f"on {', '.join(organs)}"]
    if case.fraction_gaps:
        out += ["", "Fraction gaps: " + "; ".join(
            f"{g.from_fraction}→{g.to_fraction} {g.gap_hours:.2f} h {g.status.value}"
            for g in case.fraction_gaps)]
    explain = [c for c in shown if c.status is not CheckStatus.PASS or c.notes
               or (c.value is None and c.metric)]
    if explain:
        out += ["", "Details"]
        for c in explain:
            out.append(f"  {c.id}: {c.message}")
            out += [f"      note: {n}" for n in c.notes]
    findings = [f for f in case.findings if f.severity.value != "INFO"]
    if findings:
        out += ["", "Findings"] + [f"  {f}" for f in findings]
    return out


def render_text(report: CheckReport, color: bool = False) -> str:
    out = [f"rtcheck check — protocol {report.protocol_id} ({report.protocol_title}), "
           f"{report.protocol_version}"]
    geometry = geometry_line(report.provenance.dvh_settings.get("geometry"),
                             report.provenance.options.get("geometry_source"))
    out += [geometry, ""] if geometry else [""]
    for case in report.cases:
        out += [*render_case(case, color), ""]
    if not report.cases:
        out += ["No case with a plan, dose or structure set was found: INCOMPLETE", ""]
    out += [f"{f}" for f in report.findings if f.severity.value != "INFO"]
    if len(report.cases) > 1:
        out.append(_paint(f"OVERALL: {report.verdict.value} ({len(report.cases)} cases)",
                          report.verdict, color))
    return "\n".join(out).rstrip() + "\n"


#: the columns of :func:`render_csv`; ``dvh_geometry`` is the report's DVH geometry model
#: (``stacked`` or ``smooth``; empty in a result of an rtcheck before the setting)
CSV_COLUMNS = ["case", "verdict", "check", "kind", "structure", "roi", "match", "metric",
               "value", "unit", "comparison", "limit", "minor_limit", "margin", "lower_bound",
               "upper_bound", "status", "tier", "priority", "source", "message", "notes",
               "dvh_geometry"]


def render_csv(report: CheckReport) -> str:
    """The report as CSV: one row per check of every case, columns :data:`CSV_COLUMNS`.

    Parameters
    ----------
    report
        The plan check result.

    Returns
    -------
    str
        The header and the rows; a value not evaluated is an empty cell (never 0).
    """
    geometry = report.provenance.dvh_settings.get("geometry") or ""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for case in report.cases:
        for c in case.checks:
            d = c.to_dict()
            w.writerow([case.label, case.verdict.value, c.id, d["kind"],
                        *("" if d[k] is None else d[k] for k in
                          ("structure", "roi", "match", "metric", "value", "unit",
                           "comparison", "limit", "minor_limit", "margin", "lower_bound",
                           "upper_bound", "status", "tier", "priority", "source", "message")),
                        " | ".join(c.notes), geometry])
    return buf.getvalue()
