"""The plan cases of an audit that need attention, and the case lists of the summary page.

A plan case *needs attention* when its verdict is not PASS (:class:`AttentionCase`):

``FAIL``
    its failing mandatory checks (check id, structure, value against the limit), then
    any mandatory check NOT EVALUATED;
``ERROR``
    the case folder could not be checked: the kind and one-line message of the error;
``INCOMPLETE``
    its mandatory checks NOT EVALUATED, each with its message and the code of the case
    finding on the same structure that explains it (``STRUCTURE_OUTSIDE_DOSE_GRID``...);
    with an input blocked by ERROR findings, those findings; a folder without a plan
    case says so.

Only these few fields are kept per case (the summary streams over the result files).
They are listed FAIL, ERROR, INCOMPLETE (:data:`SEVERITY`), then by site and case.
The table sections of the summary page are written here (:func:`attention_section`,
:func:`constraints_section`, :func:`outliers_section`, :func:`unmatched_section`,
:func:`errors_section`); each escapes every string from a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rtcheck.report.html_common import ORDER, STATUS_LABEL
from rtcheck.report.html_common import e as _e
from rtcheck.report.html_common import num as _num
from rtcheck.rules.vocabulary import CheckStatus, Tier

if TYPE_CHECKING:
    from rtcheck.audit.summary import AuditSummary, ConstraintCounts

#: verdicts needing attention, most severe first (the order of the list)
SEVERITY = ("FAIL", "ERROR", "INCOMPLETE")
_FAIL, _NE = CheckStatus.FAIL.value, CheckStatus.NOT_EVALUATED.value
_SYMBOL = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}
_STATUS_WORD = {_FAIL: "FAIL", _NE: "NOT EVALUATED", "finding": "INPUT", "error": "ERROR",
                "no_case": "NO PLAN CASE"}


@dataclass(frozen=True)
class Reason:
    """Why a case is not PASS: a check (``status`` fail / not_evaluated), an ERROR finding
    of its input (``finding``), its error (``error``) or no plan case (``no_case``)."""

    status: str
    id: str
    structure: str | None = None
    metric: str | None = None
    value: float | None = None
    unit: str | None = None
    comparison: str | None = None
    limit: float | None = None
    code: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "id": self.id, "structure": self.structure,
                "metric": self.metric, "value": self.value, "unit": self.unit,
                "comparison": self.comparison, "limit": self.limit, "code": self.code,
                "message": self.message}


@dataclass(frozen=True)
class AttentionCase:
    """A plan case (or case folder) whose verdict is FAIL, ERROR or INCOMPLETE."""

    verdict: str
    site: str
    case: str
    plan_label: str
    reasons: tuple[Reason, ...]

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        return (SEVERITY.index(self.verdict), self.site, self.case, self.plan_label)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "site": self.site, "case": self.case,
                "plan_label": self.plan_label, "reasons": [r.to_dict() for r in self.reasons]}


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_reason(check: dict[str, Any], findings: list[dict[str, Any]]) -> Reason:
    status = str(check.get("status"))
    names = {check.get("structure"), check.get("roi")} - {None, ""}
    code = next((str(f.get("code")) for f in findings
                 if f.get("severity") in ("ERROR", "WARNING") and f.get("subject") in names),
                None) if status == _NE else None
    value, limit = _float(check.get("value")), _float(check.get("limit"))
    keep_message = status == _NE or value is None or limit is None
    return Reason(status, str(check.get("id")), _text(check.get("structure")),
                  _text(check.get("metric")), value, _text(check.get("unit")),
                  _text(check.get("comparison")), limit, code,
                  _text(check.get("message")) if keep_message else None)


def attention_case(site: str, name: str, case: dict[str, Any]) -> AttentionCase | None:
    """The case (``report.cases[]``, named ``name``) when its verdict is not PASS."""
    verdict = str(case.get("verdict"))
    if verdict not in SEVERITY:
        return None
    findings = list(case.get("findings") or ())
    mandatory = [c for c in case.get("checks") or () if c.get("tier") == Tier.MANDATORY.value]
    reasons = [_check_reason(c, findings) for status in (_FAIL, _NE)
               for c in mandatory if c.get("status") == status]
    if case.get("input_blocked"):
        reasons += [Reason("finding", str(f.get("code")), _text(f.get("subject")),
                           message=_text(f.get("message")))
                    for f in findings if f.get("severity") == "ERROR"]
    if not mandatory:
        reasons.append(Reason("finding", "", message="no mandatory check applies"))
    return AttentionCase(verdict, site, name, str(case.get("plan_label") or case.get("label")
                                                  or ""), tuple(reasons))


def no_case(site: str, name: str, report: dict[str, Any]) -> AttentionCase:
    """A case folder whose plan check found no plan case (INCOMPLETE), with the report's
    ERROR findings."""
    reasons = [Reason("no_case", "", message="no plan case found")]
    reasons += [Reason("finding", str(f.get("code")), _text(f.get("subject")),
                       message=_text(f.get("message")))
                for f in report.get("findings") or () if f.get("severity") == "ERROR"]
    return AttentionCase("INCOMPLETE", site, name, "", tuple(reasons))


def error_case(site: str, name: str, kind: str, message: str) -> AttentionCase:
    """A case folder that could not be checked."""
    return AttentionCase("ERROR", site, name, "", (Reason("error", kind, message=message),))


# --------------------------------------------------------------------------- HTML

def limit_text(comparison: str, value: float, unit: str = "") -> str:
    """``≤ 21.9 Gy``: a limit with its unit."""
    return f"{_SYMBOL.get(comparison, comparison)} {_num(value)}" + (f" {unit}" if unit else "")


def _reason_html(r: Reason) -> str:
    word = f'<span class="why why-{_e(r.status)}">{_e(_STATUS_WORD.get(r.status, r.status))}' \
           "</span>"
    ident = f' <span class="id">{_e(r.id)}</span>' if r.id else ""
    what = " ".join(x for x in (r.structure or "", r.metric or "") if x)
    out = f"{word}{ident}" + (f" {_e(what)}" if what else "")
    if r.value is not None:
        got = f"{_num(r.value)}" + (f" {r.unit}" if r.unit else "")
        out += f": <b>{_e(got)}</b>"
        if r.comparison and r.limit is not None:
            out += f" (limit {_e(limit_text(r.comparison, r.limit, r.unit or ''))})"
    if r.code:
        out += f' <span class="code">{_e(r.code)}</span>'
    if r.message:
        out += f' <span class="small">— {_e(r.message)}</span>'
    return f"<li>{out}</li>"


def attention_section(cases: tuple[AttentionCase, ...]) -> list[str]:
    """The "Cases needing attention" section: one row per case, its reasons listed."""
    rows = [f'<tr data-verdict="{_e(c.verdict)}" data-site="{_e(c.site)}" '
            f'data-case="{_e(c.case)}"><td><span class="badge v-{_e(c.verdict)}">'
            f"{_e(c.verdict)}</span></td><td>{_e(c.site)}</td>"
            f'<td class="cases">{_e(c.case)}</td><td>{_e(c.plan_label)}</td>'
            f'<td><ul class="reasons">{"".join(_reason_html(r) for r in c.reasons)}</ul>'
            "</td></tr>" for c in cases]
    counts = ", ".join(f"{sum(c.verdict == v for c in cases)} {v}" for v in SEVERITY)
    return section(f"Cases needing attention ({len(rows)})",
                   f"Every plan case that is not PASS ({counts}): FAIL — its failing mandatory "
                   "checks, value against the limit; ERROR — the case folder could not be "
                   "checked; INCOMPLETE — its mandatory checks NOT EVALUATED, with the code of "
                   "the finding that explains it. Sorted by verdict (FAIL, ERROR, INCOMPLETE), "
                   "site, case.", "attention",
                   ("Verdict", "Site", "Case", "Plan", "Why"), rows, tag="attention")


def section(title: str, intro: str, cls: str, heads: tuple[str, ...], rows: list[str],
            tag: str = "") -> list[str]:
    """A titled section holding one table (or "None.")."""
    out = [f'<section id="{_e(tag)}">' if tag else "<section>", f"<h2>{_e(title)}</h2>"]
    out += [f'<p class="small">{_e(intro)}</p>'] if intro else []
    if not rows:
        return [*out, "<p>None.</p>", "</section>"]
    head = "".join(f"<th>{_e(h)}</th>" for h in heads)
    return [*out, f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            "<tbody>", *rows, "</tbody></table></div>", "</section>"]


def outliers_section(summary: AuditSummary) -> list[str]:
    rows = []
    for o in summary.outliers:
        case = o.case + (f" ({o.note})" if o.note else "")
        limits = ", ".join(limit_text(c, v, o.unit) for c, v in o.limits) or "—"
        rows.append(f"<tr><td>{_e(o.label)}</td><td>{_e(o.site)}</td>"
                    f'<td class="cases">{_e(case)}</td>'
                    f"<td class='num'>{_e(_num(o.value))} {_e(o.unit)}</td>"
                    f"<td>{_e(limits)}</td><td>{_e(', '.join(o.reasons))}</td></tr>")
    return section(f"Outliers ({len(rows)})", "Key-metric values beyond their limit, or "
                   "beyond the Tukey fences of their site (1.5 IQR beyond a quartile, the IQR "
                   "floored at 0.1 Gy / 0.5 % / 0.5 h or 1 % of the median).", "outliers",
                   ("Metric", "Site", "Case", "Value", "Limit(s)", "Why"), rows)


def unmatched_section(summary: AuditSummary) -> list[str]:
    rows = []
    for u in summary.unmatched:
        cases = _e(", ".join(u.cases))
        if len(u.cases) > 10:
            cases = f"<details><summary>{len(u.cases)} cases</summary>{cases}</details>"
        rows.append(f'<tr data-site="{_e(u.site)}" data-structure="{_e(u.structure)}">'
                    f"<td>{_e(u.site)}</td><td><b>{_e(u.structure)}</b></td>"
                    f"<td class='num'>{len(u.cases)}</td><td>{_e(', '.join(u.reasons))}</td>"
                    f'<td class="cases">{cases}</td></tr>')
    return section("Unmatched structures", "Protocol structures with no matched ROI in a "
                   "plan case (a check on them was NOT EVALUATED).", "unmatched",
                   ("Site", "Structure", "Plan cases", "Why", "Cases"), rows)


def errors_section(summary: AuditSummary) -> list[str]:
    rows = [f'<tr><td>{_e(x.site)}</td><td class="cases">{_e(x.case)}</td><td>{_e(x.kind)}'
            f"</td><td>{_e(x.message)}</td></tr>" for x in summary.errors]
    return section(f"Cases that could not be checked ({len(rows)})", "", "errors",
                   ("Site", "Case", "Kind", "Message"), rows)


# --------------------------------------------------------------------------- constraints

def pct(n: int, total: int) -> str:
    if not total:
        return "—"
    share = 100.0 * n / total
    return "< 0.1 %" if 0 < share < 0.05 else f"{share:.1f} %"


def count_cell(n: int, total: int) -> str:
    """A count cell: ``n (share %)``, a bare ``0`` when none."""
    return f"{n} ({pct(n, total)})" if n else "0"


def _constraint_rows(c: ConstraintCounts) -> list[str]:
    out = []
    for i, (site, counts) in enumerate(c.sites.items()):
        total = c.total(site)
        head = ""
        if i == 0:
            span = f' rowspan="{len(c.sites)}"'
            what = " ".join(x for x in (c.structure or "", c.metric or "") if x) or c.kind
            head = (f'<td{span}><div class="id">{_e(c.id)}</div>'
                    f'<div class="small">{_e(c.title)}</div></td><td{span}>{_e(what)}</td>')
        cells = "".join(
            f'<td class="num{" zero" if not counts[s.value] else ""}" '
            f'data-status="{s.value}">{count_cell(counts[s.value], total)}</td>'
            for s in ORDER)
        out.append(f'<tr data-check="{_e(c.id)}" data-site="{_e(site)}">{head}'
                   f"<td>{_e(site)}</td><td class='num'>{total}</td>{cells}</tr>")
    return out


def constraints_section(summary: AuditSummary) -> list[str]:
    na = CheckStatus.NOT_APPLICABLE.value
    shown = [c for c in summary.constraints
             if any(n for counts in c.sites.values() for s, n in counts.items() if s != na)]
    hidden = [c for c in summary.constraints if c not in shown]
    head = ("<thead><tr><th>Check</th><th>Structure, metric</th><th>Site</th><th>Checks</th>"
            + "".join(f"<th>{_e(STATUS_LABEL[s])}</th>" for s in ORDER)
            + "</tr></thead>")
    out = ["<section>", "<h2>Constraints per site</h2>",
           '<p class="small">Each cell: number of plan cases with that status (share of the '
           "site's plan cases where the check was reported).</p>",
           f'<div class="scroll"><table class="constraints">{head}<tbody>']
    for c in shown:
        out += _constraint_rows(c)
    out.append("</tbody></table></div>")
    if hidden:
        out.append(f"<details><summary>{len(hidden)} check(s) not applicable in every case "
                   "(organ not contoured and not required)</summary>"
                   f'<p class="cases">{_e(", ".join(c.id for c in hidden))}</p></details>')
    out.append("</section>")
    return out
