"""Volume sampling of a structure and dose look-up: the input of every DVH.

Method
------
The structure is the contour-defined stack of prisms of
:mod:`rtcheck.dose.geometry` (exact volume, end caps, non-uniform spacing,
gaps). For one structure of volume ``V``:

1. **Sub-voxel step** ``h = (V / n)^(1/3)`` from
   :meth:`~rtcheck.dose.settings.DvhSettings.sample_step_mm` (adaptive: small
   structures are sampled finely, independent of the dose grid).
2. **Between planes**: the slab ``[lo, hi]`` of every contour plane is split
   into ``ceil((hi - lo) / h)`` sub-slabs (the prism's section is constant
   within its slab). The end caps are sampled like any other part of the
   volume.
3. **In-plane** (:func:`~rtcheck.dose.geom_scanline.strip_samples`): each
   sub-slab's section (the even-odd union of the plane's polygons) is cut into
   row strips; each row's inside intervals are integrated exactly along x and
   carry the nodes of a sheared lattice (:data:`ANISOTROPY`). Every sub-slab
   has its own row and column offsets (golden-ratio fractions) and its samples
   sit at stratified heights (R2 low-discrepancy sequence, Roberts 2018), so
   that no two samples share a position along any axis: linear dose gradients
   along x, y or z do not turn the DVH into a staircase.
4. **Weights**: the samples of a sub-slab carry its exact volume
   ``A (hi - lo) / n`` (``A`` the exact even-odd area) in proportion to their
   strip areas, so the weights of a fully covered structure add up to its
   exact contour volume.
5. **Dose**: trilinear interpolation of the dose grid
   (:mod:`rtcheck.dose.sample_grid`); points farther than half a voxel outside
   the grid get no dose and their volume is reported.
6. **Dmin / Dmax**: exact extremes of the interpolated dose over the in-grid
   structure, end caps included (maximum principle; see
   :mod:`rtcheck.dose.sample_extremes`).

The samples are returned sorted by descending dose.

References
----------
Nelms BE et al. Methods, software and datasets to verify DVH calculations
against analytical values. Med Phys 2015;42(8):4435-4448.

Roberts M. The unreasonable effectiveness of quasirandom sequences (R2
sequence from the plastic number), 2018.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rtcheck.dicom.model import DoseGrid, FloatArray, Structure
from rtcheck.dose.geom_scanline import Edges, ragged_ranges, strip_samples
from rtcheck.dose.geometry import PlaneSlab, StackGeometry, stack_geometry
from rtcheck.dose.sample_extremes import Sides, slab_extremes
from rtcheck.dose.sample_grid import GridSampler
from rtcheck.dose.settings import DvhSettings, Geometry
from rtcheck.findings import Finding, Severity


@dataclass(frozen=True)
class StructureSamples:
    """Volume-weighted dose samples of one structure (the in-grid part).

    Attributes
    ----------
    dose_gy
        Trilinearly interpolated dose at each sample point (Gy), read-only,
        sorted by descending dose.
    weight_cc
        Volume represented by each sample (cc), positive, same length as
        ``dose_gy``; ``weight_cc.sum() == in_grid_volume_cc``. Use these two
        arrays to recompute voxel-by-voxel quantities (BED, EQD2).
    volume_cc
        Exact structure volume from the contours (cc), whatever the dose grid
        (strip-integrated on planes whose contours cross).
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
        ``STRUCTURE_SINGLE_PLANE``, ``STRUCTURE_CONTOURS_CROSS``,
        ``STRUCTURE_ZERO_VOLUME``, ``STRUCTURE_OUTSIDE_DOSE_GRID``).
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


#: In-plane lattice anisotropy: rows ``m`` times closer than the step, columns
#: ``m`` times farther apart (same density), each row shifted by a golden-ratio
#: fraction of the column step (a Kronecker lattice). Close rows resolve the
#: section's shape finely along y (strip integration); the row shifts spread the
#: samples along x.
ANISOTROPY = 4
_GOLDEN = 0.6180339887498949
_PLASTIC = 0.7548776662466927  # 1/ψ and 1/ψ² (ψ plastic number): the R2 sequence
_PLASTIC2 = 0.5698402909980532
#: Relative difference between the strip-integrated and the shoelace area of a
#: section above which its contours are taken as crossing (see _volume_points).
AREA_MISMATCH = 0.05


