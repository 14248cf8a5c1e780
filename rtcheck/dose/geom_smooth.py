"""Smooth geometry model between and beyond contour planes (``--geometry smooth``, issue #12).

The DVH engine samples it as thin prisms (:mod:`rtcheck.dose.geom_sections`,
:meth:`ChainModel.sections`, whose radial tables :func:`prepare_sections` evaluates
for all chains at once, at the rays the sections take); ``tests/smooth_membership.py``
is an independent point-membership test of the same model, used to check it. See
``docs/geometry-research.md``.

Model ("moment-normalised radial interpolation", ``MNRI``)
--------------------------------------------------------
Each chain of linked contours (:mod:`rtcheck.dose.geom_chains`) is a
one-parameter family of sections ``S(z)``: centroid ``c(z)``, second moments
``σx²(z)``, ``σy²(z)`` and normalised radial function ``r²(θ, z)``; a point is
inside when, in the frame ``X = (x - cx)/σx, Y = (y - cy)/σy``, ``X² + Y² ≤ r²(θ)``.

* **Between planes** every parameter is interpolated by the Lagrange
  polynomial through four planes (the two bracketing planes and one more on
  each side; three or two planes near a short chain's ends, non-uniform
  spacing allowed): cubic interpolation in z (Catmull-Rom-like, but on the
  actual plane positions). Second moments scale as ``r²``, which is quadratic
  in z for a sphere, a cone and a cylinder lying in the axial plane, so these
  are reproduced exactly, where linear interpolation of a signed distance cuts
  the chord of every convex profile.
* **Beyond the end planes** (trend-driven end rule): when the last contour is
  smaller than its inner neighbour by more than :data:`SHRINK` (relative area),
  the last three planes' trend (quadratic in z) is extrapolated until a second
  moment reaches zero or their product stops decreasing (the vertex of the
  trend), which
  closes the surface. It must close before the
  nearest plane without a contour (``Chain.limit_*``); otherwise, and when the
  contours do not shrink (a flat end), the chain ends with a **half-slice cap**
  (half the inner spacing), its section following the same trend.
* **Section areas** are the model's own, ``σx σy ½∫r²dθ``, which is linear in
  ``r²`` and so the same Lagrange interpolation of the contours' areas in their
  normalised frames (:meth:`ChainModel._interpolated`); the section polygons take
  about as many rays as the chain's contours have vertices (at least
  :data:`MIN_SECTION_VERTICES`), so that the Dmin/Dmax search visits no more edges
  than the contours have.
* A one-contour chain is its contour with half-slice caps either side.
* Holes, several contours per plane, branches: chains combine by the even-odd
  rule. Near a contour that is not star-shaped about its centroid (in the
  normalised frame) the model falls back to the staircase: every point whose
  four-plane stencil (or end trend) uses such a contour is tested against the
  polygon of its nearest plane, as the engine does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from rtcheck.dicom.model import FloatArray, Structure
from rtcheck.dose.geom_chains import Chain, Planes, build_chains
from rtcheck.dose.geom_radial import N_THETA, THETA
from rtcheck.dose.geometry import polygon_area_mm2

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: Relative area decrease of the end contour below which an end counts as flat.
SHRINK = 0.05
#: Sub-steps used to find where the extrapolated section closes.
CLOSE_STEPS = 256
_COS, _SIN = np.cos(THETA), np.sin(THETA)
#: Fewest vertices of a smooth section polygon (see :attr:`ChainModel.ray_stride`).
MIN_SECTION_VERTICES = 64


class Sections(NamedTuple):
    """Sections of a chain at given heights (:meth:`ChainModel.sections`)."""

    polygons: list[FloatArray | None]
    fallback: BoolArray  #: the section is the staircase's (the nearest plane's contour)
    area: list[float | None]  #: area (mm²) of each smooth section (None: staircase or none)
    box: list[tuple[float, float, float, float] | None]  #: xmin, xmax, ymin, ymax of each


def lagrange_weights(nodes: FloatArray, z: FloatArray) -> FloatArray:
    """Weights ``(m, k)`` of the Lagrange polynomials through ``nodes`` ``(m, k)`` at ``z``:
    ``w_i = Π_{j ≠ i} (z - x_j) / (x_i - x_j)`` (Press WH et al. 2007, *Numerical Recipes*,
    3rd ed., §3.2), the factors multiplied in the order of j."""
    k = nodes.shape[1]
    d = np.arange(k)
    den = nodes[:, :, None] - nodes[:, None, :]  # x_i - x_j
    den[:, d, d] = 1.0
    f = (z[:, None] - nodes)[:, None, :] / den
    f[:, d, d] = 1.0  # j = i: no factor (x · 1.0 = x exactly)
    w = f[:, :, 0]
    for j in range(1, k):
        w = w * f[:, :, j]
    return np.asarray(w)


@dataclass(frozen=True)
class ChainModel:
    """Arrays of one chain and its end extents (mm)."""

    z: FloatArray
    params: FloatArray  #: (n, 5): cx, cy, σx², σy², area
    z_lo: float
    z_hi: float
    star: npt.NDArray[np.bool_]  #: (n,) contour is star-shaped (else staircase near it)
    chain: Chain

    @classmethod
    def of(cls, chain: Chain, median_mm: float, cap_fraction: float = 0.5) -> ChainModel:
        """The model of ``chain``; a flat end gets ``cap_fraction`` × its inner spacing
        (0.5: the half-slice cap, 0: none, as :class:`~rtcheck.dose.settings.EndCap`)."""
        z, params = chain.arrays.z[chain.rows], chain.arrays.params[chain.rows]
        star = chain.arrays.tables.star[chain.rows]
        if z.size == 1:  # both ends flat: capped either side by the median spacing
            cap = cap_fraction * median_mm
            return cls(z, params, float(z[0]) - cap, float(z[0]) + cap, star, chain)
        model = cls(z, params, float(z[0]), float(z[-1]), star, chain)
        lo = model._end(False, chain.limit_lo, median_mm, cap_fraction)
        hi = model._end(True, chain.limit_hi, median_mm, cap_fraction)
        return cls(z, params, lo, hi, star, chain)

    @property
    def r2(self) -> FloatArray:
        """The radial tables ``(n, N_THETA)`` (zero where not star-shaped)."""
        return self.rays(1)

    def rays(self, stride: int) -> FloatArray:
        """The radial tables at every ``stride``-th angle (evaluated once per stride)."""
        if stride not in self._rays:
            self._rays[stride] = self.chain.rays(stride)
        return self._rays[stride]

    @cached_property
    def _rays(self) -> dict[int, FloatArray]:
        return {}

    def _end_nodes(self, end: int) -> IntArray:
        """The end plane and its two inner neighbours (fewer in a short chain).

        A variant that stops at the area maximum (so as not to extrapolate across
        an apex) was measured and rejected: it helps the small lying cone but makes
        the small sphere worse (volume -4.96 % instead of -0.05 % at 3 mm).
        """
        n = self.z.size
        m = min(n, 3)
        return np.arange(m) if end == 0 else np.arange(n - m, n)

    def _end(self, upper: bool, limit: float, median_mm: float, cap_fraction: float) -> float:
        """z of the chain's lower or ``upper`` end (trend-driven, else the flat cap); a
        one-contour chain has both ends at its plane, capped either side."""
        n = self.z.size
        end = n - 1 if upper else 0
        ze = float(self.z[end])
        inner = n - 2 if upper else 1
        cap = cap_fraction * (abs(ze - float(self.z[inner])) if n > 1 else median_mm)
        direction = 1.0 if upper else -1.0
        flat = self.params[end, 4] >= (1 - SHRINK) * self.params[inner, 4] if n > 1 else True
        if flat or not self.star[self._end_nodes(end)].all():
            return ze + direction * cap
        zs = ze + direction * np.linspace(0, abs(limit - ze), CLOSE_STEPS + 1)[1:]
        p = self.section(zs, self._end_nodes(end))
        # closed where a second moment vanishes, or where σx² σy² (∝ area²) stops
        # shrinking: the vertex of a trend that touches zero without crossing it, like
        # r² = c (z_apex - z)² of a cone, up to rounding
        sig = np.vstack((self.params[end, 2:4], p[:, 2:4]))
        prod = sig[:, 0] * sig[:, 1]
        vanish = np.any(sig[1:] <= 1e-9 * sig[0], axis=1)
        closed = np.flatnonzero(vanish | (np.diff(prod) > 0))
        if closed.size == 0:
            return ze + direction * cap
        return float(zs[closed[0]])

    def section(self, zq: FloatArray, nodes: IntArray) -> FloatArray:
        """Interpolated (cx, cy, σx², σy², area) at ``zq`` through the fixed ``nodes``."""
        w = lagrange_weights(np.broadcast_to(self.z[nodes], (zq.size, nodes.size)), zq)
        return w @ self.params[nodes]

    def stencil(self, zq: FloatArray) -> IntArray:
        """Node indices ``(m, k)`` of each query height (k ≤ 4 planes; -1: unused).

        Between the end planes: the four planes around the query (fewer in a short
        chain); beyond an end plane: that end's trend nodes (:meth:`_end_nodes`).
        """
        n = self.z.size
        k = min(n, 4)
        # the interval [z_i, z_i+1) holding zq (i clipped to 0 .. n - 2), from i - 1 on,
        # clipped to the chain: first = clip(i - 1, 0, n - k)
        first = np.minimum(np.maximum(np.searchsorted(self.z, zq, side="right") - 2, 0), n - k)
        idx = first[:, None] + np.arange(k)
        for beyond, row in ((zq < self.z[0], self._end_rows[0]),
                            (zq > self.z[-1], self._end_rows[1])):
            if beyond.any():
                idx[beyond] = row
        return idx

    @cached_property
    def _end_rows(self) -> tuple[IntArray, IntArray]:
        """:meth:`stencil` rows beyond the first and the last plane (-1: unused)."""
        k = min(self.z.size, 4)
        rows = []
        for end in (0, self.z.size - 1):
            nodes = self._end_nodes(end)
            row = np.full(k, -1, dtype=np.intp)
            row[: nodes.size] = nodes
            rows.append(row)
        return rows[0], rows[1]

    def sections(self, zq: FloatArray) -> Sections:
        """The chain's section polygon at each height ``zq`` (inside ``[z_lo, z_hi]``),
        whether it is the staircase's (a stencil with a non-star contour) and the area of
        each smooth one (:class:`Sections`).

        A smooth section is the radial table mapped back from the normalised frame
        (every :attr:`ray_stride`-th of the :data:`N_THETA` rays); ``None`` where a
        second moment vanishes.
        """
        if self.z.size == 1 and self._stars:
            return self._constant_sections(zq.size)
        idx = self.stencil(zq) if self._stars else np.zeros((zq.size, 0), dtype=np.intp)
        fallback = self._falls_back(idx) if self._stars else np.ones(zq.size, dtype=bool)
        out: list[FloatArray | None] = [None] * zq.size
        areas: list[float | None] = [None] * zq.size
        boxes: list[tuple[float, float, float, float] | None] = [None] * zq.size
        flat = np.flatnonzero(fallback)
        if flat.size:
            nearest = np.searchsorted((self.z[:-1] + self.z[1:]) / 2, zq[flat])
            for i, k in zip(flat.tolist(), nearest.tolist(), strict=True):
                out[i], boxes[i] = self.chain.shapes[k].polygon, self.chain.shapes[k].box
        smooth = np.flatnonzero(~fallback)
        if smooth.size:
            k = self.ray_stride
            p, r2, unit_area = self._interpolated(zq[smooth], idx[smooth], k)
            ok = np.flatnonzero((p[:, 2] > 0) & (p[:, 3] > 0))
            radius = np.sqrt(np.maximum(r2[ok], 0.0))
            p, unit_area = p[ok], unit_area[ok]
            x = p[:, :1] + np.sqrt(p[:, 2:3]) * radius * _COS[::k]
            y = p[:, 1:2] + np.sqrt(p[:, 3:4]) * radius * _SIN[::k]
            polygons = np.stack((x, y), axis=2)
            box = np.column_stack((x.min(axis=1), x.max(axis=1),
                                   y.min(axis=1), y.max(axis=1))).tolist()
            areas_mm2 = self._section_areas(p, unit_area, r2[ok], polygons)
            for row, (i, area) in enumerate(zip(smooth[ok].tolist(), areas_mm2, strict=True)):
                out[i], areas[i], boxes[i] = polygons[row], area, tuple(box[row])
        return Sections(out, fallback, areas, boxes)

    def _constant_sections(self, m: int) -> Sections:
        """The ``m`` sections of a one-contour chain: its contour at every height (the
        interpolation through one node is constant, its ends flat). That is the staircase's
        own section, so it counts as one (``fallback``: a single contour has nothing to
        interpolate with, and the share of the volume modelled as the staircase says so)."""
        shape = self.chain.shapes[0]
        return Sections([shape.polygon] * m, np.ones(m, dtype=bool), [None] * m,
                        [shape.box] * m)

    @property
    def varies(self) -> bool:
        """Whether the chain's section changes with height (a one-contour chain's does not)."""
        return self.z.size > 1

    @cached_property
    def ray_stride(self) -> int:
        """Every how many table angles a section polygon takes a vertex: the chain's
        largest vertex count rounded down to a power of two, at least
        :data:`MIN_SECTION_VERTICES`: the sections follow the contours at about their own
        resolution (a 40-vertex contour does not need 1024-vertex sections, whose edges
        the Dmin/Dmax search would all visit); their areas do not depend on it
        (:meth:`_section_areas`)."""
        most = max(s.polygon.shape[0] for s in self.chain.shapes)
        vertices = max(MIN_SECTION_VERTICES, 1 << (max(most, 1).bit_length() - 1))
        return max(1, N_THETA // vertices)

    def _falls_back(self, idx: IntArray) -> BoolArray:
        """Rows of a :meth:`stencil` that use a contour that is not star-shaped."""
        return np.asarray(np.any((idx >= 0) & ~self.star[np.maximum(idx, 0)], axis=1))

    @cached_property
    def _stars(self) -> int:
        """How many of the chain's contours are star-shaped."""
        return int(np.count_nonzero(self.star))

    def falls_back(self, zq: FloatArray) -> BoolArray:
        """Whether the section at each height ``zq`` is the staircase's (every stencil holds
        a valid node: all or none when all or none of the contours are star-shaped)."""
        if self._stars in (0, self.z.size):
            return np.full(zq.size, self._stars == 0)
        return self._falls_back(self.stencil(zq))

    def _interpolated(self, zq: FloatArray, idx: IntArray,
                      stride: int = 1) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Lagrange-interpolated parameters ``(m, 5)``, radial tables ``(m, N_THETA)``
        (every ``stride``-th angle only) and normalised areas ``(m,)``: the area of the
        region ``{ρ² ≤ r²(θ)}`` of the normalised frame, ``½∫r²dθ``, which is linear in
        ``r²`` and therefore the same interpolation of the contours' normalised areas
        ``A / (σx σy)`` (an affine map scales areas by its determinant)."""
        valid = idx >= 0
        nodes = np.where(valid, self.z[np.maximum(idx, 0)], 0.0)
        nodes = np.where(valid, nodes, zq[:, None] + 1e3 * (1 + np.arange(idx.shape[1])))
        w = np.where(valid, lagrange_weights(nodes, zq), 0.0)
        ii = np.maximum(idx, 0)
        return (np.einsum("mk,mkc->mc", w, self.params[ii]),
                np.einsum("mk,mkt->mt", w, self.rays(stride)[ii]),
                np.einsum("mk,mk->m", w, self._unit_area[ii]))

    @cached_property
    def _unit_area(self) -> FloatArray:
        """Each contour's area in its normalised frame, ``A / (σx σy)`` (0 where a second
        moment vanishes)."""
        sxy = np.sqrt(np.maximum(self.params[:, 2] * self.params[:, 3], 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(sxy > 0, self.params[:, 4] / sxy, 0.0)

    @staticmethod
    def _section_areas(p: FloatArray, unit_area: FloatArray, r2: FloatArray,
                       polygons: FloatArray) -> list[float]:
        """Areas (mm²) of the model's sections: ``σx σy ½∫r²dθ`` (see :meth:`_interpolated`),
        exact for the model whatever the vertex count of the section polygon, whose own
        area falls short by up to a few % where a contour has corners between its rays.
        Where the interpolated ``r²`` dips below 0 at a ray (a clipped radius: the
        integral no longer holds) the polygon's own area is used."""
        exact = np.sqrt(p[:, 2] * p[:, 3]) * unit_area
        clipped = np.flatnonzero(np.any(r2 < 0, axis=1) | ~(exact > 0))
        out = exact.tolist()
        for row in clipped.tolist():
            out[row] = polygon_area_mm2(polygons[row])
        return out

