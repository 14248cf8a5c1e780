"""Exact Dmin / Dmax of the trilinear dose over a contour-defined structure.

Within each voxel cell the trilinear interpolant is multilinear, hence harmonic:
it has no strict interior extremum (maximum principle). Over a stack of prisms
its extremes therefore lie

* at dose-grid nodes inside a slab;
* on a slab face (end caps included), where the dose is piecewise bilinear in
  (x, y): at the projections of the grid columns inside the polygon (a blend of
  the two frames around the face), or on the polygon's edges;
* on the lateral surface, where the dose is linear in z between dose frames:
  on the polygon edges at the slab faces or at the frames crossing the slab.
  Along an edge the dose is piecewise quadratic with a small cross term; it is
  sampled at the vertices and at most ``edge_step_mm`` apart.

Only candidates that can beat the extremes already found among the volume
samples are evaluated, which is exact: a node counts only if its own value lies
outside ``[dmin0, dmax0]``, a surface point only if a corner of its voxel cell
does (its interpolated value lies between its cell's corner values).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from rtcheck.dicom.model import FloatArray
from rtcheck.dose.geom_scanline import (
    Edges,
    IntArray,
    RowIntervals,
    densify_edges,
    ragged_ranges,
)
from rtcheck.dose.sample_grid import GridSampler, uniform_axis

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True)
class _Candidates:
    """Nodes whose dose lies outside ``[dmin0, dmax0]`` (``mask``, relative to ``origin``).

    ``columns[j, i]`` is True when a candidate node lies in any frame at one of
    the four in-plane corners of the cell column whose lower corner is
    ``origin + (j, i)``: a cheap first filter before the 3-D corner test.
    """

    k: IntArray
    j: IntArray
    i: IntArray
    origin: tuple[int, int, int]
    mask: npt.NDArray[np.bool_]
    columns: npt.NDArray[np.bool_]

    @classmethod
    def find(cls, sampler: GridSampler, extent: Sequence[float], dmin0: float, dmax0: float
             ) -> _Candidates:
        g = sampler.grid
        bounds = []
        for a, axis in enumerate((g.x_mm, g.y_mm, g.z_mm)):
            # one node beyond the extent: corners of the cells the surface points lie in
            a0 = max(int(np.searchsorted(axis, extent[2 * a])) - 1, 0)
            a1 = int(np.searchsorted(axis, extent[2 * a + 1], "right")) + 1
            bounds.append((a0, a1))
        (ia, ib), (ja, jb), (ka, kb) = bounds
        sub = g.dose_gy[ka:kb, ja:jb, ia:ib]
        mask = sub > dmax0
        if dmin0 > g.min_dose_gy:
            mask |= sub < dmin0
        k, j, i = np.nonzero(mask)
        columns = np.zeros(mask.shape[1:], dtype=bool)
        for dj in (0, 1):
            for di in (0, 1):
                columns[np.maximum(j - dj, 0), np.maximum(i - di, 0)] = True
        return cls(k + ka, j + ja, i + ia, (ka, ja, ia), mask, columns)

    def _rel(self, values: IntArray, axis: int) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        rel = values - self.origin[axis]
        return rel, (rel >= 0) & (rel < self.mask.shape[axis] - 1)

    def column_flags(self, j0: IntArray, i0: IntArray) -> npt.NDArray[np.bool_]:
        """True for the cell columns (lower-corner node indices) touching a candidate."""
        (rj, okj), (ri, oki) = self._rel(j0, 1), self._rel(i0, 2)
        ok = okj & oki
        flags = np.ones(j0.shape, dtype=bool)  # outside the crop: evaluate to be safe
        flags[ok] = self.columns[rj[ok], ri[ok]]
        return flags

    def cell_flags(self, k0: IntArray, j0: IntArray, i0: IntArray) -> npt.NDArray[np.bool_]:
        """True for the cells (lower-corner node indices) having a candidate corner."""
        (rk, okk), (rj, okj), (ri, oki) = self._rel(k0, 0), self._rel(j0, 1), self._rel(i0, 2)
        ok = okk & okj & oki
        flags = np.ones(k0.shape, dtype=bool)
        flags[ok] = self.cells[rk[ok], rj[ok], ri[ok]]
        return flags

    @cached_property
    def cells(self) -> npt.NDArray[np.bool_]:
        """``cells[k, j, i]``: a corner of the cell with lower corner ``origin + (k, j, i)``
        is a candidate (the mask OR-ed over the cell's eight corners, once per crop)."""
        m = self.mask
        out = m[:-1, :-1, :-1] | m[1:, :-1, :-1]
        out = out | m[:-1, 1:, :-1] | m[1:, 1:, :-1]
        out |= m[:-1, :-1, 1:]
        out |= m[1:, :-1, 1:]
        out |= m[:-1, 1:, 1:]
        out |= m[1:, 1:, 1:]
        return out


@dataclass(frozen=True)
class Sides:
    """The lateral surface of a stack of prisms as sides: one per polygon and z range.

    ``edges`` are the sides' polygon edges (owner index = side index), ``lo``/``hi``
    their z ranges (mm). The dose along a vertical line is linear in z between dose
    frames, so a side's extremes lie at its ends and at the frames it crosses: a polygon
    repeated (the same array) in consecutive slabs that touch is one side over their
    joint range (its points at the inner slab faces are not needed).
    """

    edges: Edges
    lo: FloatArray
    hi: FloatArray

    @classmethod
    def of(cls, planes: Sequence[Sequence[FloatArray]], lo: FloatArray, hi: FloatArray
           ) -> Sides:
        """The sides of the slabs ``[lo_p, hi_p]`` holding the polygons ``planes[p]``."""
        polygons: list[FloatArray] = []
        side_lo: list[float] = []
        side_hi: list[float] = []
        previous: dict[int, int] = {}  # id of a polygon of the previous slab → its side
        for p, (polys, a, b) in enumerate(zip(planes, lo.tolist(), hi.tolist(), strict=True)):
            current: dict[int, int] = {}
            for poly in polys:
                k = previous.get(id(poly), -1)
                if k >= 0 and p > 0 and side_hi[k] == a:
                    side_hi[k] = b
                else:
                    k = len(polygons)
                    polygons.append(poly)
                    side_lo.append(a)
                    side_hi.append(b)
                current[id(poly)] = k
            previous = current
        return cls(Edges.of_planes([[poly] for poly in polygons]), np.array(side_lo),
                   np.array(side_hi))


def _grid_rows(edges: Edges, n_planes: int, sampler: GridSampler) -> RowIntervals:
    """Inside intervals of the dose grid's rows on every plane."""
    g = sampler.grid
    dy = float(g.y_mm[1] - g.y_mm[0]) if g.y_mm.size > 1 else 1.0
    return RowIntervals.of(edges, np.full(n_planes, float(g.y_mm[0])), np.full(n_planes, dy),
                           np.full(n_planes, g.y_mm.size, dtype=np.intp))


def _node_extremes(
    rows: RowIntervals, lo: FloatArray, hi: FloatArray, sampler: GridSampler, cand: _Candidates,
) -> list[FloatArray]:
    """Dose at the candidate nodes lying inside a slab (even-odd test on their rows)."""
    g = sampler.grid
    zk = g.z_mm[cand.k]
    found: list[FloatArray] = []
    # slabs come in runs ascending in z without overlap (one run for a stack of planes;
    # one per group of chains for the smooth model): each run searched on its own
    breaks = np.flatnonzero(lo[1:] < hi[:-1]) + 1
    for a, b in zip([0, *breaks.tolist()], [*breaks.tolist(), lo.size], strict=True):
        run_lo, run_hi = lo[a:b], hi[a:b]
        # a node on a shared face belongs to both slabs: test against the two candidates
        for slab in (np.searchsorted(run_lo, zk, "right") - 1,
                     np.searchsorted(run_hi, zk, "left")):
            ok = (slab >= 0) & (slab < b - a)
            ok[ok] &= (run_lo[slab[ok]] <= zk[ok]) & (zk[ok] <= run_hi[slab[ok]])
            if not ok.any():
                continue
            k, j, i = cand.k[ok], cand.j[ok], cand.i[ok]
            inside = rows.inside(slab[ok] + a, j, g.x_mm[i])
            found.append(g.dose_gy[k[inside], j[inside], i[inside]])
    return found


def _face_extremes(
    rows: RowIntervals, face_z: FloatArray, face_slab: IntArray,
    sampler: GridSampler, cand: _Candidates,
) -> FloatArray:
    """Dose at grid nodes projected onto the slab faces ``z = face_z`` (mm) of ``face_slab``.

    On a face the dose is piecewise bilinear in (x, y): its extremes inside the
    polygon lie at the projections of the grid columns, whose value blends the
    two frames around the face; only columns with a candidate in one of those
    two frames can beat ``[dmin0, dmax0]``.
    """
    g = sampler.grid
    face_k, _ = sampler.z_weights(face_z)
    order = np.argsort(face_k, kind="stable")
    face_z, face_slab, face_k = face_z[order], face_slab[order], face_k[order]
    # a candidate in frame k matters for faces between frames k-1..k and k..k+1
    first = np.searchsorted(face_k, cand.k - 1, "left")
    count = np.searchsorted(face_k, cand.k, "right") - first
    pair, f = ragged_ranges(first, count)
    if pair.size == 0:
        return np.zeros(0)
    j, i = cand.j[pair], cand.i[pair]
    inside = rows.inside(face_slab[f], j, g.x_mm[i])
    j, i, f = j[inside], i[inside], f[inside]
    return sampler.trilinear(g.x_mm[i], g.y_mm[j], face_z[f])


def slab_extremes(
    edges: Edges, lo: FloatArray, hi: FloatArray, extent: Sequence[float], sampler: GridSampler,
    found: tuple[float, float], edge_step_mm: float, sides: Sides | None = None,
) -> tuple[float, float]:
    """Dmin and Dmax (Gy) over the slabs ``[lo_p, hi_p]`` of the planes of ``edges``.

    Parameters
    ----------
    edges
        Polygon edges of the planes (owner index = slab index).
    lo, hi
        Slab bounds (mm).
    extent
        ``(xmin, xmax, ymin, ymax, zmin, zmax)`` of the structure (mm).
    sampler
        The dose grid's sampler.
    found
        ``(dmin0, dmax0)``: the extremes already found (among the volume samples, Gy).
    edge_step_mm
        Largest spacing of surface points along an edge (mm).
    sides
        The lateral surface (:class:`Sides`); default: each slab's polygons over the slab.
    """
    dmin0, dmax0 = found
    cand = _Candidates.find(sampler, extent, dmin0, dmax0)
    if cand.k.size == 0:
        return dmin0, dmax0
    rows = _grid_rows(edges, lo.size, sampler)
    values = _node_extremes(rows, lo, hi, sampler, cand)
    zb0, zb1 = sampler.z_bounds
    z_lo, z_hi = np.maximum(lo, zb0), np.minimum(hi, zb1)
    in_grid = np.flatnonzero(z_hi >= z_lo)
    values.append(_face_extremes(
        rows, np.concatenate((z_lo[in_grid], z_hi[in_grid])),
        np.concatenate((in_grid, in_grid)), sampler, cand))
    if sides is not None:
        edges = sides.edges
        z_lo, z_hi = np.maximum(sides.lo, zb0), np.minimum(sides.hi, zb1)
    values.append(_side_extremes(edges, z_lo, z_hi, sampler, cand, edge_step_mm))
    lo_v = [float(v.min()) for v in values if v.size]
    hi_v = [float(v.max()) for v in values if v.size]
    return min([dmin0, *lo_v]), max([dmax0, *hi_v])


def _side_extremes(edges: Edges, z_lo: FloatArray, z_hi: FloatArray, sampler: GridSampler,
                   cand: _Candidates, edge_step_mm: float) -> FloatArray:
    """Dose at the lateral-surface points that can beat the extremes: along the edges of
    each side (owner ``p``, at most ``edge_step_mm`` apart) at ``z_lo[p]``, ``z_hi[p]``
    and the dose frames between (mm, clipped to the grid)."""
    g = sampler.grid
    ex, ey, ep = densify_edges(edges, edge_step_mm)
    i0, _ = uniform_axis(ex, g.x_mm)
    j0, _ = uniform_axis(ey, g.y_mm)
    keep = sampler.inside_xy(ex, ey) & (z_hi >= z_lo)[ep] & cand.column_flags(j0, i0)
    ex, ey, ep, i0, j0 = ex[keep], ey[keep], ep[keep], i0[keep], j0[keep]
    if not ep.size:
        return np.zeros(0)
    ka = np.searchsorted(g.z_mm, z_lo, side="left")
    kb = np.searchsorted(g.z_mm, z_hi, side="right")
    n_z = np.maximum(kb - ka, 0) + 2
    z_start = np.cumsum(n_z) - n_z
    z_list = np.concatenate([np.concatenate(([a, b], g.z_mm[s:e]))
                             for a, b, s, e in zip(z_lo, z_hi, ka, kb, strict=True)])
    k_list, _ = sampler.z_weights(z_list)
    point, idx = ragged_ranges(np.zeros(ep.size, dtype=np.intp), n_z[ep])
    z_at = z_start[ep[point]] + idx
    hot = cand.cell_flags(k_list[z_at], j0[point], i0[point])
    point, z_at = point[hot], z_at[hot]
    return sampler.trilinear(ex[point], ey[point], z_list[z_at])
