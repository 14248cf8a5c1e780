"""When is the dose grid large enough for a plan-quality index to be known?

The indices of :mod:`rtcheck.dose.indices` count volumes and search doses *inside*
the dose grid. Beyond it the dose is unknown, so an index is NOT EVALUATED (never a
smaller, plausible number) when the grid cuts what it measures:

* the target itself reaches beyond the grid (the covered box: outer nodes ± half a
  voxel, the DVH engine's rule for ``STRUCTURE_OUTSIDE_DOSE_GRID``): every index;
* the isodose surface of a volume (PIV at 100 % Rx, PIV50 at 50 % Rx) reaches a
  face of the grid — a dose ≥ the level on an outer face — while the patient may
  continue beyond it (no Body/EXTERNAL structure, or one not inside the grid):
  the indices built on that volume;
* D2cm when an outer face carries more dose than the D2cm found inside the grid and
  the patient may continue beyond it: the true maximum 2 cm away may lie outside.

These are rtcheck safety rules (no dose outside the calculation volume is ever
assumed), not definitions from the index sources.
"""

from __future__ import annotations

from rtcheck.dicom.model import DoseGrid, FloatArray
from rtcheck.dose.geometry import StackGeometry

#: Indices that use PIV (100 % Rx) and PIV50 (50 % Rx), and D2cm.
PIV_KEYS = ("rtog_ci", "paddick_ci", "paddick_gi", "piv_cc")
PIV50_KEYS = ("paddick_gi", "r50", "piv50_cc")
D2CM_KEYS = ("d2cm", "d2cm_gy")
_TOL_MM = 1e-3


def axis_bounds(axis: FloatArray) -> tuple[float, float]:
    """Covered range of an axis: outer nodes ± half the edge spacing (mm)."""
    if axis.size == 1:
        return float(axis[0]), float(axis[0])
    return float(axis[0] - (axis[1] - axis[0]) / 2), float(axis[-1] + (axis[-1] - axis[-2]) / 2)


def inside_grid(grid: DoseGrid, geom: StackGeometry) -> bool:
    """True when the structure's extent lies within the grid's covered box."""
    e = geom.extent_mm
    for dim, axis in enumerate((grid.x_mm, grid.y_mm, grid.z_mm)):
        lo, hi = axis_bounds(axis)
        if e[2 * dim] < lo - _TOL_MM or e[2 * dim + 1] > hi + _TOL_MM:
            return False
    return True


def edge_max_gy(grid: DoseGrid) -> float:
    """The highest dose on the six outer faces of the grid (Gy)."""
    d = grid.dose_gy
    faces = (d[0], d[-1], d[:, 0], d[:, -1], d[:, :, 0], d[:, :, -1])
    return float(max(f.max() for f in faces))


def truncated_indices(grid: DoseGrid, body: StackGeometry | None, prescription_gy: float,
                      d2cm_gy: float | None) -> dict[str, str]:
    """Index key → why it is NOT EVALUATED because the grid cuts what it measures."""
    if body is not None and inside_grid(grid, body):
        return {}
    edge = edge_max_gy(grid)
    where = ("the Body/EXTERNAL structure extends beyond the dose grid" if body is not None
             else "no Body/EXTERNAL structure bounds the patient")
    out: dict[str, str] = {}
    for keys, level, name in ((PIV50_KEYS, 0.5 * prescription_gy, "50 %"),
                              (PIV_KEYS, prescription_gy, "100 %")):
        if edge >= level:
            why = (f"the {name} isodose reaches the edge of the dose grid ({edge:.4g} Gy on an "
                   f"outer face) and {where}: its volume is unknown; extend the dose grid")
            out.update(dict.fromkeys(keys, why))
    if d2cm_gy is not None and edge > d2cm_gy:
        out.update(dict.fromkeys(D2CM_KEYS, (
            f"the dose on the grid edge ({edge:.4g} Gy) exceeds the in-grid D2cm "
            f"({d2cm_gy:.4g} Gy) and {where}: the maximum 2 cm away may lie outside the "
            "grid; extend the dose grid")))
    return out
