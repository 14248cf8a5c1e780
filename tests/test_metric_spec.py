"""The TG-263 metric grammar: every accepted form, its typed fields, and the errors."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcheck.dose.metric_spec import (
    VALID_FORMS,
    DoseSpace,
    MetricKind,
    OutputUnit,
    QueryUnit,
    parse_metric,
    parse_metrics,
)
from rtcheck.errors import ConfigError, MetricSpecError

K = MetricKind
Q = QueryUnit
U = OutputUnit

ACCEPTED = [
    ("D95%[Gy]", K.DOSE_AT_VOLUME, 95.0, Q.PERCENT_VOLUME, U.GY),
    ("D2cc[Gy]", K.DOSE_AT_VOLUME, 2.0, Q.CC, U.GY),
    ("D0.035cc[Gy]", K.DOSE_AT_VOLUME, 0.035, Q.CC, U.GY),
    ("D.5cc[cGy]", K.DOSE_AT_VOLUME, 0.5, Q.CC, U.CGY),
    ("D100%[%]", K.DOSE_AT_VOLUME, 100.0, Q.PERCENT_VOLUME, U.PERCENT_RX),
    ("D0%[Gy]", K.DOSE_AT_VOLUME, 0.0, Q.PERCENT_VOLUME, U.GY),
    ("D100cc[Gy]", K.DOSE_AT_VOLUME, 100.0, Q.CC, U.GY),
    ("D2cm3[Gy]", K.DOSE_AT_VOLUME, 2.0, Q.CC, U.GY),
    ("V20Gy[%]", K.VOLUME_AT_DOSE, 20.0, Q.GY, U.PERCENT_VOLUME),
    ("V20Gy[cc]", K.VOLUME_AT_DOSE, 20.0, Q.GY, U.CC),
    ("V2000cGy[cc]", K.VOLUME_AT_DOSE, 2000.0, Q.CGY, U.CC),
    ("V95%[%]", K.VOLUME_AT_DOSE, 95.0, Q.PERCENT_RX, U.PERCENT_VOLUME),
    ("V105%[cc]", K.VOLUME_AT_DOSE, 105.0, Q.PERCENT_RX, U.CC),
    ("DC700cc[Gy]", K.DOSE_COMPLEMENT, 700.0, Q.CC, U.GY),
    ("DC50%[Gy]", K.DOSE_COMPLEMENT, 50.0, Q.PERCENT_VOLUME, U.GY),
    ("CV12.4Gy[cc]", K.VOLUME_COMPLEMENT, 12.4, Q.GY, U.CC),
    ("CV1240cGy[%]", K.VOLUME_COMPLEMENT, 1240.0, Q.CGY, U.PERCENT_VOLUME),
    ("CV50%[cc]", K.VOLUME_COMPLEMENT, 50.0, Q.PERCENT_RX, U.CC),
    ("Mean[Gy]", K.MEAN, None, None, U.GY),
    ("Max[cGy]", K.MAX, None, None, U.CGY),
    ("Min[%]", K.MIN, None, None, U.PERCENT_RX),
]


@pytest.mark.parametrize(("text", "kind", "value", "qunit", "out"), ACCEPTED)
def test_every_form_parses_to_typed_fields(text, kind, value, qunit, out):
    spec = parse_metric(text)
    assert spec.raw == text
    assert spec.kind is kind
    assert spec.query_value == value
    assert spec.query_unit is qunit
    assert spec.output_unit is out
    assert spec.dose_space is DoseSpace.PHYSICAL
    assert spec.alpha_beta_gy is None
    assert not spec.space_explicit
    assert str(spec) == text
    assert spec.describe()


def test_spec_is_frozen_and_keeps_raw_text():
    spec = parse_metric("  d95 %[gy] ")
    assert spec.raw == "d95 %[gy]"  # as given (outer whitespace stripped), case kept
    assert spec.canonical == "D95%[Gy]"
    assert spec.kind is K.DOSE_AT_VOLUME and spec.output_unit is U.GY
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'raw'"):
        spec.raw = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("v20gy[CC]", "V20Gy[cc]"), ("V95%[%]", "V95%[%]"), ("dc700CM3[gy]", "DC700cc[Gy]"),
     ("cv12.40Gy[cc]", "CV12.4Gy[cc]"), ("MEAN[cgy]", "Mean[cGy]"),
     ("D90%[Gy]@bed3", "D90%[Gy]@BED(3)"), ("Max[Gy]@EQD2", "Max[Gy]@EQD2"),
     ("Min[%]@phys", "Min[%]@PHYS")],
)
def test_canonical_spelling(text, canonical):
    spec = parse_metric(text)
    assert spec.canonical == canonical
    assert parse_metric(canonical) == dataclasses.replace(spec, raw=canonical)


@pytest.mark.parametrize(
    ("text", "space", "ab"),
    [
        ("D90%[Gy]@BED3", DoseSpace.BED, 3.0),
        ("D90%[Gy]@BED(3)", DoseSpace.BED, 3.0),
        ("D90%[Gy]@BED=10", DoseSpace.BED, 10.0),
        ("D90%[Gy]@bed2.5", DoseSpace.BED, 2.5),
        ("D2cc[Gy]@EQD2(3)", DoseSpace.EQD2, 3.0),
        ("D2cc[Gy]@EQD2=10", DoseSpace.EQD2, 10.0),
        ("Max[Gy]@BED", DoseSpace.BED, None),
        ("Max[Gy]@EQD2", DoseSpace.EQD2, None),
        ("Mean[Gy]@PHYS", DoseSpace.PHYSICAL, None),
        ("V100Gy[%]@BED10", DoseSpace.BED, 10.0),
    ],
)
def test_dose_space_suffix(text, space, ab):
    spec = parse_metric(text)
    assert spec.dose_space is space
    assert spec.alpha_beta_gy == ab
    assert spec.space_explicit


def test_command_line_dose_space_applies_only_without_suffix():
    plain = parse_metric("D90%[Gy]").with_dose_space(DoseSpace.BED, 3.0)
    assert plain.dose_space is DoseSpace.BED and plain.alpha_beta_gy == 3.0
    own = parse_metric("D90%[Gy]@EQD2(10)").with_dose_space(DoseSpace.BED, 3.0)
    assert own.dose_space is DoseSpace.EQD2 and own.alpha_beta_gy == 10.0
    phys = parse_metric("D90%[Gy]@PHYS").with_dose_space(DoseSpace.BED, 3.0)
    assert phys.dose_space is DoseSpace.PHYSICAL
    back = plain.with_dose_space(DoseSpace.PHYSICAL)
    assert back.dose_space is DoseSpace.PHYSICAL and back.alpha_beta_gy is None


def test_needs_prescription():
    assert parse_metric("V95%[%]").needs_prescription
    assert parse_metric("D95%[%]").needs_prescription  # output in % of Rx
    assert not parse_metric("D95%[Gy]").needs_prescription
    assert not parse_metric("V20Gy[%]").needs_prescription


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("D95", "output unit in brackets is missing"),
        ("", "empty"),
        ("D95%", "output unit in brackets is missing"),
        ("V20Gy[Gy]", "volume metric (V, CV) answers in [%] or [cc]"),
        ("D2cc[cc]", "dose metric (D, DC, Mean, Max, Min) answers in [Gy], [cGy] or [%]"),
        ("Mean[cc]", "dose metric"),
        ("D150%[Gy]", "volume percentage must be within 0..100, got 150"),
        ("D2Gy[Gy]", "not a recognised form"),
        ("D95[Gy]", "the number needs a unit: % or cc after D/DC"),
        ("V20[%]", "the number needs a unit"),
        ("V20cc[%]", "not a recognised form"),
        ("Median[Gy]", "not a recognised form"),
        ("D-5%[Gy]", "not a recognised form"),
        ("D2cc[Gy]@EQD23", "write the EQD2 alpha/beta in parentheses"),
        ("D2cc[Gy]@PHYS(3)", "alpha/beta only makes sense with @BED or @EQD2"),
        ("D2cc[Gy]@BED(0)", "alpha/beta must be positive"),
        ("D2cc[Gy]@BED(3", "not a recognised form"),
        ("D2cc[Gy]@LQ", "not a recognised form"),
        ("D95%[Gy]x", "not a recognised form"),
    ],
)
def test_unknown_forms_fail_with_reason_and_valid_forms(text, why):
    with pytest.raises(MetricSpecError, match=re.escape(why)) as info:
        parse_metric(text)
    message = str(info.value)
    assert why in message
    assert f"invalid DVH metric {text.strip()!r}" in message
    for form in VALID_FORMS:
        assert form in message
    assert isinstance(info.value, ConfigError)  # rtcheck dvh reports it as a usage error (2)


def test_infinite_alpha_beta_in_a_spec_is_refused_when_parsed():
    """@BED999...9 (400 digits) is an infinite alpha/beta: refused here, not NOT EVALUATED."""
    with pytest.raises(MetricSpecError, match="alpha/beta must be positive and finite"):
        parse_metric("Mean[Gy]@BED" + "9" * 400)


def test_parse_metrics_fails_on_first_bad_one():
    assert [s.raw for s in parse_metrics(["D95%[Gy]", "Max[Gy]"])] == ["D95%[Gy]", "Max[Gy]"]
    with pytest.raises(MetricSpecError, match="'Bad'"):
        parse_metrics(["D95%[Gy]", "Bad"])


@given(st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 3)))
def test_any_volume_percentage_round_trips(value):
    spec = parse_metric(f"D{value:g}%[Gy]")
    assert spec.query_value == pytest.approx(value)


@given(st.decimals(min_value=0, max_value=10000, places=3, allow_nan=False))
def test_any_dose_threshold_round_trips(value):
    spec = parse_metric(f"V{value}Gy[cc]")
    assert spec.query_value == pytest.approx(float(value))
