"""Evaluate parsed DVH metrics on cumulative DVHs.

Every value is interpolated on the :class:`~rtcheck.dose.dvh.CumulativeDVH` curve
(never a nearest bin). Defined edges: D100% = Dmin, D0% = Dmax, V0Gy = the whole
(sampled) volume, a dose above Dmax gives V = 0, CV above Dmax = the whole volume.
Questions without an answer give a :class:`MetricResult` with status
``NOT_EVALUATED`` and a message, never a number: a volume larger than the
structure (D/DC in cc), a % of prescription without a prescription, BED/EQD2
without a number of fractions, a structure that could not be sampled.

A curve that describes only part of its structure (``CumulativeDVH.partial_reason``,
set by the DVH engine for a structure partly outside the dose grid) gives
NOT_EVALUATED for every metric: a partial DVH is never an evaluated answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from rtcheck.dose.bed import AlphaBetaTable, convert_dose, dvh_in_space
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.metric_spec import (
    DoseSpace,
    MetricKind,
    MetricSpec,
    OutputUnit,
    QueryUnit,
)

DECIMALS = 4


class MetricStatus(StrEnum):
    EVALUATED = "EVALUATED"
    NOT_EVALUATED = "NOT_EVALUATED"


@dataclass(frozen=True)
class MetricResult:
    """The answer to one metric on one structure.

    ``value`` is ``None`` exactly when ``status`` is ``NOT_EVALUATED``; ``message``
    then says why. ``alpha_beta_gy`` is the α/β used for BED/EQD2 (else ``None``).
    """

    spec: MetricSpec
    value: float | None
    unit: str
    status: MetricStatus
    message: str = ""
    alpha_beta_gy: float | None = None
    #: For a structure partly outside the dose grid (value ``None``): what the in-grid
    #: part proves about the whole structure's value (see rtcheck.evaluate.bounds).
    lower_bound: float | None = None
    upper_bound: float | None = None
    bound_note: str = ""

    def __post_init__(self) -> None:
        if (self.value is None) != (self.status is MetricStatus.NOT_EVALUATED):
            raise ValueError("a MetricResult has a value exactly when it is EVALUATED")

    @property
    def evaluated(self) -> bool:
        return self.status is MetricStatus.EVALUATED

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.raw,
            "value": _round(self.value),
            "unit": self.unit,
            "status": self.status.value,
            "message": self.message,
            "dose_space": self.spec.dose_space.value,
            "alpha_beta_gy": self.alpha_beta_gy,
            "description": self.spec.describe(),
            **({"lower_bound": _round(self.lower_bound), "upper_bound": _round(self.upper_bound),
                "bound_note": self.bound_note}
               if self.lower_bound is not None or self.upper_bound is not None else {}),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def not_evaluated(spec: MetricSpec, why: str, alpha_beta_gy: float | None = None) -> MetricResult:
    return MetricResult(spec, None, spec.output_unit.value, MetricStatus.NOT_EVALUATED, why,
                        alpha_beta_gy)


def _query_dose_gy(spec: MetricSpec, reference_gy: float | None) -> float:
    assert spec.query_value is not None
    if spec.query_unit is QueryUnit.CGY:
        return spec.query_value / 100.0
    if spec.query_unit is QueryUnit.PERCENT_RX:
        assert reference_gy is not None
        return spec.query_value / 100.0 * reference_gy
    return spec.query_value


def _query_volume_cc(spec: MetricSpec, dvh: CumulativeDVH) -> float:
    assert spec.query_value is not None
    if spec.query_unit is QueryUnit.PERCENT_VOLUME:
        return dvh.total_volume_cc * spec.query_value / 100.0
    return spec.query_value


def evaluate_metric(
    spec: MetricSpec,
    dvh: CumulativeDVH | None,
    reference_dose_gy: float | None = None,
    *,
    alpha_beta_gy: float | None = None,
    not_evaluable_reason: str = "the structure has no DVH",
) -> MetricResult:
    """Evaluate ``spec`` on ``dvh``.

    Parameters
    ----------
    dvh
        The curve, already in the spec's dose space; ``None`` when the structure
        could not be evaluated (``not_evaluable_reason`` says why).
    reference_dose_gy
        The prescription in the same dose space, for ``%`` of prescription.
    """
    if dvh is None:
        return not_evaluated(spec, not_evaluable_reason, alpha_beta_gy)
    if dvh.is_partial:
        return not_evaluated(spec, dvh.partial_reason, alpha_beta_gy)
    return _on_curve(spec, dvh, reference_dose_gy, alpha_beta_gy)


def value_on_partial_curve(
    spec: MetricSpec, dvh: CumulativeDVH, reference_dose_gy: float | None = None
) -> float | None:
    """The number ``spec`` gives on a curve as it is, partial or not — a bound, not a result.

    For a structure partly outside the dose grid this is the value of its in-grid
    part, which the evaluation layer (:mod:`rtcheck.evaluate.bounds`) turns into a
    bound on the whole structure's value. ``None`` when the curve cannot answer.
    """
    result = _on_curve(spec, dvh, reference_dose_gy, None)
    return result.value


def _on_curve(
    spec: MetricSpec, dvh: CumulativeDVH, reference_dose_gy: float | None,
    alpha_beta_gy: float | None,
) -> MetricResult:
    if spec.needs_prescription and not (reference_dose_gy is not None and reference_dose_gy > 0):
        return not_evaluated(
            spec, "needs a prescription dose (% of Rx) and none is known; give --rx-gy or a plan",
            alpha_beta_gy)
    kind = spec.kind
    if kind in (MetricKind.DOSE_AT_VOLUME, MetricKind.DOSE_COMPLEMENT):
        vol = _query_volume_cc(spec, dvh)
        if vol > dvh.total_volume_cc * (1 + 1e-9):
            return not_evaluated(
                spec, f"asks for {vol:g} cc but the structure's sampled volume is "
                f"{dvh.total_volume_cc:.4g} cc", alpha_beta_gy)
        if kind is MetricKind.DOSE_AT_VOLUME:
            dose = dvh.dose_at_volume_gy(vol)
        else:
            dose = dvh.complement_dose_gy(vol)
        return _dose_result(spec, dose, reference_dose_gy, alpha_beta_gy)
    if kind in (MetricKind.MEAN, MetricKind.MAX, MetricKind.MIN):
        dose = {MetricKind.MEAN: dvh.mean_gy, MetricKind.MAX: dvh.max_gy,
                MetricKind.MIN: dvh.min_gy}[kind]
        return _dose_result(spec, dose, reference_dose_gy, alpha_beta_gy)
    level = _query_dose_gy(spec, reference_dose_gy)
    if kind is MetricKind.VOLUME_AT_DOSE:
        vol = dvh.volume_at_dose_cc(level)
    else:
        vol = dvh.complement_volume_cc(level)
    if spec.output_unit is OutputUnit.PERCENT_VOLUME:
        value = 100.0 * vol / dvh.total_volume_cc
    else:
        value = vol
    return MetricResult(spec, float(value), spec.output_unit.value, MetricStatus.EVALUATED,
                        alpha_beta_gy=alpha_beta_gy)


def _dose_result(
    spec: MetricSpec, dose_gy: float, reference_gy: float | None, alpha_beta_gy: float | None
) -> MetricResult:
    if spec.output_unit is OutputUnit.CGY:
        value = dose_gy * 100.0
    elif spec.output_unit is OutputUnit.PERCENT_RX:
        assert reference_gy is not None
        value = 100.0 * dose_gy / reference_gy
    else:
        value = dose_gy
    return MetricResult(spec, float(value), spec.output_unit.value, MetricStatus.EVALUATED,
                        alpha_beta_gy=alpha_beta_gy)


class _Samples(Protocol):
    @property
    def dose_gy(self) -> Any: ...
    @property
    def weight_cc(self) -> Any: ...


def evaluate_structure_metrics(
    specs: Iterable[MetricSpec],
    structure_name: str,
    dvh: CumulativeDVH | None,
    samples: _Samples | None,
    *,
    prescription_gy: float | None = None,
    n_fractions: int | None = None,
    alpha_beta: AlphaBetaTable | None = None,
    not_evaluable_reason: str = "the structure has no DVH",
) -> tuple[MetricResult, ...]:
    """Evaluate several specs on one structure, transforming dose space as each asks.

    Physical specs use ``dvh``; BED/EQD2 specs rebuild the DVH from ``samples``
    voxel by voxel (one curve per dose space and α/β, cached). The α/β is the
    spec's own (``@BED10``) or ``alpha_beta.for_structure(structure_name)``.
    ``prescription_gy`` (physical, total) is converted to the same space for ``%``.
    """
    table = alpha_beta or AlphaBetaTable()
    cache: dict[tuple[DoseSpace, float], CumulativeDVH] = {}
    results: list[MetricResult] = []
    for spec in specs:
        if spec.dose_space is DoseSpace.PHYSICAL:
            results.append(evaluate_metric(spec, dvh, prescription_gy,
                                           not_evaluable_reason=not_evaluable_reason))
            continue
        ab = spec.alpha_beta_gy if spec.alpha_beta_gy is not None else table.for_structure(
            structure_name)
        if dvh is None or samples is None:
            results.append(not_evaluated(spec, not_evaluable_reason, ab))
            continue
        if dvh.is_partial:
            results.append(not_evaluated(spec, dvh.partial_reason, ab))
            continue
        if n_fractions is None:
            results.append(not_evaluated(
                spec, f"{spec.dose_space.value} needs the number of fractions and none is known; "
                "give --fractions or a plan", ab))
            continue
        try:
            key = (spec.dose_space, ab)
            if key not in cache:
                cache[key] = dvh_in_space(samples.dose_gy, samples.weight_cc, spec.dose_space,
                                          n_fractions, ab, getattr(samples, "dmin_gy", None),
                                          getattr(samples, "dmax_gy", None))
            ref = None
            if prescription_gy is not None:
                ref = float(convert_dose(prescription_gy, spec.dose_space, n_fractions, ab))
        except ValueError as exc:  # a non-finite BED/EQD2 (see convert_dose)
            results.append(not_evaluated(spec, str(exc), ab))
            continue
        results.append(evaluate_metric(spec, cache[key], ref, alpha_beta_gy=ab))
    return tuple(results)
