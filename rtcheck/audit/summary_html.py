"""The audit summary as one self-contained HTML page (inline CSS and hand-written SVG).

Under the title: the verdict, counts and protocol(s), and the DVH geometry model of the
results (:func:`rtcheck.audit.geometry.summary_html`). Sections: verdicts per site (table
and 100 % stacked bars), the cases needing attention (:mod:`rtcheck.audit.summary_cases`),
statuses of every constraint per site, the key-metric distributions per site (a box plot
over the values of each site, each value a point, the limits drawn as dashed lines and
the outliers labelled with their case), the outliers, the unmatched structures and the
cases that could not be checked. A pure function of the
:class:`~rtcheck.audit.summary.AuditSummary`: no script, no external resource, no date.
Every status and verdict is written as a word, never as a colour alone; every string
from a result is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from rtcheck.audit.geometry import summary_html as geometry_html
from rtcheck.audit.progress import VERDICTS
from rtcheck.audit.summary import AuditSummary, SiteCounts
from rtcheck.audit.summary_cases import (
    attention_section,
    constraints_section,
    count_cell,
    errors_section,
    limit_text,
    outliers_section,
    pct,
    unmatched_section,
)
from rtcheck.audit.summary_metrics import MetricDistribution, SiteDistribution
from rtcheck.report.html_common import COLOR, VERDICT_COLOR
from rtcheck.report.html_common import e as _e
from rtcheck.report.html_common import num as _num
from rtcheck.rules.vocabulary import CheckStatus, Verdict

#: (background, text) per verdict; ERROR (the case could not be checked) is purple
VERDICT_COLORS = {**{v.value: c for v, c in VERDICT_COLOR.items()},
                  "ERROR": ("#5e35b1", "#ffffff")}
Scale = Callable[[float], float]
_STATUSES = {s.value for s in CheckStatus}
#: y offsets (from the band's centre) of the outlier labels of a site: at most this many
#: are labelled in a plot, the farthest from the median first (the table lists every one)
_LABEL_ROWS = (-25.0, -14.0, 29.0, 18.0)
_HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'  # text stays readable on lines
_W, _LEFT, _RIGHT, _TOP, _BOTTOM, _ROW = 960, 170, 40, 26, 42, 74


def _css() -> str:
    """The house style of the plan-check page (fonts, tables, badges), in short."""
    verdicts = "\n".join(f".v-{v}{{background:{bg};color:{fg}}}"
                         for v, (bg, fg) in VERDICT_COLORS.items())
    mono = '"DejaVu Sans Mono",Consolas,monospace'
    return f"""
