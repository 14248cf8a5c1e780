"""DVH plots of the HTML report: one inline SVG per target and constrained organ.

Each plot is the cumulative DVH (dose Gy, volume %) with every DVH limit of that
structure drawn as a cross-hair and a marker coloured and shaped by its status; a limit
below a few % of the volume gets a log-scale high-dose-tail panel. matplotlib is
imported only here, inside the functions, and its SVG is made deterministic.
"""

from __future__ import annotations

import io
import math
import re
import sys
from typing import Any

from rtcheck.dose.metric_spec import DoseSpace, MetricKind, OutputUnit, QueryUnit, parse_metric
from rtcheck.errors import MetricSpecError
from rtcheck.report.html_common import COLOR as _COLOR
from rtcheck.report.html_common import MARKER as _MARKER
from rtcheck.report.html_common import STATUS_LABEL
from rtcheck.report.html_common import e as _e
from rtcheck.report.html_common import num as _num
from rtcheck.rules.result import CaseResult, CheckResult, StructureSummary
from rtcheck.rules.vocabulary import CheckKind


def _gy(value: float, unit: OutputUnit | QueryUnit, rx_gy: float | None) -> float | None:
    if unit in (OutputUnit.GY, QueryUnit.GY):
        return value
    if unit in (OutputUnit.CGY, QueryUnit.CGY):
        return value / 100.0
    if unit in (OutputUnit.PERCENT_RX, QueryUnit.PERCENT_RX) and rx_gy:
        return value * rx_gy / 100.0
    return None


def _pct(value: float, unit: OutputUnit | QueryUnit, total_cc: float) -> float | None:
    if unit in (OutputUnit.PERCENT_VOLUME, QueryUnit.PERCENT_VOLUME):
        return value
    if unit in (OutputUnit.CC, QueryUnit.CC) and total_cc > 0:
        return 100.0 * value / total_cc
    return None


def limit_point(c: CheckResult, total_cc: float, rx_gy: float | None
                ) -> tuple[float, float] | None:
    """Where the limit of a DVH check sits on a cumulative DVH plot: (dose Gy, volume %).

    ``D<x>cc``/``D<x>%`` ≤ L → (L, x as % of ``total_cc``); ``V<d>Gy`` ≤ L → (d, L in %);
    ``DC``/``CV`` by their complements; ``Max`` ≤ L → (L, 0). ``None`` when the limit
    cannot be placed (no limit, mean/min, BED/EQD2 space, outside 0-100 %).
    """
    if c.metric is None or c.limit is None:
        return None
    try:
        spec = parse_metric(c.metric)
    except MetricSpecError:
        return None
    if spec.dose_space is not DoseSpace.PHYSICAL:
        return None
    q, qu = spec.query_value, spec.query_unit
    dose: float | None
    vol: float | None
    if spec.kind is MetricKind.MAX:
        dose, vol = _gy(c.limit, spec.output_unit, rx_gy), 0.0
    elif q is None or qu is None:
        return None
    elif spec.kind in (MetricKind.DOSE_AT_VOLUME, MetricKind.DOSE_COMPLEMENT):
        dose, vol = _gy(c.limit, spec.output_unit, rx_gy), _pct(q, qu, total_cc)
        if vol is not None and spec.kind is MetricKind.DOSE_COMPLEMENT:
            vol = 100.0 - vol
    else:
        dose, vol = _gy(q, qu, rx_gy), _pct(c.limit, spec.output_unit, total_cc)
        if vol is not None and spec.kind is MetricKind.VOLUME_COMPLEMENT:
            vol = 100.0 - vol
    if dose is None or vol is None or not (-1e-9 <= vol <= 100.0 + 1e-9) or dose < 0:
        return None
    return dose, vol


def _short(metric: str) -> str:
    return metric.split("[", 1)[0]


_TAIL_BELOW = 5.0  # a limit below this volume % gets a log-scale "high-dose tail" panel


