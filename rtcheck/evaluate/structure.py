"""The slim evaluation of one structure: state, statistics, metrics, bounds, curve.

A structure's numbers are results only in state ``COMPLETE``. ``PARTIAL`` (part of
it outside the dose grid), ``NOT_EVALUABLE`` (no DVH), ``BLOCKED`` (an ERROR finding
of the case or load) and ``NOT_FOUND`` give NOT_EVALUATED metrics and no statistics;
a partial structure's metrics may carry bounds (:mod:`rtcheck.evaluate.bounds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.metrics import MetricResult
from rtcheck.dose.tps_compare import TpsComparison
from rtcheck.evaluate.bounds import GridBoundary
from rtcheck.findings import Finding

DECIMALS = 4  #: the one rounding rule of every JSON number rtcheck writes


def rounded(value: float | None) -> float | None:
    """``value`` rounded to :data:`DECIMALS` decimals (``None`` stays ``None``)."""
    return None if value is None else round(float(value), DECIMALS)


class StructureState(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"
    NOT_EVALUABLE = "not_evaluable"
    BLOCKED = "blocked"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class DvhCurve:
    """A cumulative DVH kept for plots and ``--curves``: plain tuples, physical dose.

    ``volume_cc`` ascends from 0 to ``total_volume_cc``; ``dose_gy`` does not increase.
    """

    dose_gy: tuple[float, ...]
    volume_cc: tuple[float, ...]
    total_volume_cc: float

    @classmethod
    def of(cls, dvh: CumulativeDVH, points: int | None) -> DvhCurve:
        vol, dose = dvh.volume_cc, dvh.dose_gy
        if points is not None and vol.size > points >= 2:
            grid = np.linspace(0.0, dvh.total_volume_cc, points)
            # dose as a function of volume: interpolate on the ascending volume axis
            dose = np.interp(grid, vol, dose)
            vol = grid
        return cls(tuple(float(v) for v in dose), tuple(float(v) for v in vol),
                   float(dvh.total_volume_cc))

    def to_dict(self) -> dict[str, Any]:
        return {"dose_space": "PHYSICAL", "dose_gy": [round(v, 6) for v in self.dose_gy],
                "volume_cc": [round(v, 6) for v in self.volume_cc]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DvhCurve:
        vol = tuple(float(v) for v in d["volume_cc"])
        return cls(tuple(float(v) for v in d["dose_gy"]), vol, vol[-1] if vol else 0.0)


@dataclass(frozen=True)
class StructureEvaluation:
    """One structure of one case, evaluated.

    Attributes
    ----------
    name, roi_number, interpreted_type
        ROIName, ROINumber (``None`` when not found) and RTROIInterpretedType.
    state
        See :class:`StructureState`.
    volume_cc, in_grid_volume_cc
        Contour volume and the part covered by the dose grid (cc).
    min_gy, mean_gy, max_gy
        Statistics of the whole structure; ``None`` unless ``state`` is COMPLETE.
    metrics
        One result per requested metric (NOT_EVALUATED with the reason unless COMPLETE).
    boundary
        For a PARTIAL structure: the crossed grid faces and B.
    findings
        The engine's findings for this structure (and grid-adequacy notes).
    blocked_by
        Codes of the ERROR findings that block it.
    curve, tps
        The DVH curve when asked for, and the comparison with the TPS DVH.
    """

    name: str
    roi_number: int | None
    interpreted_type: str
    state: StructureState
    volume_cc: float | None
    in_grid_volume_cc: float | None
    min_gy: float | None
    mean_gy: float | None
    max_gy: float | None
    metrics: tuple[MetricResult, ...]
    boundary: GridBoundary | None = None
    findings: tuple[Finding, ...] = ()
    blocked_by: tuple[str, ...] = ()
    curve: DvhCurve | None = None
    tps: TpsComparison | None = None

    def __post_init__(self) -> None:
        if self.state is not StructureState.COMPLETE:
            if any(m.evaluated for m in self.metrics):
                raise ValueError(f"{self.name}: a {self.state.value} structure cannot have "
                                 "EVALUATED metrics")
            if any(v is not None for v in (self.min_gy, self.mean_gy, self.max_gy)):
                raise ValueError(f"{self.name}: statistics only for a complete structure")

    @property
    def complete(self) -> bool:
        return self.state is StructureState.COMPLETE

    def metric(self, raw: str) -> MetricResult:
        """The result of the metric written ``raw`` (as requested)."""
        for m in self.metrics:
            if m.spec.raw == raw:
                return m
        raise KeyError(f"{self.name}: no metric {raw!r} was requested")

    @property
    def not_complete_reason(self) -> str:
        if self.state is StructureState.COMPLETE:
            return ""
        if self.blocked_by:
            return "blocked by " + ", ".join(self.blocked_by)
        errors = [f for f in self.findings if f.severity.value == "ERROR"]
        return errors[0].message if errors else self.state.value.replace("_", " ")
