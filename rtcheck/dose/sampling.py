"""Volume sampling of a structure and dose look-up: the input of every DVH.

Method
------
The structure is the contour-defined stack of prisms of
:mod:`rtcheck.dose.geometry` (exact volume, end caps, non-uniform spacing,
gaps). For one structure of volume ``V``:

1. **Sub-voxel step** ``h = (V / n)^(1/3)`` from
   :meth:`~rtcheck.dose.settings.DvhSettings.sample_step_mm` (adaptive: small
   structures are sampled finely, independent of the dose grid).
2. **In-plane points**: on every contour plane, the nodes of a lattice of step
   ``h`` (finer for tiny planes, at least ``min_plane_samples`` points) inside
   the even-odd union of the plane's polygons (scan-line fill,
   :func:`~rtcheck.dose.geom_scanline.lattice_inside`), cropped to the plane's
   bounding box.
3. **Between planes**: the slab ``[lo, hi]`` of the plane is split into
   ``ceil((hi - lo) / h)`` sub-planes; the in-plane points are repeated at the
   sub-plane mid-points (the prism's section is constant within its slab). The
   end caps are thus sampled like any other part of the volume.
4. **Weights**: every sample of a plane carries ``A (hi - lo) / N`` with ``A``
   the exact even-odd area and ``N`` the plane's sample count, so the weights of
   a fully covered structure add up to its exact contour volume (the counting
   error of the lattice does not bias the volume).
5. **Dose**: trilinear interpolation of the dose grid
   (:mod:`rtcheck.dose.sample_grid`); points farther than half a voxel outside
   the grid get no dose and their volume is reported.
6. **Dmin / Dmax**: the trilinear interpolant is multilinear in each voxel, so
   it has no strict interior extremum (maximum principle); its extremes over
   the structure lie at dose-grid nodes inside the structure or on the
   structure's surface. rtcheck therefore takes Dmin/Dmax over the samples, the
   dose-grid nodes inside each slab, and points along every contour edge
   (spacing ``edge_step_fraction`` × in-plane dose spacing) on both faces of
   each slab (end caps included) and on every dose frame crossing the slab.

References
----------
Nelms BE et al. Methods, software and datasets to verify DVH calculations
against analytical values. Med Phys 2015;42(8):4435-4448.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rtcheck.dicom.model import DoseGrid, FloatArray, Structure
from rtcheck.dose.geom_scanline import densify_edges, lattice_inside
from rtcheck.dose.geometry import PlaneSlab, StackGeometry, stack_geometry
from rtcheck.dose.sample_grid import GridSampler
from rtcheck.dose.settings import DvhSettings
from rtcheck.findings import Finding, Severity


@dataclass(frozen=True)
class StructureSamples:
    """Volume-weighted dose samples of one structure (the in-grid part).

    Attributes
    ----------
    dose_gy
        Trilinearly interpolated dose at each sample point (Gy), read-only.
    weight_cc
        Volume represented by each sample (cc), positive, same length as
        ``dose_gy``; ``weight_cc.sum() == in_grid_volume_cc``. Use these two
        arrays to recompute voxel-by-voxel quantities (BED, EQD2).
    volume_cc
        Exact structure volume from the contours (cc), whatever the dose grid.
    in_grid_volume_cc
        The part of ``volume_cc`` covered by the dose grid (cc).
    outside_volume_cc
        The part outside the dose grid (cc), not sampled for dose.
    step_mm
        The structure's sub-voxel sample step (mm).
    dmin_gy, dmax_gy
        Extremes of the interpolated dose over the in-grid structure, including
        its surface and end caps (Gy); ``None`` when nothing is in the grid.
    findings
        Geometry and grid-coverage findings (``STRUCTURE_CONTOUR_GAP``,
        ``STRUCTURE_SINGLE_PLANE``, ``STRUCTURE_ZERO_VOLUME``,
        ``STRUCTURE_OUTSIDE_DOSE_GRID``).
    """

    dose_gy: FloatArray
    weight_cc: FloatArray
    volume_cc: float
    in_grid_volume_cc: float
    outside_volume_cc: float
    step_mm: float
    dmin_gy: float | None
    dmax_gy: float | None
    findings: tuple[Finding, ...] = field(default=())

    def __post_init__(self) -> None:
        dose = np.asarray(self.dose_gy, dtype=np.float64)
        weight = np.asarray(self.weight_cc, dtype=np.float64)
        if dose.ndim != 1 or dose.shape != weight.shape:
            raise ValueError("dose_gy and weight_cc must be 1-D arrays of equal length")
        dose.setflags(write=False)
        weight.setflags(write=False)
        object.__setattr__(self, "dose_gy", dose)
        object.__setattr__(self, "weight_cc", weight)

    @property
    def n_samples(self) -> int:
        return int(self.dose_gy.size)

    @property
    def outside_fraction(self) -> float:
        """Fraction of the contour volume outside the dose grid (0..1)."""
        return self.outside_volume_cc / self.volume_cc if self.volume_cc > 0 else 0.0


@dataclass
class _Accumulator:
    doses: list[FloatArray] = field(default_factory=list)
    weights: list[FloatArray] = field(default_factory=list)
    outside_mm3: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf

    def extremes(self, values: FloatArray) -> None:
        if values.size:
            self.lo = min(self.lo, float(values.min()))
            self.hi = max(self.hi, float(values.max()))


def _plane_points(
    slab: PlaneSlab, anchor: tuple[float, float], h: float, min_points: int
) -> tuple[FloatArray, FloatArray]:
    """In-plane sample positions (mm) of one contour plane."""
    hk = min(h, math.sqrt(slab.area_mm2 / min_points)) if slab.area_mm2 > 0 else h
    pts = np.concatenate(slab.polygons)
    lo = pts.min(axis=0)
    hi = pts.max(axis=0)
    origin = [anchor[a] + (math.floor((lo[a] - anchor[a]) / hk) + 0.5) * hk for a in (0, 1)]
    n = [math.ceil((hi[a] - origin[a]) / hk) + 1 for a in (0, 1)]
    ix, iy = lattice_inside(slab.polygons, origin[0], origin[1], hk, hk, n[0], n[1])
    if ix.size == 0:  # sliver below the lattice resolution: its vertices stand in
        return pts[:, 0].copy(), pts[:, 1].copy()
    return origin[0] + ix * hk, origin[1] + iy * hk


def _sample_slab(
    slab: PlaneSlab,
    sampler: GridSampler,
    anchor: tuple[float, float],
    h: float,
    settings: DvhSettings,
    acc: _Accumulator,
) -> None:
    """Sample one slab: dose samples, outside volume and dose extremes."""
    if slab.area_mm2 <= 0 or slab.thickness_mm <= 0:
        return
    xs, ys = _plane_points(slab, anchor, h, settings.min_plane_samples)
    nz_sub = max(1, math.ceil(slab.thickness_mm / h - 1e-9))
    zs = slab.lo_mm + (np.arange(nz_sub) + 0.5) * (slab.thickness_mm / nz_sub)
    w_mm3 = slab.volume_mm3 / (xs.size * nz_sub)
    in_xy = sampler.inside_xy(xs, ys)
    in_z = sampler.inside_z(zs)
    n_xy, n_z = int(in_xy.sum()), int(in_z.sum())
    acc.outside_mm3 += w_mm3 * (xs.size * nz_sub - n_xy * n_z)
    if n_xy == 0 or n_z == 0:
        return
    interp = sampler.plane(xs[in_xy], ys[in_xy])
    k0s, ts = sampler.z_weights(zs[in_z])
    for k0, t in zip(k0s.tolist(), ts.tolist(), strict=True):
        dose = interp.at_z(k0, t)
        acc.doses.append(dose)
        acc.extremes(dose)
    acc.weights.append(np.full(n_xy * n_z, w_mm3 / 1000.0))
    _slab_extremes(slab, sampler, settings, acc)


def _slab_extremes(
    slab: PlaneSlab, sampler: GridSampler, settings: DvhSettings, acc: _Accumulator
) -> None:
    """Dose at grid nodes inside the slab and on its surface (maximum principle)."""
    g = sampler.grid
    zb0, zb1 = sampler.z_bounds
    z_lo, z_hi = max(slab.lo_mm, zb0), min(slab.hi_mm, zb1)
    frames = np.flatnonzero((g.z_mm >= z_lo) & (g.z_mm <= z_hi))
    pts = np.concatenate(slab.polygons)
    if frames.size:
        i_a = int(np.searchsorted(g.x_mm, pts[:, 0].min()))
        i_b = int(np.searchsorted(g.x_mm, pts[:, 0].max(), side="right"))
        j_a = int(np.searchsorted(g.y_mm, pts[:, 1].min()))
        j_b = int(np.searchsorted(g.y_mm, pts[:, 1].max(), side="right"))
        if i_b > i_a and j_b > j_a:
            dx = float(g.x_mm[1] - g.x_mm[0]) if g.x_mm.size > 1 else 1.0
            dy = float(g.y_mm[1] - g.y_mm[0]) if g.y_mm.size > 1 else 1.0
            ix, iy = lattice_inside(
                slab.polygons, float(g.x_mm[i_a]), float(g.y_mm[j_a]), dx, dy, i_b - i_a, j_b - j_a
            )
            if ix.size:
                acc.extremes(g.dose_gy[frames][:, iy + j_a, ix + i_a])
    spacing = [s for s in g.spacing_mm[:2] if s > 0]
    step = settings.edge_step_fraction * (min(spacing) if spacing else 1.0)
    edge = densify_edges(slab.polygons, step)
    keep = sampler.inside_xy(edge[:, 0], edge[:, 1])
    if not keep.any():
        return
    interp = sampler.plane(edge[keep, 0], edge[keep, 1])
    zs = np.concatenate(([z_lo, z_hi], g.z_mm[frames]))
    k0s, ts = sampler.z_weights(zs)
    for k0, t in zip(k0s.tolist(), ts.tolist(), strict=True):
        acc.extremes(interp.at_z(k0, t))


def _outside_finding(name: str, outside_cc: float, volume_cc: float) -> Finding:
    fraction = outside_cc / volume_cc
    extent = "entirely" if fraction >= 1 - 1e-9 else f"{100 * fraction:.2f} % ({outside_cc:.4g} cc)"
    return Finding(
        "STRUCTURE_OUTSIDE_DOSE_GRID", Severity.ERROR,
        f"{extent} of the structure lies outside the dose grid (more than half a voxel beyond "
        "its edge); the DVH covers only the part inside, so every metric of this structure is "
        "flagged: extend the dose calculation volume", subject=name)


def sample_structure(
    structure: Structure,
    grid: DoseGrid,
    settings: DvhSettings | None = None,
    default_plane_spacing_mm: float | None = None,
    geometry: StackGeometry | None = None,
) -> StructureSamples:
    """Sample the volume of ``structure`` and interpolate the dose there.

    Parameters
    ----------
    structure
        A structure with at least one contour (raises ``ValueError`` otherwise).
    grid
        The dose grid (Gy).
    settings
        Sampling settings (default :class:`DvhSettings`).
    default_plane_spacing_mm
        Slab thickness for a single-plane structure when
        ``settings.default_plane_spacing_mm`` is ``None``; falls back to the
        dose grid's z spacing (or 3 mm for a single-frame grid).
    geometry
        A precomputed :func:`~rtcheck.dose.geometry.stack_geometry` (optional).

    Returns
    -------
    StructureSamples
        See the module docstring for the method.
    """
    settings = settings or DvhSettings()
    if not structure.contours:
        raise ValueError(f"structure {structure.name!r} has no contours to sample")
    if geometry is None:
        spacing = settings.default_plane_spacing_mm or default_plane_spacing_mm
        if spacing is None:
            spacing = grid.spacing_mm[2] if grid.z_mm.size > 1 else 3.0
        geometry = stack_geometry(structure, settings.end_cap, settings.gap_factor, spacing)
    findings = list(geometry.findings)
    volume_cc = geometry.volume_cc
    h = settings.sample_step_mm(volume_cc)
    sampler = GridSampler(grid)
    acc = _Accumulator()
    anchor = (geometry.extent_mm[0], geometry.extent_mm[2])
    for slab in geometry.slabs:
        _sample_slab(slab, sampler, anchor, h, settings, acc)
    dose = np.concatenate(acc.doses) if acc.doses else np.zeros(0)
    weight = np.concatenate(acc.weights) if acc.weights else np.zeros(0)
    in_grid = float(weight.sum())
    outside_cc = acc.outside_mm3 / 1000.0
    if volume_cc <= 0:
        findings.append(Finding(
            "STRUCTURE_ZERO_VOLUME", Severity.ERROR,
            "the contours enclose no volume (degenerate contours, or a single plane without "
            "end caps): no DVH", subject=structure.name))
    elif outside_cc > 1e-9 * volume_cc:
        findings.append(_outside_finding(structure.name, outside_cc, volume_cc))
    has_dose = dose.size > 0
    return StructureSamples(
        dose_gy=dose,
        weight_cc=weight,
        volume_cc=volume_cc,
        in_grid_volume_cc=in_grid,
        outside_volume_cc=outside_cc,
        step_mm=h,
        dmin_gy=acc.lo if has_dose else None,
        dmax_gy=acc.hi if has_dose else None,
        findings=tuple(findings),
    )
