"""Closed-form shapes, dose fields and DVH truth for the analytical DVH tests.

The truth is that of the *contour-defined* object with half-slice end caps
(Nelms et al. 2015, Med Phys 42(8):4435): every contour plane ``z_k`` owns the
slab ``[z_k - s/2, z_k + s/2]`` of its cross-section. All expectations are
integrals over that stack of prisms, computed in closed form:

* volume: ``Σ A_k s`` with the exact section area ``A_k``;
* linear dose along z, ``D = D0 + g (z - cz)``: the volume above ``d`` is
  ``Σ A_k |[lo_k, hi_k] ∩ {z >= z_d}|``;
* linear dose along y, ``D = D0 + g (y - cy)``: ``Σ s · area_k(y >= y_d)`` with
  the circular-segment, rectangle or hyperbolic (cone cut parallel to its axis)
  area formula;
* spherically symmetric dose ``D = Dc exp(-ρ² / 2σ²)`` about the centre of a
  z-axis shape (disc sections): ``Σ π ∫ min(r_k², ρ_d² - u²)_+ du`` and the
  mean by separable Gaussian integrals (erf);
* ``D_v`` by inverting the monotone ``V(≥d)`` with Brent's method (``xtol``
  1e-12 Gy); the mean dose of the y-cone by ``scipy.integrate.quad`` of a smooth
  integrand (tolerance 1e-11), all other means in closed form.

Discs of radius ``a`` are contoured as regular 360-gons of the same area ``π a²``
(circumradius ``a / GON_RADIUS_FACTOR``); their truth uses that circle (the
360-gon's outline differs from it by < 5e-5 of the radius). Until this was made
exact the polygon had area ``π a² · GON_RADIUS_FACTOR²``, a 5.08e-5 relative
volume offset that the analytical tests used to read as rtcheck's error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, optimize, special

from rtcheck.dicom.model import Contour, DoseGrid, DoseSummationType, FloatArray, Structure

N_GON = 360
GON_RADIUS_FACTOR = math.sqrt(N_GON * math.sin(2 * math.pi / N_GON) / (2 * math.pi))


@dataclass(frozen=True)
class Section:
    """Cross-section of a shape on an axial plane.

    ``kind`` is ``disc`` (radius ``a``), ``rect`` (half-width ``a`` in x, y from
    ``y0`` to ``y1``) or ``hyper`` (cone along y cut at distance ``u`` from its
    axis: base radius ``R`` at ``y0``, apex at ``y0 + H``).
    """

    kind: str
    cx: float
    cy: float
    a: float
    y0: float = 0.0
    y1: float = 0.0
    u: float = 0.0
    R: float = 0.0
    H: float = 0.0

    # geometry of the hyperbolic section -----------------------------------
    def _rho(self, y: float) -> float:
        return self.R * (self.y0 + self.H - y) / self.H

    def _ytop(self) -> float:
        return self.y0 + self.H - self.H * self.u / self.R

    def _F(self, rho: float) -> float:
        u = self.u
        if u == 0.0:
            return rho * rho / 2.0
        root = math.sqrt(max(rho * rho - u * u, 0.0))
        return (rho * root - u * u * math.log(rho + root)) / 2.0

    # ----------------------------------------------------------------------
    def polygon(self) -> FloatArray:
        """Contour polygon (mm)."""
        if self.kind == "disc":
            t = np.arange(N_GON) * 2 * np.pi / N_GON
            r = self.a / GON_RADIUS_FACTOR  # circumradius of the N-gon of area π a²
            return np.column_stack((self.cx + r * np.cos(t), self.cy + r * np.sin(t)))
        if self.kind == "rect":
            x0, x1 = self.cx - self.a, self.cx + self.a
            return np.array([[x0, self.y0], [x1, self.y0], [x1, self.y1], [x0, self.y1]])
        if self.u == 0.0:
            return np.array([[self.cx + self.R, self.y0], [self.cx, self.y0 + self.H],
                             [self.cx - self.R, self.y0]])
        phi = np.linspace(math.acosh(self.R / self.u), 0.0, 400)
        rho = self.u * np.cosh(phi)
        x = self.u * np.sinh(phi)
        y = self.y0 + self.H - self.H * rho / self.R
        right = np.column_stack((self.cx + x, y))
        left = np.column_stack((self.cx - x[::-1][1:], y[::-1][1:]))
        return np.concatenate((right, left))

    def area(self) -> float:
        """Exact area of the smooth section (mm²)."""
        return self.area_above(-math.inf)

    def area_above(self, yt: float) -> float:
        """Area of the section with ``y >= yt`` (mm²)."""
        if self.kind == "disc":
            r = self.a
            h = min(max(yt - self.cy, -r), r)
            return r * r * math.acos(h / r) - h * math.sqrt(r * r - h * h)
        if self.kind == "rect":
            return 2 * self.a * max(self.y1 - max(yt, self.y0), 0.0)
        ylow = max(yt, self.y0)
        if ylow >= self._ytop():
            return 0.0
        return 2 * self.H / self.R * (self._F(self._rho(ylow)) - self._F(self.u))

    @property
    def vertex_radius(self) -> float:
        """Farthest distance of a disc's contour from its centre: the N-gon's circumradius."""
        return self.a / GON_RADIUS_FACTOR

    def y_range(self) -> tuple[float, float]:
        """Extent in y of the contour polygon (the N-gon has vertices at 90° and 270°)."""
        if self.kind == "disc":
            return self.cy - self.vertex_radius, self.cy + self.vertex_radius
        if self.kind == "rect":
            return self.y0, self.y1
        return self.y0, self._ytop()

    def y_moment(self) -> float:
        """``∫ y dA`` over the section (mm³)."""
        if self.kind in ("disc", "rect"):
            return self.cy * self.area() if self.kind == "disc" else (
                (self.y0 + self.y1) / 2 * self.area())

        def integrand(y: float) -> float:
            return 2 * y * math.sqrt(max(self._rho(y) ** 2 - self.u**2, 0.0))

        value, _ = integrate.quad(integrand, self.y0, self._ytop(), epsabs=1e-11, epsrel=1e-11,
                                  limit=200)
        return float(value)


@dataclass(frozen=True)
class Shape:
    """Sphere, cylinder or cone of radius ``R`` and length ``H`` along ``axis``.

    Cones have their base at the low end of the axis and the apex at the high
    end; the centre is the mid-point of the axis segment.
    """

    kind: str
    axis: str
    R: float
    H: float
    centre: tuple[float, float, float]

    @property
    def smooth_volume_mm3(self) -> float:
        if self.kind == "sphere":
            return 4 / 3 * math.pi * self.R**3
        factor = 1.0 if self.kind == "cylinder" else 1 / 3
        return factor * math.pi * self.R**2 * self.H

    def section(self, z: float) -> Section | None:
        cx, cy, cz = self.centre
        u = z - cz
        if self.kind == "sphere" or self.axis == "z":
            if self.kind == "sphere":
                r2 = self.R**2 - u * u
                r = math.sqrt(r2) if r2 > 0 else 0.0
            elif abs(u) >= self.H / 2:
                r = 0.0
            elif self.kind == "cylinder":
                r = self.R
            else:
                r = self.R * (self.H / 2 - u) / self.H
            return Section("disc", cx, cy, r) if r > 1e-3 else None
        if abs(u) >= self.R - 1e-3:
            return None
        if self.kind == "cylinder":
            w = math.sqrt(self.R**2 - u * u)
            return Section("rect", cx, cy, w, cy - self.H / 2, cy + self.H / 2)
        return Section("hyper", cx, cy, 0.0, cy - self.H / 2, u=abs(u), R=self.R, H=self.H)


@dataclass(frozen=True)
class Dose:
    """``lin_z`` / ``lin_y``: ``D0 + g (coord - centre)``; ``gauss``: ``D0 exp(-ρ²/2σ²)``."""

    kind: str
    D0: float
    g: float
    centre: tuple[float, float, float]

    def __call__(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        cx, cy, cz = self.centre
        if self.kind == "lin_z":
            return self.D0 + self.g * (z - cz)
        if self.kind == "lin_y":
            return self.D0 + self.g * (y - cy)
        rho2 = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2
        return self.D0 * np.exp(-rho2 / (2 * self.g**2))


class ContourStack:
    """A shape contoured on planes ``z_ref + k s``, with half-slice end caps.

    With ``pattern`` the plane spacings cycle through ``s * pattern`` instead
    (non-uniform spacing): each plane owns the slab between the mid-points to
    its neighbours, the end planes half the spacing to their neighbour beyond.
    """

    def __init__(self, shape: Shape, spacing_mm: float, z_ref: float,
                 pattern: tuple[float, ...] = (1.0,)):
        self.shape = shape
        self.s = spacing_mm
        start = shape.centre[2] - max(shape.R, shape.H) - spacing_mm
        steps = np.resize(np.asarray(pattern) * spacing_mm, 2000)
        zs = z_ref + math.floor((start - z_ref) / spacing_mm) * spacing_mm + np.concatenate(
            ([0.0], np.cumsum(steps)))
        zs = zs[zs < shape.centre[2] + max(shape.R, shape.H) + spacing_mm]
        planes = [(float(z), shape.section(float(z))) for z in zs]
        self.planes: list[tuple[float, Section]] = [(z, sec) for z, sec in planes if sec]
        self.z = np.array([z for z, _ in self.planes])
        d = np.diff(self.z)
        mids = (self.z[:-1] + self.z[1:]) / 2
        self.lo = np.concatenate(([self.z[0] - (d[0] if d.size else spacing_mm) / 2], mids))
        self.hi = np.concatenate((mids, [self.z[-1] + (d[-1] if d.size else spacing_mm) / 2]))
        self.t = self.hi - self.lo
        self.areas = np.array([sec.area() for _, sec in self.planes])

    def structure(self, name: str = "shape") -> Structure:
        contours = tuple(Contour(z, sec.polygon()) for z, sec in self.planes)
        return Structure(roi_number=1, name=name, contours=contours)

    @property
    def volume_mm3(self) -> float:
        return float(np.sum(self.areas * self.t))

    def extent(self) -> tuple[float, float, float, float, float, float]:
        polys = np.concatenate([sec.polygon() for _, sec in self.planes])
        return (float(polys[:, 0].min()), float(polys[:, 0].max()), float(polys[:, 1].min()),
                float(polys[:, 1].max()), float(self.lo[0]), float(self.hi[-1]))

    # ------------------------------------------------------------- truth
    def volume_above(self, dose: Dose, d: float) -> float:
        """Volume (mm³) receiving at least ``d`` Gy."""
        _, cy, cz = dose.centre
        if dose.kind == "lin_z":
            zt = cz + (d - dose.D0) / dose.g
            return float(np.sum(self.areas * np.clip(self.hi - np.maximum(self.lo, zt), 0, self.t)))
        if dose.kind == "lin_y":
            yt = cy + (d - dose.D0) / dose.g
            return sum(t * sec.area_above(yt)
                       for t, (_, sec) in zip(self.t, self.planes, strict=True))
        rho2 = 2 * dose.g**2 * math.log(dose.D0 / d) if d < dose.D0 else 0.0
        return sum(_disc_gauss_volume(sec.a, rho2, lo - cz, hi - cz)
                   for (_, sec), lo, hi in zip(self.planes, self.lo, self.hi, strict=True))

    def dose_range(self, dose: Dose) -> tuple[float, float]:
        _, cy, cz = dose.centre
        if dose.kind == "lin_z":
            return dose.D0 + dose.g * (self.lo[0] - cz), dose.D0 + dose.g * (self.hi[-1] - cz)
        if dose.kind == "lin_y":
            ys = [sec.y_range() for _, sec in self.planes]
            return (dose.D0 + dose.g * (min(a for a, _ in ys) - cy),
                    dose.D0 + dose.g * (max(b for _, b in ys) - cy))
        far2 = max(sec.vertex_radius**2 + max(abs(lo - cz), abs(hi - cz)) ** 2
                   for (_, sec), lo, hi in zip(self.planes, self.lo, self.hi, strict=True))
        return dose.D0 * math.exp(-far2 / (2 * dose.g**2)), dose.D0

    def mean_dose(self, dose: Dose) -> float:
        _, cy, cz = dose.centre
        v = self.volume_mm3
        if dose.kind == "lin_z":
            mid = (self.lo + self.hi) / 2
            return dose.D0 + dose.g * float(np.sum(self.areas * self.t * (mid - cz))) / v
        if dose.kind == "lin_y":
            moment = sum(t * sec.y_moment()
                         for t, (_, sec) in zip(self.t, self.planes, strict=True))
            return dose.D0 + dose.g * (moment / v - cy)
        sig = dose.g
        total = 0.0
        for (_, sec), lo, hi in zip(self.planes, self.lo, self.hi, strict=True):
            root2 = sig * math.sqrt(2)
            zpart = sig * math.sqrt(math.pi / 2) * (
                special.erf((hi - cz) / root2) - special.erf((lo - cz) / root2))
            total += 2 * math.pi * sig**2 * (1 - math.exp(-sec.a**2 / (2 * sig**2))) * zpart
        return dose.D0 * total / v

    def dose_at_volume(self, dose: Dose, v_mm3: float) -> float:
        lo, hi = self.dose_range(dose)
        return float(optimize.brentq(lambda d: self.volume_above(dose, d) - v_mm3, lo, hi,
                                     xtol=1e-12, rtol=1e-13, maxiter=500))

    def truth(self, dose: Dose) -> dict[str, float]:
        return truth_metrics(self, dose)


def truth_metrics(solid: Any, dose: Dose) -> dict[str, float]:
    """The metrics every shape suite compares: volume (cc), Dmin/Dmax/Dmean, D99/95/5/1 %
    and D0.03cc (Gy), from the solid's closed forms (``volume_mm3``, ``dose_range``,
    ``mean_dose``, ``dose_at_volume``)."""
    v = solid.volume_mm3
    dmin, dmax = solid.dose_range(dose)
    out = {"volume": v / 1000.0, "Dmin": dmin, "Dmax": dmax, "Dmean": solid.mean_dose(dose)}
    for p in (99, 95, 5, 1):
        out[f"D{p}%"] = solid.dose_at_volume(dose, v * p / 100)
    out["D0.03cc"] = solid.dose_at_volume(dose, 30.0)
    return out


def _disc_gauss_volume(r: float, rho2: float, u0: float, u1: float) -> float:
    """``π ∫_{u0}^{u1} min(r², rho2 - u²)_+ du`` in closed form (mm³)."""
    if rho2 <= 0:
        return 0.0
    rho = math.sqrt(rho2)
    a = math.sqrt(max(rho2 - r * r, 0.0))

    def seg(p: float, q: float) -> float:  # ∫ (rho2 - u²) du
        return rho2 * (q - p) - (q**3 - p**3) / 3

    total = 0.0
    for p, q, full in ((-rho, -a, False), (-a, a, True), (a, rho, False)):
        lo, hi = max(p, u0), min(q, u1)
        if hi > lo:
            total += r * r * (hi - lo) if full else seg(lo, hi)
    return math.pi * total


def make_grid(
    dose: Dose, extent: tuple[float, ...], spacing_mm: float,
    offset: tuple[float, float, float] = (0.31, 0.57, 0.83), z_spacings: FloatArray | None = None,
) -> DoseGrid:
    """Dose grid covering ``extent`` + 2 voxels, node lattice offset by ``offset`` voxels."""
    axes = []
    for a in range(3):
        lo, hi = extent[2 * a] - 2 * spacing_mm, extent[2 * a + 1] + 2 * spacing_mm
        start = (math.floor(lo / spacing_mm) + offset[a]) * spacing_mm
        axes.append(start + spacing_mm * np.arange(math.ceil((hi - start) / spacing_mm) + 1))
    if z_spacings is not None:
        zs = [axes[2][0]]
        i = 0
        while zs[-1] < extent[5] + 2 * spacing_mm:
            zs.append(zs[-1] + float(z_spacings[i % len(z_spacings)]))
            i += 1
        axes[2] = np.array(zs)
    x, y, z = (np.asarray(a, dtype=np.float64) for a in axes)
    Z, Y, X = np.meshgrid(z, y, x, indexing="ij")
    return DoseGrid(x, y, z, dose(X, Y, Z), "PHYSICAL", DoseSummationType.PLAN, "1.2.3", "1.2.3.4")
