"""``Geometry.SMOOTH`` as a stack of thin prisms the DVH engine samples (issue #12).

The engine samples any :class:`~rtcheck.dose.geometry.StackGeometry` (a stack of
slabs, each with the even-odd section of its polygons): volume samples, weights,
dose look-up and the exact Dmin/Dmax of :mod:`rtcheck.dose.sample_extremes`. For
the smooth model (:mod:`rtcheck.dose.geom_smooth`) the structure's z range is cut
into thin slabs no thicker than the sample step ``h``; each carries the model's
section at its mid-height: per chain of contours, the moment-normalised radial
function mapped back to the plane (:data:`~rtcheck.dose.geom_chains.N_THETA`
vertices), or the nearest plane's contour where the chain falls back to the
staircase (a contour that is not star-shaped about its centroid). The slab
boundaries include every chain end, plane and mid-plane of a chain, so a fallback
section switches exactly where the stacked model's does.

The volume is the midpoint rule in z over the thin slabs, whose error is at most
``τ² / 24 ∫ |A''(z)| dz`` (τ the slab thickness, A the section area; Davis PJ,
Rabinowitz P, *Methods of Numerical Integration*, 2nd ed. 1984, §2.2): for the
7.2 cc sphere at τ = 0.9 mm, 0.07 %.

Cost: the sections of a chain are built at once; their areas, boxes and the even-odd
areas of the slabs are computed together, reusing the stacked model's planes and the
area of a plane's only contour; every value is the one the per-section functions of
:mod:`rtcheck.dose.geometry` give (``tests/test_geometry_speed_equivalence.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rtcheck.dicom.model import FloatArray, Structure
from rtcheck.dose.geom_radial import Ragged, inside_polygons
from rtcheck.dose.geom_scanline import ragged_ranges
from rtcheck.dose.geom_smooth import ChainModel, prepare_sections, smooth_models
from rtcheck.dose.geometry import PlaneSlab, StackGeometry, polygon_area_mm2
from rtcheck.dose.settings import EndCap
from rtcheck.findings import Finding, Severity

#: Margin (mm) of the box test before the nesting test of a slab's sections: a point
#: farther outside a polygon's box crosses its edges an even number of times (or none),
#: whatever the rounding of the crossing abscissae (a few ulps of the coordinates).
_BOX_MARGIN_MM = 1e-6


@dataclass(frozen=True)
class SmoothGeometry:
    """The thin-slab stack of the smooth model and what it reports.

    ``fallback_share`` is the share of the model's volume whose section is the
    staircase's (0..1).
    """

    geometry: StackGeometry
    fallback_share: float


def _boundaries(models: list[ChainModel], step_mm: float) -> FloatArray:
    """Thin-slab boundaries (mm), subdivided to ``step_mm`` where a chain's section varies
    (not where every section is the staircase's). The knots are the chain ends, the
    mid-planes (where a staircase section changes) and the planes (where a stencil
    changes, hence where a section switches between smooth and staircase)."""
    fixed = {m.z_lo for m in models} | {m.z_hi for m in models}
    planes: set[float] = set()
    for m in models:
        fixed.update(((m.z[:-1] + m.z[1:]) / 2).tolist())
        planes.update(m.z[(m.z > m.z_lo) & (m.z < m.z_hi)].tolist())
    knots = np.array(sorted(fixed | planes))
    varies = _varies(models, knots)
    # a plane between two staircase intervals changes no section: one slab, as stacked
    keep = np.ones(knots.size, dtype=bool)
    # (not np.isin: its np.unique imports numpy.ma, 15 ms in every process)
    keep[1:-1] = varies[:-1] | varies[1:] | np.array([k in fixed for k in knots[1:-1].tolist()],
                                                     dtype=bool)
    kept = np.flatnonzero(keep)
    # a merged interval is staircase throughout, as the interval at its first knot
    knots, varies = knots[kept], varies[kept[:-1]]
    a, b = knots[:-1], knots[1:]
    n = np.where(varies, np.maximum(1, np.ceil((b - a) / step_mm - 1e-9)), 1).astype(np.intp)
    # np.linspace(a, b, n + 1)[:-1] of every interval: a + i (b - a) / n
    interval, i = ragged_ranges(np.zeros(n.size, dtype=np.intp), n)
    return np.concatenate((a[interval] + i * ((b - a) / n)[interval], knots[-1:]))


def _varies(models: list[ChainModel], knots: FloatArray) -> npt.NDArray[np.bool_]:
    """Whether some chain's section is smooth (not the staircase's) and changes with height
    in each interval (a one-contour chain's section is its contour throughout)."""
    centre = (knots[:-1] + knots[1:]) / 2
    varies = np.zeros(centre.size, dtype=bool)
    for m in models:
        if not m.varies:
            continue
        sel = np.flatnonzero((centre >= m.z_lo) & (centre <= m.z_hi))
        varies[sel] |= ~m.falls_back(centre[sel])
    return varies


Box = tuple[float, float, float, float]  # xmin, xmax, ymin, ymax


@dataclass(frozen=True)
class _Sections:
    """Per thin slab: its section polygons (one per chain, in chain order), their areas
    (mm²) and boxes; and the volumes (mm³) of the staircase and of all sections."""

    polygons: list[list[FloatArray]]
    areas: list[list[float]]
    boxes: list[list[Box]]
    stair_mm3: float
    total_mm3: float


def _sections(models: list[ChainModel], mid: FloatArray, thick: FloatArray,
              contour_area: dict[int, float]) -> _Sections:
    """The sections of the chains at the mid-heights ``mid`` of the thin slabs. A staircase
    section is a contour: its area is looked up in (or added to) ``contour_area``
    (by ``id``)."""
    polys: list[list[FloatArray]] = [[] for _ in range(mid.size)]
    areas: list[list[float]] = [[] for _ in range(mid.size)]
    boxes: list[list[Box]] = [[] for _ in range(mid.size)]
    thickness = thick.tolist()
    stair_mm3 = total_mm3 = 0.0
    for m in models:
        sel = np.flatnonzero((mid >= m.z_lo) & (mid <= m.z_hi))
        if not sel.size:
            continue
        found = m.sections(mid[sel])
        for i, poly, flat, smooth_area, box in zip(
                sel.tolist(), found.polygons, found.fallback.tolist(), found.area, found.box,
                strict=True):
            if poly is None or box is None:
                continue
            if smooth_area is not None:
                area = smooth_area
            elif (area := contour_area.get(id(poly), -1.0)) < 0:
                area = contour_area[id(poly)] = polygon_area_mm2(poly)
            polys[i].append(poly)
            areas[i].append(area)
            boxes[i].append(box)
            volume = area * thickness[i]
            total_mm3 += volume
            stair_mm3 += volume if flat else 0.0
    return _Sections(polys, areas, boxes, stair_mm3, total_mm3)


def _slab_areas(sections: _Sections) -> list[float]:
    """Even-odd area (mm²) of each slab's sections, given their areas: the value of
    :func:`~rtcheck.dose.geometry.even_odd_area_mm2` (each section counts ``(-1)^depth``
    times its area, ``depth`` the number of other sections containing its first vertex),
    with the nesting tests of all slabs in one pass (only against the sections whose box
    holds the vertex)."""
    out = [a[0] if len(a) == 1 else 0.0 for a in sections.areas]
    multi = [k for k, p in enumerate(sections.polygons) if len(p) > 1]
    if not multi:
        return out
    polys = [p for k in multi for p in sections.polygons[k]]
    box = np.array([b for k in multi for b in sections.boxes[k]])
    n_of = np.array([len(sections.polygons[k]) for k in multi])
    first = np.cumsum(n_of) - n_of
    slab = np.repeat(np.arange(n_of.size), n_of)
    probe, other = ragged_ranges(first[slab], n_of[slab])
    vertex = np.array([p[0] for p in polys])[probe]
    b, margin = box[other], _BOX_MARGIN_MM
    near = ((probe != other) & (vertex[:, 0] >= b[:, 0] - margin)
            & (vertex[:, 0] <= b[:, 1] + margin) & (vertex[:, 1] >= b[:, 2] - margin)
            & (vertex[:, 1] <= b[:, 3] + margin))
    probe, other, vertex = probe[near], other[near], vertex[near]
    depth = np.zeros(len(polys), dtype=np.intp)
    if probe.size:
        target, poly = np.unique(other, return_inverse=True)
        inside = inside_polygons(vertex[:, 0], vertex[:, 1], poly,
                                 Ragged.of([polys[t] for t in target.tolist()]), margin)
        depth = np.bincount(probe[inside], minlength=len(polys))
    sign = np.where(depth % 2 == 0, 1.0, -1.0).tolist()
    for k, f, n in zip(multi, first.tolist(), n_of.tolist(), strict=True):
        out[k] = max(float(np.dot(np.array(sign[f:f + n]), np.array(sections.areas[k]))), 0.0)
    return out


def _groups(models: list[ChainModel]) -> list[list[ChainModel]]:
    """Chains that can be stacked apart: the connected sets of chains whose boxes overlap
    (x, y and z). Chains of different sets never share a point, so their volumes add and
    each gets its own thin slabs (a small chain varying beside a large one would
    otherwise repeat the large one's section in every thin slab); within a set (a hole
    and its contour, branches) the even-odd rule of a slab's sections decides."""
    box = np.array([[min(s.box[0] for s in m.chain.shapes), max(s.box[1] for s in m.chain.shapes),
                     min(s.box[2] for s in m.chain.shapes), max(s.box[3] for s in m.chain.shapes),
                     m.z_lo, m.z_hi] for m in models])
    lo, hi = box[:, 0::2], box[:, 1::2]
    touch = np.all((lo[:, None, :] <= hi[None, :, :]) & (lo[None, :, :] <= hi[:, None, :]),
                   axis=2)
    label = list(range(len(models)))  # union-find: each chain's set

    def root(i: int) -> int:
        while label[i] != i:
            label[i] = label[label[i]]
            i = label[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(touch, 1)), strict=True):
        label[root(int(i))] = root(int(j))
    sets: dict[int, list[ChainModel]] = {}
    for i, m in enumerate(models):
        sets.setdefault(root(i), []).append(m)
    return list(sets.values())


