"""Moment-normalised radial tables of a structure's contours, batched (issue #12).

A structure's contours are one ragged vertex array (:class:`Ragged`). In the frame
normalised by each contour's centroid and second moments a star-shaped contour is
``{ρ ≤ r(θ)}``; :class:`RadialTables` gives ``r(θ)²`` at :data:`N_THETA` angles (exact
ray-segment intersections), evaluated when asked for and at the rays asked for; a contour
whose vertex angles do not increase monotonically through one turn is not star-shaped
(NaN). Every value comes from the same floating-point operations, in the same order, as
for one contour and one ray alone, so none depends on the batch. :func:`inside_polygons`
is the crossing-number test of points against these polygons (Haines E 1994, "Point in
polygon strategies", Graphics Gems IV, pp 24-46). Used by :mod:`rtcheck.dose.geom_chains`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from rtcheck.dicom.model import FloatArray
from rtcheck.dose.geom_scanline import IntArray, ragged_ranges

BoolArray = npt.NDArray[np.bool_]

#: Angles of the radial table of a contour.
N_THETA = 1024
THETA = np.arange(N_THETA) * (2 * np.pi / N_THETA)
_THETA_TURN = THETA + 2 * np.pi  # the angles one turn on (rays below the first vertex angle)
#: Relative margin of the tests that need no angles (:func:`_surely_not_star`,
#: :meth:`RadialTables._finite`); vertex angles are exact to ~10⁻¹² rad.
_MARGIN = 1e-9


@dataclass(frozen=True)
class Ragged:
    """Closed polygons as one vertex array: polygon ``c`` is ``xy[start[c]:start[c] + count[c]]``.

    ``owner`` is each vertex's polygon, ``nxt`` the index of the next vertex of its
    polygon (closing the polygon).
    """

    xy: FloatArray
    start: IntArray
    count: IntArray
    owner: IntArray
    nxt: IntArray

    @classmethod
    def of(cls, polygons: Sequence[FloatArray]) -> Ragged:
        count = np.array([p.shape[0] for p in polygons], dtype=np.intp)
        return cls._of(np.concatenate(polygons) if polygons else np.zeros((0, 2)), count)

    @classmethod
    def _of(cls, xy: FloatArray, count: IntArray) -> Ragged:
        start = np.cumsum(count) - count
        nxt = np.arange(1, xy.shape[0] + 1)
        nxt[start + count - 1] = start
        return cls(xy, start, count, np.repeat(np.arange(count.size), count), nxt)

    def take(self, polygons: IntArray) -> tuple[Ragged, IntArray]:
        """The ``polygons`` as a ragged array of their own, and their vertices' indices here."""
        _, vertex = ragged_ranges(self.start[polygons], self.count[polygons])
        return Ragged._of(self.xy[vertex], self.count[polygons]), vertex

    @cached_property
    def box(self) -> FloatArray:
        """Each polygon's (xmin, xmax, ymin, ymax)."""
        if not self.count.size:
            return np.zeros((0, 4))
        x, y, start = self.xy[:, 0], self.xy[:, 1], self.start
        return np.column_stack((np.minimum.reduceat(x, start), np.maximum.reduceat(x, start),
                                np.minimum.reduceat(y, start), np.maximum.reduceat(y, start)))

    @cached_property
    def y_range(self) -> tuple[FloatArray, FloatArray]:
        """The y range ``[lo, hi]`` of the edge from each vertex to the next."""
        y = self.xy[:, 1]
        return np.minimum(y, y[self.nxt]), np.maximum(y, y[self.nxt])


def _surely_not_star(q: FloatArray, r: Ragged) -> BoolArray:
    """Polygons with an edge that turns clockwise about the origin by a clear margin
    (``q_k × q_k+1 < -10⁻⁹ |q_k| |q_k+1|``): whatever the rounding of their vertex
    angles, :func:`_star` finds a step ≤ 0 there, so they need no angles."""
    x, y = q[:, 0], q[:, 1]
    xn, yn = x[r.nxt], y[r.nxt]
    cross = x * yn - y * xn
    back = (cross < 0) & (cross * cross > _MARGIN**2 * ((x * x + y * y) * (xn * xn + yn * yn)))
    return np.logical_or.reduceat(back, r.start) if r.count.size else back[:0]


