"""Cohort statistics with lifelines: Kaplan–Meier summaries and Cox proportional hazards.

Protocol, "Statistical analysis": Kaplan–Meier actuarial analysis for every
time-to-event endpoint; univariate and multivariate Cox regression.

* Kaplan–Meier (:class:`lifelines.KaplanMeierFitter`) on durations in months
  (``duration_days / 30.4375``). The 95 % confidence band is lifelines' exponential
  Greenwood ("log(-log)") interval. The median is the first time S(t) <= 0.5 and its
  95 % CI the first times the band's lower and upper curves reach 0.5 (as
  :func:`lifelines.utils.median_survival_times`, with a 1e-9 tolerance for lifelines'
  floating-point ties, see :func:`first_time_at_or_below`); ``None`` means not reached.
  Where S(t) is exactly 0.5 over an interval, two conventions exist (setting
  ``km_median``): ``"first"`` (default; lifelines' ``median_survival_time_``, the
  first time S <= 0.5) and ``"midpoint"`` (R's survival package, ``quantile.survfit``:
  the middle of the flat, i.e. the mean of the time the curve reaches 0.5 and the time
  of its next drop, or of the last follow-up time when it never drops again). The
  same rule is applied to the CI's bounds (as both packages do).
* Survival at 12 and 24 months is the step function at that time; the number at
  risk at a time ``t`` counts patients whose duration is >= ``t``.
* Cox (:class:`lifelines.CoxPHFitter`, Efron ties, no penalty): one univariate
  model per covariate and one multivariate model with all of them, for patients
  with every covariate. Hazard ratio = exp(coef), 95 % CI = exp(coef ± 1.96 se).
  Models that do not converge (often with 18 patients and few events) are reported
  as findings, never silently dropped.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning

from rtcheck.events.endpoints import EndpointResult
from rtcheck.findings import Finding, Severity

LANDMARK_MONTHS = (12.0, 24.0)
TIE_TOLERANCE = 1e-9  #: see first_time_at_or_below
#: KM median conventions (``km_median``): lifelines' first time S <= 0.5, R's midpoint of a flat.
MEDIAN_RULES = ("first", "midpoint")
AT_RISK_MONTHS = (0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0)


def first_time_at_or_below(curve: pd.Series, level: float = 0.5) -> float:
    """First time at which ``curve`` is <= ``level`` (``inf`` if never).

    lifelines builds S(t) from sums of logarithms, so a survival that is exactly 0.5
    (9 events among 18 patients) comes out as 0.5000000000000002 and
    ``median_survival_time_`` then skips to the next event time; a tolerance of
    ``TIE_TOLERANCE`` restores the textbook "first time S(t) <= 0.5".
    """
    hit = curve.index[curve.to_numpy() <= level + TIE_TOLERANCE]
    return float(hit[0]) if len(hit) else math.inf


def median_time(curve: pd.Series, rule: str = "first", last_time: float | None = None,
                level: float = 0.5) -> float:
    """The time ``curve`` reaches ``level`` under ``rule`` (``inf`` if never; module docstring).

    ``last_time``: the largest follow-up time, the end of a flat that never drops again
    (default: the curve's last time).
    """
    if rule not in MEDIAN_RULES:
        raise ValueError(f"median rule must be one of {', '.join(MEDIAN_RULES)}, got {rule!r}")
    first = first_time_at_or_below(curve, level)
    if rule == "first" or not math.isfinite(first):
        return first
    at = float(curve.loc[first])
    if abs(at - level) > TIE_TOLERANCE:
        return first  # the curve jumps across the level: no flat
    later = curve[curve.index > first]
    drops = later.index[later.to_numpy() < at - TIE_TOLERANCE]
    end = float(drops[0]) if len(drops) else float(
        last_time if last_time is not None else curve.index[-1])
    return (first + end) / 2


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None


@dataclass(frozen=True)
class KmSummary:
    """Kaplan–Meier summary of one endpoint (months; ``None`` = not reached / not estimable)."""

    endpoint: str
    n: int
    n_events: int
    median_months: float | None
    median_ci_lower_months: float | None
    median_ci_upper_months: float | None
    survival_at: tuple[tuple[float, float, float, float], ...]  #: (month, S, lower, upper)
    at_risk: tuple[tuple[float, int], ...]  #: (month, number at risk)
    median_rule: str = "first"  #: see MEDIAN_RULES
    n_not_evaluable: int = 0  #: patients left out of this endpoint (not evaluable)


def km_fit(results: Sequence[EndpointResult], label: str = "KM") -> KaplanMeierFitter:
    """Fit lifelines' KaplanMeierFitter on ``duration_months`` / ``event_observed``."""
    kmf = KaplanMeierFitter(label=label)
    kmf.fit([r.duration_months for r in results], [r.event_observed for r in results])
    return kmf


def kaplan_meier(endpoint: str, results: Sequence[EndpointResult], median_rule: str = "first",
                 n_not_evaluable: int = 0) -> KmSummary:
    """Summarise one endpoint over the cohort (see the module docstring)."""
    if not results:
        raise ValueError(f"no patient has the endpoint {endpoint}")
    kmf = km_fit(results, endpoint)
    sf = kmf.survival_function_.iloc[:, 0]
    band = kmf.confidence_interval_
    durations = np.array([r.duration_months for r in results])
    last = float(durations.max())
    median = median_time(sf, median_rule, last)
    lower = median_time(band.iloc[:, 0], median_rule, last)
    upper = median_time(band.iloc[:, 1], median_rule, last)
    landmarks = []
    for t in LANDMARK_MONTHS:
        if durations.max() < t:
            continue
        idx = sf.index[sf.index <= t].max()
        landmarks.append((t, float(sf.loc[idx]), float(band.iloc[:, 0].loc[idx]),
                          float(band.iloc[:, 1].loc[idx])))
    return KmSummary(
        endpoint=endpoint,
        n=len(results),
        n_events=sum(r.event_observed for r in results),
        median_months=_finite(median),
        median_ci_lower_months=_finite(lower),
        median_ci_upper_months=_finite(upper),
        survival_at=tuple(landmarks),
        at_risk=tuple((t, int((durations >= t).sum())) for t in AT_RISK_MONTHS),
        median_rule=median_rule,
        n_not_evaluable=n_not_evaluable,
    )


@dataclass(frozen=True)
class HazardRatio:
    """One covariate's hazard ratio in one Cox model."""

    endpoint: str
    model: str  #: "univariate" or "multivariate"
    covariate: str
    hazard_ratio: float
    ci_lower: float
    ci_upper: float
    p_value: float
    n: int
    n_events: int


def _fit_cox(endpoint: str, model: str, frame: pd.DataFrame, findings: list[Finding]
             ) -> list[HazardRatio]:
    n, events = len(frame), int(frame["event_observed"].sum())
    names = [c for c in frame.columns if c not in ("duration_months", "event_observed")]
    if events < 2:
        findings.append(Finding("COX_NOT_ESTIMABLE", Severity.WARNING,
                                f"{model} model ({', '.join(names)}): {events} event(s); "
                                "at least 2 are needed", subject=endpoint))
        return []
    cph = CoxPHFitter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            cph.fit(frame, duration_col="duration_months", event_col="event_observed")
    except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError) as exc:
        findings.append(Finding("COX_NOT_CONVERGED", Severity.WARNING,
                                f"{model} model ({', '.join(names)}) did not converge: "
                                f"{str(exc).splitlines()[0][:160]}", subject=endpoint))
        return []
    s = cph.summary
    return [HazardRatio(endpoint, model, name, float(s.loc[name, "exp(coef)"]),
                        float(s.loc[name, "exp(coef) lower 95%"]),
                        float(s.loc[name, "exp(coef) upper 95%"]),
                        float(s.loc[name, "p"]), n, events) for name in names]