def _draw_limits(ax: Any, points: list[tuple[CheckResult, float, float]], log: bool) -> None:
    floor = ax.get_ylim()[0]
    right = ax.get_xlim()[1] * 0.8
    for c, x, y in points:
        if log and y <= 0:
            continue
        color = _COLOR[c.status][0]
        ax.plot([x, x], [floor, y], color=color, ls=":", lw=1.0, zorder=4)
        ax.plot([0, x], [y, y], color=color, ls=":", lw=1.0, zorder=4)
        ax.plot([x], [y], marker=_MARKER[c.status], ms=9, color=color, mec="#000000",
                mew=0.6, ls="none", zorder=5, clip_on=False)
        flip = x > right  # label on the left of a marker near the right edge
        ax.annotate(_short(c.metric or ""), (x, y), xytext=(-7 if flip else 7, 5),
                    textcoords="offset points", ha="right" if flip else "left", fontsize=8,
                    color="#111111", zorder=6)


_Drawn = list[tuple[CheckResult, bool]]  # each check, and whether its limit is drawn
_Points = list[tuple[CheckResult, float, float]]  # check, dose (Gy), volume (%)


def _limit_points(checks: list[CheckResult], total_cc: float, rx_gy: float | None
                  ) -> tuple[_Drawn, _Points]:
    """Which limits can be drawn, and the (check, dose Gy, volume %) point of each drawn one."""
    drawn: _Drawn = []
    points: _Points = []
    for c in checks:
        point = limit_point(c, total_cc, rx_gy)
        drawn.append((c, point is not None))
        if point is not None:
            points.append((c, *point))
    return drawn, points


def _legend(s: StructureSummary, points: _Points, color: str) -> list[Any]:
    """Legend entries: the DVH, the grid boundary B (if any) and every drawn limit."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=color, lw=2.0, label=f"{s.name} DVH")]
    if s.grid_boundary_gy is not None:
        handles.append(Line2D([], [], color="#7b1fa2", ls="--", lw=1.0,
                              label=f"grid boundary B {_num(s.grid_boundary_gy)} Gy"))
    handles += [Line2D([], [], marker=_MARKER[c.status], ms=7, color=_COLOR[c.status][0],
                       mec="#000000", mew=0.6, ls="none",
                       label=f"{_short(c.metric or '')} {c.limit_text}: {STATUS_LABEL[c.status]}")
                for c, _, _ in points]
    return handles


def _title(s: StructureSummary, total_cc: float) -> str:
    """The title of the main panel: structure, role and the volume the curve describes."""
    role = "target" if s.target else "OAR"
    title = f"{s.name} — {role}, {_num(total_cc)} cc"
    if s.state == "partial" and s.volume_cc is not None:
        title += f" in grid of {_num(s.volume_cc)} cc (in-grid part only)"
    return title


def _volume_axis(ax: Any, log: bool, low: float, title: str) -> None:
    """The volume scale and title of a panel: linear 0-102 %, or log from ``low`` (the tail)."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    if log:
        ax.set_yscale("log", nonpositive="mask")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_ylim(low, 100.0)
        ax.set_title("high-dose tail (log volume scale)", fontsize=9)
    else:
        ax.set_ylim(0, 102)
        ax.set_title(title)