def _star(phi: FloatArray, r: Ragged) -> tuple[FloatArray, IntArray]:
    """Angle steps between consecutive vertices and the polygons that are star-shaped
    about the origin (their vertex angles increase monotonically through one turn)."""
    step = phi[r.nxt] - phi
    step = (step + np.pi) % (2 * np.pi) - np.pi
    if not r.count.size:
        return step, np.zeros(0, dtype=np.intp)
    back = np.logical_or.reduceat(step <= 0, r.start)
    turn = np.add.reduceat(step, r.start)
    return step, np.flatnonzero(~back & ~(np.abs(turn - 2 * np.pi) > 1e-6))


def _angles(phi: FloatArray, step: FloatArray, r: Ragged) -> tuple[IntArray, FloatArray]:
    """Each polygon's vertices from its vertex of least angle in [0, 2π) on (their indices),
    and their unwrapped angles: that angle plus the cumulative steps, summed one polygon
    at a time (ragged, as ``r``)."""
    mod = np.mod(phi, 2 * np.pi)
    local = np.arange(mod.size) - r.start[r.owner]
    low = np.minimum.reduceat(mod, r.start)
    first = np.minimum.reduceat(np.where(mod == low[r.owner], local, mod.size), r.start)
    rot = r.start[r.owner] + (first[r.owner] + local) % r.count[r.owner]
    steps = step[rot]
    before = np.empty(mod.size)  # the cumulative steps before each vertex
    for s, n in zip(r.start.tolist(), r.count.tolist(), strict=True):
        before[s] = 0.0
        before[s + 1:s + n] = np.cumsum(steps[s:s + n - 1])
    return rot, mod[rot[r.start]][r.owner] + before


