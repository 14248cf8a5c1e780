#!/usr/bin/env python
"""Benchmark (issue #12): stacked vs smooth DVH geometry on real plans and the fixtures.

For the shared Eclipse breast export (``$RTCHECK_REFDATA/eclipse-breast-boost``,
default ``../shared/refdata/eclipse-breast-boost`` relative to the repository root)
and every case folder under ``fixtures/`` (each sub-folder holding ``*.dcm`` files,
loaded with :func:`rtcheck.dicom.loader.load`; folders that fail to load are skipped
with a note), it computes the DVH of every structure with both geometry models of
:class:`rtcheck.dose.settings.Geometry`:

* **stacked**: the staircase (``DvhSettings()``, what planning systems do);
* **smooth**: ``DvhSettings(geometry=Geometry.SMOOTH)`` (moment-normalised radial
  interpolation between contour planes, trend-driven end closing).

Per structure with a DVH it reports

* the volume (cc; the structure's contour volume under each model),
* D95 % (Gy; minimum dose to the hottest 95 % of the volume),
* D0.035cc (Gy; minimum dose to the hottest 0.035 cc, blank when the structure is
  smaller),

for stacked, smooth and — where the RTDOSE carries TPS-embedded DVHs (DVHSequence)
— the planning system. The TPS curve of each ROI is built by
:func:`rtcheck.dose.tps_compare.tps_curve` from the loader's
:class:`~rtcheck.dicom.model.EmbeddedDVH` and its volume and D95 come from
:func:`rtcheck.dose.tps_compare.curve_values`, exactly as ``rtcheck``'s TPS
comparison does; D0.035cc uses the same curve's ``dose_at_volume_gy``. Also shown:
the relative difference smooth vs stacked (%, of stacked) per metric, and the share
of the volume the smooth model leaves as staircase (from the
``STRUCTURE_GEOMETRY_FALLBACK`` finding; 0 without it). A ``*`` after a structure
name marks a DVH of the in-grid part only (structure partly outside the dose grid).

After the table, one summary line per plan gives the median and maximum
``|smooth - stacked|`` (%) of each metric and, where a TPS DVH exists, the median
``|stacked - TPS|`` and ``|smooth - TPS|`` (%, of the TPS value). Finally the
all-structure DVH time of both models on the breast export (best of 3,
``time.perf_counter``) and the ratio smooth/stacked against the issue's budget of
1.5×.

Run from the repository root with the venv active::

    python benchmarks/bench_geometry_real.py [--markdown] [--repeat 3]

A benchmark, not a test: it prints numbers only.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rtcheck.dicom.loader import load  # noqa: E402
from rtcheck.dicom.model import DoseGrid, StructureSet  # noqa: E402
from rtcheck.dose.dvh import CumulativeDVH  # noqa: E402
from rtcheck.dose.engine import StructureDVH, compute_dvhs  # noqa: E402
from rtcheck.dose.settings import DvhSettings, Geometry  # noqa: E402
from rtcheck.dose.tps_compare import curve_values, tps_curve  # noqa: E402

REFDATA = Path(os.environ.get("RTCHECK_REFDATA", REPO.parent / "shared" / "refdata"))
BREAST = REFDATA / "eclipse-breast-boost"
FIXTURES = REPO / "fixtures"

SMALL_CC = 0.035
BUDGET = 1.5
METRICS = ("volume", "D95", "D0.035cc")
SOURCES = ("stacked", "smooth", "tps")
STACKED = DvhSettings()
SMOOTH = DvhSettings(geometry=Geometry.SMOOTH)
_SHARE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*%")

Values = dict[str, float | None]


@dataclass
class Row:
    """One structure of one plan: ``values[metric][source]`` (cc or Gy, ``None`` = n/a)."""

    plan: str
    structure: str
    partial: bool
    fallback_pct: float
    values: dict[str, Values] = field(default_factory=dict)

    def rel(self, metric: str, source: str, reference: str) -> float | None:
        """``(source - reference) / reference`` in %, ``None`` when either is missing or 0."""
        a, b = self.values[metric].get(source), self.values[metric].get(reference)
        if a is None or b is None or b == 0:
            return None
        return 100.0 * (a - b) / b


def _metrics(volume_cc: float | None, curve: CumulativeDVH | None) -> Values:
    """Volume, D95 and D0.035cc of one curve (the TPS way: :func:`curve_values`)."""
    if curve is None:
        return dict.fromkeys(METRICS)
    values = curve_values(curve)
    small = curve.total_volume_cc >= SMALL_CC
    return {
        "volume": volume_cc if volume_cc is not None else values["volume_cc"],
        "D95": values["d95_gy"],
        "D0.035cc": curve.dose_at_volume_gy(SMALL_CC) if small else None,
    }


def _fallback_pct(s: StructureDVH) -> float:
    """Staircase share (%) from the ``STRUCTURE_GEOMETRY_FALLBACK`` finding (0 without)."""
    for f in s.findings:
        if f.code == "STRUCTURE_GEOMETRY_FALLBACK":
            m = _SHARE.search(f.message)
            return float(m.group(1)) if m else float("nan")
    return 0.0


def plan_rows(plan: str, ss: StructureSet, grid: DoseGrid) -> list[Row]:
    """Rows of every structure of one case that has a DVH under either model."""
    stacked = {s.roi_number: s for s in compute_dvhs(ss, grid, STACKED)}
    smooth = {s.roi_number: s for s in compute_dvhs(ss, grid, SMOOTH)}
    tps = {e.roi_number: tps_curve(e) for e in grid.embedded_dvhs}
    rows = []
    for roi, st in stacked.items():
        sm = smooth.get(roi)
        if st.dvh is None and (sm is None or sm.dvh is None):
            continue
        row = Row(plan, st.name, not st.complete or (sm is not None and not sm.complete),
                  _fallback_pct(sm) if sm is not None else 0.0)
        per_source = {
            "stacked": _metrics(st.volume_cc, st.dvh),
            "smooth": _metrics(sm.volume_cc, sm.dvh) if sm is not None else _metrics(None, None),
            "tps": _metrics(None, tps.get(roi)),
        }
        row.values = {m: {src: per_source[src][m] for src in SOURCES} for m in METRICS}
        rows.append(row)
    return rows


def case_folders() -> list[Path]:
    """The breast export (when present) and every fixture sub-folder holding DICOM files."""
    folders = [BREAST] if BREAST.is_dir() else []
    if not folders:
        print(f"note: breast export not found at {BREAST}; skipped")
    folders += sorted(p for p in FIXTURES.iterdir()
                      if p.is_dir() and any(p.glob("*.dcm")))
    return folders


def collect() -> tuple[list[Row], dict[str, tuple[StructureSet, DoseGrid]]]:
    """Rows of every plan, and the loaded cases by plan label (for the timing)."""
    rows: list[Row] = []
    cases: dict[str, tuple[StructureSet, DoseGrid]] = {}
    for folder in case_folders():
        try:
            result = load([str(folder)])
        except Exception as exc:  # a benchmark notes the folder and goes on
            print(f"note: {folder.name} not loaded ({type(exc).__name__}: {exc}); skipped")
            continue
        for case in result.cases:
            label = folder.name if len(result.cases) == 1 else f"{folder.name}:{case.label}"
            if case.structure_set is None or case.dose is None:
                print(f"note: {label} has no structure set or no dose; skipped")
                continue
            cases[label] = (case.structure_set, case.dose)
            rows.extend(plan_rows(label, case.structure_set, case.dose))
    return rows, cases


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.2f}"


HEADER = ["plan", "structure",
          "V stacked cc", "V smooth cc", "V TPS cc", "ΔV %",
          "D95 stacked Gy", "D95 smooth Gy", "D95 TPS Gy", "ΔD95 %",
          "D0.035cc stacked Gy", "D0.035cc smooth Gy", "D0.035cc TPS Gy", "ΔD0.035cc %",
          "fallback %"]


def cells(row: Row) -> list[str]:
    """One table row as text (Δ = smooth vs stacked, % of stacked)."""
    out = [row.plan, row.structure + ("*" if row.partial else "")]
    for metric, digits in (("volume", 2), ("D95", 3), ("D0.035cc", 3)):
        v = row.values[metric]
        out += [_num(v["stacked"], digits), _num(v["smooth"], digits), _num(v["tps"], digits),
                _signed(row.rel(metric, "smooth", "stacked"))]
    out.append(f"{row.fallback_pct:.0f}")
    return out


def print_table(rows: Sequence[Row], markdown: bool) -> None:
    body = [cells(r) for r in rows]
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "|".join(["---", "---"] + ["---:"] * (len(HEADER) - 2)) + "|")
        for line in body:
            print("| " + " | ".join(line) + " |")
        return
    widths = [max(len(h), *(len(line[i]) for line in body)) for i, h in enumerate(HEADER)]

    def fmt(line: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(line, widths, strict=True)))

    print(fmt(HEADER))
    print("  ".join("-" * w for w in widths))
    for line in body:
        print(fmt(line))


def _stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"median {statistics.median(values):.2f} %, max {max(values):.2f} %"


def print_summaries(rows: Sequence[Row], markdown: bool) -> None:
    """Per plan: |smooth - stacked| (median, max) and median |model - TPS| (all in %)."""
    plans = list(dict.fromkeys(r.plan for r in rows))
    print()
    for plan in plans:
        mine = [r for r in rows if r.plan == plan]
        parts = []
        for metric in METRICS:
            diffs = [abs(d) for r in mine if (d := r.rel(metric, "smooth", "stacked")) is not None]
            parts.append(f"{metric} {_stats(diffs)}")
        line = f"{plan} ({len(mine)} structures) |smooth - stacked|: " + "; ".join(parts)
        if any(r.values["volume"]["tps"] is not None for r in mine):
            tps_parts = []
            for metric in METRICS:
                meds = []
                for model in ("stacked", "smooth"):
                    gaps = [abs(x) for r in mine
                            if (x := r.rel(metric, model, "tps")) is not None]
                    meds.append(f"{statistics.median(gaps):.2f}" if gaps else "n/a")
                tps_parts.append(f"{metric} {meds[0]} / {meds[1]} %")
            line += ("; median |stacked - TPS| / |smooth - TPS|: " + "; ".join(tps_parts))
        print(("- " if markdown else "") + line)


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def print_timing(cases: dict[str, tuple[StructureSet, DoseGrid]], repeat: int,
                 markdown: bool) -> None:
    if BREAST.name not in cases:
        print("\n(breast export not loaded: timing skipped)")
        return
    ss, grid = cases[BREAST.name]
    n = len(ss.structures)
    t_st = best_of(lambda: compute_dvhs(ss, grid, STACKED), repeat)
    t_sm = best_of(lambda: compute_dvhs(ss, grid, SMOOTH), repeat)
    ratio = t_sm / t_st
    verdict = "within" if ratio <= BUDGET else "OVER"
    prefix = "- " if markdown else ""
    print()
    print(f"{prefix}DVH time, all {n} structures of {BREAST.name} (best of {repeat}): "
          f"stacked {t_st:.3f} s, smooth {t_sm:.3f} s")
    print(f"{prefix}ratio smooth/stacked {ratio:.2f}x ({verdict} the issue's budget of "
          f"{BUDGET}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats (best of)")
    args = ap.parse_args()
    rows, cases = collect()
    print()
    print_table(rows, args.markdown)
    print_summaries(rows, args.markdown)
    print_timing(cases, max(1, args.repeat), args.markdown)
    print()
    print("Δ = smooth vs stacked (% of stacked); * = DVH of the in-grid part only; "
          "fallback = % of the volume the smooth model leaves as staircase; "
          "TPS = DVH embedded in the RTDOSE (rtcheck.dose.tps_compare.tps_curve).")


if __name__ == "__main__":
    main()
