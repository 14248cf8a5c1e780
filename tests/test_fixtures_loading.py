"""The loader links every shipped synthetic case (fixtures/) as designed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import pairwise

import numpy as np
import pytest

from rtcheck.dicom import DoseSummationType, load, read_treatment_records
from tests.conftest import FIXTURES

CASES = [
    "spine_sbrt",
    "pelvic_node_sbrt",
    "spine_cord_overdose",
    "spine_ptv_undercoverage",
    "spine_consecutive_days",
    "spine_grid_misses_oar",
    "spine_beam_doses",
]
CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize("name", CASES)
def test_every_fixture_links_into_one_complete_case(name: str) -> None:
    result = load([FIXTURES / name])
    assert len(result.cases) == 1
    case = result.cases[0]
    assert case.plan is not None and case.dose is not None and case.structure_set is not None
    assert case.plan.prescription is not None
    assert case.plan.prescription.total_dose_gy == 30.0
    assert case.plan.prescription.fractions == 3
    assert case.plan.referenced_structure_set_uid == case.structure_set.sop_instance_uid
    assert case.dose.frame_of_reference_uid == case.structure_set.frame_of_reference_uid
    assert case.dose.max_dose_gy == pytest.approx(37.5, abs=0.01)
    assert len(case.records) == 3
    assert [r.fraction_number for r in case.records] == [1, 2, 3]
    assert all(r.referenced_plan_uid == case.plan.sop_instance_uid for r in case.records)
    assert not [f for f in case.findings if f.severity.value == "ERROR"]
    assert not result.findings


def test_spine_structures_and_beams() -> None:
    case = load([FIXTURES / "spine_sbrt"]).cases[0]
    assert case.structure_set is not None and case.plan is not None
    names = {s.name: s.interpreted_type for s in case.structure_set.structures}
    assert names == {
        "GTV": "GTV",
        "PTV": "PTV",
        "SpinalCord": "ORGAN",
        "Esophagus": "ORGAN",
        "Body": "EXTERNAL",
    }
    assert [b.beam_type for b in case.plan.beams] == ["DYNAMIC", "DYNAMIC"]
    assert all(b.meterset_mu and b.meterset_mu > 0 for b in case.plan.beams)
    assert case.dose is not None and case.dose.spacing_mm == pytest.approx((2.5, 2.5, 2.5))


def test_spine_records_carry_aware_delivery_times_two_days_apart() -> None:
    records = read_treatment_records([FIXTURES / "spine_sbrt"])
    times = [r.delivery_datetime for r in records]
    assert times == [
        datetime(2026, 1, 12, 8, 30, tzinfo=CET),
        datetime(2026, 1, 14, 8, 42, tzinfo=CET),
        datetime(2026, 1, 16, 8, 51, tzinfo=CET),
    ]
    assert all(len(r.beams) == 2 for r in records)
    assert records[0].patient_id  # used by `rtcheck endpoints --records`


def test_consecutive_day_variant_is_delivered_daily() -> None:
    records = read_treatment_records([FIXTURES / "spine_consecutive_days"])
    gaps_h = [
        (b.delivery_datetime - a.delivery_datetime).total_seconds() / 3600  # type: ignore[operator]
        for a, b in pairwise(records)
    ]
    assert gaps_h == pytest.approx([24 + 5 / 60, 24 + 5 / 60])


def test_beam_dose_variant_sums_to_the_plan_dose() -> None:
    summed = load([FIXTURES / "spine_beam_doses"]).cases[0].dose
    plan = load([FIXTURES / "spine_sbrt"]).cases[0].dose
    assert summed is not None and plan is not None
    assert summed.summation_type is DoseSummationType.PLAN
    assert summed.referenced_beam_numbers == (1, 2)
    assert len(summed.source_paths) == 2
    assert np.max(np.abs(summed.dose_gy - plan.dose_gy)) < 1e-3


def test_grid_missing_variant_has_a_shorter_grid() -> None:
    dose = load([FIXTURES / "spine_grid_misses_oar"]).cases[0].dose
    assert dose is not None
    assert dose.z_mm[0] == pytest.approx(-17.5) and dose.z_mm[-1] == pytest.approx(17.5)


def test_whole_fixture_folder_gives_one_case_per_plan() -> None:
    result = load([FIXTURES])
    assert len(result.cases) == len(CASES)
    assert not result.findings