def _plot_svg(s: StructureSummary, checks: list[CheckResult], rx_gy: float | None,
              prefix: str) -> tuple[str, list[tuple[CheckResult, bool]]]:
    """The DVH of ``s`` with its limits as inline SVG, and which limits were drawn.

    A second, log-volume panel shows the high-dose tail when a limit sits below
    :data:`_TAIL_BELOW` % of the volume (D0.035cc of a cord is < 1 %).
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:  # never switch (and close) a user's pyplot
        matplotlib.use("Agg")
    from matplotlib.figure import Figure

    assert s.curve is not None
    curve = s.curve
    total = curve.total_volume_cc
    doses = [0.0, *reversed(curve.dose_gy)]
    vols = [100.0, *(100.0 * v / total if total > 0 else 0.0 for v in reversed(curve.volume_cc))]
    drawn, points = _limit_points(checks, total, rx_gy)
    tail = sorted(y for _, _, y in points if 0 < y < _TAIL_BELOW)
    xmax = max([*doses, *(x for _, x, _ in points), s.grid_boundary_gy or 0.0, 1.0]) * 1.06
    color = "#1f4e9e" if s.target else "#222222"
    handles = _legend(s, points, color)
    with matplotlib.rc_context({"svg.hashsalt": "rtcheck-dvh", "svg.fonttype": "none",
                                "font.size": 9, "font.family": "DejaVu Sans",
                                "axes.titlesize": 10}):
        height = 6.4 if tail else 4.0
        fig = Figure(figsize=(6.4, height), dpi=100)
        axes = fig.subplots(2, 1, height_ratios=[3, 2]) if tail else [fig.add_subplot()]
        low = 10.0 ** min(-1, math.floor(math.log10(tail[0] / 2))) if tail else 0.0
        for k, ax in enumerate(axes):
            log = k == 1
            # on the log panel the volume 0 at Dmax is drawn at the panel's floor
            ax.plot(doses, [max(v, low) for v in vols] if log else vols, color=color, lw=2.0,
                    zorder=3)
            if s.grid_boundary_gy is not None:
                ax.axvline(s.grid_boundary_gy, color="#7b1fa2", ls="--", lw=1.0, zorder=2)
            ax.set_xlim(0, xmax)
            _volume_axis(ax, log, low, _title(s, total))
            _draw_limits(ax, points, log)
            ax.set_xlabel("Dose (Gy)")
            ax.set_ylabel("Volume (%)")
            ax.grid(True, which="major", color="#dddddd", lw=0.6)
        axes[0].legend(handles=handles, loc="best", fontsize=7.5, framealpha=0.92)
        fig.subplots_adjust(left=0.1, right=0.97, top=1 - 0.3 / height,
                            bottom=0.45 / height, hspace=0.85 / 2.7)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None,
                                                 "Format": None, "Type": None})
    return _inline_svg(buf.getvalue(), prefix, f"DVH of {s.name}"), drawn


def _inline_svg(svg: str, prefix: str, label: str) -> str:
    """matplotlib's SVG document as an inline element: no prolog, ids made unique."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    svg = re.sub(r'^<svg ([^>]*?)width="[^"]*" height="[^"]*"',
                 lambda m: f'<svg {m.group(1)}role="img" aria-label="{_e(label)}"', svg)
    return svg.strip()


def plots(case: CaseResult, index: int) -> list[str]:
    structures = [s for s in case.structures if s.curve is not None and (s.target or
                                                                       s.constrained)]
    structures.sort(key=lambda s: not s.target)
    if not structures:
        return ['<p class="small">No DVH curve in the result (no dose, or no evaluable '
                "target or constrained structure).</p>"]
    rx_gy = case.prescription.get("total_gy")
    out = ['<div class="plots">']
    for k, s in enumerate(structures):
        checks = [c for c in case.checks if c.kind is CheckKind.DVH and c.roi == s.name]
        svg, drawn = _plot_svg(s, checks, rx_gy, f"c{index}s{k}-")
        items = "; ".join(f"{_e(c.metric)} {_e(c.limit_text or '(no limit)')} "
                          f"{_e(STATUS_LABEL[c.status])}" + ("" if ok else " (not drawn)")
                          for c, ok in drawn)
        out.append(f'<figure class="dvh" data-structure="{_e(s.name)}">{svg}<figcaption>'
                   f"<b>{_e(s.name)}</b> ({'target' if s.target else 'constrained OAR'}, "
                   f"{_e(s.state)}): {items or 'no DVH limit on this structure'}"
                   "</figcaption></figure>")
    out.append("</div>")
    return out
