"""Contour descriptors and contour chains for the smooth geometry model (issue #12).

:mod:`rtcheck.dose.geom_smooth` builds on it.

Descriptor of one contour (:class:`ContourShape`)
-------------------------------------------------
A closed polygon is described by its area, centroid and axis-aligned second
moments ``σx² = ∫(x - cx)² dA / A``, ``σy²`` (exact polygon formulas; Steger C 1996,
"On the calculation of arbitrary moments of polygons", TU München FGBV-96-05), and by its
**moment-normalised radial function**: in the frame ``X = (x - cx)/σx``,
``Y = (y - cy)/σy`` the polygon, if star-shaped about its centroid, is
``{ρ ≤ r(θ)}``; ``r(θ)²`` is tabulated at :data:`N_THETA` angles (exact
ray-segment intersections). All discs normalise to one curve (a circle of
radius 2), all axis-aligned rectangles to another (a square), so along a sphere, a cone or a lying
cylinder only ``σx², σy²`` change between planes, and they change as
polynomials of degree ≤ 2 in z (``σ² ∝ r²``): this is what makes the model's
interpolation exact for those shapes. The normalisation by second moments is
the affine part of a moment-based shape description (Hu M-K 1962, "Visual
pattern recognition by moment invariants", IRE Trans Inf Theory 8(2):179-187).
See docs/geometry-research.md for the method and its evaluation.

Chains
------
Contours of consecutive planes (closer than ``gap_factor`` × the median
spacing) are linked when they overlap (the centroid or a point just inside a vertex of one
lies inside the other); each contour has
at most one predecessor and one successor (nearest centroid wins; the other
branch starts or ends a chain of its own). A hole (a contour inside an odd
number of other contours of its plane) links only to holes. The structure is
the even-odd union of its chains, as its planes are of their contours.

Vectorisation
-------------
A structure's contours are one ragged vertex array (:class:`Ragged`); moments, star
test, hole nesting and linking run on it at once, and the radial tables are evaluated
when asked for, at the rays asked for (:class:`RadialTables`). Every value comes from
the same floating-point operations, in the same order, as for one contour and one ray
alone (per-polygon pairwise sums and cumulative sums), so none depends on the batch.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt

from rtcheck.dicom.model import FloatArray, Structure
from rtcheck.dose.geom_radial import (
    RadialTables,
    Ragged,
    inside_polygons,
)
from rtcheck.dose.geom_scanline import IntArray, ragged_ranges
from rtcheck.dose.geometry import group_planes

BoolArray = npt.NDArray[np.bool_]
#: Contours grouped by plane, ascending in z: ``[(z_mm, polygons), ...]``.
Planes = Sequence[tuple[float, tuple[FloatArray, ...]]]


def _moments(r: Ragged) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Signed area, centroid and central second moments σx², σy² of each polygon.

    Shoelace-type sums over the edges (Steger 1996, see the module docstring); each
    polygon's sums are numpy's pairwise sums of that polygon's terms alone.
    """
    x, y = r.xy[:, 0], r.xy[:, 1]
    xn, yn = x[r.nxt], y[r.nxt]
    cross = x * yn - xn * y
    terms = np.stack((cross, (x + xn) * cross, (y + yn) * cross,
                      (x * x + x * xn + xn * xn) * cross, (y * y + y * yn + yn * yn) * cross))
    sums = np.array([terms[:, s:s + n].sum(axis=1)
                     for s, n in zip(r.start.tolist(), r.count.tolist(), strict=True)])
    sums = sums.reshape(-1, 5)
    a = sums[:, 0] / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):  # a == 0: degenerate, see describe
        cx, cy = sums[:, 1] / (6 * a), sums[:, 2] / (6 * a)
        ixx, iyy = sums[:, 3] / (12 * a), sums[:, 4] / (12 * a)
    return a, cx, cy, ixx - cx * cx, iyy - cy * cy


@dataclass(frozen=True)
class ContourShape:
    """One contour: plane, polygon, area, centroid, second moments, radial table."""

    z: float
    polygon: FloatArray
    area: float
    cx: float
    cy: float
    sx2: float
    sy2: float
    hole: bool
    star: bool  #: the radial table is finite (star-shaped about the centroid)
    box: tuple[float, float, float, float]  #: xmin, xmax, ymin, ymax of the polygon
    tables: RadialTables = field(repr=False, compare=False)
    row: int = field(repr=False, compare=False)

    @cached_property
    def r2(self) -> FloatArray:
        """(N_THETA,) squared normalised radius; NaN when not star-shaped."""
        return self.tables.rays(np.array([self.row]))[0]


@dataclass(frozen=True)
class ContourArrays:
    """The descriptors of a structure's contours as arrays, one row per contour."""

    z: FloatArray
    params: FloatArray  #: (n, 5): cx, cy, σx², σy², area
    tables: RadialTables


