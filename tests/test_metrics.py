"""Metric evaluation on hand-computed DVHs, with every defined edge.

The reference DVH: four 1 cc samples at 10, 20, 30 and 40 Gy. ``from_samples``
puts each sample's dose at the mid-point of its volume interval, so the curve is
(V cc, D Gy) = (0, 40) (0.5, 40) (1.5, 30) (2.5, 20) (3.5, 10) (4, 10), linear in
between; total 4 cc, mean 25 Gy.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcheck.dose.bed import AlphaBetaTable, bed_gy
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.metric_spec import parse_metric
from rtcheck.dose.metrics import (
    MetricStatus,
    evaluate_metric,
    evaluate_structure_metrics,
)

DOSE = np.array([10.0, 20.0, 30.0, 40.0])
WEIGHT = np.ones(4)


@pytest.fixture
def dvh() -> CumulativeDVH:
    return CumulativeDVH.from_samples(DOSE, WEIGHT)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("D0%[Gy]", 40.0),  # D0% = Dmax
        ("D100%[Gy]", 10.0),  # D100% = Dmin
        ("D50%[Gy]", 25.0),  # 2 cc: between (1.5, 30) and (2.5, 20)
        ("D25%[Gy]", 35.0),
        ("D1cc[Gy]", 35.0),
        ("D0.035cc[Gy]", 40.0),
        ("D4cc[Gy]", 10.0),  # the whole volume
        ("D50%[cGy]", 2500.0),  # cGy versus Gy
        ("V25Gy[cc]", 2.0),
        ("V25Gy[%]", 50.0),  # cc versus %
        ("V2500cGy[cc]", 2.0),
        ("V0Gy[cc]", 4.0),  # V0Gy = total volume
        ("V0Gy[%]", 100.0),
        ("V10Gy[cc]", 4.0),  # at Dmin: everything
        ("V50Gy[cc]", 0.0),  # a dose above the maximum: a defined 0 cc
        ("V40.01Gy[%]", 0.0),
        ("DC1cc[Gy]", 15.0),  # coldest 1 cc: D at 3 cc
        ("DC4cc[Gy]", 40.0),  # coldest = whole volume -> Dmax
        ("DC0cc[Gy]", 10.0),
        ("DC25%[Gy]", 15.0),
        ("CV15Gy[cc]", 1.0),  # V15 = 3 cc
        ("CV25Gy[%]", 50.0),
        ("CV50Gy[cc]", 4.0),  # above the max: all of it receives less
        ("CV0Gy[cc]", 0.0),
        ("Mean[Gy]", 25.0),
        ("Max[Gy]", 40.0),
        ("Min[Gy]", 10.0),
        ("Mean[cGy]", 2500.0),
    ],
)
def test_values_are_interpolated(dvh, spec, expected):
    result = evaluate_metric(parse_metric(spec), dvh)
    assert result.status is MetricStatus.EVALUATED, result.message
    assert result.value == pytest.approx(expected)
    assert result.unit == parse_metric(spec).output_unit.value


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("V100%[%]", 37.5),  # V30Gy = 1.5 cc of 4
        ("V100%[cc]", 1.5),
        ("V50%[cc]", 3.0),  # 15 Gy: between (2.5, 20) and (3.5, 10)
        ("D50%[%]", 83.3333),  # 25 Gy of 30 Gy
        ("Max[%]", 133.3333),
        ("CV100%[cc]", 2.5),
    ],
)
def test_percent_of_prescription(dvh, spec, expected):
    result = evaluate_metric(parse_metric(spec), dvh, reference_dose_gy=30.0)
    assert result.evaluated
    assert result.value == pytest.approx(expected, abs=1e-4)


def test_100cc_versus_100_percent():
    big = CumulativeDVH.from_samples(DOSE, np.full(4, 50.0))  # 200 cc
    assert evaluate_metric(parse_metric("D100cc[Gy]"), big).value == pytest.approx(25.0)
    assert evaluate_metric(parse_metric("D100%[Gy]"), big).value == pytest.approx(10.0)
    assert evaluate_metric(parse_metric("V25Gy[cc]"), big).value == pytest.approx(100.0)
    assert evaluate_metric(parse_metric("V25Gy[%]"), big).value == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("D100cc[Gy]", "asks for 100 cc but the structure's sampled volume is 4 cc"),
        ("D4.1cc[Gy]", "asks for 4.1 cc"),
        ("DC700cc[Gy]", "asks for 700 cc"),
        ("V95%[%]", "needs a prescription dose"),
        ("D95%[%]", "needs a prescription dose"),
        ("Mean[%]", "needs a prescription dose"),
    ],
)
def test_unanswerable_questions_are_not_evaluated(dvh, spec, reason):
    result = evaluate_metric(parse_metric(spec), dvh)
    assert result.status is MetricStatus.NOT_EVALUATED
    assert result.value is None  # never a silent 0
    assert reason in result.message
    assert result.to_dict()["value"] is None
    assert result.to_dict()["status"] == "NOT_EVALUATED"


def test_structure_without_dvh_is_not_evaluated():
    result = evaluate_metric(parse_metric("Max[Gy]"), None, not_evaluable_reason="empty ROI")
    assert result.status is MetricStatus.NOT_EVALUATED and result.message == "empty ROI"


def test_to_dict_rounds_to_4_decimals(dvh):
    d = evaluate_metric(parse_metric("D50%[%]"), dvh, reference_dose_gy=30.0).to_dict()
    assert d == {
        "spec": "D50%[%]", "value": 83.3333, "unit": "% of Rx", "status": "EVALUATED",
        "message": "", "dose_space": "PHYSICAL", "alpha_beta_gy": None,
        "description": "minimum dose to the hottest 50 % [% of Rx]",
    }


def test_structure_metrics_in_bed_space(dvh):
    samples = SimpleNamespace(dose_gy=DOSE, weight_cc=WEIGHT)
    specs = [parse_metric(s) for s in (
        "Max[Gy]", "Max[Gy]@BED3", "Max[Gy]@BED", "D0%[Gy]@EQD2(3)", "V100%[%]@BED",
        "Min[Gy]@BED", "Max[%]@BED")]
    table = AlphaBetaTable(3.0, {"ptv": 10.0})
    res = evaluate_structure_metrics(specs, "PTV", dvh, samples, prescription_gy=30.0,
                                     n_fractions=2, alpha_beta=table)
    values = [r.value for r in res]
    assert values[0] == pytest.approx(40.0)
    assert values[1] == pytest.approx(40 * (1 + 20 / 3))  # spec's own alpha/beta 3
    assert res[1].alpha_beta_gy == 3.0
    assert values[2] == pytest.approx(40 * (1 + 20 / 10))  # the structure's alpha/beta 10
    assert res[2].alpha_beta_gy == 10.0
    assert values[3] == pytest.approx(bed_gy(40.0, 2, 3.0) / (1 + 2 / 3))
    # % of Rx in BED space: the prescription BED (30 Gy/2 fx, a/b 10 -> 75 Gy); V75 BED = V30 phys
    assert values[4] == pytest.approx(37.5)
    assert values[5] == pytest.approx(10 * (1 + 5 / 10))
    assert values[6] == pytest.approx(100 * bed_gy(40.0, 2, 10.0) / bed_gy(30.0, 2, 10.0))
    assert res[0].alpha_beta_gy is None


def test_bed_without_fractions_or_samples_is_not_evaluated(dvh):
    samples = SimpleNamespace(dose_gy=DOSE, weight_cc=WEIGHT)
    spec = [parse_metric("D90%[Gy]@BED3")]
    res = evaluate_structure_metrics(spec, "x", dvh, samples, n_fractions=None)
    assert res[0].status is MetricStatus.NOT_EVALUATED
    assert "needs the number of fractions" in res[0].message
    res = evaluate_structure_metrics(spec, "x", None, None, n_fractions=3,
                                     not_evaluable_reason="outside the dose grid")
    assert res[0].message == "outside the dose grid" and res[0].value is None


def test_metric_alpha_beta_that_overflows_bed_is_not_evaluated() -> None:
    """A denormal alpha/beta in the spec (@BED0.000...1) gave a traceback-level ValueError."""
    spec = parse_metric("Mean[Gy]@BED0." + "0" * 320 + "1")
    dose, weight = np.array([10.0, 20.0]), np.array([1.0, 1.0])
    curve = CumulativeDVH.from_samples(dose, weight)
    samples = SimpleNamespace(dose_gy=dose, weight_cc=weight)
    (res,) = evaluate_structure_metrics([spec], "X", curve, samples, n_fractions=3)
    assert res.status is MetricStatus.NOT_EVALUATED and res.value is None
    assert "is not a finite number (alpha/beta far too small?)" in res.message


@given(
    st.lists(st.floats(0.0, 100.0), min_size=1, max_size=40),
    st.lists(st.floats(0.01, 10.0), min_size=40, max_size=40),
    st.floats(0.0, 100.0),
    st.floats(0.0, 120.0),
)
def test_every_answer_is_defined_and_within_range(doses, weights, pct, level):
    d = np.array(doses)
    dvh = CumulativeDVH.from_samples(d, np.array(weights[: d.size]))
    for text in (f"D{pct:.3f}%[Gy]", f"DC{pct:.3f}%[Gy]"):
        r = evaluate_metric(parse_metric(text), dvh)
        assert r.evaluated and r.value is not None
        assert dvh.min_gy - 1e-9 <= r.value <= dvh.max_gy + 1e-9
    v = evaluate_metric(parse_metric(f"V{level:.3f}Gy[%]"), dvh).value
    cv = evaluate_metric(parse_metric(f"CV{level:.3f}Gy[%]"), dvh).value
    assert v is not None and cv is not None
    assert 0.0 <= v <= 100.0 + 1e-9
    assert v + cv == pytest.approx(100.0)
