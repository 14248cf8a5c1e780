"""SBRT plan-quality indices, each reported with its definition and source.

Definitions (TV = target volume, PIV = prescription isodose volume, TV_PIV = the
part of the target inside the prescription isodose, Rx = prescription dose):

==================  =====================================  =====================================
index               definition                             source
==================  =====================================  =====================================
coverage_<x>        V(x % Rx) of the target, % of TV       the x % isodose covers y % of the PTV
rx_isodose          100 · Rx / Dmax(global), %             the isodose line of the prescription
rtog_ci             PIV / TV                               Shaw et al., IJROBP 27:1231 (1993)
paddick_ci          TV_PIV² / (TV · PIV)                   Paddick, J Neurosurg 93 S3:219 (2000)
paddick_gi          PIV50% / PIV100%                       Paddick & Lippitz, J Neurosurg 105
                                                           Suppl:194 (2006)
r50                 PIV50% / TV                            RTOG 0813 / 0915
d2cm                max dose ≥ 2 cm from the PTV (Gy, %)   RTOG 0813 / 0915
hi_icru83           (D2% − D98%) / D50% of the target      ICRU Report 83 (2010)
==================  =====================================  =====================================

How the volumes are measured (one consistent model)
----------------------------------------------------
PIV, PIV50, TV and TV_PIV are counted on one fine lattice (cell step ``h``,
reported; the smaller of :data:`MAX_LATTICE_STEP_MM` and what :data:`MAX_LATTICE_POINTS`
allows over the region concerned) covering every place where the dose can reach 50 % Rx (one dose
voxel beyond the voxels at ≥ 50 % Rx, because trilinear interpolation never exceeds
its eight nodes) and the target. The dose at each lattice point is the trilinear
interpolant of the grid (the DVH engine's model; ``scipy.ndimage.map_coordinates``
with ``order=1``, z mapped to fractional frame indices);
inside/outside follows the structures' geometry as the DVH engine models it
(:func:`~rtcheck.dose.sampling.model_geometry`: the contour stack of
:mod:`rtcheck.dose.geometry`, even-odd polygons, the settings' end caps; or, with
``--geometry smooth``, the smooth model's thin slabs), so that TV is the DVH's volume.
Counting all four on the same points keeps
TV_PIV ≤ PIV and TV_PIV ≤ TV, so Paddick CI ≤ 1. With a Body/EXTERNAL structure,
PIV and PIV50 (and D2cm) only count points inside it; without one, the whole grid.

D2cm: the candidate dose-grid voxels are visited in descending dose; the first
whose centre is at least 20 mm from every PTV point is the answer. The PTV points
are its dose-voxel centres inside the PTV plus its contours densified to 1 mm
(nearest-neighbour distances with ``scipy.spatial.cKDTree``).

Coverage and HI use the target's DVH from the engine when given (the same curve
as every other metric), else the lattice.

Grid adequacy (``DOSE_GRID_COARSE``, WARNING; an rtcheck heuristic): a structure
whose equivalent-sphere diameter ``(6V/π)^(1/3)`` is below 3 × the largest dose-grid
spacing spans only a few voxels, so its DVH depends strongly on interpolation. For
SBRT targets, AAPM TG-101 (Benedict et al., Med Phys 37:4078, 2010) asks for a fine
calculation grid (2 mm or finer); a coarser grid gives ``DOSE_GRID_ABOVE_2MM`` (INFO).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.ndimage import map_coordinates
from scipy.spatial import cKDTree

from rtcheck.dicom.model import DoseGrid, FloatArray, Structure
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.geom_scanline import lattice_inside
from rtcheck.dose.geometry import StackGeometry
from rtcheck.dose.grid_adequacy import grid_adequacy_findings
from rtcheck.dose.index_guards import axis_bounds, inside_grid, truncated_indices
from rtcheck.dose.index_results import IndexResult, PlanIndices
from rtcheck.dose.metrics import MetricStatus
from rtcheck.dose.sampling import model_geometry
from rtcheck.dose.settings import DvhSettings
from rtcheck.findings import Finding, Severity

_DEC = 4
#: Size and coarsest step (mm) of the counting lattice (see the module docstring).
MAX_LATTICE_POINTS = 4_000_000
MAX_LATTICE_STEP_MM = 1.0
_BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

def _plane_polygons(geom: StackGeometry, z: float) -> tuple[FloatArray, ...] | None:
    """The polygons of the slabs holding height ``z``: slabs are half-open ``[lo, hi)``
    except the last of each run (a run: slabs ascending in z, each starting where the
    previous ends; the smooth model gives one run per group of chains, whose polygons
    never overlap another group's)."""
    slabs = geom.slabs
    polys: list[FloatArray] = []
    for i, slab in enumerate(slabs):
        run_end = i + 1 == len(slabs) or slabs[i + 1].lo_mm != slab.hi_mm
        if slab.lo_mm <= z < slab.hi_mm or (z == slab.hi_mm and run_end):
            polys.extend(slab.polygons)
    return tuple(polys) if polys else None


def _mask(geom: StackGeometry | None, z: float, x0: float, y0: float, hx: float, hy: float,
          nx: int, ny: int) -> _BoolArray | None:
    """In-plane mask (ny, nx) of the structure at ``z``; None when no geometry."""
    if geom is None:
        return None
    out = np.zeros((ny, nx), dtype=bool)
    polys = _plane_polygons(geom, z)
    if polys is not None:
        ix, iy = lattice_inside(polys, x0, y0, hx, hy, nx, ny)
        out[iy, ix] = True
    return out


def _frac_index(v: FloatArray, axis: FloatArray) -> FloatArray:
    """Fractional node index of positions ``v`` along an ascending axis (clamped)."""
    return np.interp(v, axis, np.arange(axis.size, dtype=np.float64))


def _lattice(grid: DoseGrid, ptv: StackGeometry, half_rx: float, max_points: int,
             max_step_mm: float) -> tuple[list[FloatArray], float]:
    """Axes of the counting lattice: cell centres covering the ≥50 % Rx region and the PTV."""
    axes = (grid.x_mm, grid.y_mm, grid.z_mm)
    hot = np.argwhere(grid.dose_gy >= half_rx)  # (k, j, i)
    e = ptv.extent_mm
    lo = [e[0], e[2], e[4]]
    hi = [e[1], e[3], e[5]]
    if hot.size:
        for dim, a in enumerate(axes):
            idx = hot[:, 2 - dim]
            lo[dim] = min(lo[dim], float(a[max(idx.min() - 1, 0)]))
            hi[dim] = max(hi[dim], float(a[min(idx.max() + 1, a.size - 1)]))
    bounds = [axis_bounds(a) for a in axes]
    lo = [max(v, b[0]) for v, b in zip(lo, bounds, strict=True)]
    hi = [min(v, b[1]) for v, b in zip(hi, bounds, strict=True)]
    size = [max(h - lw, 1e-6) for lw, h in zip(lo, hi, strict=True)]
    h = min(max_step_mm, max((size[0] * size[1] * size[2] / max_points) ** (1 / 3), 0.05))
    out = []
    for lw, s in zip(lo, size, strict=True):
        n = max(math.ceil(s / h), 1)
        out.append(lw + (np.arange(n) + 0.5) * h)
    return out, h


def _count(grid: DoseGrid, ptv: StackGeometry, body: StackGeometry | None, rx: float,
           max_points: int, max_step_mm: float) -> tuple[dict[str, float], FloatArray, float]:
    (xs, ys, zs), h = _lattice(grid, ptv, 0.5 * rx, max_points, max_step_mm)
    nx, ny = xs.size, ys.size
    fi, fj = np.meshgrid(_frac_index(xs, grid.x_mm), _frac_index(ys, grid.y_mm))
    fk = _frac_index(zs, grid.z_mm)
    n = dict.fromkeys(("tv", "tv_piv", "piv", "piv50"), 0)
    ptv_doses: list[FloatArray] = []
    for z, k in zip(zs, fk, strict=True):
        coords = np.stack((np.full(fi.size, k), fj.ravel(), fi.ravel()))
        dose = map_coordinates(grid.dose_gy, coords, order=1, mode="nearest").reshape(ny, nx)
        in_ptv = _mask(ptv, float(z), xs[0], ys[0], h, h, nx, ny)
        in_body = _mask(body, float(z), xs[0], ys[0], h, h, nx, ny)
        assert in_ptv is not None
        keep = np.ones_like(in_ptv) if in_body is None else in_body
        n["piv"] += int(np.count_nonzero((dose >= rx) & keep))
        n["piv50"] += int(np.count_nonzero((dose >= 0.5 * rx) & keep))
        n["tv"] += int(np.count_nonzero(in_ptv))
        n["tv_piv"] += int(np.count_nonzero(in_ptv & (dose >= rx)))
        ptv_doses.append(dose[in_ptv])
    cell_cc = h**3 / 1000.0
    return {k: v * cell_cc for k, v in n.items()}, np.concatenate(ptv_doses), h


def _densify(polygons: tuple[FloatArray, ...], step_mm: float) -> FloatArray:
    """Points along every polygon edge at most ``step_mm`` apart, shape (m, 2)."""
    out = [np.zeros((0, 2))]
    for p in polygons:
        q = np.roll(p, -1, axis=0)
        for a, b in zip(p, q, strict=True):
            n = max(math.ceil(float(np.hypot(*(b - a))) / step_mm), 1)
            t = np.arange(n)[:, None] / n
            out.append(a + t * (b - a))
    return np.concatenate(out)


def _d2cm(grid: DoseGrid, ptv: StackGeometry, body: StackGeometry | None,
          distance_mm: float = 20.0) -> tuple[float | None, float | None]:
    """(dose Gy, distance mm) of the hottest voxel ≥ ``distance_mm`` from the PTV."""
    dx, dy, _ = grid.spacing_mm
    nx, ny = grid.x_mm.size, grid.y_mm.size
    pts: list[FloatArray] = []
    candidates = np.ones(grid.shape, dtype=bool)
    for k, z in enumerate(grid.z_mm):
        m = _mask(ptv, float(z), grid.x_mm[0], grid.y_mm[0], dx, dy, nx, ny)
        assert m is not None
        if m.any():
            j, i = np.nonzero(m)
            pts.append(np.column_stack((grid.x_mm[i], grid.y_mm[j], np.full(i.size, z))))
        b = _mask(body, float(z), grid.x_mm[0], grid.y_mm[0], dx, dy, nx, ny)
        if b is not None:
            candidates[k] &= b
    for slab in ptv.slabs:
        xy = _densify(slab.polygons, 1.0)
        for zz in (slab.lo_mm, slab.z_mm, slab.hi_mm):
            pts.append(np.column_stack((xy, np.full(xy.shape[0], zz))))
    tree = cKDTree(np.concatenate(pts))
    flat = np.flatnonzero(candidates.ravel())
    order = flat[np.argsort(-grid.dose_gy.ravel()[flat], kind="stable")]
    for s in range(0, order.size, 20_000):
        idx = order[s : s + 20_000]
        kk, jj, ii = np.unravel_index(idx, grid.shape)
        q = np.column_stack((grid.x_mm[ii], grid.y_mm[jj], grid.z_mm[kk]))
        dist, _ = tree.query(q, distance_upper_bound=distance_mm)
        far = np.flatnonzero(~np.isfinite(dist))
        if far.size:
            first = far[0]
            d_true, _ = tree.query(q[first])
            return float(grid.dose_gy.ravel()[idx[first]]), float(d_true)
    return None, None


_HEADLINE_KEYS = ("rtog_ci", "paddick_ci", "paddick_gi", "r50", "d2cm", "hi_icru83")


def _all_not_evaluated(ptv: Structure, prescription_gy: float, why: str,
                       findings: tuple[Finding, ...] = ()) -> PlanIndices:
    """The indices of a target that cannot be evaluated at all: every one NOT EVALUATED."""
    return PlanIndices(ptv.name, prescription_gy, 0.0, None, tuple(
        IndexResult(k, None, "", MetricStatus.NOT_EVALUATED, why) for k in _HEADLINE_KEYS),
        findings)


def _ratio(key: str, num: float, den: float, why: str) -> IndexResult:
    """``num / den``, or NOT EVALUATED with ``why`` when ``den`` is not positive."""
    if den > 0:
        return IndexResult(key, num / den, "")
    return IndexResult(key, None, "", MetricStatus.NOT_EVALUATED, why)


def _coverage(curve: CumulativeDVH | None, levels_percent: tuple[float, ...],
              prescription_gy: float) -> list[IndexResult]:
    """Target coverage (% of TV) by each isodose level (% of Rx)."""
    out = []
    for level in levels_percent:
        key = f"coverage_{level:g}"
        if curve is None:
            out.append(IndexResult(key, None, "%", MetricStatus.NOT_EVALUATED, "no target DVH"))
        else:
            out.append(IndexResult(key, curve.volume_at_dose_percent(level / 100 * prescription_gy),
                                   "%"))
    return out


def _volume_ratios(counts: dict[str, float], dmax: float,
                   prescription_gy: float) -> list[IndexResult]:
    """The Rx isodose level and the conformity and gradient ratios of the lattice volumes."""
    tv, tv_piv, piv, piv50 = counts["tv"], counts["tv_piv"], counts["piv"], counts["piv50"]
    return [
        IndexResult("rx_isodose", 100.0 * prescription_gy / dmax if dmax > 0 else None, "%",
                    MetricStatus.EVALUATED if dmax > 0 else MetricStatus.NOT_EVALUATED,
                    "" if dmax > 0 else "the dose grid is all zero"),
        _ratio("rtog_ci", piv, tv, "the target volume is zero"),
        _ratio("paddick_ci", tv_piv**2, tv * piv, "no prescription isodose volume (PIV = 0)"),
        _ratio("paddick_gi", piv50, piv, "no prescription isodose volume (PIV = 0)"),
        _ratio("r50", piv50, tv, "the target volume is zero"),
    ]


def _d2cm_results(d2cm: float | None, dist: float | None,
                  prescription_gy: float) -> list[IndexResult]:
    """D2cm in % of Rx and in Gy (NOT EVALUATED when no voxel is 2 cm from the PTV)."""
    if d2cm is None:
        why = "no dose voxel is 2 cm or more from the PTV (the dose grid is too small)"
        return [IndexResult("d2cm", None, "% of Rx", MetricStatus.NOT_EVALUATED, why),
                IndexResult("d2cm_gy", None, "Gy", MetricStatus.NOT_EVALUATED, why)]
    at = f"voxel {dist:.1f} mm from the PTV"
    return [IndexResult("d2cm", 100.0 * d2cm / prescription_gy, "% of Rx", message=at),
            IndexResult("d2cm_gy", d2cm, "Gy", message=at)]


def _homogeneity(curve: CumulativeDVH | None) -> IndexResult:
    """The ICRU 83 homogeneity index (D2% − D98%) / D50% of the target DVH."""
    if curve is None or curve.dose_at_percent_gy(50.0) <= 0:
        return IndexResult("hi_icru83", None, "", MetricStatus.NOT_EVALUATED,
                           "no target DVH or D50% = 0")
    hi = (curve.dose_at_percent_gy(2.0) - curve.dose_at_percent_gy(98.0)) / \
        curve.dose_at_percent_gy(50.0)
    return IndexResult("hi_icru83", hi, "")


def _findings(grid: DoseGrid, ptv: Structure, geom: StackGeometry, tv: float,
              cut: dict[str, str], body: Structure | None,
              body_geom: StackGeometry | None) -> list[Finding]:
    """Warnings on the computed indices: truncated isodoses, grid, target volume, body."""
    findings: list[Finding] = []
    if cut:
        findings.append(Finding("INDEX_ISODOSE_OUTSIDE_GRID", Severity.WARNING,
                                "; ".join(sorted(set(cut.values()))), subject=ptv.name))
    findings.extend(grid_adequacy_findings(ptv.name, geom.volume_cc, grid, is_target=True))
    if geom.volume_cc > 0 and abs(tv - geom.volume_cc) > 0.05 * geom.volume_cc:
        findings.append(Finding(
            "INDEX_TARGET_VOLUME_MISMATCH", Severity.WARNING,
            f"the lattice target volume {tv:.4g} cc differs from the contour volume "
            f"{geom.volume_cc:.4g} cc by more than 5 % (target partly outside the dose grid?): "
            "the indices describe the in-grid part", subject=ptv.name))
    if body is not None and body_geom is None:
        findings.append(Finding("INDEX_BODY_EMPTY", Severity.WARNING,
                                f"{body.name} has no contours: PIV counted over the whole grid",
                                subject=ptv.name))
    return findings


def compute_indices(
    grid: DoseGrid,
    ptv: Structure,
    prescription_gy: float,
    *,
    ptv_dvh: CumulativeDVH | None = None,
    body: Structure | None = None,
    coverage_levels_percent: tuple[float, ...] = (100.0,),
    settings: DvhSettings | None = None,
    default_plane_spacing_mm: float | None = None,
) -> PlanIndices:
    """Every index of :data:`DEFINITIONS` for one target (see the module docstring).

    Parameters
    ----------
    grid
        The total dose.
    ptv
        The target.
    prescription_gy
        The prescription dose (Gy, > 0).
    ptv_dvh
        The target's DVH for coverage and homogeneity (default: from the lattice).
    body
        The body contour: PIV and D2cm are counted inside it.
    coverage_levels_percent
        Isodose levels (% of Rx) whose target coverage is reported.
    settings, default_plane_spacing_mm
        The DVH settings and single-plane slab thickness (mm) of the structures' geometry
        (:func:`~rtcheck.dose.sampling.model_geometry`): the indices count on the same
        shape as the DVHs (geometry model, end caps).

    Returns
    -------
    PlanIndices
        Every index, NOT EVALUATED with the reason when it cannot be computed.
    """
    if not prescription_gy > 0:
        raise ValueError("the prescription dose must be positive")
    if not ptv.contours:
        return _all_not_evaluated(ptv, prescription_gy, "the target has no contours")
    geom = model_geometry(ptv, grid, settings, default_plane_spacing_mm)
    if not inside_grid(grid, geom):  # see rtcheck.dose.index_guards
        why = ("the target extends beyond the dose grid: its indices are unknown; extend the "
               "dose grid")
        return _all_not_evaluated(ptv, prescription_gy, why, (
            Finding("INDEX_TARGET_OUTSIDE_GRID", Severity.ERROR, why, subject=ptv.name),))
    body_geom = (model_geometry(body, grid, settings, default_plane_spacing_mm)
                 if body is not None and body.contours else None)
    counts, ptv_doses, h = _count(grid, geom, body_geom, prescription_gy, MAX_LATTICE_POINTS,
                                  MAX_LATTICE_STEP_MM)
    curve = ptv_dvh
    if curve is None and ptv_doses.size:
        curve = CumulativeDVH.from_samples(ptv_doses, np.full(ptv_doses.size, h**3 / 1000.0))
    d2cm, dist = _d2cm(grid, geom, body_geom)
    res = [*_coverage(curve, coverage_levels_percent, prescription_gy),
           *_volume_ratios(counts, grid.max_dose_gy, prescription_gy),
           *_d2cm_results(d2cm, dist, prescription_gy), _homogeneity(curve),
           *(IndexResult(f"{k}_cc", counts[k], "cc") for k in ("tv", "piv", "piv50", "tv_piv"))]
    cut = truncated_indices(grid, body_geom, prescription_gy, d2cm)
    res = [IndexResult(r.key, None, r.unit, MetricStatus.NOT_EVALUATED, cut[r.key])
           if r.key in cut else r for r in res]
    findings = _findings(grid, ptv, geom, counts["tv"], cut, body, body_geom)
    restricted = body.name if body is not None and body_geom is not None else None
    return PlanIndices(ptv.name, prescription_gy, h, restricted, tuple(res), tuple(findings))
