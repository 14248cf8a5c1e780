"""Contour geometry of a structure: planes, slabs, exact volume, extents.

The contour-defined object
--------------------------
A structure is the stack of its contour planes. Each plane ``z_k`` carries the
even-odd union of its polygons (holes, several contours per plane) and owns the
slab ``[lo_k, hi_k]`` between the mid-points to its neighbouring planes, so the
object is a stack of right prisms. Its exact volume is ``Σ_k A_k (hi_k - lo_k)``
with ``A_k`` the exact even-odd polygon area (shoelace formula), independent of
any dose grid.

* **End caps** (:class:`~rtcheck.dose.settings.EndCap`): with ``HALF_SLICE``
  (default; Nelms et al. 2015, most commercial systems) the first and last plane
  of a stack extend half the spacing to their inner neighbour beyond themselves;
  with ``NONE`` the stack ends at those planes.
* **Non-uniform spacing**: each plane owns the slab between the mid-points to
  its neighbours, whatever the spacings are.
* **Gaps**: a spacing larger than ``gap_factor`` × the structure's median
  spacing splits the stack; each part gets its own end caps and a
  ``STRUCTURE_CONTOUR_GAP`` finding (WARNING) names the empty z range. A plane
  isolated between two gaps gets half the median spacing on each side.
* **Single plane**: the slab thickness is a supplied default spacing (finding
  ``STRUCTURE_SINGLE_PLANE``).
* Contours whose ``z`` differ by less than :data:`PLANE_TOLERANCE_MM` are one
  plane. The even-odd area assumes that the contours of a plane do not cross
  each other (nested or disjoint, as DICOM requires); each polygon counts with
  the sign ``(-1)^depth``, its depth being the number of other contours of the
  plane containing it. Crossing or self-intersecting contours are detected when
  the structure is sampled (:mod:`rtcheck.dose.sampling`,
  ``STRUCTURE_CONTOURS_CROSS``), where their even-odd area is measured.

References
----------
Nelms BE et al. Methods, software and datasets to verify DVH calculations
against analytical values. Med Phys 2015;42(8):4435-4448.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from rtcheck.dicom.model import FloatArray, Structure
from rtcheck.dose.geom_scanline import Edges
from rtcheck.dose.settings import EndCap
from rtcheck.findings import Finding, Severity

#: Contours whose plane positions differ by less than this (mm) share a plane.
PLANE_TOLERANCE_MM = 0.01


def polygon_area_mm2(points_xy_mm: FloatArray) -> float:
    """Unsigned shoelace area of one closed polygon (mm²)."""
    if points_xy_mm.shape[0] < 3:
        return 0.0
    x, y = points_xy_mm[:, 0], points_xy_mm[:, 1]
    yn, xn = np.concatenate((y[1:], y[:1])), np.concatenate((x[1:], x[:1]))  # np.roll(., -1)
    return float(abs(np.dot(x, yn) - np.dot(y, xn)) / 2.0)


def even_odd_area_mm2(polygons: tuple[FloatArray, ...]) -> float:
    """Exact area (mm²) of the even-odd union of non-crossing polygons.

    Each polygon counts ``(-1)^depth`` times its area, ``depth`` being the number
    of other polygons containing its first vertex (crossing-number test of all
    first vertices against all edges at once).
    """
    polys = [p for p in polygons if p.shape[0] >= 3]
    areas = np.array([polygon_area_mm2(p) for p in polys])
    if len(polys) <= 1:
        return float(areas.sum())
    edges = Edges.of_planes([polys])
    owner = np.repeat(np.arange(len(polys)), [p.shape[0] for p in polys])
    probe = np.array([p[0] for p in polys])
    x, y = probe[:, :1], probe[:, 1:]
    spans = (np.minimum(edges.y0, edges.y1) <= y) & (y < np.maximum(edges.y0, edges.y1))
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = edges.x0 + (y - edges.y0) * (edges.x1 - edges.x0) / (edges.y1 - edges.y0)
    crossing = (spans & (x < xc)).astype(np.intp)
    starts = np.searchsorted(owner, np.arange(len(polys)))
    parity = np.add.reduceat(crossing, starts, axis=1) % 2
    np.fill_diagonal(parity, 0)
    sign = np.where(parity.sum(axis=1) % 2 == 0, 1.0, -1.0)
    return max(float(np.dot(sign, areas)), 0.0)


@dataclass(frozen=True)
class PlaneSlab:
    """One contour plane and the slab of the structure it owns.

    Attributes
    ----------
    z_mm
        Plane position (mm).
    lo_mm, hi_mm
        The slab ``lo_mm <= z <= hi_mm`` (mm) owned by the plane.
    polygons
        The plane's polygons ``(n, 2)`` (mm), combined by the even-odd rule.
    area_mm2
        Exact even-odd area (mm²).
    """

    z_mm: float
    lo_mm: float
    hi_mm: float
    polygons: tuple[FloatArray, ...]
    area_mm2: float

    @property
    def thickness_mm(self) -> float:
        return self.hi_mm - self.lo_mm

    @property
    def volume_mm3(self) -> float:
        return self.area_mm2 * self.thickness_mm


@dataclass(frozen=True)
class StackGeometry:
    """The contour-defined object of a structure.

    Attributes
    ----------
    slabs
        One :class:`PlaneSlab` per contour plane, ascending in z.
    volume_cc
        Exact volume ``Σ area × thickness`` (cc).
    median_spacing_mm
        Median spacing of the planes (the supplied default for one plane).
    extent_mm
        ``(xmin, xmax, ymin, ymax, zmin, zmax)`` of the object (mm), z including
        the end caps.
    findings
        ``STRUCTURE_CONTOUR_GAP`` / ``STRUCTURE_SINGLE_PLANE`` findings.
    """

    slabs: tuple[PlaneSlab, ...]
    volume_cc: float
    median_spacing_mm: float
    extent_mm: tuple[float, float, float, float, float, float]
    findings: tuple[Finding, ...]


def group_planes(structure: Structure) -> list[tuple[float, tuple[FloatArray, ...]]]:
    """Contours grouped by plane: ``[(z_mm, polygons), ...]`` ascending in z."""
    contours = sorted(structure.contours, key=lambda c: c.z_mm)
    planes: list[tuple[float, list[FloatArray], list[float]]] = []
    for c in contours:
        if planes and c.z_mm - planes[-1][2][0] < PLANE_TOLERANCE_MM:
            planes[-1][1].append(c.points_xy_mm)
            planes[-1][2].append(c.z_mm)
        else:
            planes.append((c.z_mm, [c.points_xy_mm], [c.z_mm]))
    # one contour per plane is the rule: its z as is (the mean of one value, without numpy's cost)
    return [(float(zs[0]) if len(zs) == 1 else float(np.mean(zs)), tuple(polys))
            for _, polys, zs in planes]


def _slab_bounds(
    z: FloatArray, end_cap: EndCap, gap_factor: float, default_spacing_mm: float
) -> tuple[FloatArray, FloatArray, float, list[tuple[float, float]]]:
    """Slab bounds of the planes ``z``, the median spacing and the gaps found."""
    n = z.size
    if n == 1:
        half = default_spacing_mm / 2.0 if end_cap is EndCap.HALF_SLICE else 0.0
        return z - half, z + half, default_spacing_mm, []
    d = np.diff(z)
    med = statistics.median(d.tolist())
    gap = d > gap_factor * med
    mids = (z[:-1] + z[1:]) / 2.0
    lo = np.empty(n)
    hi = np.empty(n)
    lo[1:] = np.where(gap, z[1:], mids)
    hi[:-1] = np.where(gap, z[:-1], mids)
    lo[0] = z[0]
    hi[-1] = z[-1]
    if end_cap is EndCap.HALF_SLICE:
        starts = np.concatenate(([True], gap))  # plane k begins a stack
        ends = np.concatenate((gap, [True]))  # plane k ends a stack
        inner_below = np.concatenate(([np.nan], d))  # spacing to the plane below
        inner_above = np.concatenate((d, [np.nan]))
        cap_lo = np.where(ends & starts, med, np.where(starts, inner_above, 0.0)) / 2.0
        cap_hi = np.where(ends & starts, med, np.where(ends, inner_below, 0.0)) / 2.0
        lo = np.where(starts, z - cap_lo, lo)
        hi = np.where(ends, z + cap_hi, hi)
    gaps = [(float(z[k]), float(z[k + 1])) for k in np.flatnonzero(gap)]
    return lo, hi, med, gaps


def stack_geometry(
    structure: Structure,
    end_cap: EndCap = EndCap.HALF_SLICE,
    gap_factor: float = 1.5,
    default_spacing_mm: float = 3.0,
) -> StackGeometry:
    """Build the contour-defined object of ``structure`` (see the module docstring).

    Parameters
    ----------
    structure
        A structure with at least one contour.
    end_cap
        End-cap policy.
    gap_factor
        Spacings above ``gap_factor`` × median spacing are gaps.
    default_spacing_mm
        Slab thickness of a structure contoured on a single plane (mm).
    """
    planes = group_planes(structure)
    if not planes:
        raise ValueError(f"structure {structure.name!r} has no contours")
    z = np.array([p[0] for p in planes])
    lo, hi, med, gaps = _slab_bounds(z, end_cap, gap_factor, default_spacing_mm)
    slabs = tuple(
        PlaneSlab(float(zk), float(lk), float(hk), polys, even_odd_area_mm2(polys))
        for (zk, polys), lk, hk in zip(planes, lo, hi, strict=True)
    )
    findings: list[Finding] = []
    for za, zb in gaps:
        findings.append(Finding(
            "STRUCTURE_CONTOUR_GAP", Severity.WARNING,
            f"no contour between z = {za:.2f} and {zb:.2f} mm (spacing {zb - za:.2f} mm, "
            f"median {med:.2f} mm): treated as a gap, the parts get their own end caps; "
            "check that no contour is missing", subject=structure.name))
    if z.size == 1:
        findings.append(Finding(
            "STRUCTURE_SINGLE_PLANE", Severity.WARNING,
            f"contoured on a single plane (z = {z[0]:.2f} mm): slab thickness "
            f"{default_spacing_mm:.2f} mm assumed", subject=structure.name))
    pts = np.concatenate([p for s in slabs for p in s.polygons])
    extent = (
        float(pts[:, 0].min()), float(pts[:, 0].max()),
        float(pts[:, 1].min()), float(pts[:, 1].max()),
        float(lo.min()), float(hi.max()),
    )
    volume_cc = sum(s.volume_mm3 for s in slabs) / 1000.0
    return StackGeometry(slabs, volume_cc, med, extent, tuple(findings))


def median_plane_spacing_mm(structures: tuple[Structure, ...] | list[Structure]) -> float | None:
    """Median plane spacing (mm) over the multi-plane structures given, or ``None``."""
    spacings: list[FloatArray] = []
    for s in structures:
        if s.contours:
            z = np.array([p[0] for p in group_planes(s)])
            if z.size > 1:
                spacings.append(np.diff(z))
    if not spacings:
        return None
    return statistics.median(np.concatenate(spacings).tolist())
