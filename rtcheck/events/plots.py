"""Cohort plots (matplotlib, Agg backend): KM curves, PSA waterfall, swimmer plot.

Every plot is written as PNG (150 dpi) and SVG. Files: ``km_<endpoint>.png/.svg``,
``psa_waterfall_week12.png/.svg``, ``swimmer.png/.svg``. Outputs are byte-stable
for the same input (no dates in metadata, fixed SVG hash salt).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from lifelines.plotting import add_at_risk_counts

from rtcheck.events.cohort import CohortResult
from rtcheck.events.endpoints import ENDPOINTS
from rtcheck.events.psa import WEEK12_WINDOW_DAYS
from rtcheck.events.survival import km_fit


def _style() -> Any:
    """Fixed style: a fixed SVG hash salt makes SVG output reproducible."""
    return plt.rc_context({"svg.hashsalt": "rtcheck", "font.size": 9})


def _save(fig: plt.Figure, out_dir: Path, stem: str) -> list[Path]:
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return paths


def plot_km(result: CohortResult, endpoint: str, out_dir: Path) -> list[Path]:
    """Kaplan–Meier curve with 95 % band, censor ticks and a number-at-risk table."""
    results = result.endpoint_results(endpoint)
    with _style():
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        kmf = km_fit(results, label=ENDPOINTS[endpoint])
        kmf.plot_survival_function(ax=ax, show_censors=True, ci_show=True,
                                   censor_styles={"marker": "|", "ms": 8})
        summary = next(k for k in result.km if k.endpoint == endpoint)
        med = "not reached" if summary.median_months is None else f"{summary.median_months:.1f}"
        ax.set_title(f"{ENDPOINTS[endpoint]} (n = {summary.n}, events = {summary.n_events}, "
                     f"median {med} months)")
        ax.set_xlabel("Months from the last day of MDT (1 month = 30.4375 days)")
        ax.set_ylabel("Probability")
        ax.set_ylim(0, 1.05)
        ax.set_xlim(left=0)
        ax.axhline(0.5, color="0.7", lw=0.6, ls=":")
        ticks = [t for t in range(0, int(max(r.duration_months for r in results)) + 7, 6)]
        ax.set_xticks(ticks)
        add_at_risk_counts(kmf, ax=ax, rows_to_show=["At risk"], xticks=ticks[:-1] or [0])
        fig.tight_layout()
        return _save(fig, out_dir, f"km_{endpoint}")


def plot_waterfall(result: CohortResult, out_dir: Path) -> list[Path]:
    """PSA change from baseline to week 12, sorted (protocol "Secondary endpoints" a)."""
    rows = sorted(((p.patient_id, p.psa.week12_change_pct) for p in result.patients
                   if p.psa.week12_change_pct is not None), key=lambda r: -r[1])
    with _style():
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        values = [min(v, 100.0) for _, v in rows]
        colours = ["#2b8cbe" if v <= -50 else "#bdbdbd" for v in values]
        ax.bar(range(len(rows)), values, color=colours, edgecolor="0.3", lw=0.4)
        ax.axhline(-50, color="#2b8cbe", ls="--", lw=0.8, label="-50 % (response threshold)")
        ax.axhline(0, color="0.2", lw=0.6)
        ax.set_xticks(range(len(rows)), [pid for pid, _ in rows], rotation=90)
        ax.set_ylabel("PSA change from baseline (%), capped at +100")
        lo, hi = WEEK12_WINDOW_DAYS
        ax.set_title(f"PSA change at week 12 (value closest to day 84 in days {lo}–{hi}), "
                     f"n = {len(rows)}")
        ax.legend(loc="upper right", frameon=False)
        fig.tight_layout()
        return _save(fig, out_dir, "psa_waterfall_week12")


def plot_swimmer(result: CohortResult, out_dir: Path) -> list[Path]:
    """Each patient's course from the start: NEST, progression, PSA progression, death."""
    pts = sorted(result.patients, key=lambda p: p.endpoint("os").duration_months  # type: ignore[union-attr]
                 if p.endpoint("os") else 0.0)
    markers = {"cpfs": ("X", "#e6550d", "clinical progression"),
               "psa_progression": ("d", "#756bb1", "PSA progression (PCWG3)"),
               "nest_fs": (">", "#31a354", "start of NEST"),
               "late_toxicity_g2": ("*", "#de2d26", "late grade >= 2 toxicity")}
    with _style():
        fig, ax = plt.subplots(figsize=(6.4, 0.28 * len(pts) + 1.4))
        seen: set[str] = set()
        for y, p in enumerate(pts):
            os_ = p.endpoint("os")
            if os_ is None:
                continue
            ax.barh(y, os_.duration_months, color="#c6dbef", edgecolor="#6baed6", height=0.6)
            for name, (marker, colour, label) in markers.items():
                ep = p.endpoint(name)
                if ep is None or not ep.event_observed:
                    continue
                if name == "nest_fs" and not ep.deciding_event.startswith("nest"):
                    continue
                if name == "cpfs" and not ep.deciding_event.startswith("progression"):
                    continue
                ax.plot(ep.duration_months, y, marker, color=colour, ms=7,
                        label=None if label in seen else label)
                seen.add(label)
            if os_.event_observed:
                lab = "death"
                ax.plot(os_.duration_months, y, "s", color="black", ms=6,
                        label=None if lab in seen else lab)
                seen.add(lab)
            else:
                lab = "alive at last follow-up"
                ax.plot(os_.duration_months + 0.6, y, ">", color="#6baed6", ms=5,
                        label=None if lab in seen else lab)
                seen.add(lab)
        ax.set_yticks(range(len(pts)), [p.patient_id for p in pts])
        ax.set_xlabel("Months from the last day of MDT")
        ax.set_title(f"Course of each patient (cut-off {result.cutoff})")
        ax.legend(loc="lower right", fontsize=7, frameon=True)
        fig.tight_layout()
        return _save(fig, out_dir, "swimmer")


def write_plots(result: CohortResult, out_dir: str | Path) -> list[Path]:
    """Write every plot into ``out_dir`` (created if needed); return the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for k in result.km:
        files += plot_km(result, k.endpoint, out)
    files += plot_waterfall(result, out)
    files += plot_swimmer(result, out)
    return files
