"""KM and Cox checked against independent computations.

* Kaplan–Meier (:mod:`tests.survival_reference`): product-limit estimate, Greenwood
  variance and the log(-log) ("exponential Greenwood") 95 % interval, median = first time
  S <= 0.5, median CI = first times where the lower/upper bounds reach 0.5.
* Cox (written here): the partial likelihood (no tied event times, so Breslow = Efron)
  maximised with scipy, standard error from its numerical second derivative.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from rtcheck.events import analyse_file
from rtcheck.events.endpoints import EndpointResult
from rtcheck.events.schema import DAYS_PER_MONTH
from rtcheck.events.survival import cox_models, kaplan_meier
from tests.events_helpers import COHORT_CSV
from tests.survival_reference import Z, first_at_or_below, not_reached, product_limit


def _results(durations_months, events):
    start = date(2020, 1, 1)
    return [EndpointResult(f"P{i}", "os", start,
                           start + timedelta(days=round(m * DAYS_PER_MONTH)), bool(ev), "x")
            for i, (m, ev) in enumerate(zip(durations_months, events, strict=True))]


def test_km_hand_computed_small_cohort():
    # Hand computation (months): n=10; t=2: 9/10 -> 0.9; t=3: 8/9 -> 0.8 (one censored at 3);
    # t=5: 6/7 -> 0.6857; t=6: 5/6 -> 0.5714; t=9: 3/4 -> 0.4286 -> median 9 months.
    durations = [2, 3, 3, 5, 6, 7, 9, 10, 12, 15]
    events = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]
    results = _results(durations, events)
    km = kaplan_meier("os", results)
    months = [r.duration_months for r in results]
    curve = product_limit(months, events)
    assert [round(s, 4) for _, s, _, _ in curve] == [0.9, 0.8, 0.6857, 0.5714, 0.4286, 0.2857,
                                                     0.0]
    assert km.median_months == pytest.approx(first_at_or_below(curve, 1))
    assert km.median_months == pytest.approx(9.0, abs=0.02)  # whole days: 274/30.4375
    lower = first_at_or_below(curve, 2)
    upper = first_at_or_below(curve, 3)
    assert km.median_ci_lower_months == pytest.approx(lower)
    assert not_reached(km.median_ci_upper_months) == pytest.approx(upper)
    t12, s12, lo12, hi12 = km.survival_at[0]
    assert t12 == 12.0
    assert s12 == pytest.approx(0.2857, abs=1e-4)
    ref = [row for row in curve if row[0] <= 12.0][-1]
    assert (lo12, hi12) == (pytest.approx(ref[2]), pytest.approx(ref[3]))
    assert dict(km.at_risk)[6.0] == 6  # durations >= 6 months: 6, 7, 9, 10, 12, 15
    assert (km.n, km.n_events) == (10, 7)


def test_median_exactly_at_half_survival():
    # 18 patients (the trial size), one event per month, no censoring: S = 9/18 = 0.5 after the
    # ninth event, so the median is 9 months. lifelines' median_survival_time_ alone gives 10
    # because its S is 0.5000000000000002 there.
    results = [EndpointResult(f"P{i}", "os", date(2020, 1, 1),
                              date(2020, 1, 1) + timedelta(days=30 * i), True, "x")
               for i in range(1, 19)]
    km = kaplan_meier("os", results)
    assert km.median_months == pytest.approx(270 / 30.4375)


def test_number_at_risk_counts_durations_at_or_beyond_t():
    # An event on the start day (duration 0) is at risk at month 0.
    results = _results([0, 3, 6.5], [1, 0, 1])
    km = kaplan_meier("os", results)
    assert dict(km.at_risk)[0.0] == 3
    assert dict(km.at_risk)[6.0] == 1
    assert km.survival_at == ()  # nobody followed to 12 months: no landmark estimate


@pytest.mark.parametrize("endpoint", ["nest_fs", "cpfs", "os", "css"])
def test_km_on_shipped_cohort_matches_independent_product_limit(endpoint):
    result = analyse_file(COHORT_CSV, date(2023, 6, 30))
    eps = result.endpoint_results(endpoint)
    km = next(k for k in result.km if k.endpoint == endpoint)
    curve = product_limit([e.duration_months for e in eps], [e.event_observed for e in eps])
    median = first_at_or_below(curve, 1)
    assert not_reached(km.median_months) == pytest.approx(median)
    assert not_reached(km.median_ci_lower_months) == pytest.approx(first_at_or_below(curve, 2))
    assert not_reached(km.median_ci_upper_months) == pytest.approx(first_at_or_below(curve, 3))
    for t, s, lo, hi in km.survival_at:
        ref = ([row for row in curve if row[0] <= t] or [(0.0, 1.0, 1.0, 1.0)])[-1]
        assert (s, lo, hi) == (pytest.approx(ref[1]), pytest.approx(ref[2]), pytest.approx(ref[3]))


def test_km_shipped_cohort_nest_fs_numbers():
    """The numbers shown in the README's endpoints section."""
    result = analyse_file(COHORT_CSV, date(2023, 6, 30))
    km = next(k for k in result.km if k.endpoint == "nest_fs")
    assert (km.n, km.n_events) == (18, 13)
    assert km.median_months == pytest.approx(17.54, abs=0.01)