def _describe_all(z: Sequence[float], polygons: Sequence[FloatArray],
                  holes: Sequence[bool] | BoolArray, r: Ragged
                  ) -> tuple[list[ContourShape], Ragged, ContourArrays]:
    """Descriptors of the closed contours ``polygons`` (``r``: the same as one ragged array),
    the contours counter-clockwise as one ragged array, and the descriptors as arrays."""
    a, cx, cy, sx2, sy2 = _moments(r)
    ok = ~(sx2 <= 0) & ~(sy2 <= 0) & (a != 0)
    i, o = np.arange(r.xy.shape[0]), r.owner
    oriented = replace(r, xy=r.xy[np.where((a > 0)[o], i, 2 * r.start[o] + r.count[o] - 1 - i)])
    q = np.column_stack(((oriented.xy[:, 0] - np.where(ok, cx, 0.0)[o])
                         / np.sqrt(np.where(ok, sx2, 1.0))[o],
                         (oriented.xy[:, 1] - np.where(ok, cy, 0.0)[o])
                         / np.sqrt(np.where(ok, sy2, 1.0))[o]))
    tables = RadialTables(q, oriented, ok)
    sx2, sy2 = np.where(ok, sx2, np.maximum(sx2, 1e-12)), np.where(ok, sy2, np.maximum(sy2, 1e-12))
    params = np.column_stack((cx, cy, sx2, sy2, np.abs(a)))
    shapes = [ContourShape(zc, p if ac > 0 else p[::-1], area, xc, yc, vx, vy, bool(hole), star,
                           tuple(box), tables, c)
              for c, (p, zc, hole, ac, (xc, yc, vx, vy, area), star, box) in enumerate(zip(
                  polygons, z, holes, a.tolist(), params.tolist(), tables.star.tolist(),
                  r.box.tolist(), strict=True))]
    return shapes, oriented, ContourArrays(np.array(z, dtype=np.float64), params, tables)


def describe(z: float, polygon: FloatArray, hole: bool) -> ContourShape:
    """The descriptor of one closed contour (counter-clockwise or not)."""
    return _describe_all([z], [polygon], [hole], Ragged.of([polygon]))[0][0]


@dataclass(frozen=True)
class Chain:
    """Linked contours of consecutive planes, ascending in z.

    ``limit_lo``/``limit_hi``: the nearest structure plane beyond each end on
    which the chain has no contour (the surface must close before it), or the
    end plane ∓ the median spacing at the ends of the stack. ``rows``: the
    contours' rows in ``arrays`` (all contours of the structure).
    """

    shapes: tuple[ContourShape, ...]
    limit_lo: float
    limit_hi: float
    rows: IntArray = field(repr=False, compare=False)
    arrays: ContourArrays = field(repr=False, compare=False)

    @property
    def z(self) -> FloatArray:
        return np.array([s.z for s in self.shapes])

    def rays(self, stride: int = 1) -> FloatArray:
        """The radial tables at ``THETA[::stride]``, zero where not star-shaped."""
        star = self.arrays.tables.star[self.rows]
        return np.where(star[:, None], self.arrays.tables.rays(self.rows, stride), 0.0)


def _holes(r: Ragged, plane: IntArray, first: IntArray, n_of: IntArray) -> BoolArray:
    """Whether each polygon lies inside an odd number of the others of its plane (a hole):
    its first vertex tested against them (``first``/``n_of``: each plane's polygons)."""
    multi = np.flatnonzero(n_of[plane] > 1)
    k, other = ragged_ranges(first[plane[multi]], n_of[plane[multi]])
    c = multi[k]
    c, other = c[other != c], other[other != c]
    p0 = r.xy[r.start[c]]
    depth = np.bincount(c[inside_polygons(p0[:, 0], p0[:, 1], other, r)], minlength=r.count.size)
    return np.asarray(depth % 2 == 1)


