"""Trilinear interpolation of a :class:`~rtcheck.dicom.model.DoseGrid` at sample points.

The dose between grid nodes is the trilinear interpolant of the eight
surrounding voxel values (the standard model of a dose grid; e.g. Press et al.,
*Numerical Recipes*, 3rd ed., §3.6). ``x`` and ``y`` are uniform, ``z`` may be
non-uniform: positions map to fractional indices by ``(x - x0) / dx`` in-plane
and by piecewise-linear interpolation of ``z_mm`` against the frame index in z.

All points are interpolated in one vectorised pass (eight gathers and seven
linear blends per point), equivalent to ``scipy.ndimage.map_coordinates`` with
``order=1`` on index coordinates, with the non-uniform z mapping included.

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

    def z_weights(self, z: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """Lower frame index and blend fraction of plane positions ``z`` (mm, clamped)."""
        nz = self.grid.z_mm.size
        fz = np.interp(z, self.grid.z_mm, self._z_index)
        k0 = np.clip(np.floor(fz), 0, max(nz - 2, 0)).astype(np.intp)
        return k0, fz - k0

    def trilinear(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        """Trilinearly interpolated dose (Gy) at the points ``(x, y, z)`` (mm).

        Points beyond the outermost nodes take the edge value (callers exclude
        points outside the half-voxel margin with :meth:`inside_xy` and
        :meth:`inside_z`). Written in nested-lerp form, so a uniform dose is
        reproduced exactly.
        """
        g = self.grid
        nz, ny, nx = g.shape
        i0, tx = uniform_axis(x, g.x_mm)
        j0, ty = uniform_axis(y, g.y_mm)
        k0, tz = self.z_weights(z)
        di = (i0 + 1 < nx).astype(np.intp)
        dj = np.where(j0 + 1 < ny, nx, 0)
        dk = np.where(k0 + 1 < nz, ny * nx, 0)
        flat = self._flat.reshape(-1)
        base = (k0 * ny + j0) * nx + i0
        planes = []
        for b in (base, base + dk):
            f00, f01 = flat[b], flat[b + dj]
            lo = f00 + tx * (flat[b + di] - f00)
            hi = f01 + tx * (flat[b + dj + di] - f01)
            planes.append(lo + ty * (hi - lo))
        return planes[0] + tz * (planes[1] - planes[0])


def uniform_axis(v: FloatArray, axis: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Lower node index and fraction of positions ``v`` on a uniform axis (clamped)."""
    n = axis.size
    if n == 1:
        return np.zeros(v.shape, dtype=np.intp), np.zeros(v.shape)
    f = np.clip((v - axis[0]) / (axis[1] - axis[0]), 0.0, n - 1.0)
    i0 = np.minimum(np.floor(f), n - 2).astype(np.intp)
    return i0, f - i0
