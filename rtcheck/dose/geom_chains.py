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
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rtcheck.dicom.model import FloatArray, Structure
from rtcheck.dose.geometry import group_planes

#: Angles of the radial table of a contour.
N_THETA = 1024
THETA = np.arange(N_THETA) * (2 * np.pi / N_THETA)


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
    r2: FloatArray  #: (N_THETA,) squared normalised radius; NaN when not star-shaped
    hole: bool

    @property
    def star(self) -> bool:
        return bool(np.all(np.isfinite(self.r2)))


def _moments(p: FloatArray) -> tuple[float, float, float, float, float]:
    """Signed area, centroid and central second moments σx², σy² of a polygon."""
    x, y = p[:, 0], p[:, 1]
    xn, yn = np.concatenate((x[1:], x[:1])), np.concatenate((y[1:], y[:1]))
    cross = x * yn - xn * y
    a = cross.sum() / 2.0
    cx = float(np.sum((x + xn) * cross) / (6 * a))
    cy = float(np.sum((y + yn) * cross) / (6 * a))
    ixx = float(np.sum((x * x + x * xn + xn * xn) * cross) / (12 * a))
    iyy = float(np.sum((y * y + y * yn + yn * yn) * cross) / (12 * a))
    return float(a), cx, cy, ixx - cx * cx, iyy - cy * cy


def radial_table(q: FloatArray) -> FloatArray:
    """``r(θ)²`` of the polygon ``q`` (normalised, about the origin) at :data:`THETA`.

    All NaN when ``q`` is not star-shaped about the origin (its vertex angles
    do not increase monotonically through one turn).
    """
    phi = np.arctan2(q[:, 1], q[:, 0])
    step = np.diff(np.concatenate((phi, phi[:1])))
    step = (step + np.pi) % (2 * np.pi) - np.pi
    if np.any(step <= 0) or abs(step.sum() - 2 * np.pi) > 1e-6:
        return np.full(N_THETA, np.nan)
    start = int(np.argmin(np.mod(phi, 2 * np.pi)))
    q = np.concatenate((q[start:], q[:start]))
    ang = np.mod(np.arctan2(q[0, 1], q[0, 0]), 2 * np.pi) + np.concatenate(
        ([0.0], np.cumsum(np.concatenate((step[start:], step[:start]))[:-1])))
    theta = np.where(ang[0] > THETA, THETA + 2 * np.pi, THETA)
    i = np.searchsorted(ang, theta, side="right") - 1
    a, b = q[i], q[(i + 1) % q.shape[0]]
    e = b - a
    ux, uy = np.cos(theta), np.sin(theta)
    t = (a[:, 0] * e[:, 1] - a[:, 1] * e[:, 0]) / (ux * e[:, 1] - uy * e[:, 0])
    return np.asarray(t * t, dtype=np.float64)


def describe(z: float, polygon: FloatArray, hole: bool) -> ContourShape:
    """The descriptor of one closed contour (counter-clockwise or not)."""
    a, cx, cy, sx2, sy2 = _moments(polygon)
    p = polygon if a > 0 else polygon[::-1]
    if sx2 <= 0 or sy2 <= 0 or a == 0:
        return ContourShape(z, p, abs(a), cx, cy, max(sx2, 1e-12), max(sy2, 1e-12),
                            np.full(N_THETA, np.nan), hole)
    q = np.column_stack(((p[:, 0] - cx) / np.sqrt(sx2), (p[:, 1] - cy) / np.sqrt(sy2)))
    return ContourShape(z, p, abs(a), cx, cy, sx2, sy2, radial_table(q), hole)


@dataclass(frozen=True)
class Chain:
    """Linked contours of consecutive planes, ascending in z.

    ``limit_lo``/``limit_hi``: the nearest structure plane beyond each end on
    which the chain has no contour (the surface must close before it), or the
    end plane ∓ the median spacing at the ends of the stack.
    """

    shapes: tuple[ContourShape, ...]
    limit_lo: float
    limit_hi: float

    @property
    def z(self) -> FloatArray:
        return np.array([s.z for s in self.shapes])


