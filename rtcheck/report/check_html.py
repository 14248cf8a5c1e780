"""Render a :class:`~rtcheck.rules.result.CheckReport` as one self-contained HTML page.

The page is what a physicist reads before an SBRT delivery: a verdict banner per case,
the check table (failures first), the fraction gaps, one DVH plot per target and per
constrained organ with every DVH limit of that structure drawn on it, and the
provenance of the result. Everything is inline (CSS, SVG): no script, no external
resource. A pure function of the report: the same report gives byte-identical HTML
(matplotlib's SVG is made deterministic with a fixed ``svg.hashsalt`` and no date).

Every status is written as a word, never as a colour alone; a value that was not
evaluated reads ``NOT EVALUATED`` (never blank or 0); an INCOMPLETE verdict is amber,
never green.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rtcheck.report.check_plots import limit_point, plots
from rtcheck.report.geometry_notes import notes_html
from rtcheck.report.geometry_text import geometry_line
from rtcheck.report.html_common import COLOR as _COLOR
from rtcheck.report.html_common import ORDER, STATUS_LABEL
from rtcheck.report.html_common import VERDICT_COLOR as _VERDICT_COLOR
from rtcheck.report.html_common import e as _e
from rtcheck.report.html_common import num as _num
from rtcheck.rules.result import CaseResult, CheckReport, CheckResult
from rtcheck.rules.vocabulary import CheckStatus

__all__ = ["ORDER", "STATUS_LABEL", "limit_point", "render_html", "value_text"]



def value_text(c: CheckResult) -> str:
    """The value cell as plain text: the number, a proven bound, or ``NOT EVALUATED``."""
    unit = f" {c.unit}" if c.unit else ""
    if c.value is not None:
        return f"{_num(c.value)}{unit}"
    if c.status is CheckStatus.NOT_EVALUATED:
        return "NOT EVALUATED"
    if c.status in (CheckStatus.PASS, CheckStatus.MINOR_DEVIATION) and c.upper_bound is not None:
        return f"≤ {_num(c.upper_bound)}{unit}"
    if c.status is CheckStatus.FAIL and c.lower_bound is not None:
        return f"≥ {_num(c.lower_bound)}{unit}"
    if c.status is CheckStatus.PENDING:
        return "PENDING"
    if c.status is CheckStatus.NOT_APPLICABLE:
        return "n/a"
    return "—"


def _badge(status: CheckStatus) -> str:
    return f'<span class="badge st-{status.value}">{_e(STATUS_LABEL[status])}</span>'


def _sorted_checks(checks: Iterable[CheckResult]) -> list[CheckResult]:
    indexed = list(enumerate(checks))
    indexed.sort(key=lambda ic: (ORDER.index(ic[1].status), not ic[1].mandatory,
                                 ic[1].priority, ic[0]))
    return [c for _, c in indexed]


# --------------------------------------------------------------------------- CSS

def _css() -> str:
    badges = "\n".join(
        f".st-{s.value}{{background:{bg};color:{fg}}}" for s, (bg, fg) in _COLOR.items())
    verdicts = "\n".join(
        f".verdict-{v.value}{{background:{bg};color:{fg}}}"
        for v, (bg, fg) in _VERDICT_COLOR.items())
    return f"""
