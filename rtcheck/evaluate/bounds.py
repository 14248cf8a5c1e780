"""What the in-grid part of a structure proves about the whole structure.

Spinal cords and oesophagi are routinely contoured far beyond the dose calculation
volume, so their DVHs are partial. Under one stated assumption — **no dose outside
the calculation volume exceeds B, the highest dose on the grid faces that the
structure crosses** — the in-grid part still bounds the absolute-volume hot-spot
metrics of the whole structure (V = volume, D = dose, "in" = in-grid part):

* ``Max``: Max_in ≤ Max ≤ max(Max_in, B).
* ``D<v>cc``: adding volume can only raise the dose to the hottest v cc, so
  D_v,in ≤ D_v; every dose above B lies in the grid, so D_v ≤ max(D_v,in, B)
  (when v exceeds the in-grid volume, only D_v ≤ B is known).
* ``V<x>Gy[cc]``: V_in(x) ≤ V(x); when B < x nothing outside reaches x, so
  V(x) = V_in(x).

Relative-volume metrics (%, Mean, dose complements, Min) have no such bound and stay
NOT EVALUATED. B is the maximum over the whole outermost node plane of every face
the structure crosses (the grid's covered region ends half a voxel beyond the
outermost nodes and takes their values there, see
:mod:`rtcheck.dose.sample_grid`): conservative — a hot face anywhere makes the bound
useless rather than optimistic. Only physical-dose metrics are bounded.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

import numpy as np

from rtcheck.dicom.model import DoseGrid, Structure
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.metric_spec import DoseSpace, MetricKind, MetricSpec, OutputUnit, QueryUnit
from rtcheck.dose.metrics import MetricResult, value_on_partial_curve
from rtcheck.dose.sample_grid import GridSampler

FACES = ("x-", "x+", "y-", "y+", "z-", "z+")


@dataclass(frozen=True)
class GridBoundary:
    """The dose-grid faces a structure crosses and the highest dose on them.

    Attributes
    ----------
    faces
        Crossed faces among ``x-``, ``x+``, ``y-``, ``y+``, ``z-``, ``z+`` (patient LPS).
    max_face_dose_gy
        B: the highest dose on those faces (Gy).
    """

    faces: tuple[str, ...]
    max_face_dose_gy: float

    def to_dict(self) -> dict[str, object]:
        return {"faces": list(self.faces), "max_face_dose_gy": round(self.max_face_dose_gy, 4)}

    def describe(self) -> str:
        return (f"B = {self.max_face_dose_gy:.4g} Gy, the highest dose on the crossed grid "
                f"face(s) {', '.join(self.faces)}")


def _structure_extent(structure: Structure, plane_spacing_mm: float | None,
                      half_slice: bool) -> tuple[np.ndarray, np.ndarray]:
    pts = np.concatenate([c.points_xy_mm for c in structure.contours])
    planes = structure.plane_z_mm
    cap = 0.0
    if half_slice:
        gaps = np.diff(planes)
        cap = statistics.median(gaps.tolist()) / 2 if gaps.size else (plane_spacing_mm or 0.0) / 2
    lo = np.array([pts[:, 0].min(), pts[:, 1].min(), planes[0] - cap])
    hi = np.array([pts[:, 0].max(), pts[:, 1].max(), planes[-1] + cap])
    return lo, hi


def grid_boundary(structure: Structure, grid: DoseGrid, plane_spacing_mm: float | None = None,
                  half_slice: bool = True) -> GridBoundary | None:
    """Faces of ``grid`` that ``structure`` extends beyond, with B (``None``: none crossed)."""
    if not structure.contours:
        return None
    lo, hi = _structure_extent(structure, plane_spacing_mm, half_slice)
    sampler = GridSampler(grid)
    bounds = (sampler.x_bounds, sampler.y_bounds, sampler.z_bounds)
    dose = grid.dose_gy  # [k, j, i] = (z, y, x)
    planes = {"x-": dose[:, :, 0], "x+": dose[:, :, -1], "y-": dose[:, 0, :],
              "y+": dose[:, -1, :], "z-": dose[0], "z+": dose[-1]}
    tol = 1e-6
    faces = []
    for axis, (b_lo, b_hi) in enumerate(bounds):
        name = "xyz"[axis]
        if lo[axis] < b_lo - tol:
            faces.append(f"{name}-")
        if hi[axis] > b_hi + tol:
            faces.append(f"{name}+")
    if not faces:
        return None
    return GridBoundary(tuple(faces), float(max(planes[f].max() for f in faces)))


def _in_output_unit(spec: MetricSpec, dose_gy: float, rx_gy: float | None) -> float | None:
    if spec.output_unit is OutputUnit.GY:
        return dose_gy
    if spec.output_unit is OutputUnit.CGY:
        return 100.0 * dose_gy
    if spec.output_unit is OutputUnit.PERCENT_RX and rx_gy:
        return 100.0 * dose_gy / rx_gy
    return None


def _level_gy(spec: MetricSpec, rx_gy: float | None) -> float | None:
    q = spec.query_value
    if q is None:
        return None
    if spec.query_unit is QueryUnit.GY:
        return q
    if spec.query_unit is QueryUnit.CGY:
        return q / 100.0
    if spec.query_unit is QueryUnit.PERCENT_RX and rx_gy:
        return q / 100.0 * rx_gy
    return None


def bounds_for(spec: MetricSpec, partial: CumulativeDVH, boundary: GridBoundary,
               structure_volume_cc: float, rx_gy: float | None) -> tuple[float | None,
                                                                           float | None]:
    """(lower, upper) bounds of ``spec`` on the whole structure (see the module docstring)."""
    if spec.dose_space is not DoseSpace.PHYSICAL:
        return None, None
    b = boundary.max_face_dose_gy
    if spec.kind is MetricKind.MAX:
        inside = partial.max_gy
        return (_in_output_unit(spec, inside, rx_gy),
                _in_output_unit(spec, max(inside, b), rx_gy))
    if spec.kind is MetricKind.DOSE_AT_VOLUME and spec.query_unit is QueryUnit.CC:
        v = spec.query_value or 0.0
        if v > structure_volume_cc * (1 + 1e-9):
            return None, None
        if v <= partial.total_volume_cc:
            inside = partial.dose_at_volume_gy(v)
            return (_in_output_unit(spec, inside, rx_gy),
                    _in_output_unit(spec, max(inside, b), rx_gy))
        return None, _in_output_unit(spec, b, rx_gy)
    if (spec.kind is MetricKind.VOLUME_AT_DOSE and spec.output_unit is OutputUnit.CC):
        level = _level_gy(spec, rx_gy)
        if level is None:
            return None, None
        volume = value_on_partial_curve(spec, partial, rx_gy)
        return volume, (volume if b < level else None)
    return None, None


def with_bounds(result: MetricResult, partial: CumulativeDVH | None,
                boundary: GridBoundary | None, structure_volume_cc: float,
                rx_gy: float | None) -> MetricResult:
    """``result`` (NOT EVALUATED) with the bounds the in-grid part proves, when any."""
    if partial is None or boundary is None or result.evaluated:
        return result
    lower, upper = bounds_for(result.spec, partial, boundary, structure_volume_cc, rx_gy)
    if lower is None and upper is None:
        return result
    note = ("the in-grid part gives a lower bound (more volume can only raise it)"
            if lower is not None else "")
    if upper is not None:
        note += ("; " if note else "") + (
            f"upper bound assumes no dose outside the grid exceeds {boundary.describe()}")
    return replace(result, lower_bound=lower, upper_bound=upper, bound_note=note)
