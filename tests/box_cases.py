"""Tiny in-memory cases for report tests: a uniform 10 Gy grid over 0..20 mm and boxes."""

from __future__ import annotations

import numpy as np

from rtcheck.dicom.model import (
    Case,
    Contour,
    DoseGrid,
    DoseSummationType,
    EmbeddedDVH,
    LoadResult,
    Structure,
    StructureSet,
)

AXIS_MM = np.arange(0.0, 20.1, 2.0)
SQUARE_MM = np.array([[5.0, 5.0], [15.0, 5.0], [15.0, 15.0], [5.0, 15.0]])


def uniform_grid(embedded_dvhs: tuple[EmbeddedDVH, ...] = ()) -> DoseGrid:
    """10 Gy everywhere on a 2 mm grid spanning 0..20 mm."""
    ax = AXIS_MM
    return DoseGrid(ax, ax, ax, np.full((ax.size,) * 3, 10.0), "PHYSICAL",
                    DoseSummationType.PLAN, "1.2", "1.2.3", embedded_dvhs=embedded_dvhs)


def box(roi_number: int, name: str, shift_mm: float = 0.0) -> Structure:
    """A 10 × 10 × 10 mm box (contours every 2 mm); ``shift_mm`` 10 puts half outside."""
    return Structure(roi_number, name, "ORGAN", contours=tuple(
        Contour(z, SQUARE_MM + shift_mm) for z in np.arange(6.0, 14.1, 2.0)))


def load_of(*cases: tuple[str, DoseGrid | None, tuple[Structure, ...]]) -> LoadResult:
    """A LoadResult of plan-less cases ``(label, grid, structures)``."""
    return LoadResult(tuple(Case(label, None, grid, StructureSet("1.2.4", "SS", "1.2", rois))
                            for label, grid, rois in cases))