@dataclass(frozen=True)
class _Stack:
    """The thin slabs of one group of chains, their sections' boxes and volumes (mm³)."""

    slabs: list[PlaneSlab]
    boxes: list[Box]
    stair_mm3: float
    total_mm3: float


def _stack(models: list[ChainModel], step_mm: float, known: dict[int, float]) -> _Stack:
    """Thin slabs of ``models`` (see :func:`_boundaries`) with the chains' sections."""
    bounds = _boundaries(models, step_mm)
    lo, hi = bounds[:-1], bounds[1:]
    mid, thick = (lo + hi) / 2, hi - lo
    sections = _sections(models, mid, thick, known)
    kept = [(z, a, b, k) for k, (z, a, b) in enumerate(zip(mid.tolist(), lo.tolist(),
                                                           hi.tolist(), strict=True))
            if sections.polygons[k] and b > a]
    area = _slab_areas(sections)
    return _Stack([PlaneSlab(z, a, b, tuple(sections.polygons[k]), area[k])
                   for z, a, b, k in kept],
                  [b for *_, k in kept for b in sections.boxes[k]],
                  sections.stair_mm3, sections.total_mm3)


def smooth_geometry(structure: Structure, stacked: StackGeometry, end_cap: EndCap,
                    gap_factor: float, step_mm: float) -> SmoothGeometry:
    """The smooth model of ``structure`` as thin slabs at most ``step_mm`` thick.

    ``stacked`` is the structure's staircase geometry, as
    :func:`~rtcheck.dose.geometry.stack_geometry` builds it (its gap and single-plane
    findings and median spacing are kept; its planes, and the area of a plane's only
    contour, are reused); ``end_cap`` sets the cap of flat ends. The slabs come group
    by group (:func:`_groups`), each group's ascending in z.
    """
    cap = 0.5 if end_cap is EndCap.HALF_SLICE else 0.0
    planes = [(s.z_mm, s.polygons) for s in stacked.slabs]  # one slab per contour plane
    models = smooth_models(structure, gap_factor, cap, stacked.median_spacing_mm, planes)
    prepare_sections(models)
    # a plane's only contour has the plane's area (even_odd_area_mm2 of one polygon)
    known = {id(s.polygons[0]): s.area_mm2 for s in stacked.slabs if len(s.polygons) == 1}
    stacks = [_stack(group, step_mm, known) for group in _groups(models)]
    slabs = tuple(slab for st in stacks for slab in st.slabs)
    if not slabs:  # nothing but degenerate sections: the staircase decides (zero volume)
        return SmoothGeometry(stacked, 1.0)
    box = np.array([b for st in stacks for b in st.boxes])
    extent = (float(box[:, 0].min()), float(box[:, 1].max()),
              float(box[:, 2].min()), float(box[:, 3].max()),
              min(s.lo_mm for s in slabs), max(s.hi_mm for s in slabs))
    volume_cc = sum(s.volume_mm3 for s in slabs) / 1000.0
    geometry = StackGeometry(slabs, volume_cc, stacked.median_spacing_mm, extent,
                             stacked.findings)
    total = sum(st.total_mm3 for st in stacks)
    share = sum(st.stair_mm3 for st in stacks) / total if total > 0 else 0.0
    return SmoothGeometry(geometry, share)


def fallback_finding(name: str, share: float) -> Finding:
    """``STRUCTURE_GEOMETRY_FALLBACK``: part of a smooth structure is the staircase."""
    # where part is smooth, its ends may be closed by their trend, not by the stacked caps
    ends = "" if share >= 1 else " (its trend-closed ends still differ from the stacked caps)"
    return Finding(
        "STRUCTURE_GEOMETRY_FALLBACK", Severity.INFO,
        f"{_percent(share)} % of the volume is modelled as the staircase (stacked), next to "
        "contours that are not star-shaped about their centroid or that have no linked "
        f"contour on a neighbouring plane, where the smooth model cannot interpolate{ends}",
        subject=name)


def _percent(share: float) -> str:
    """A share (0..1) in %, never rounded to 100 or 0 when it is not."""
    text = f"{100 * share:.0f}"
    if text == "100" and share < 1:
        return ">99"
    if text == "0" and share > 0:
        return "<1"
    return text