@cache
def _rays(stride: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Every ``stride``-th ray: its angle, the angle one turn on, and the cos and sin of the
    rays in ascending order from ray k (from ``THETA[k]`` on, then the turned ones): row k."""
    cos, sin = np.cos(THETA), np.sin(THETA)
    cos_turn, sin_turn = np.cos(_THETA_TURN), np.sin(_THETA_TURN)
    m = N_THETA // stride
    out = (THETA[::stride], _THETA_TURN[::stride],
           sliding_window_view(np.concatenate((cos[::stride], cos_turn[::stride])), m),
           sliding_window_view(np.concatenate((sin[::stride], sin_turn[::stride])), m))
    return tuple(np.asarray(a, dtype=np.float64) for a in out)  # type: ignore[return-value]


def _by_column(sorted_rays: FloatArray, turned: IntArray) -> FloatArray:
    """Rows of values per ray in ascending ray order in the order of the rays: the first
    ``turned`` rays (turned: one turn on) come last in the former."""
    m = sorted_rays.shape[1]
    windows = sliding_window_view(np.concatenate((sorted_rays, sorted_rays), axis=1), m, axis=1)
    return np.asarray(windows[np.arange(turned.size), m - turned])


class RadialTables:
    """The radial tables ``r(θ)²`` of polygons given about the origin (``q``, ``r``):
    rows of NaN for polygons that are not star-shaped about it (their vertex angles do not
    increase monotonically through one turn) or not ``candidate``. The star test is done
    at once; the tables of any polygons, at every ``stride``-th ray of :data:`THETA`,
    when asked for (:meth:`rays`).
    """

    def __init__(self, q: FloatArray, r: Ragged, candidate: BoolArray | None = None) -> None:
        keep = ~_surely_not_star(q, r)
        maybe = np.flatnonzero(keep if candidate is None else keep & candidate)
        self.local = np.full(r.count.size, -1, dtype=np.intp)  # row → star-shaped polygon
        sub, vertex = r.take(maybe)
        q = q[vertex]
        phi = np.arctan2(q[:, 1], q[:, 0])
        step, star = _star(phi, sub)
        self.local[maybe[star]] = np.arange(star.size)
        self.r, vertex = sub.take(star)
        q, phi, step = q[vertex], phi[vertex], step[vertex]
        self.rot: IntArray = vertex  # each vertex from the least angle on, and its angle
        self.ang: FloatArray = phi
        if star.size:
            self.rot, self.ang = _angles(phi, step, self.r)
        # ray-segment intersection with the edge a → b from vertex a: t = a × e / (u × e)
        self.ex, self.ey = q[self.r.nxt, 0] - q[:, 0], q[self.r.nxt, 1] - q[:, 1]
        self.cross = q[:, 0] * self.ey - q[:, 1] * self.ex
        self.star = self.local >= 0  #: the table has no NaN nor infinity
        self._finite(q)

    def _finite(self, q: FloatArray) -> None:
        """Clear :attr:`star` of tables with a NaN or an infinity: only possible where an
        edge's line passes (nearly) through the origin, ``|a × e| ≤ 10⁻⁹ |e| max(|a|, |b|)``
        (elsewhere a ray through the edge meets it at ``|u × e| ≥ |a × e| / max(|a|, |b|)``)."""
        if not self.r.count.size:
            return
        size = np.hypot(q[:, 0], q[:, 1])
        reach = np.hypot(self.ex, self.ey) * np.maximum(size, size[self.r.nxt])
        doubt = np.flatnonzero(~np.logical_and.reduceat(np.abs(self.cross) > _MARGIN * reach,
                                                        self.r.start))
        if doubt.size:
            rows = np.flatnonzero(self.star)[doubt]
            self.star[rows] = np.all(np.isfinite(self._tables(doubt, 1)), axis=1)

    def rays(self, rows: IntArray, stride: int = 1) -> FloatArray:
        """``r(θ)²`` ``(len(rows), N_THETA // stride)`` of the polygons ``rows`` at
        ``THETA[::stride]`` (each value as in the full table)."""
        out = np.full((rows.size, N_THETA // stride), np.nan)
        local = self.local[rows]
        has = np.flatnonzero(local >= 0)
        if has.size:
            out[has] = self._tables(local[has], stride)
        return out

    def _tables(self, local: IntArray, stride: int) -> FloatArray:
        """The tables of the star-shaped polygons ``local``: each ray's edge starts at the last
        vertex whose unwrapped angle is at most the ray's (``searchsorted(ang, θ, "right") -
        1``), the rays taken in ascending order from the first vertex angle: a vertex's run
        of rays starts at its rank, the number of rays below its angle."""
        r, vertex = self.r.take(local)
        ang, rot = self.ang[vertex], self.rot[vertex]
        theta, theta_turn, cos, sin = _rays(stride)
        turned = np.searchsorted(theta, ang[r.start])  # rays below the first vertex angle
        t = turned[r.owner]
        rank = np.searchsorted(theta, ang) - t + np.minimum(np.searchsorted(theta_turn, ang), t)
        end = np.empty_like(rank)
        end[:-1] = rank[1:]
        end[r.start + r.count - 1] = theta.size
        v = np.repeat(rot, end - rank).reshape(-1, theta.size)
        t = self.cross[v] / (cos[turned] * self.ey[v] - sin[turned] * self.ex[v])
        return _by_column(t * t, turned)


def radial_table(q: FloatArray) -> FloatArray:
    """``r(θ)²`` of the polygon ``q`` (normalised, about the origin) at :data:`THETA`.

    All NaN when ``q`` is not star-shaped about the origin (its vertex angles
    do not increase monotonically through one turn).
    """
    return RadialTables(q, Ragged.of([q])).rays(np.zeros(1, dtype=np.intp))[0]


def inside_polygons(px: FloatArray, py: FloatArray, poly: IntArray, r: Ragged,
                    margin: float = 0.0) -> BoolArray:
    """Crossing-number test of each point ``(px, py)`` against the polygon ``poly`` of
    ``r`` (crossing-number test; Haines E 1994, "Point in polygon strategies", Graphics
    Gems IV, pp 24-46): the rule of :func:`~rtcheck.dose.geom_scanline.points_inside`, one
    polygon per point. Points more than ``margin`` outside the polygon's box count as outside: the
    test would find them so (a crossing abscissa rounds at most a few ulps beyond the box),
    and so does linking's box test with ``margin = 0``."""
    b = r.box[poly]
    near = np.flatnonzero((px >= b[:, 0] - margin) & (px <= b[:, 1] + margin)
                          & (py >= b[:, 2] - margin) & (py <= b[:, 3] + margin))
    out = np.zeros(px.shape, dtype=bool)
    if not near.size:
        return out
    test, v = ragged_ranges(r.start[poly[near]], r.count[poly[near]])
    y = py[near][test]
    y_lo, y_hi = r.y_range
    spans = np.flatnonzero((y_lo[v] <= y) & (y < y_hi[v]))  # edges crossing the row
    test, v, y = test[spans], v[spans], y[spans]
    x0, y0 = r.xy[v, 0], r.xy[v, 1]
    x1, y1 = r.xy[r.nxt[v], 0], r.xy[r.nxt[v], 1]
    xc = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    out[near] = np.bincount(test[px[near][test] < xc], minlength=near.size) % 2 == 1
    return out
