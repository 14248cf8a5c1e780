"""Property-based checks (hypothesis) of the PSA rules and the KM summary."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rtcheck.events.endpoints import EndpointResult
from rtcheck.events.psa import psa_summary
from rtcheck.events.schema import PatientEvents, PsaValue
from rtcheck.events.survival import kaplan_meier
from tests.survival_reference import first_at_or_below, not_reached, product_limit

START = date(2020, 1, 1)

series = st.lists(st.tuples(st.integers(1, 720), st.floats(0.0, 200.0, allow_nan=False)),
                  min_size=0, max_size=15, unique_by=lambda t: t[0])


@settings(max_examples=150, deadline=None)
@given(baseline=st.floats(0.01, 200.0), values=series)
def test_psa_rules_hold_for_any_series(baseline, values):
    events = [PsaValue(patient_id="P", event_date=START, psa_ng_ml=baseline)] + [
        PsaValue(patient_id="P", event_date=START + timedelta(days=d), psa_ng_ml=v)
        for d, v in values]
    s = psa_summary(PatientEvents("P", tuple(events)), START, date(2030, 1, 1))
    by_day = {START + timedelta(days=d): v for d, v in values}
    if s.response:
        assert s.response_date is not None and s.response_confirm_date is not None
        assert (s.response_confirm_date - s.response_date).days >= 28
        assert by_day[s.response_date] <= 0.5 * baseline
        assert by_day[s.response_confirm_date] <= 0.5 * baseline
    else:
        # no value is <= 50 % of baseline with its first value >= 28 days later also <= 50 %
        days = sorted(by_day)
        for d in days:
            later = [x for x in days if (x - d).days >= 28]
            if by_day[d] <= 0.5 * baseline and later:
                assert by_day[later[0]] > 0.5 * baseline
    if s.progression_date is not None:
        assert s.progression_confirm_date is not None
        assert (s.progression_confirm_date - s.progression_date).days >= 21
        rising = by_day[s.progression_date]
        prior = [baseline] + [v for d, v in by_day.items() if d < s.progression_date]
        reference = min(prior)
        if reference >= baseline:  # no decline: only from week 12
            assert (s.progression_date - START).days >= 84
        assert rising >= 1.25 * reference and rising - reference >= 2.0
    if s.week12_date is not None:
        assert 70 <= (s.week12_date - START).days <= 98


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1500), st.booleans()), min_size=1, max_size=40))
def test_km_median_and_ci_match_product_limit(data):
    results = [EndpointResult(f"P{i}", "os", START, START + timedelta(days=d), e, "x")
               for i, (d, e) in enumerate(data)]
    km = kaplan_meier("os", results)
    curve = product_limit([r.duration_months for r in results],
                          [r.event_observed for r in results])
    assert not_reached(km.median_months) == first_at_or_below(curve, 1)
    assert not_reached(km.median_ci_lower_months) == first_at_or_below(curve, 2)
    assert not_reached(km.median_ci_upper_months) == first_at_or_below(curve, 3)
    assert km.n_events == sum(e for _, e in data)