def _overlap(i: IntArray, j: IntArray, cx: FloatArray, cy: FloatArray, r: Ragged) -> BoolArray:
    """Whether contour ``i`` and ``j`` overlap: the centroid or a point just inside one of
    up to 16 vertices of one lies inside the other (centroids first)."""
    hit = inside_polygons(cx[j], cy[j], i, r)
    rest = np.flatnonzero(~hit)
    hit[rest] = inside_polygons(cx[i[rest]], cy[i[rest]], j[rest], r)
    rest = np.flatnonzero(~hit)
    if rest.size:
        a, b = np.concatenate((i[rest], j[rest])), np.concatenate((j[rest], i[rest]))
        stride = np.maximum(1, r.count[b] // 16)  # probes of b inside a
        pair, k = ragged_ranges(np.zeros(b.size, dtype=np.intp), (r.count[b] - 1) // stride + 1)
        v = r.start[b[pair]] + k * stride[pair]
        x, y = r.xy[v, 0], r.xy[v, 1]
        got = inside_polygons(x + 0.02 * (cx[b[pair]] - x), y + 0.02 * (cy[b[pair]] - y),
                              a[pair], r)
        got = np.bincount(pair[got], minlength=b.size) > 0
        hit[rest] = got[: rest.size] | got[rest.size:]
    return hit


def _link(r: Ragged, hole: BoolArray, centre: FloatArray, plane: IntArray, first: IntArray,
          n_of: IntArray, joined: BoolArray) -> IntArray:
    """Index of each contour's predecessor on the previous plane, -1 for none: pairs of
    overlapping contours (same hole flag) linked one-to-one, nearest centroids first."""
    cx, cy = centre[:, 0], centre[:, 1]
    cur = np.flatnonzero(joined[plane])
    k, i = ragged_ranges(first[plane[cur] - 1], n_of[plane[cur] - 1])
    j = cur[k]
    bi, bj = r.box[i], r.box[j]
    keep = (hole[i] == hole[j]) & ~((bj[:, 0] > bi[:, 1]) | (bj[:, 1] < bi[:, 0])
                                    | (bj[:, 2] > bi[:, 3]) | (bj[:, 3] < bi[:, 2]))
    i, j = i[keep], j[keep]  # overlapping contours have overlapping boxes
    hit = _overlap(i, j, cx, cy, r)
    i, j = i[hit], j[hit]
    order = np.lexsort((j, i, np.hypot(cx[i] - cx[j], cy[i] - cy[j])))
    pred, used = [-1] * hole.size, [False] * hole.size
    for a, b in zip(i[order].tolist(), j[order].tolist(), strict=True):
        if not used[a] and pred[b] < 0:
            pred[b], used[a] = a, True
    return np.array(pred, dtype=np.intp)


def _contours(planes: Planes, joined: BoolArray
              ) -> tuple[list[ContourShape], ContourArrays, IntArray, IntArray, IntArray]:
    """Descriptors of the contours (at least 3 vertices) of all planes, in plane order
    (also as arrays), their predecessors (:func:`_link`) and each plane's first contour
    and count."""
    polys = [[p for p in ps if p.shape[0] >= 3] for _, ps in planes]
    n_of = np.array([len(ps) for ps in polys], dtype=np.intp)
    first = np.cumsum(n_of) - n_of
    plane = np.repeat(np.arange(n_of.size), n_of)
    flat = [p for ps in polys for p in ps]
    r = Ragged.of(flat)
    holes = _holes(r, plane, first, n_of)
    shapes, oriented, arrays = _describe_all([planes[k][0] for k in plane.tolist()], flat,
                                             holes, r)
    pred = _link(oriented, holes, arrays.params[:, :2], plane, first, n_of, joined)
    return shapes, arrays, pred, first, n_of


def build_chains(structure: Structure, gap_factor: float = 1.5, default_spacing_mm: float = 3.0,
                 planes: Planes | None = None) -> tuple[list[Chain], float]:
    """The chains of ``structure`` and its median plane spacing (mm).

    ``planes``: the structure's contours grouped by plane, as
    :func:`~rtcheck.dose.geometry.group_planes` gives them (grouped again when ``None``).
    """
    planes = group_planes(structure) if planes is None else planes
    z = np.array([p[0] for p in planes])
    med = statistics.median(np.diff(z).tolist()) if z.size > 1 else default_spacing_mm
    joined = np.concatenate(([False], np.diff(z) <= gap_factor * med)) if z.size else z > 0
    shapes, arrays, pred, first, n_of = _contours(planes, joined)
    open_chains: dict[int, list[int]] = {}  # contour of the previous plane → chain
    done: list[tuple[list[int], int, int]] = []  # chain (contours), first plane, last plane
    starts: dict[int, int] = {}
    before = pred.tolist()
    for k, (c0, n) in enumerate(zip(first.tolist(), n_of.tolist(), strict=True)):
        new_open: dict[int, list[int]] = {}
        for c in range(c0, c0 + n):
            chain = open_chains.pop(before[c]) if before[c] >= 0 else []
            if not chain:
                starts[id(chain)] = k
            chain.append(c)
            new_open[c] = chain
        done.extend((c, starts[id(c)], k - 1) for c in open_chains.values())
        open_chains = new_open
    done.extend((c, starts[id(c)], len(planes) - 1) for c in open_chains.values())
    chains = []
    for chain, lo_k, hi_k in done:
        lo = z[lo_k - 1] if lo_k > 0 and z[lo_k] - z[lo_k - 1] <= gap_factor * med else (
            z[lo_k] - med)
        hi = z[hi_k + 1] if hi_k + 1 < z.size and z[hi_k + 1] - z[hi_k] <= gap_factor * med else (
            z[hi_k] + med)
        chains.append(Chain(tuple(shapes[c] for c in chain), float(lo), float(hi),
                            np.array(chain, dtype=np.intp), arrays))
    return chains, med
