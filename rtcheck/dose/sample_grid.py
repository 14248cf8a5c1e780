"""Trilinear interpolation of a :class:`~rtcheck.dicom.model.DoseGrid` at sample points.

The dose between grid nodes is the trilinear interpolant of the eight
surrounding voxel values (the standard model of a dose grid; e.g. Press et al.,
*Numerical Recipes*, 3rd ed., §3.6). ``x`` and ``y`` are uniform, ``z`` may be
non-uniform: positions map to fractional indices by ``(x - x0) / dx`` in-plane
and by piecewise-linear interpolation of ``z_mm`` against the frame index in z.

Points of one contour plane share ``(x, y)`` and differ only in ``z``, so the
interpolation is split: the in-plane bilinear interpolant is evaluated once per
needed dose frame, and each sub-plane is a linear blend of two frames. This is
exactly trilinear interpolation, at a fraction of the cost of
``scipy.ndimage.map_coordinates``.

Grid edge tolerance: a voxel value represents the half voxel around its centre,
so points up to half a voxel beyond the outermost voxel centres are *inside*
the grid and take the edge value (nearest extrapolation); farther points are
*outside* and get no dose.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rtcheck.dicom.model import DoseGrid, FloatArray

BoolArray = npt.NDArray[np.bool_]


def _axis_bounds(axis: FloatArray) -> tuple[float, float]:
    """Covered range of an axis: first/last node ∓ half the edge spacing (mm)."""
    if axis.size == 1:
        return float(axis[0]), float(axis[0])
    return float(axis[0] - (axis[1] - axis[0]) / 2), float(axis[-1] + (axis[-1] - axis[-2]) / 2)


class GridSampler:
    """Trilinear dose look-up on one dose grid.

    Parameters
    ----------
    grid
        The dose grid (Gy).
    """

    def __init__(self, grid: DoseGrid):
        self.grid = grid
        self.x_bounds = _axis_bounds(grid.x_mm)
        self.y_bounds = _axis_bounds(grid.y_mm)
        self.z_bounds = _axis_bounds(grid.z_mm)
        nz, ny, nx = grid.shape
        self._flat = grid.dose_gy.reshape(nz, ny * nx)
        self._z_index = np.arange(nz, dtype=np.float64)

    def inside_xy(self, x: FloatArray, y: FloatArray) -> BoolArray:
        """True for in-plane positions covered by the grid (with the half-voxel margin)."""
        (x0, x1), (y0, y1) = self.x_bounds, self.y_bounds
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)

    def inside_z(self, z: FloatArray) -> BoolArray:
        """True for plane positions covered by the grid (with the half-voxel margin)."""
        z0, z1 = self.z_bounds
        return (z >= z0) & (z <= z1)

    def plane(self, x: FloatArray, y: FloatArray) -> PlaneInterpolator:
        """Bilinear interpolator for the in-plane positions ``(x, y)`` (mm)."""
        return PlaneInterpolator(self, x, y)

    def z_weights(self, z: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """Lower frame index and blend weight of each plane position ``z`` (mm)."""
        nz = self.grid.z_mm.size
        fz = np.interp(z, self.grid.z_mm, self._z_index)
        k0 = np.clip(np.floor(fz), 0, max(nz - 2, 0)).astype(np.intp)
        return k0, (fz - k0 if nz > 1 else np.zeros_like(fz))


class PlaneInterpolator:
    """Bilinear interpolation at fixed in-plane positions on any dose frame."""

    def __init__(self, sampler: GridSampler, x: FloatArray, y: FloatArray):
        g = sampler.grid
        self._flat = sampler._flat
        self._nz = g.z_mm.size
        self._cache: dict[int, FloatArray] = {}
        ny, nx = g.y_mm.size, g.x_mm.size
        i0, tx = self._axis(x, g.x_mm, nx)
        j0, ty = self._axis(y, g.y_mm, ny)
        i1 = np.minimum(i0 + 1, nx - 1)
        j1 = np.minimum(j0 + 1, ny - 1)
        self._idx = (j0 * nx + i0, j0 * nx + i1, j1 * nx + i0, j1 * nx + i1)
        self._w = ((1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty)

    @staticmethod
    def _axis(v: FloatArray, axis: FloatArray, n: int) -> tuple[npt.NDArray[np.intp], FloatArray]:
        if n == 1:
            return np.zeros(v.size, dtype=np.intp), np.zeros(v.size)
        f = np.clip((v - axis[0]) / (axis[1] - axis[0]), 0.0, n - 1.0)
        i0 = np.minimum(np.floor(f), n - 2).astype(np.intp)
        return i0, f - i0

    def frame(self, k: int) -> FloatArray:
        """Bilinear dose (Gy) of frame ``k`` at the positions (cached)."""
        out = self._cache.get(k)
        if out is None:
            f = self._flat[k]
            (w0, w1, w2, w3), (i0, i1, i2, i3) = self._w, self._idx
            out = w0 * f[i0] + w1 * f[i1] + w2 * f[i2] + w3 * f[i3]
            self._cache[k] = out
        return out

    def at_z(self, k0: int, t: float) -> FloatArray:
        """Trilinear dose (Gy) on the plane between frames ``k0`` and ``k0+1`` (blend ``t``)."""
        lower = self.frame(k0)
        if t == 0.0 or self._nz == 1:
            return lower
        return lower + t * (self.frame(k0 + 1) - lower)