def _inside(q: FloatArray, polygon: FloatArray) -> npt.NDArray[np.bool_]:
    """Crossing-number test of the points ``q`` (m, 2) against one polygon: the rule of
    :func:`~rtcheck.dose.geom_scanline.points_inside`, without building its edge tables
    (linking calls it for every pair of contours of consecutive planes)."""
    x0, y0 = polygon[:, 0], polygon[:, 1]
    lo_x, hi_x, lo_y, hi_y = x0.min(), x0.max(), y0.min(), y0.max()
    near = (q[:, 0] >= lo_x) & (q[:, 0] <= hi_x) & (q[:, 1] >= lo_y) & (q[:, 1] <= hi_y)
    out = np.zeros(q.shape[0], dtype=bool)
    if not near.any():
        return out
    x1, y1 = np.concatenate((x0[1:], x0[:1])), np.concatenate((y0[1:], y0[:1]))
    x, y = q[near, :1], q[near, 1:]
    spans = (np.minimum(y0, y1) <= y) & (y < np.maximum(y0, y1))
    with np.errstate(divide="ignore", invalid="ignore"):
        xc = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    out[near] = np.count_nonzero(spans & (x < xc), axis=1) % 2 == 1
    return out


def _holes(polys: tuple[FloatArray, ...]) -> list[bool]:
    """Whether each polygon lies inside an odd number of the others (a hole)."""
    flags = []
    for i, p in enumerate(polys):
        depth = sum(bool(_inside(p[:1], q)[0]) for j, q in enumerate(polys) if j != i)
        flags.append(depth % 2 == 1)
    return flags


def _probes(c: ContourShape) -> FloatArray:
    """The centroid and up to 16 points just inside the contour's vertices."""
    p = c.polygon[:: max(1, c.polygon.shape[0] // 16)]
    centre = np.array([[c.cx, c.cy]])
    return np.concatenate((centre, p + 0.02 * (centre - p)))


def _overlap(a: ContourShape, b: ContourShape) -> bool:
    """True when a probe point of ``b`` lies inside ``a``."""
    return bool(_inside(_probes(b), a.polygon).any())


def _box(c: ContourShape) -> tuple[float, float, float, float]:
    p = c.polygon
    return float(p[:, 0].min()), float(p[:, 0].max()), float(p[:, 1].min()), float(p[:, 1].max())


def _link(prev: list[ContourShape], cur: list[ContourShape]) -> dict[int, int]:
    """Map index in ``cur`` → index in ``prev`` of linked contours (one-to-one)."""
    pairs = []
    boxes = [_box(b) for b in cur]
    for i, a in enumerate(prev):
        ax0, ax1, ay0, ay1 = _box(a)
        for j, b in enumerate(cur):
            bx0, bx1, by0, by1 = boxes[j]
            if a.hole != b.hole or bx0 > ax1 or bx1 < ax0 or by0 > ay1 or by1 < ay0:
                continue  # overlapping contours have overlapping boxes
            if _overlap(a, b) or _overlap(b, a):
                pairs.append((float(np.hypot(a.cx - b.cx, a.cy - b.cy)), i, j))
    links: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in used and j not in links:
            links[j] = i
            used.add(i)
    return links


def build_chains(structure: Structure, gap_factor: float = 1.5,
                 default_spacing_mm: float = 3.0) -> tuple[list[Chain], float]:
    """The chains of ``structure`` and its median plane spacing (mm)."""
    planes = group_planes(structure)
    z = np.array([p[0] for p in planes])
    med = statistics.median(np.diff(z).tolist()) if z.size > 1 else default_spacing_mm
    open_chains: dict[int, list[ContourShape]] = {}  # index in previous plane → chain
    done: list[tuple[list[ContourShape], int, int]] = []  # chain, first plane, last plane
    starts: dict[int, int] = {}
    prev: list[ContourShape] = []
    for k, (zk, polys) in enumerate(planes):
        polys = tuple(p for p in polys if p.shape[0] >= 3)
        cur = [describe(zk, p, h) for p, h in zip(polys, _holes(polys), strict=True)]
        joined = k > 0 and zk - z[k - 1] <= gap_factor * med
        links = _link(prev, cur) if joined else {}
        new_open: dict[int, list[ContourShape]] = {}
        for j, shape in enumerate(cur):
            chain = open_chains.pop(links[j]) if j in links else []
            if not chain:
                starts[id(chain)] = k
            chain.append(shape)
            new_open[j] = chain
        done.extend((c, starts[id(c)], k - 1) for c in open_chains.values())
        open_chains, prev = new_open, cur
    done.extend((c, starts[id(c)], len(planes) - 1) for c in open_chains.values())
    chains = []
    for shapes, first, last in done:
        lo = z[first - 1] if first > 0 and z[first] - z[first - 1] <= gap_factor * med else (
            z[first] - med)
        hi = z[last + 1] if last + 1 < z.size and z[last + 1] - z[last] <= gap_factor * med else (
            z[last] + med)
        chains.append(Chain(tuple(shapes), float(lo), float(hi)))
    return chains, med