def cox_models(endpoint: str, results: Sequence[EndpointResult],
               covariates: Mapping[str, Mapping[str, float]], names: Sequence[str]
               ) -> tuple[list[HazardRatio], list[Finding]]:
    """Univariate Cox per covariate, then one multivariate model.

    Parameters
    ----------
    results
        One :class:`EndpointResult` per patient for ``endpoint``.
    covariates
        ``{patient_id: {name: value}}``.
    names
        The covariates to model (in this order).
    """
    findings: list[Finding] = []
    rows = []
    for r in results:
        row: dict[str, float] = {"duration_months": r.duration_months,
                                 "event_observed": float(r.event_observed)}
        row.update({k: covariates.get(r.patient_id, {}).get(k, math.nan) for k in names})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["duration_months", "event_observed", *names])
    out: list[HazardRatio] = []
    for name in names:
        sub = frame[["duration_months", "event_observed", name]].dropna()
        if sub[name].nunique() < 2:
            findings.append(Finding("COX_NOT_ESTIMABLE", Severity.WARNING,
                                    f"covariate {name} does not vary",
                                    subject=endpoint))
            continue
        out += _fit_cox(endpoint, "univariate", sub, findings)
    if len(names) > 1:
        full = frame.dropna()
        if len(full) < len(frame):
            findings.append(Finding("COX_MISSING_COVARIATE", Severity.WARNING,
                                    f"multivariate model: {len(frame) - len(full)} "
                                    "patient(s) without every covariate were left out",
                                    subject=endpoint))
        out += _fit_cox(endpoint, "multivariate", full, findings)
    return out, findings