# --- Cox -----------------------------------------------------------------------------------

TIMES = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
EVENTS = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0]
X = [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]
X2 = [60.0, 72.0, 65.0, 80.0, 58.0, 77.0, 69.0, 61.0, 74.0, 66.0]


def neg_log_partial_likelihood(beta, times, events, covs):
    beta = np.atleast_1d(beta)
    z = np.column_stack(covs) @ beta
    ll = 0.0
    for i, (t, e) in enumerate(zip(times, events, strict=True)):
        if e:
            risk = [j for j, tj in enumerate(times) if tj >= t]
            ll += z[i] - math.log(sum(math.exp(z[j]) for j in risk))
    return -ll


def _cox_input(covs):
    start = date(2020, 1, 1)
    results = [EndpointResult(f"P{i}", "os", start, start + timedelta(days=int(t * 30)), bool(e),
                              "x") for i, (t, e) in enumerate(zip(TIMES, EVENTS, strict=True))]
    return results, {f"P{i}": {name: vals[i] for name, vals in covs.items()}
                     for i in range(len(TIMES))}


def test_cox_univariate_matches_independent_partial_likelihood():
    results, covariates = _cox_input({"x": X})
    hrs, findings = cox_models("os", results, covariates, ["x"])
    assert findings == []
    (hr,) = hrs
    times = [r.duration_months for r in results]
    opt = minimize_scalar(neg_log_partial_likelihood, args=(times, EVENTS, [X]),
                          bounds=(-10, 10), method="bounded", options={"xatol": 1e-10})
    beta = opt.x
    h = 1e-4
    f = lambda b: neg_log_partial_likelihood(b, times, EVENTS, [X])  # noqa: E731
    info = (f(beta + h) - 2 * f(beta) + f(beta - h)) / h**2
    se = 1 / math.sqrt(info)
    assert hr.hazard_ratio == pytest.approx(math.exp(beta), rel=1e-4)
    assert hr.ci_lower == pytest.approx(math.exp(beta - Z * se), rel=1e-3)
    assert hr.ci_upper == pytest.approx(math.exp(beta + Z * se), rel=1e-3)
    assert (hr.model, hr.n, hr.n_events) == ("univariate", 10, 7)


def test_cox_multivariate_matches_independent_partial_likelihood():
    results, covariates = _cox_input({"x": X, "age": X2})
    hrs, _ = cox_models("os", results, covariates, ["x", "age"])
    multi = {h.covariate: h for h in hrs if h.model == "multivariate"}
    times = [r.duration_months for r in results]
    opt = minimize(neg_log_partial_likelihood, x0=[0.0, 0.0], args=(times, EVENTS, [X, X2]),
                   method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 5000})
    assert multi["x"].hazard_ratio == pytest.approx(math.exp(opt.x[0]), rel=1e-3)
    assert multi["age"].hazard_ratio == pytest.approx(math.exp(opt.x[1]), rel=1e-3)


def test_cox_reports_non_estimable_models():
    results, covariates = _cox_input({"same": [1.0] * 10})
    hrs, findings = cox_models("os", results, covariates, ["same"])
    assert hrs == []
    assert [f.code for f in findings] == ["COX_NOT_ESTIMABLE"]


def test_km_median_at_an_exact_half_in_floating_point():
    """0.8 * 0.75 * 5/6 = 0.5 exactly, 0.5000000000000001 in floats: the median is reached
    (README: 1e-9 tolerance). The test reference lacked the tolerance (hypothesis found it)."""
    data = [(0, True), (0, True), (1, True), (1, True), (2, True)] + [(2, False)] * 5
    start = date(2020, 1, 1)
    res = [EndpointResult(f"P{i}", "os", start, start + timedelta(days=d), e, "x")
           for i, (d, e) in enumerate(data)]
    km = kaplan_meier("os", res)
    assert km.median_months == pytest.approx(2 / DAYS_PER_MONTH)
    curve = product_limit([r.duration_months for r in res], [r.event_observed for r in res])
    assert first_at_or_below(curve, 1) == pytest.approx(2 / DAYS_PER_MONTH)
