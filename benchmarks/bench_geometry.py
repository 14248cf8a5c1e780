"""Benchmark (issue #12): staircase vs smooth geometry model against ideal-shape truths.

For every case of the ideal-shape suite (:mod:`tests.ideal_shapes`: 12 shapes ×
contour spacing 1/2/3 mm × linear dose SI/AP × dose grid 1/2/3 mm × two
contour-plane phases) it computes

* **stacked**: today's engine, :func:`rtcheck.dose.engine.compute_dvh`
  (default settings: staircase with half-slice end caps);
* **mnri**: the prototype smooth model, :func:`rtcheck.dose.geom_smooth.smooth_samples`
  (moment-normalised radial interpolation, cubic in z, trend-driven ends),

and prints the relative error (%) of volume, Dmin, Dmax, Dmean, D99, D95, D5,
D1 and D0.03cc side by side, the worst error per metric and model, and which
cases miss the issue's aim (1 %; D99/Dmin/Dmax 2 %). ``--breast`` adds the cost
estimate on the shared Eclipse breast export. Run from the repository root::

    python benchmarks/bench_geometry.py [--jobs 2] [--csv out.csv] [--breast]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rtcheck.dose.engine import compute_dvh  # noqa: E402
from rtcheck.dose.geom_smooth import smooth_models, smooth_samples  # noqa: E402
from tests.ideal_shapes import (  # noqa: E402
    DOSES,
    GRIDS,
    IDEAL_SHAPES,
    METRICS,
    SPACINGS,
    IdealCase,
    ideal_dose,
    ideal_grid,
)

PHASES = (0.37, 1.87)  # contour planes at phase + k s (1.87: shifted by half of 3 mm)
AIM = {m: (2.0 if m in ("Dmin", "Dmax", "D99%") else 1.0) for m in METRICS}
REFDATA = Path(os.environ.get("RTCHECK_REFDATA", REPO.parent / "shared" / "refdata"))

Case = tuple[str, float, str, float, float]


def metrics_of(dvh: object, volume_cc: float) -> dict[str, float]:
    out = {"volume": volume_cc, "Dmin": dvh.min_gy, "Dmax": dvh.max_gy,  # type: ignore[attr-defined]
           "Dmean": dvh.mean_gy, "D0.03cc": dvh.dose_at_volume_gy(0.03)}  # type: ignore[attr-defined]
    for p in (99, 95, 5, 1):
        out[f"D{p}%"] = dvh.dose_at_percent_gy(p)  # type: ignore[attr-defined]
    return out


def run(case: Case) -> tuple[Case, dict[str, float], dict[str, float], float, float]:
    """Relative errors (%) of both models for one case, and their times (s)."""
    name, spacing, kind, grid_mm, phase = case
    ic = IdealCase(IDEAL_SHAPES[name], spacing, phase)
    dose = ideal_dose(kind, ic)
    grid = ideal_grid(dose, ic, grid_mm)
    truth = ic.truth(dose)
    structure = ic.structure(name)
    t0 = time.perf_counter()
    st = compute_dvh(structure, grid)
    t1 = time.perf_counter()
    sm = smooth_samples(structure, grid)
    t2 = time.perf_counter()
    assert st.dvh is not None
    a = metrics_of(st.dvh, st.volume_cc)
    b = metrics_of(sm.dvh(), sm.volume_cc)
    err = {m: 100 * (a[m] / truth[m] - 1) for m in METRICS}
    err2 = {m: 100 * (b[m] / truth[m] - 1) for m in METRICS}
    return case, err, err2, t1 - t0, t2 - t1


def cases() -> list[Case]:
    return list(itertools.product(IDEAL_SHAPES, SPACINGS, DOSES, GRIDS, PHASES))


def label(c: Case) -> str:
    return f"{c[0]}/s{c[1]:g}/{c[2]}/g{c[3]:g}/z{c[4]:g}"


def print_table(results: list[tuple[Case, dict[str, float], dict[str, float], float, float]]
                ) -> None:
    head = " ".join(f"{m:>13s}" for m in METRICS)
    print(f"{'case':34s} {head}   (stacked / mnri, relative error %)")
    for c, e1, e2, _, _ in results:
        cells = " ".join(f"{e1[m]:+6.2f}/{e2[m]:+6.2f}" for m in METRICS)
        print(f"{label(c):34s} {cells}")


def summary(results: list[tuple[Case, dict[str, float], dict[str, float], float, float]]
            ) -> None:
    print(f"\n{len(results)} cases. worst |error| % per metric (aim), where:")
    for m in METRICS:
        w1 = max(results, key=lambda r: abs(r[1][m]))
        w2 = max(results, key=lambda r: abs(r[2][m]))
        miss1 = sum(abs(r[1][m]) > AIM[m] for r in results)
        miss2 = sum(abs(r[2][m]) > AIM[m] for r in results)
        p95_1 = np.percentile([abs(r[1][m]) for r in results], 95)
        p95_2 = np.percentile([abs(r[2][m]) for r in results], 95)
        print(f"  {m:8s} aim {AIM[m]:.0f}:  stacked {abs(w1[1][m]):6.2f} ({label(w1[0])}, "
              f"p95 {p95_1:.2f}, {miss1} miss)   mnri {abs(w2[2][m]):6.2f} ({label(w2[0])}, "
              f"p95 {p95_2:.2f}, {miss2} miss)")
    t1 = sum(r[3] for r in results)
    t2 = sum(r[4] for r in results)
    print(f"time: stacked {t1:.1f} s, mnri prototype (400k box points, no shell) {t2:.1f} s")


def breast_cost() -> None:
    """Cost estimate of the smooth model on the shared breast export (see the module doc)."""
    from rtcheck.dicom import load
    from rtcheck.dose.engine import compute_dvhs

    case = load([REFDATA / "eclipse-breast-boost"]).cases[0]
    ss, grid = case.structure_set, case.dose
    assert ss is not None and grid is not None
    t_stacked = math.inf
    for _ in range(3):  # best of three, as bench_dvh.py
        t0 = time.perf_counter()
        results = compute_dvhs(ss, grid)
        t_stacked = min(t_stacked, time.perf_counter() - t0)
    rng = np.random.default_rng(0)
    t_build = t_test = 0.0
    n_near_total = 0
    print("\nbreast export: structure, samples, chains, contours (non-star), staircase "
          "fallback share of plane intervals, near-surface share, cumulative build s")
    for s, r in zip(ss.structures, results, strict=True):
        if not s.contours or r.samples is None:
            continue
        t = time.perf_counter()
        models = smooth_models(s)
        t_build += time.perf_counter() - t
        shell = _shell_fraction(models)
        n_near = int(shell * r.samples.n_samples)
        n_near_total += n_near
        x0, x1, y0, y1, z0, z1 = _box(models)
        pts = rng.uniform((x0, y0, z0), (x1, y1, z1), size=(max(n_near, 1), 3))
        t = time.perf_counter()
        from rtcheck.dose.geom_smooth import inside
        inside(models, pts[:, 0], pts[:, 1], pts[:, 2])
        t_test += time.perf_counter() - t
        n_c = sum(len(m.chain.shapes) for m in models)
        bad_c = sum(not sh.star for m in models for sh in m.chain.shapes)
        weights = [len(m.chain.shapes) for m in models]
        fallback = float(np.average([m.fallback_share() for m in models], weights=weights))
        print(f"  {s.name:24s} {r.samples.n_samples:7d} {len(models):4d} {n_c:5d} ({bad_c}) "
              f"{100 * fallback:5.1f} % {100 * shell:5.1f} % {t_build:6.3f}")
    print(f"all-structure DVH today {t_stacked:.3f} s; smooth model: chains {t_build:.3f} s + "
          f"{n_near_total} near-surface tests {t_test:.3f} s → estimated "
          f"{(t_stacked + t_build + t_test) / t_stacked:.2f}× today")


def _box(models: list) -> tuple[float, ...]:  # type: ignore[type-arg]
    from rtcheck.dose.geom_smooth import bounding_box
    return bounding_box(models)


def _shell_fraction(models: list) -> float:  # type: ignore[type-arg]
    """Share of the staircase volume within one plane spacing of a lateral surface or end."""
    vol = shell = 0.0
    for m in models:
        z = m.z
        s = float(np.median(np.diff(z))) if z.size > 1 else 3.0
        for sh in m.chain.shapes:
            p = sh.polygon
            perim = float(np.sum(np.hypot(*(np.roll(p, -1, axis=0) - p).T)))
            vol += sh.area * s
            shell += min(perim * s, sh.area) * s
        shell += (m.chain.shapes[0].area + m.chain.shapes[-1].area) * s
    return min(shell / vol, 1.0) if vol > 0 else 0.0


def explain(names: list[str]) -> None:
    """Why a case misses: what of the truth lies beyond the end planes, where each model
    ends, and (lying cones) how far the apex lies from the nearest contour plane."""
    print("\nshape / spacing / phase: planes, truth beyond end planes (% of volume, low/high), "
          "ends (truth | stacked | mnri, mm from centre), apex offset")
    for name, spacing, phase in itertools.product(names, SPACINGS, PHASES):
        ic = IdealCase(IDEAL_SHAPES[name], spacing, phase)
        z = [p[0] for p in ic.planes]
        v = ic.volume_mm3
        below = 100 * ic._quad(ic.shape.area, ic.lo, z[0]) / v
        above = 100 * ic._quad(ic.shape.area, z[-1], ic.hi) / v
        cz = ic.shape.centre[2]
        models = smooth_models(ic.structure())
        lo, hi = min(m.z_lo for m in models) - cz, max(m.z_hi for m in models) - cz
        st = (z[0] - spacing / 2 - cz, z[-1] + spacing / 2 - cz)
        apex = min(abs(zk - cz) for zk in z)
        gain = ic.shape.H / ic.shape.R if ic.shape.kind == "cone" and ic.shape.axis != "z" else 0
        print(f"  {name}/s{spacing:g}/z{phase:g}: {len(z)} planes, "
              f"beyond {below:.1f}/{above:.1f} %,"
              f" ends {ic.lo - cz:+.2f},{ic.hi - cz:+.2f} | {st[0]:+.2f},{st[1]:+.2f} | "
              f"{lo:+.2f},{hi:+.2f}" + (f"; apex {apex:.2f} mm from a plane: the contours reach "
                                        f"{gain * apex:.2f} mm short of it" if gain else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--csv", type=Path)
    ap.add_argument("--breast", action="store_true")
    ap.add_argument("--shapes", nargs="*", default=None)
    ap.add_argument("--breast-only", action="store_true")
    ap.add_argument("--explain", nargs="*", default=None, metavar="SHAPE")
    args = ap.parse_args()
    if args.breast_only:
        breast_cost()
        return
    if args.explain is not None:
        explain(args.explain or ["coney_0.45cc", "coney_7.1cc", "sphere_0.52cc"])
        return
    todo = [c for c in cases() if args.shapes is None or c[0] in args.shapes]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run, todo, chunksize=4))
    print_table(results)
    summary(results)
    if args.csv:
        with args.csv.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["shape", "spacing", "dose", "grid", "phase",
                        *(f"stacked_{m}" for m in METRICS), *(f"mnri_{m}" for m in METRICS)])
            for c, e1, e2, _, _ in results:
                w.writerow([*c, *(f"{e1[m]:.4f}" for m in METRICS),
                            *(f"{e2[m]:.4f}" for m in METRICS)])
    if args.breast:
        breast_cost()


if __name__ == "__main__":
    main()
