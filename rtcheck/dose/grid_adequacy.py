"""Is the dose grid fine enough for a structure? (kept light: no scipy).

``DOSE_GRID_COARSE``: the structure's equivalent-sphere diameter is below 3 × the
largest grid spacing (an rtcheck heuristic: the DVH then depends strongly on the
interpolation). ``DOSE_GRID_ABOVE_2MM``: a target on a grid coarser than the 2 mm AAPM
TG-101 recommends for SBRT (Benedict et al., Med Phys 2010;37:4078).
"""

from __future__ import annotations

import math

from rtcheck.dicom.model import DoseGrid
from rtcheck.findings import Finding, Severity


def grid_adequacy_findings(name: str, volume_cc: float, grid: DoseGrid,
                           is_target: bool = False) -> list[Finding]:
    """``DOSE_GRID_COARSE`` when the structure spans few voxels (see the module docstring)."""
    spacing = max(grid.spacing_mm)
    out: list[Finding] = []
    if volume_cc > 0 and spacing > 0:
        diameter = (6.0 * volume_cc * 1000.0 / math.pi) ** (1 / 3)
        if diameter < 3.0 * spacing:
            out.append(Finding(
                "DOSE_GRID_COARSE", Severity.WARNING,
                f"equivalent-sphere diameter {diameter:.1f} mm is below 3 × the largest dose-grid "
                f"spacing ({spacing:.2f} mm): the DVH depends strongly on interpolation; "
                "recalculate on a finer dose grid", subject=name))
    if is_target and spacing > 2.0 + 1e-6:
        out.append(Finding(
            "DOSE_GRID_ABOVE_2MM", Severity.INFO,
            f"dose-grid spacing {spacing:.2f} mm is above the 2 mm recommended for SBRT "
            "(AAPM TG-101)", subject=name))
    return out