@dataclass(frozen=True)
class _Planes:
    """Per-plane arrays of the slabs with volume (lo/hi/thickness in mm, area mm²)."""

    lo: FloatArray
    hi: FloatArray
    area: FloatArray
    edges: Edges
    bbox: FloatArray  # (P, 4): xmin, xmax, ymin, ymax

    @classmethod
    def of(cls, slabs: list[PlaneSlab]) -> _Planes:
        edges = Edges.of_planes([s.polygons for s in slabs])
        start = np.searchsorted(edges.plane, np.arange(len(slabs)))
        bbox = np.column_stack((
            np.minimum.reduceat(edges.x0, start), np.maximum.reduceat(edges.x0, start),
            np.minimum.reduceat(edges.y0, start), np.maximum.reduceat(edges.y0, start)))
        return cls(np.array([s.lo_mm for s in slabs]), np.array([s.hi_mm for s in slabs]),
                   np.array([s.area_mm2 for s in slabs]), edges, bbox)


def _volume_points(
    pl: _Planes, anchor: tuple[float, float], h: float, min_plane_samples: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Sample positions ``(x, y, z)`` (mm) and volumes (mm³) filling the slabs.

    Slab ``p`` is cut into ``n_p = ceil(t_p / h)`` sub-slabs of thickness
    ``τ_p``. Every sub-slab's section is sampled strip by strip
    (:func:`~rtcheck.dose.geom_scanline.strip_samples`) on its own lattice
    (rows and columns offset by golden-ratio fractions, so that no two
    sub-slabs share rows: a dose gradient along y or x is seen at many distinct
    positions), with density ``τ_p / h³`` (every structure gets about ``V / h³``
    samples; at least ``min_plane_samples`` per section), its areas scaled to
    the exact section area. Sample ``i`` of sub-slab ``j`` sits at the
    stratified height ``lo_p + (j + frac(i / ψ)) τ_p`` (ψ: plastic number).

    A section whose strip-integrated area differs from its shoelace area by more
    than :data:`AREA_MISMATCH` (plus the strip rule's own error, half a row at
    both ends) has crossing or self-intersecting contours (the
    shoelace formula then no longer gives the even-odd area): the strip area,
    which follows the even-odd rule, is used instead. Returns the positions,
    the volumes and the section areas used (mm²).
    """
    thick = pl.hi - pl.lo
    n_sub = np.maximum(np.ceil(thick / h - 1e-9), 1).astype(np.intp)
    tau = thick / n_sub
    # virtual planes: one per sub-slab, each with a copy of its plane's edges
    parent = np.repeat(np.arange(n_sub.size), n_sub)
    first = np.cumsum(n_sub) - n_sub
    sub = np.arange(parent.size) - first[parent]
    e = pl.edges
    owner, j = ragged_ranges(np.zeros(e.plane.size, dtype=np.intp), n_sub[e.plane])
    edges = Edges(e.x0[owner], e.y0[owner], e.x1[owner], e.y1[owner], first[e.plane[owner]] + j)
    box = (pl.bbox[:, 1] - pl.bbox[:, 0]) * (pl.bbox[:, 3] - pl.bbox[:, 2])
    area_guess = np.where(pl.area > 0, pl.area, box / 2)
    hk = np.minimum(np.sqrt(h**3 / tau), np.sqrt(area_guess / min_plane_samples))[parent]
    hx, hy = hk * ANISOTROPY, hk / ANISOTROPY
    v = np.arange(parent.size)
    oy = anchor[1] + (np.floor((pl.bbox[parent, 2] - anchor[1]) / hy) + np.mod(v * _GOLDEN, 1)) * hy
    ox = anchor[0] + np.mod(v * _PLASTIC2, 1.0) * hx
    ny = (np.ceil((pl.bbox[parent, 3] - oy) / hy) + 1).astype(np.intp)
    vp, x, y, a = strip_samples(edges, ox, oy, hx, hy, ny, _GOLDEN)
    total = np.bincount(vp, weights=a, minlength=parent.size)
    empty = total <= 0
    if empty.any():  # slivers between two rows: their vertices stand in
        sliver = empty[edges.plane]
        x = np.concatenate((x, edges.x0[sliver]))
        y = np.concatenate((y, edges.y0[sliver]))
        vp = np.concatenate((vp, edges.plane[sliver]))
        a = np.concatenate((a, np.ones(int(sliver.sum()))))
        total = np.bincount(vp, weights=a, minlength=parent.size)
    strip = np.bincount(parent, weights=np.where(empty, 0.0, total)) / n_sub
    # the strip rule errs by up to half a row at both ends of the section
    rows_error = 2.0 * hy[first] * (pl.bbox[:, 1] - pl.bbox[:, 0])
    crossing = np.abs(strip - pl.area) > AREA_MISMATCH * np.maximum(strip, pl.area) + rows_error
    area = np.where(crossing & (strip > 0), strip, pl.area)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, (area * tau)[parent] / total, 0.0)
    p = parent[vp]
    z = pl.lo[p] + (sub[vp] + np.mod(np.arange(1, vp.size + 1) * _PLASTIC, 1.0)) * tau[p]
    w = a * scale[vp]
    keep = w > 0
    return x[keep], y[keep], z[keep], w[keep], area


def _crossing_finding(name: str, planes: list[float]) -> Finding:
    shown = ", ".join(f"{z:.2f}" for z in planes[:5]) + (" ..." if len(planes) > 5 else "")
    return Finding(
        "STRUCTURE_CONTOURS_CROSS", Severity.WARNING,
        f"contours cross themselves or each other on {len(planes)} plane(s) (z = {shown} mm): "
        "their even-odd area was measured by strip integration; check the contours",
        subject=name)


def _outside_finding(name: str, outside_cc: float, volume_cc: float) -> Finding:
    fraction = outside_cc / volume_cc
    extent = "entirely" if fraction >= 1 - 1e-9 else f"{100 * fraction:.2f} % ({outside_cc:.4g} cc)"
    return Finding(
        "STRUCTURE_OUTSIDE_DOSE_GRID", Severity.ERROR,
        f"{extent} of the structure lies outside the dose grid (more than half a voxel beyond "
        "its edge); the DVH covers only the part inside, so every metric of this structure is "
        "flagged: extend the dose calculation volume", subject=name)


@dataclass(frozen=True)
class _InGrid:
    """The dose samples of a structure's slabs that lie in the grid, and what was learnt."""

    dose: FloatArray  #: Gy, descending
    weight: FloatArray  #: cc, one per dose sample
    outside_mm3: float = 0.0
    dmin: float = math.inf
    dmax: float = -math.inf
    extra_volume_cc: float = 0.0  #: strip-integrated minus shoelace volume (crossing contours)
    findings: tuple[Finding, ...] = ()


def _geometry(structure: Structure, grid: DoseGrid, settings: DvhSettings,
              default_plane_spacing_mm: float | None) -> StackGeometry:
    """The structure's stack of prisms, with the single-plane slab thickness resolved."""
    spacing = settings.default_plane_spacing_mm or default_plane_spacing_mm
    if spacing is None:
        spacing = grid.spacing_mm[2] if grid.z_mm.size > 1 else 3.0
    return stack_geometry(structure, settings.end_cap, settings.gap_factor, spacing)


def _model(structure: Structure, stacked: StackGeometry, settings: DvhSettings, h: float
           ) -> tuple[StackGeometry, tuple[Finding, ...]]:
    """The geometry of ``settings.geometry`` built on the staircase ``stacked``: itself, or
    the smooth model's thin slabs (at most the sample step ``h`` thick) with its
    ``STRUCTURE_GEOMETRY_FALLBACK`` finding when part of it is the staircase."""
    if settings.geometry is not Geometry.SMOOTH:
        return stacked, ()
    # imported here: the smooth model's four modules are not loaded for the default model
    from rtcheck.dose.geom_sections import fallback_finding, smooth_geometry

    smooth = smooth_geometry(structure, stacked, settings.end_cap, settings.gap_factor, h)
    found = ((fallback_finding(structure.name, smooth.fallback_share),)
             if smooth.fallback_share > 0 else ())
    return smooth.geometry, found


def model_geometry(structure: Structure, grid: DoseGrid, settings: DvhSettings | None = None,
                   default_plane_spacing_mm: float | None = None) -> StackGeometry:
    """The structure's geometry as the DVH engine models it (``settings.geometry``: the
    staircase, or the smooth model's thin slabs), for other computations on the same
    shape (the plan-quality indices). Slabs come in runs ascending in z (one run for the
    staircase; see :func:`~rtcheck.dose.geom_sections.smooth_geometry`)."""
    settings = settings or DvhSettings()
    stacked = _geometry(structure, grid, settings, default_plane_spacing_mm)
    return _model(structure, stacked, settings, settings.sample_step_mm(stacked.volume_cc))[0]


def _crossing(name: str, slabs: list[PlaneSlab], pl: _Planes,
              area: FloatArray) -> tuple[float, tuple[Finding, ...]]:
    """Volume (cc) added where crossing contours got their strip area, and the finding."""
    crossing = np.flatnonzero(area != pl.area)
    if not crossing.size:
        return 0.0, ()
    extra_mm3 = np.sum((area - pl.area)[crossing] * (pl.hi - pl.lo)[crossing])
    return float(extra_mm3) / 1000.0, (
        _crossing_finding(name, [slabs[i].z_mm for i in crossing]),)


def _sample_slabs(name: str, geometry: StackGeometry, slabs: list[PlaneSlab],
                  sampler: GridSampler, settings: DvhSettings, h: float) -> _InGrid:
    """Sample the slabs with volume, look the dose up and find its exact extremes."""
    pl = _Planes.of(slabs)
    x, y, z, w, area = _volume_points(
        pl, (geometry.extent_mm[0], geometry.extent_mm[2]), h, settings.min_plane_samples)
    extra_cc, findings = _crossing(name, slabs, pl, area)
    inside = sampler.inside_xy(x, y) & sampler.inside_z(z)
    outside_mm3 = float(w[~inside].sum())
    dose = sampler.trilinear(x[inside], y[inside], z[inside])
    weight = w[inside] / 1000.0
    if not dose.size:
        return _InGrid(dose, weight, outside_mm3, extra_volume_cc=extra_cc, findings=findings)
    order = np.argsort(-dose)  # descending dose: cheap for CumulativeDVH to sort
    dose, weight = dose[order], weight[order]
    in_plane = [d for d in sampler.grid.spacing_mm[:2] if d > 0]
    step = settings.edge_step_fraction * (min(in_plane) if in_plane else 1.0)
    # the thin slabs of the smooth model repeat a staircase or constant section: one side
    sides = (Sides.of([s.polygons for s in slabs], pl.lo, pl.hi)
             if settings.geometry is Geometry.SMOOTH else None)
    dmin, dmax = slab_extremes(pl.edges, pl.lo, pl.hi, geometry.extent_mm, sampler,
                               (float(dose[-1]), float(dose[0])), step, sides)
    return _InGrid(dose, weight, outside_mm3, dmin, dmax, extra_cc, findings)


def _volume_findings(name: str, volume_cc: float, outside_cc: float) -> list[Finding]:
    """``STRUCTURE_ZERO_VOLUME`` or ``STRUCTURE_OUTSIDE_DOSE_GRID`` when they apply."""
    if volume_cc <= 0:
        return [Finding(
            "STRUCTURE_ZERO_VOLUME", Severity.ERROR,
            "the contours enclose no volume (degenerate contours, or a single plane without "
            "end caps): no DVH", subject=name)]
    if outside_cc > 1e-9 * volume_cc:
        return [_outside_finding(name, outside_cc, volume_cc)]
    return []


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
        geometry = _geometry(structure, grid, settings, default_plane_spacing_mm)
    h = settings.sample_step_mm(geometry.volume_cc)
    geometry, model_findings = _model(structure, geometry, settings, h)
    sampler = GridSampler(grid)
    slabs = [s for s in geometry.slabs
             if s.thickness_mm > 0 and any(p.shape[0] >= 3 for p in s.polygons)]
    got = (_sample_slabs(structure.name, geometry, slabs, sampler, settings, h) if slabs
           else _InGrid(np.zeros(0), np.zeros(0)))
    volume_cc = geometry.volume_cc + got.extra_volume_cc
    outside_cc = got.outside_mm3 / 1000.0
    has_dose = got.dose.size > 0
    return StructureSamples(
        dose_gy=got.dose,
        weight_cc=got.weight,
        volume_cc=volume_cc,
        in_grid_volume_cc=float(got.weight.sum()),
        outside_volume_cc=outside_cc,
        step_mm=h,
        dmin_gy=got.dmin if has_dose else None,
        dmax_gy=got.dmax if has_dose else None,
        findings=(*geometry.findings, *model_findings, *got.findings,
                  *_volume_findings(structure.name, volume_cc, outside_cc)),
    )