*{{box-sizing:border-box}}
html{{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
body{{font-family:"DejaVu Sans","Segoe UI",Helvetica,Arial,sans-serif;font-size:14px;
color:#1a1a1a;background:#f4f5f7;margin:0;padding:16px 20px;line-height:1.35}}
main{{max-width:1500px;margin:0 auto}}
h1{{font-size:20px;margin:0 0 10px}}
h2{{font-size:17px;margin:22px 0 8px;border-bottom:2px solid #d0d4da;padding-bottom:3px}}
h3{{font-size:15px;margin:16px 0 6px}}
section.case{{background:#fff;border:1px solid #d0d4da;border-radius:6px;padding:14px 18px;
margin:0 0 22px}}
.banner{{border-radius:6px;padding:14px 20px;margin:0 0 12px;display:flex;
align-items:center;gap:24px;flex-wrap:wrap}}
.banner .word{{font-size:44px;font-weight:800;letter-spacing:2px;line-height:1}}
.banner .what{{font-size:16px;font-weight:600}}
.banner .why{{font-size:14px;margin-top:4px}}
{verdicts}
dl.facts{{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:6px 0 10px}}
dl.facts dt{{font-weight:700;color:#444}}
dl.facts dd{{margin:0}}
.counts{{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0 4px}}
.badge{{display:inline-block;border-radius:4px;padding:2px 7px;font-weight:700;font-size:12px;
white-space:nowrap;border:1px solid rgba(0,0,0,.25)}}
{badges}
table{{border-collapse:collapse;width:100%;font-size:13px;background:#fff}}
th,td{{border:1px solid #d7dbe0;padding:4px 6px;text-align:left;vertical-align:top}}
th{{background:#e9ecf0;font-weight:700;white-space:nowrap}}
td.num{{text-align:right;font-variant-numeric:tabular-nums}}
tr.row-fail td{{background:#fdecea}}
tr.row-not_evaluated td{{background:#fff4e0}}
tr.row-minor_deviation td{{background:#fffbe6}}
tr.row-pending td{{background:#eaf2fd}}
tr.optional td{{opacity:.92}}
.id{{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:12px;font-weight:700;
overflow-wrap:anywhere}}
table.checks{{table-layout:fixed}}
table.checks td{{overflow-wrap:break-word}}
table.checks .badge{{white-space:normal}}
.small{{font-size:11.5px;color:#555}}
.ne{{font-weight:800;color:#8a4b00;font-size:12px}}
.neg{{color:#b71c1c;font-weight:700}}
ul.notes{{margin:3px 0 0;padding-left:16px}}
ul.notes li{{background:#fff3c4;border-left:3px solid #e0a800;padding:1px 4px;margin:2px 0;
list-style:none;font-size:12px}}
.src{{font-size:11px;color:#666;margin-top:2px}}
details{{margin:8px 0}}
summary{{cursor:pointer;font-weight:600}}
.plots{{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px;
align-items:start}}
figure.dvh{{margin:0;border:1px solid #d7dbe0;border-radius:4px;padding:6px;background:#fff}}
figure.dvh svg{{width:100%;height:auto;display:block}}
figure.dvh figcaption{{font-size:12px;color:#333}}
footer{{font-size:12px;color:#333;background:#fff;border:1px solid #d0d4da;border-radius:6px;
padding:10px 18px}}
footer table{{font-size:12px}}
.mono{{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:11.5px;word-break:break-all}}
"""


# --------------------------------------------------------------------------- header

def _verdict_reason(case: CaseResult) -> str:
    from rtcheck.report.check_text import verdict_summary

    return verdict_summary(case)


def _rx_text(rx: dict[str, Any]) -> str:
    if rx.get("total_gy") is None:
        return "NO PRESCRIPTION (dose-relative checks are not evaluated)"
    text = f"{rx['total_gy']:g} Gy in {rx.get('fractions', '?')} fraction(s)"
    text += f" (source: {rx.get('source', '?')}"
    if rx.get("fractions_source"):
        text += f"; fractions from {rx['fractions_source']}"
    text += ")"
    if rx.get("arm_total_gy") is not None:
        text += (f"; the arm asks {rx['arm_total_gy']:g} Gy in "
                 f"{rx.get('arm_fractions', '?')} fraction(s)")
    if rx.get("one_fraction_dose"):
        text += "; the dose file holds ONE fraction"
    return text


def _dose_text(dose: dict[str, Any] | None) -> str:
    if not dose:
        return "NO DOSE"
    parts = [" · ".join(str(dose[k]) for k in ("summation_type", "basis", "dose_type")
                        if dose.get(k))]
    if dose.get("grid_spacing_mm"):
        grid = " × ".join(f"{v:g}" for v in dose["grid_spacing_mm"])
        shape = dose.get("shape_zyx")
        parts.append(f"grid {grid} mm" + (f" ({'×'.join(str(v) for v in shape)} z·y·x)"
                                          if shape else ""))
    if dose.get("max_gy") is not None:
        parts.append(f"Dmax {_num(dose['max_gy'])} Gy")
    if dose.get("tps_dvhs") is not None:
        parts.append(f"{dose['tps_dvhs']} TPS DVH(s) in the file")
    if dose.get("source_paths"):
        parts.append("from " + ", ".join(str(p) for p in dose["source_paths"]))
    return "; ".join(p for p in parts if p)


def _header(case: CaseResult, report: CheckReport) -> list[str]:
    v = case.verdict
    out = [f'<div class="banner verdict-{v.value}" role="status">',
           f'<div class="word">{_e(v.value)}</div>',
           f'<div><div class="what">Case {_e(case.label)} — plan {_e(case.plan_label or "-")}'
           f'</div><div class="why">{_e(_verdict_reason(case))}</div></div></div>']
    facts = [("Case", case.label), ("Plan", f"{case.plan_label or '-'}"),
             ("Plan UID", case.plan_uid or "-"), ("Folder", case.folder),
             ("Protocol", f"{report.protocol_id} — {report.protocol_title} "
                          f"({report.protocol_version})"),
             ("Arm", case.arm or "-"), ("Site", case.site or "(none given)"),
             ("Prescription", _rx_text(case.prescription)), ("Dose", _dose_text(case.dose))]
    geometry = geometry_line(report.provenance.dvh_settings.get("geometry"),
                             report.provenance.options.get("geometry_source"))
    if geometry:  # "DVH geometry: stacked, the default (...)": which shape the numbers describe
        facts.append(("DVH geometry", geometry.removeprefix("DVH geometry: ")))
    out.append('<dl class="facts">')
    out += [f"<dt>{_e(k)}</dt><dd>{_e(val)}</dd>" for k, val in facts]
    out.append("</dl>")
    counts = case.counts()
    out.append('<div class="counts" aria-label="checks per status">')
    out += [f'<span class="badge st-{s.value}">{_e(STATUS_LABEL[s])}: {counts[s.value]}</span>'
            for s in ORDER]
    out.append(f'<span class="small">({len(case.checks)} checks)</span></div>')
    return out


# --------------------------------------------------------------------------- tables

def _structure_cell(c: CheckResult) -> str:
    if not c.structure:
        return "—"
    out = f"<b>{_e(c.structure)}</b>"
    if c.match:
        out += f'<div class="small">{_e(c.match)}</div>'
    elif c.roi:
        out += f'<div class="small">ROI {_e(c.roi)}</div>'
    else:
        out += '<div class="small">no ROI matched</div>'
    return out


def _value_cell(c: CheckResult) -> str:
    text = value_text(c)
    cls = ' class="ne"' if text == "NOT EVALUATED" else ""
    out = f"<span{cls}>{_e(text)}</span>"
    if c.value is None and (c.lower_bound is not None or c.upper_bound is not None):
        unit = f" {c.unit}" if c.unit else ""
        out += (f'<div class="small">in-grid bounds {_e(_num(c.lower_bound) or "?")} … '
                f'{_e(_num(c.upper_bound) or "?")}{_e(unit)}</div>')
    return out


def _limit_cell(c: CheckResult) -> str:
    text = c.limit_text
    if not text and c.comparison is not None:
        text = f"{c.comparison.value} (no limit resolved)"
    out = _e(text or "—")
    if c.minor_limit is not None:
        out += f'<div class="small">minor deviation up to {_e(_num(c.minor_limit))}</div>'
    return out


def _margin_cell(c: CheckResult) -> str:
    if c.margin is None:
        return "—"
    text = f"{c.margin:+.4g}" + (f" {c.unit}" if c.unit else "")
    return f'<span class="neg">{_e(text)}</span>' if c.margin < 0 else _e(text)


def _message_cell(c: CheckResult) -> str:
    out = _e(c.message)
    if c.notes:
        out += '<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in c.notes) + "</ul>"
    out += f'<div class="src">Source: {_e(c.source)}</div>'
    return out


_COLGROUP = "<colgroup>" + "".join(
    f'<col style="width:{w}%">' for w in (10, 15, 11, 9, 9, 9, 7, 8, 22)) + "</colgroup>"


def _optional_note(c: CheckResult) -> str:
    if c.mandatory or c.status not in (CheckStatus.FAIL, CheckStatus.NOT_EVALUATED):
        return ""
    return '<div class="small">optional: does not decide the verdict</div>'


def _check_table(case: CaseResult) -> list[str]:
    shown = _sorted_checks(c for c in case.checks if c.status is not CheckStatus.NOT_APPLICABLE)
    out = ['<table class="checks">', _COLGROUP,
           "<thead><tr><th>Status</th><th>Check</th><th>Structure</th>"
           "<th>Metric</th><th>Value</th><th>Limit</th><th>Margin</th><th>Tier</th>"
           "<th>Message, notes, source</th></tr></thead><tbody>"]
    for c in shown:
        tier = "mandatory" if c.mandatory else "optional"
        out.append(
            f'<tr class="row-{c.status.value} {tier}" data-check="{_e(c.id)}">'
            f"<td>{_badge(c.status)}{_optional_note(c)}</td>"
            f'<td><div class="id">{_e(c.id)}</div><div class="small">{_e(c.title)}</div></td>'
            f"<td>{_structure_cell(c)}</td><td>{_e(c.metric or '—')}</td>"
            f'<td class="num">{_value_cell(c)}</td><td class="num">{_limit_cell(c)}</td>'
            f'<td class="num">{_margin_cell(c)}</td>'
            f"<td>{_e(tier)}<br>priority {c.priority}</td><td>{_message_cell(c)}</td></tr>")
    out.append("</tbody></table>")
    na = [c for c in case.checks if c.status is CheckStatus.NOT_APPLICABLE]
    if na:
        organs = sorted({c.structure or "-" for c in na})
        out.append(f"<details><summary>{_badge(CheckStatus.NOT_APPLICABLE)} {len(na)} "
                   "limit(s) not applicable (organ not contoured and not required): "
                   f"{_e(', '.join(organs))}</summary>")
        out.append('<table class="na"><thead><tr><th>Check</th><th>Structure</th>'
                   "<th>Metric</th><th>Limit</th><th>Tier</th><th>Message</th></tr>"
                   "</thead><tbody>")
        out += [f'<tr data-check="{_e(c.id)}"><td class="id">{_e(c.id)}</td>'
                f"<td>{_e(c.structure or '—')}</td><td>{_e(c.metric or '—')}</td>"
                f"<td>{_limit_cell(c)}</td><td>{_e(c.tier.value)}</td>"
                f"<td>{_e(c.message)}</td></tr>" for c in na]
        out.append("</tbody></table></details>")
    return out


def _gap_table(case: CaseResult) -> list[str]:
    if not case.fraction_gaps:
        return ['<p class="small">No fraction gaps (fewer than two delivered or scheduled '
                "fractions are known).</p>"]
    out = ['<table class="gaps"><thead><tr><th>From fraction</th><th>To fraction</th>'
           "<th>Gap (h)</th><th>Status</th><th>Message</th></tr></thead><tbody>"]
    out += [f'<tr class="row-{g.status.value}"><td class="num">{g.from_fraction}</td>'
            f'<td class="num">{g.to_fraction}</td><td class="num">{g.gap_hours:.2f}</td>'
            f"<td>{_badge(g.status)}</td><td>{_e(g.message)}</td></tr>"
            for g in case.fraction_gaps]
    out.append("</tbody></table>")
    return out


def _findings_table(findings: Iterable[Any], title: str) -> list[str]:
    rows = list(findings)
    if not rows:
        return []
    out = [f"<h3>{_e(title)}</h3>", '<table class="findings"><thead><tr><th>Severity</th>'
           "<th>Code</th><th>Subject</th><th>Message</th><th>File</th></tr></thead><tbody>"]
    out += [f"<tr><td><b>{_e(f.severity.value)}</b></td><td class='id'>{_e(f.code)}</td>"
            f"<td>{_e(f.subject or '')}</td><td>{_e(f.message)}</td>"
            f"<td class='mono'>{_e(f.path or '')}</td></tr>" for f in rows]
    out.append("</tbody></table>")
    return out


# --------------------------------------------------------------------------- page

def _case_section(case: CaseResult, report: CheckReport, index: int) -> list[str]:
    out = [f'<section class="case" id="case-{index}">', *_header(case, report),
           "<h2>Checks</h2>", *_check_table(case), *notes_html(case),
           "<h2>Fraction gaps</h2>", *_gap_table(case),
           "<h2>DVH</h2>", *plots(case, index),
           *_findings_table(case.findings, "Findings"), "</section>"]
    return out


def _kv(d: dict[str, Any]) -> str:
    if not d:
        return "—"
    return "; ".join(f"{k} = {v}" for k, v in d.items())


def _footer(report: CheckReport) -> list[str]:
    p = report.provenance
    rows = [("rtcheck", p.rtcheck_version), ("Python", p.python_version),
            ("Created (UTC)", p.created_utc), ("Result schema", report.schema_version),
            ("Protocol", f"{report.protocol_id} {report.protocol_version}"),
            ("Protocol file", f"{p.protocol_path}  sha256 {p.protocol_sha256}"),
            ("DVH settings", _kv(p.dvh_settings)), ("Options", _kv(p.options))]
    out = ["<footer>", "<h2>Provenance</h2>", "<table><tbody>"]
    out += [f"<tr><th>{_e(k)}</th><td class='mono'>{_e(v)}</td></tr>" for k, v in rows]
    out += [f"<tr><th>Library</th><td class='mono'>{_e(path)}  sha256 {_e(sha)}</td></tr>"
            for path, sha in p.libraries]
    out.append("</tbody></table>")
    out += ["<h3>Input files</h3>", "<table><thead><tr><th>File</th><th>sha256</th></tr>"
            "</thead><tbody>"]
    out += [f"<tr><td class='mono'>{_e(path)}</td><td class='mono'>{_e(sha)}</td></tr>"
            for path, sha in p.inputs]
    out += ["</tbody></table>", "</footer>"]
    return out


def render_html(report: CheckReport) -> str:
    """The whole report as one self-contained HTML document (a pure function).

    Parameters
    ----------
    report
        The plan check result.

    Returns
    -------
    str
        UTF-8 HTML with inline CSS and inline SVG DVH plots; no script and no external
        resource. The same report always gives the same text.
    """
    verdict = report.verdict
    labels = ", ".join(c.label for c in report.cases) or "no case"
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(verdict.value)} — rtcheck plan check — {_e(labels)}</title>",
           f"<style>{_css()}</style>", "</head>", "<body>", "<main>",
           f"<h1>rtcheck plan check — protocol {_e(report.protocol_id)}: "
           f"{_e(report.protocol_title)}</h1>"]
    if len(report.cases) != 1:
        why = (f"{len(report.cases)} cases" if report.cases else
               "no case with a plan, dose or structure set was found")
        out.append(f'<div class="banner verdict-{verdict.value}" role="status">'
                   f'<div class="word">{_e(verdict.value)}</div>'
                   f'<div class="what">Overall: {_e(why)}</div></div>')
    for i, case in enumerate(report.cases):
        out += _case_section(case, report, i)
    out += _findings_table(report.findings, "Findings (whole input)")
    out += _footer(report)
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
