"""Dose engine: DVHs, TG-263 metrics, BED/EQD2 and SBRT plan-quality indices.

Typical use::

    from rtcheck.dicom import load
    from rtcheck.dose import DvhSettings, compute_dvhs, evaluate_metric, parse_metric

    case = load(["plan/"]).cases[0]
    dvhs = compute_dvhs(case.structure_set, case.dose, DvhSettings())
    cord = next(d for d in dvhs if d.name == "SpinalCord")
    result = evaluate_metric(parse_metric("D0.035cc[Gy]"), cord.dvh)
"""

from typing import Any

from rtcheck.dose.bed import (
    DEFAULT_ALPHA_BETA_GY,
    AlphaBetaTable,
    bed_gy,
    eqd2_gy,
    prescription_bed_gy,
    prescription_eqd2_gy,
)
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.engine import StructureDVH, compute_dvh, compute_dvhs
from rtcheck.dose.metric_spec import MetricSpec, parse_metric, parse_metrics
from rtcheck.dose.metrics import MetricResult, MetricStatus, evaluate_metric
from rtcheck.dose.settings import DvhSettings, EndCap
from rtcheck.dose.tps_compare import TpsComparison, compare_embedded


def __getattr__(name: str) -> Any:
    """The plan-quality indices import scipy: loaded on first use (PEP 562)."""
    if name == "PlanIndices":
        from rtcheck.dose.index_results import PlanIndices

        return PlanIndices
    if name == "compute_indices":
        from rtcheck.dose.indices import compute_indices

        return compute_indices
    raise AttributeError(f"module 'rtcheck.dose' has no attribute {name!r}")


__all__ = [
    "DEFAULT_ALPHA_BETA_GY",
    "AlphaBetaTable",
    "CumulativeDVH",
    "DvhSettings",
    "EndCap",
    "MetricResult",
    "MetricSpec",
    "MetricStatus",
    "PlanIndices",
    "StructureDVH",
    "TpsComparison",
    "bed_gy",
    "compare_embedded",
    "compute_dvh",
    "compute_dvhs",
    "compute_indices",
    "eqd2_gy",
    "evaluate_metric",
    "parse_metric",
    "parse_metrics",
    "prescription_bed_gy",
    "prescription_eqd2_gy",
]
