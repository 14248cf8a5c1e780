"""A baseline comparison as text (for people) and as versioned JSON (for programs).

Text: a ``DRIFT`` / ``NO DRIFT`` headline, a ``NOTE`` line per change of the DVH geometry
model (it moves every DVH number: said before the numbers it explains), then every plan
with a difference — each difference with its baseline and current value, the change and
the tolerance, marked ``DRIFT`` or ``ok`` (within tolerance) —, the provenance
differences (information), and the tolerances used. JSON:
:meth:`rtcheck.regress.model.Comparison.to_dict` (``regress_schema_version`` "1.0").
"""

from __future__ import annotations

import json
from typing import Any

from rtcheck.regress.compare import GEOMETRY_CHANGE
from rtcheck.regress.model import (
    CaseComparison,
    CheckComparison,
    Comparison,
    Difference,
    ReportComparison,
)

__all__ = ["difference_text", "headline", "render", "render_json", "render_text", "value_text"]

FORMATS = ("text", "json", "junit")


def render_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False) + "\n"


def value_text(value: Any, unit: str | None = None) -> str:
    """A value for a table cell: numbers to 6 significant digits with their unit."""
    if value is None:
        return "-"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:.6g}" + (f" {unit}" if unit else "")
    return str(value)


def _unit(check: CheckComparison | None, d: Difference) -> str | None:
    if check is None or d.what not in ("value", "lower_bound", "upper_bound", "limit",
                                       "minor_limit"):
        return None
    if check.check_id == "structures":
        return "cc" if d.kind == "cc" else "Gy"
    return check.unit


def _delta(d: Difference) -> str:
    return "" if d.delta is None else f"{d.delta:+.4g}"


def _tolerance(d: Difference) -> str:
    if d.allowed is None:
        return ""
    return f"{'>' if d.drift else '<='} {d.allowed:.4g} ({d.kind})"


def difference_text(d: Difference, unit: str | None = None) -> str:
    """One line: ``value: 30.7956 Gy → 31.065 Gy (Δ +0.2694 > 0.01 (Gy))``."""
    extra = " ".join(p for p in (f"Δ {_delta(d)}" if d.delta is not None else "",
                                 _tolerance(d)) if p)
    note = f"; {d.note}" if d.note else ""
    tail = f" ({extra}{note})" if extra else (f" ({d.note})" if d.note else "")
    return (f"{d.what}: {value_text(d.baseline, unit)} → {value_text(d.current, unit)}"
            f"{tail}")


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return ("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _row(check: CheckComparison | None, d: Difference) -> list[str]:
    unit = _unit(check, d)
    what = d.what + (f" ({d.note})" if d.note and d.delta is None else "")
    return ["DRIFT" if d.drift else "ok",
            check.check_id if check else "-", (check.structure or "-") if check else "-",
            what, value_text(d.baseline, unit), value_text(d.current, unit), _delta(d),
            _tolerance(d)]


def _case_lines(case: CaseComparison) -> list[str]:
    rows = [_row(None, d) for d in case.differences]
    rows += [_row(c, d) for c in (*case.checks, *case.structures) for d in c.differences]
    verdicts = f"verdict {case.baseline_verdict or '(none)'} → {case.current_verdict or '(none)'}"
    head = (f"{'DRIFT' if case.drift else 'ok'}  plan {case.name}  [{case.folder}]  "
            f"{verdicts}")
    if not rows:
        return [head]
    return [head, *_table(rows, ["Result", "Check", "Structure", "What", "Baseline",
                                 "Current", "Change", "Tolerance"])]


def _report_lines(report: ReportComparison) -> list[str]:
    out = [f"{'DRIFT' if d.drift else 'ok'}  {report.key}: {difference_text(d)}"
           for d in report.differences]
    for case in report.cases:
        if case.differences or any(c.differences for c in (*case.checks, *case.structures)):
            out += [*_case_lines(case), ""]
    return out


def headline(comparison: Comparison) -> str:
    """``DRIFT: ...`` or ``NO DRIFT: ...`` with the counts."""
    n = comparison.counts()
    word = "DRIFT" if comparison.drift else "NO DRIFT"
    scope = (f"{n['plans']} plan(s), {n['checks']} check(s) compared"
             + (f" in {n['results']} result(s)" if n["results"] > 1 else ""))
    drifted = (f"{n['plans_drifted']} plan(s) drifted: {n['checks_drifted']} check(s), "
               f"{n['verdict_changes']} verdict change(s)" if comparison.drift else
               "nothing beyond tolerance")
    missing = n["results_missing_or_unchecked"]
    if comparison.drift and missing:
        drifted += f", {missing} result(s) missing or not checked"
    return f"{word}: {scope}; {drifted}; {n['within_tolerance']} change(s) within tolerance"


def _geometry_lines(comparison: Comparison) -> list[str]:
    """A ``NOTE`` per change of the DVH geometry model (its note says what it means and
    what to do), with the number of results it concerns when there are several."""
    seen: dict[str, int] = {}
    for r in comparison.reports:
        for d in r.provenance:
            if d.what == GEOMETRY_CHANGE and d.note:
                seen[d.note] = seen.get(d.note, 0) + 1
    total = len(comparison.reports)
    out = [f"NOTE: {note}" + (f" (in {count} of {total} results)" if total > 1 else "")
           for note, count in seen.items()]
    return [*out, ""] if out else []


def _provenance_lines(comparison: Comparison) -> list[str]:
    seen: dict[tuple[str, str, str, str], int] = {}
    for r in comparison.reports:
        for d in r.provenance:
            note = "see the NOTE above" if d.what == GEOMETRY_CHANGE and d.note else d.note
            key = (d.what, value_text(d.baseline), value_text(d.current), note)
            seen[key] = seen.get(key, 0) + 1
    if not seen:
        return []
    total = len(comparison.reports)
    out = ["Provenance differences (information, not drift):"]
    for (what, base, cur, note), count in seen.items():
        where = f" (in {count} of {total} results)" if total > 1 else ""
        out.append(f"  {what}: {base} → {cur}" + (f" ({note})" if note else "") + where)
    return [*out, ""]


def render_text(comparison: Comparison) -> str:
    """The comparison for a terminal or a CI log."""
    out = [headline(comparison)]
    if comparison.baseline:
        out.append(f"baseline: {comparison.baseline}")
    out.append("")
    out += _geometry_lines(comparison)
    unchanged = 0
    for report in comparison.reports:
        lines = _report_lines(report)
        if lines:
            out += lines
        else:
            unchanged += len(report.cases)
    if unchanged and len(comparison.reports) > 1:
        out += [f"{unchanged} plan(s) without any difference", ""]
    out += _provenance_lines(comparison)
    out.append(f"Tolerances: {comparison.tolerances.text()}")
    if comparison.structures:
        out.append("Structures compared: state, volume, min/mean/max dose")
    return "\n".join(out).rstrip() + "\n"


def render(comparison: Comparison, fmt: str) -> str:
    """The comparison in ``fmt``: ``text``, ``json`` or ``junit``."""
    if fmt == "json":
        return render_json(comparison)
    if fmt == "junit":
        from rtcheck.regress.render_junit import render_junit
        return render_junit(comparison)
    return render_text(comparison)