def smooth_models(structure: Structure, gap_factor: float = 1.5, cap_fraction: float = 0.5,
                  default_spacing_mm: float = 3.0, planes: Planes | None = None
                  ) -> list[ChainModel]:
    """The chain models of ``structure`` (``cap_fraction``: see :meth:`ChainModel.of`;
    ``planes``: its contours grouped by plane, if known, see
    :func:`~rtcheck.dose.geom_chains.build_chains`)."""
    chains, med = build_chains(structure, gap_factor, default_spacing_mm, planes)
    return [ChainModel.of(c, med, cap_fraction) for c in chains]


def prepare_sections(models: list[ChainModel]) -> None:
    """Evaluate the radial tables the models' sections use (:attr:`ChainModel.ray_stride`)
    for all chains of a structure at once, one pass per stride."""
    by_stride: dict[int, list[ChainModel]] = {}
    for m in models:  # a one-contour chain's sections are its contour: no rays
        if m._stars and m.varies and m.ray_stride not in m._rays:
            by_stride.setdefault(m.ray_stride, []).append(m)
    for stride, group in by_stride.items():
        arrays = group[0].chain.arrays
        if any(m.chain.arrays is not arrays for m in group):
            continue  # chains of different structures: each on its own, when asked
        rows = np.concatenate([m.chain.rows for m in group])
        tables = np.where(arrays.tables.star[rows, None], arrays.tables.rays(rows, stride), 0.0)
        first = 0
        for m in group:
            m._rays[stride], first = tables[first:first + m.z.size], first + m.z.size