*{{box-sizing:border-box}} html{{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
body{{font-family:"DejaVu Sans","Segoe UI",Helvetica,Arial,sans-serif;font-size:14px;
color:#1a1a1a;background:#f4f5f7;margin:0;padding:16px 20px;line-height:1.35}}
main{{max-width:1500px;margin:0 auto}} h1{{font-size:20px;margin:0 0 10px}}
h2{{font-size:17px;margin:22px 0 8px;border-bottom:2px solid #d0d4da;padding-bottom:3px}}
h3{{font-size:15px;margin:14px 0 6px}}
section{{background:#fff;border:1px solid #d0d4da;border-radius:6px;padding:10px 18px;
margin:0 0 18px}}
table{{border-collapse:collapse;width:100%;font-size:13px;background:#fff;margin:4px 0 8px}}
th,td{{border:1px solid #d7dbe0;padding:4px 6px;text-align:left;vertical-align:top}}
th{{background:#e9ecf0;font-weight:700;white-space:nowrap}}
td.num{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}}
td.zero{{color:#9aa0a6}} tr.total td{{font-weight:700;background:#f1f3f5}}
.badge{{display:inline-block;border-radius:4px;padding:2px 7px;font-weight:700;font-size:12px;
white-space:nowrap;border:1px solid rgba(0,0,0,.25)}}
{verdicts}
.id{{font-family:{mono};font-size:12px;font-weight:700;overflow-wrap:anywhere}}
.cases{{font-family:{mono};font-size:11.5px;overflow-wrap:anywhere}}
.small{{font-size:11.5px;color:#555}} .legend{{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0}}
figure{{margin:8px 0;border:1px solid #d7dbe0;border-radius:4px;padding:6px;background:#fff}}
figure svg{{width:100%;height:auto;display:block}} figcaption{{font-size:12px;color:#333}}
details{{margin:8px 0}} summary{{cursor:pointer;font-weight:600}}
.scroll{{overflow-x:auto;max-width:100%}} ul.reasons{{margin:0;padding-left:16px}}
ul.reasons li{{margin:1px 0;overflow-wrap:anywhere}} .code{{font-family:{mono};font-size:11.5px;
background:#eceff1;border-radius:3px;padding:0 3px}}
table.attention td.cases{{white-space:nowrap;overflow-wrap:normal}}
td[data-status=fail]:not(.zero){{color:#b71c1c;font-weight:700}}
td[data-status=not_evaluated]:not(.zero){{color:#8a4b00;font-weight:700}}
.why{{font-weight:700;font-size:11.5px}} .why-fail,.why-error{{color:#b71c1c}}
.why-not_evaluated,.why-finding,.why-no_case{{color:#8a4b00}}
p.geometry-mixed{{color:#b71c1c;font-weight:700}}
"""


# --------------------------------------------------------------------------- verdicts

def _bar(site: SiteCounts, width: int = 260, height: int = 18) -> str:
    total = site.plan_cases
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="verdicts of '
           f'{_e(site.site)}">', f'<rect width="{width}" height="{height}" fill="#eceff1"/>']
    x = 0.0
    for v in VERDICTS:
        n = site.verdicts[v]
        if not n or not total:
            continue
        w = width * n / total
        bg, fg = VERDICT_COLORS[v]
        out.append(f'<rect x="{x:.2f}" width="{w:.2f}" height="{height}" fill="{bg}" '
                   f'stroke="#fff" stroke-width=".5"><title>{_e(v)}: {n} '
                   f"({pct(n, total)})</title></rect>")
        if w >= 8 * len(str(n)) + 4:
            out.append(f'<text x="{x + w / 2:.2f}" y="{height - 5}" font-size="11" '
                       f'font-weight="bold" text-anchor="middle" fill="{fg}" '
                       f'font-family="DejaVu Sans,Arial,sans-serif">{n}</text>')
        x += w
    out.append("</svg>")
    return "".join(out)


def _site_row(site: SiteCounts, total: bool = False) -> str:
    cells = "".join(
        f'<td class="num{" zero" if not site.verdicts[v] else ""}" data-verdict="{v}">'
        f"{count_cell(site.verdicts[v], site.plan_cases)}</td>"
        for v in VERDICTS)
    return (f'<tr class="{"total" if total else "site"}" data-site="{_e(site.site)}">'
            f"<td>{_e(site.site)}</td><td class='num'>{site.folders}</td>"
            f"<td class='num'>{site.patients}</td><td class='num'>{site.plan_cases}</td>"
            f"{cells}<td>{_bar(site)}</td></tr>")


def _verdicts(summary: AuditSummary) -> list[str]:
    out = ["<section>", "<h2>Verdicts per site</h2>", '<div class="legend">',
           *(f'<span class="badge v-{v}">{_e(v)}</span>' for v in VERDICTS),
           '<span class="small">ERROR: the case folder could not be checked. Rates are of '
           "the plan cases of the site.</span></div>",
           '<table class="sites"><thead><tr><th>Site</th><th>Case folders</th>'
           "<th>Patients</th><th>Plan cases</th>",
           *(f"<th>{_e(v)}</th>" for v in VERDICTS), "<th>Verdicts</th></tr></thead><tbody>"]
    out += [_site_row(s) for s in summary.sites]
    out += [_site_row(summary.totals, total=True), "</tbody></table>", "</section>"]
    return out


# --------------------------------------------------------------------------- plots

def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _x_range(m: MetricDistribution) -> tuple[float, float]:
    vals = [p.value for s in m.sites for p in s.points]
    vals += [lim[1] for s in m.sites for lim in s.limits]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.06 if hi > lo else max(abs(hi) * 0.05, 1.0)
    return lo - pad, hi + pad


def _short(text: str, n: int = 36) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _box(d: SiteDistribution, sx: Scale, y: float) -> list[str]:
    q1, med, q3 = d.quartiles
    inner = [p.value for p in d.points if not p.iqr_outlier] or [p.value for p in d.points]
    lo, hi = sx(min(inner)), sx(max(inner))
    return [f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#78909c"/>',
            f'<rect x="{sx(q1):.1f}" y="{y - 12:.1f}" width="{max(sx(q3) - sx(q1), 1):.1f}" '
            'height="24" fill="#cfd8dc" fill-opacity=".55" stroke="#546e7a"/>',
            f'<line x1="{sx(med):.1f}" x2="{sx(med):.1f}" y1="{y - 12:.1f}" y2="{y + 12:.1f}" '
            'stroke="#263238" stroke-width="2"/>']


def _limit_lines(d: SiteDistribution, sx: Scale, y: float, unit: str) -> list[str]:
    return [f'<line x1="{sx(v):.1f}" x2="{sx(v):.1f}" y1="{y - _ROW / 2:.1f}" '
            f'y2="{y + _ROW / 2:.1f}" stroke="#b71c1c" stroke-width="1.6" '
            f'stroke-dasharray="5 3"><title>limit {_e(limit_text(c, v, unit))}</title></line>'
            for c, v in d.limits]


def _limit_labels(m: MetricDistribution, sx: Scale) -> list[str]:
    """Each distinct limit written once, with its unit, above the plot at its line."""
    limits = sorted({lim for d in m.sites for lim in d.limits}, key=lambda lim: lim[1])
    return [f'<text x="{sx(v):.1f}" y="{_TOP - 6}" font-size="11" font-weight="bold" '
            f'text-anchor="{"end" if sx(v) > _W - _RIGHT - 60 else "middle"}" '
            f'fill="#b71c1c">limit {_e(limit_text(c, v, m.unit))}</text>' for c, v in limits]


def _jitter(i: int) -> float:
    """A deterministic vertical offset of the i-th point in its band (golden-ratio steps)."""
    return ((i * 0.6180339887) % 1.0 - 0.5) * 22


def _labels(d: SiteDistribution, sx: Scale, y: float) -> list[str]:
    """Case labels of the outliers farthest from the site's median (as many as
    :data:`_LABEL_ROWS`), each on its own line of the band with a leader to its point."""
    median = d.quartiles[1]
    flagged = [(i, p) for i, p in enumerate(d.points) if p.beyond_limit or p.iqr_outlier]
    flagged.sort(key=lambda ip: (-abs(ip[1].value - median), ip[1].case, ip[1].note))
    out = []
    for (i, p), dy in zip(flagged, _LABEL_ROWS, strict=False):
        x, py = sx(p.value), y + _jitter(i)
        left = x > _W - _RIGHT - 220  # near the right edge: the label goes to the left
        tx = x - 8 if left else x + 8
        case = p.case.removeprefix(f"{d.site}/")  # the band names the site
        name = case + (f" ({p.note})" if p.note else "")
        out.append(f'<line x1="{x:.1f}" y1="{py:.1f}" x2="{tx:.1f}" y2="{y + dy - 3:.1f}" '
                   f'stroke="#455a64" stroke-width=".7"/><text x="{tx:.1f}" y="{y + dy:.1f}" '
                   f'font-size="10" text-anchor="{"end" if left else "start"}" '
                   f'class="outlier-label" {_HALO}>{_e(_short(name))}</text>')
    if len(flagged) > len(_LABEL_ROWS):
        out.append(f'<text x="{_LEFT - 8}" y="{y + 18:.1f}" font-size="10" text-anchor="end" '
                   f'fill="#555">{len(flagged)} outliers, {len(_LABEL_ROWS)} labelled</text>')
    return out


def _points(d: SiteDistribution, sx: Scale, y: float) -> list[str]:
    out = []
    many = len(d.points) > 200
    for i, p in enumerate(d.points):
        status = p.status if p.status in _STATUSES else "info"
        outlier = p.beyond_limit or p.iqr_outlier
        name = p.case + (f" ({p.note})" if p.note else "")
        why = ", ".join(w for w, on in (("beyond the limit", p.beyond_limit),
                                        ("beyond 1.5 IQR", p.iqr_outlier)) if on)
        r = (3.0 if outlier else 2.2) if many else (4.5 if outlier else 3.5)
        out.append(_marker(status, sx(p.value), y + _jitter(i), r, outlier, many,
                           f"{name}: {_num(p.value)} {why}"))
    return out + _labels(d, sx, y)


def _marker(status: str, x: float, y: float, r: float, outlined: bool, faint: bool,
            title: str) -> str:
    """A point's marker: its status by colour *and* shape (× FAIL, ◆ MINOR DEVIATION,
    ■ NOT EVALUATED, ▲ PENDING, ● otherwise), readable without colour vision."""
    fill = COLOR[CheckStatus(status)][0]
    paint = (f'fill="{fill}" fill-opacity="{".55" if faint else ".85"}" '
             f'stroke="{"#000" if outlined else "none"}" stroke-width=".8"')
    tip = f"<title>{_e(title)}</title>"
    if status == CheckStatus.FAIL.value:
        a, w = r * 1.15, r * 0.45
        d = (f"M{x - a:.1f},{y - a + w:.1f}l{w:.1f},{-w:.1f}l{a - w:.1f},{a - w:.1f}"
             f"l{a - w:.1f},{w - a:.1f}l{w:.1f},{w:.1f}l{w - a:.1f},{a - w:.1f}"
             f"l{a - w:.1f},{a - w:.1f}l{-w:.1f},{w:.1f}l{w - a:.1f},{w - a:.1f}"
             f"l{w - a:.1f},{a - w:.1f}l{-w:.1f},{-w:.1f}l{a - w:.1f},{w - a:.1f}z")
        return f'<path d="{d}" {paint}>{tip}</path>'
    shapes = {CheckStatus.MINOR_DEVIATION.value: f"M{x:.1f},{y - r * 1.3:.1f}l{r * 1.3:.1f},"
              f"{r * 1.3:.1f}l{-r * 1.3:.1f},{r * 1.3:.1f}l{-r * 1.3:.1f},{-r * 1.3:.1f}z",
              CheckStatus.NOT_EVALUATED.value: f"M{x - r:.1f},{y - r:.1f}h{2 * r:.1f}"
              f"v{2 * r:.1f}h{-2 * r:.1f}z",
              CheckStatus.PENDING.value: f"M{x:.1f},{y - r * 1.2:.1f}l{r * 1.2:.1f},"
              f"{r * 2:.1f}h{-r * 2.4:.1f}z"}
    if status in shapes:
        return f'<path d="{shapes[status]}" {paint}>{tip}</path>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" {paint}>{tip}</circle>'


def _legend() -> str:
    """The key of the point markers and lines of the plots."""
    items = [(CheckStatus.PASS.value, "PASS"), (CheckStatus.FAIL.value, "FAIL"),
             (CheckStatus.NOT_EVALUATED.value, "NOT EVALUATED"),
             (CheckStatus.MINOR_DEVIATION.value, "MINOR DEVIATION")]
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="700" height="22" '
           'viewBox="0 0 700 22" role="img" aria-label="legend" font-size="12" '
           'font-family="DejaVu Sans,Arial,sans-serif">']
    x = 8.0
    for status, word in items:
        out += [_marker(status, x, 11, 5, False, False, word),
                f'<text x="{x + 10:.0f}" y="15">{word}</text>']
        x += 24 + 7.5 * len(word)
    out += [f'<circle cx="{x:.0f}" cy="11" r="5" fill="#fff" stroke="#000"/>'
            f'<text x="{x + 10:.0f}" y="15">outlier (black outline)</text>',
            f'<line x1="{x + 185:.0f}" x2="{x + 185:.0f}" y1="2" y2="20" stroke="#b71c1c" '
            f'stroke-width="1.6" stroke-dasharray="5 3"/><text x="{x + 192:.0f}" y="15">'
            "limit</text></svg>"]
    return "".join(out)


def _axis_title(m: MetricDistribution) -> str:
    unit = m.unit
    return m.label if f"[{unit}]" in m.label else f"{m.label} [{unit}]"


def _plot(m: MetricDistribution) -> str:
    height = _TOP + _ROW * len(m.sites) + _BOTTOM
    lo, hi = _x_range(m)

    def sx(v: float) -> float:
        return _LEFT + (v - lo) / (hi - lo) * (_W - _LEFT - _RIGHT)

    bottom = _TOP + _ROW * len(m.sites)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" '
           f'width="{_W}" height="{height}" font-family="DejaVu Sans,Arial,sans-serif" '
           f'role="img" aria-label="{_e(m.label)} per site">']
    for t in _ticks(lo, hi):
        out.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{_TOP}" y2="{bottom}" '
                   f'stroke="#eceff1"/><text x="{sx(t):.1f}" y="{bottom + 15}" font-size="11" '
                   f'text-anchor="middle">{_e(f"{t:g}")}</text>')
    out.append(f'<text x="{(_LEFT + _W - _RIGHT) / 2:.1f}" y="{bottom + 34}" font-size="13" '
               f'text-anchor="middle" font-weight="bold">{_e(_axis_title(m))}</text>')
    out += _limit_labels(m, sx)
    for i, d in enumerate(m.sites):
        y = _TOP + _ROW * (i + 0.5)
        out.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_TOP + _ROW * (i + 1)}" '
                   f'y2="{_TOP + _ROW * (i + 1)}" stroke="#d7dbe0"/>'
                   f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end" '
                   f'font-weight="bold">{_e(_short(d.site, 22))} (n={len(d.points)})</text>')
        out += _box(d, sx, y) + _limit_lines(d, sx, y, m.unit) + _points(d, sx, y)
    out.append(f'<rect x="{_LEFT}" y="{_TOP}" width="{_W - _LEFT - _RIGHT}" '
               f'height="{bottom - _TOP}" fill="none" stroke="#90a4ae"/></svg>')
    return "".join(out)


def _stats_table(m: MetricDistribution) -> list[str]:
    u = _e(m.unit)
    out = [f'<div class="scroll"><table class="stats" data-metric="{_e(m.label)}"><thead><tr>'
           "<th>Site</th><th>n</th>"
           + "".join(f"<th>{h} ({u})</th>" for h in ("min", "Q1", "median", "Q3", "max"))
           + "<th>Limit(s)</th><th>Tukey fences</th><th>Beyond the limit</th>"
           "<th>Beyond 1.5 IQR</th></tr></thead><tbody>"]
    for d in m.sites:
        values = [p.value for p in d.points]
        nums = (min(values), *d.quartiles, max(values))
        limits = ", ".join(limit_text(c, v, m.unit) for c, v in d.limits) or "—"
        fences = (f"{_num(d.fences[0])} – {_num(d.fences[1])}" if d.fences
                  else "— (n < 4)")
        out.append(f'<tr data-site="{_e(d.site)}"><td>{_e(d.site)}</td>'
                   f"<td class='num'>{len(values)}</td>"
                   + "".join(f"<td class='num'>{_e(_num(v))}</td>" for v in nums)
                   + f"<td>{_e(limits)}</td><td class='num'>{_e(fences)}</td>"
                   f"<td class='num'>{sum(p.beyond_limit for p in d.points)}</td>"
                   f"<td class='num'>{sum(p.iqr_outlier for p in d.points)}</td></tr>")
    out.append("</tbody></table></div>")
    return out


def _metrics(summary: AuditSummary) -> list[str]:
    out = ["<section>", "<h2>Key metrics per site</h2>",
           '<p class="small">Box: quartiles and median; whiskers: the values within the Tukey '
           "fences; points: one per value, the check's status by colour and shape; dashed red "
           "lines: the limits; outlined, labelled points: beyond the limit or beyond the Tukey "
           "fences Q1 − 1.5 IQR and Q3 + 1.5 IQR (Tukey 1977; sites with 4 or more values), the "
           "IQR floored at 0.1 Gy, 0.5 %, 0.5 h or 1 % of the median, whichever is larger, so "
           f"that nearly equal values are never outliers.</p>{_legend()}"]
    if not summary.metrics:
        out.append("<p>No key metric was evaluated in any case.</p>")
    for m in summary.metrics:
        out += [f'<h3>{_e(m.metric.title)}: {_e(m.label)}</h3>',
                f"<figure>{_plot(m)}<figcaption>{_e(m.metric.title)} — rule: "
                f"{_e(m.metric.rule)}</figcaption></figure>", *_stats_table(m)]
    out.append("</section>")
    return out


def render_summary_html(summary: AuditSummary) -> str:
    """The summary as one self-contained HTML document (a pure function of ``summary``)."""
    t = summary.totals
    worst = (Verdict.FAIL.value if t.verdicts["FAIL"] else "ERROR" if t.verdicts["ERROR"]
             else Verdict.PASS.value if t.plan_cases and t.plan_cases == t.verdicts["PASS"]
             else Verdict.INCOMPLETE.value)
    facts = (f"{t.folders} case folder(s) at {len(summary.sites)} site(s), {t.plan_cases} "
             f"plan case(s), {t.patients} patient(s); protocol(s): "
             f"{', '.join(summary.protocols) or '—'}")
    if summary.unreadable:
        facts += f"; {summary.unreadable} result file(s) not readable (left out)"
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>rtcheck audit summary — {t.plan_cases} plan case(s), "
           f"{len(summary.sites)} site(s)</title>", f"<style>{_css()}</style>", "</head>",
           "<body>", "<main>", "<h1>rtcheck audit summary</h1>",
           f'<p><span class="badge v-{worst}">{_e(worst)}</span> {_e(facts)}</p>',
           *geometry_html(summary.geometry),
           *_verdicts(summary), *attention_section(summary.attention),
           *constraints_section(summary), *_metrics(summary), *outliers_section(summary),
           *unmatched_section(summary), *errors_section(summary),
           "</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
