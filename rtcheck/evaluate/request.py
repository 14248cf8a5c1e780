"""What to evaluate: a small, frozen, picklable request (no data, only choices)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rtcheck.dose.bed import AlphaBetaTable
from rtcheck.dose.metric_spec import MetricSpec
from rtcheck.dose.settings import DvhSettings


@dataclass(frozen=True)
class EvaluationRequest:
    """The choices of one evaluation; the same request serves every case of a run.

    Attributes
    ----------
    structures
        ROI names whose DVH is computed (exact, then case-insensitive); ``None``
        means every ROI of the structure set.
    specs
        Metrics evaluated on every requested structure.
    structure_specs
        Extra metrics for single structures: ``((roi_name, (spec, ...)), ...)``.
    settings, alpha_beta
        DVH engine settings and the α/β table for BED/EQD2 metrics.
    rx_gy, fractions
        Prescription (total Gy) and number of fractions given by the user; they
        replace the plan's.
    targets, indices, isodose_levels
        Plan-quality indices: for these targets (default: PTV-type ROIs), with the
        coverage reported at these isodose levels (% of Rx).
    tps_compare
        Compare with DVHs the planning system stored in the RTDOSE.
    curve_points
        DVH curves kept in the result: 0 none, ``None`` the full curve, ``n`` at most
        ``n`` points (for plots).
    """

    structures: tuple[str, ...] | None = None
    specs: tuple[MetricSpec, ...] = ()
    structure_specs: tuple[tuple[str, tuple[MetricSpec, ...]], ...] = ()
    settings: DvhSettings = field(default_factory=DvhSettings)
    alpha_beta: AlphaBetaTable = field(default_factory=AlphaBetaTable)
    rx_gy: float | None = None
    fractions: int | None = None
    targets: tuple[str, ...] = ()
    indices: bool = False
    isodose_levels: tuple[float, ...] = (100.0,)
    tps_compare: bool = False
    curve_points: int | None = 0

    def __post_init__(self) -> None:
        if self.rx_gy is not None and not (self.rx_gy > 0 and math.isfinite(self.rx_gy)):
            raise ValueError(f"rx_gy must be a positive, finite dose, got {self.rx_gy}")
        if self.fractions is not None and self.fractions < 1:
            raise ValueError(f"fractions must be at least 1, got {self.fractions}")
        if self.curve_points is not None and self.curve_points < 0:
            raise ValueError("curve_points must be >= 0 or None")
        if any(not (v > 0 and math.isfinite(v)) for v in self.isodose_levels):
            raise ValueError("isodose levels must be positive percentages of the prescription")

    def specs_for(self, roi_name: str) -> tuple[MetricSpec, ...]:
        """The metrics asked for one structure: the common ones, then its own."""
        own = tuple(s for name, specs in self.structure_specs
                    if name.casefold() == roi_name.casefold() for s in specs)
        return (*self.specs, *own)

    def wanted_names(self) -> tuple[str, ...] | None:
        """ROI names whose DVH is needed (``None``: all)."""
        if self.structures is None:
            return None
        extra = tuple(n for n, _ in self.structure_specs)
        return tuple(dict.fromkeys((*self.structures, *extra, *self.targets)))
