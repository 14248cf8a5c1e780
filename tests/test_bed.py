"""BED/EQD2: closed-form values, protocol numbers, voxel-wise DVH transform, properties."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from rtcheck.cli import cli
from rtcheck.dicom.model import Prescription
from rtcheck.dose.bed import (
    DEFAULT_ALPHA_BETA_GY,
    AlphaBetaTable,
    bed_gy,
    convert_dose,
    dvh_in_space,
    eqd2_gy,
    prescription_bed_gy,
    prescription_eqd2_gy,
)
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.metric_spec import DoseSpace
from tests.conftest import FIXTURES

SPINE = FIXTURES / "spine_sbrt"


@pytest.mark.parametrize(
    ("total", "n", "expected"),
    [(30.0, 3, 130.0), (56.0, 16, 121.333), (70.0, 35, 116.667), (46.0, 23, 76.667)],
)
def test_prescription_bed_matches_protocol_notes(total, n, expected):
    # MEDCARE protocol notes: 30/3 -> 130 Gy, 56/16 -> 121.3 Gy, 70/35 -> 116.7 Gy (alpha/beta 3)
    assert prescription_bed_gy(Prescription(total, n)) == pytest.approx(expected, abs=1e-3)
    assert prescription_bed_gy(Prescription(total, n), 3.0) >= 100.0 or total == 46.0


def test_closed_form_values():
    # 30 Gy/3 fx: d = 10 Gy. BED3 = 30 (1 + 10/3) = 130; EQD2_3 = 130 / (5/3) = 78
    assert bed_gy(30.0, 3, 3.0) == pytest.approx(130.0)
    assert eqd2_gy(30.0, 3, 3.0) == pytest.approx(78.0)
    assert prescription_eqd2_gy(Prescription(30.0, 3)) == pytest.approx(78.0)
    # 20 Gy single fraction, alpha/beta 10: BED = 20 (1 + 2) = 60; EQD2 = 60 / 1.2 = 50
    assert bed_gy(20.0, 1, 10.0) == pytest.approx(60.0)
    assert eqd2_gy(20.0, 1, 10.0) == pytest.approx(50.0)
    # 6 Gy x 5, alpha/beta 3: BED = 30 (1 + 2) = 90
    assert bed_gy(30.0, 5, 3.0) == pytest.approx(90.0)
    assert DEFAULT_ALPHA_BETA_GY == 3.0
    assert isinstance(bed_gy(1.0, 1, 3.0), float)


def test_vectorised_per_voxel():
    d = np.array([0.0, 3.0, 30.0, 36.0])
    assert np.allclose(bed_gy(d, 3, 3.0), d * (1 + d / 9.0))
    assert np.allclose(convert_dose(d, DoseSpace.PHYSICAL, None, None), d)
    assert np.allclose(convert_dose(d, DoseSpace.EQD2, 3, 3.0), eqd2_gy(d, 3, 3.0))


FRACTIONS_ERROR = "number of fractions must be a positive integer"
ALPHA_BETA_ERROR = "alpha/beta must be a positive number of Gy"


@pytest.mark.parametrize(
    ("n", "ab", "message"),
    [(0, 3.0, FRACTIONS_ERROR), (2.5, 3.0, FRACTIONS_ERROR), (3, 0.0, ALPHA_BETA_ERROR),
     (3, -1.0, ALPHA_BETA_ERROR), (3, float("nan"), ALPHA_BETA_ERROR)],
)
def test_invalid_fractionation_is_rejected(n, ab, message):
    with pytest.raises(ValueError, match=message):
        bed_gy(30.0, n, ab)


def test_convert_needs_fractions():
    with pytest.raises(ValueError, match="number of fractions"):
        convert_dose(30.0, DoseSpace.BED, None, 3.0)


def test_voxelwise_dvh_is_not_a_relabelled_axis():
    # two equal voxels at 10 and 20 Gy in 2 fx, alpha/beta 3: BED 26.67 and 86.67
    dose = np.array([10.0, 20.0])
    w = np.array([1.0, 1.0])
    bed = dvh_in_space(dose, w, DoseSpace.BED, 2, 3.0)
    assert bed.max_gy == pytest.approx(20 * (1 + 10 / 3))
    assert bed.min_gy == pytest.approx(10 * (1 + 5 / 3))
    # mean of BED differs from BED of the mean dose (BED is convex in D)
    assert bed.mean_gy == pytest.approx((26.6667 + 86.6667) / 2, abs=1e-3)
    assert bed.mean_gy > bed_gy(15.0, 2, 3.0)


@given(
    st.lists(st.floats(0.0, 80.0), min_size=1, max_size=30),
    st.integers(1, 40),
    st.floats(0.5, 20.0),
    st.floats(0.0, 100.0),
)
def test_dose_at_volume_commutes_with_bed(doses, n, ab, pct):
    """BED is monotonic, so D_x% of the voxel-wise BED DVH is BED(D_x%)."""
    d = np.array(doses)
    w = np.ones_like(d)
    phys = CumulativeDVH.from_samples(d, w)
    bed = dvh_in_space(d, w, DoseSpace.BED, n, ab)
    # exact at sample points / end points; interpolation between points differs (convexity)
    assert bed.max_gy == pytest.approx(bed_gy(phys.max_gy, n, ab))
    assert bed.min_gy == pytest.approx(bed_gy(phys.min_gy, n, ab))
    assert bed.dose_at_percent_gy(pct) >= phys.dose_at_percent_gy(pct) - 1e-9


@given(st.floats(0.0, 200.0), st.integers(1, 50), st.floats(0.1, 30.0))
def test_bed_at_least_physical_dose(total, n, ab):
    assert bed_gy(total, n, ab) >= total
    # EQD2 >= D exactly when the dose per fraction is at least 2 Gy
    eq = eqd2_gy(total, n, ab)
    if total / n >= 2.0:
        assert eq >= total * (1 - 1e-12)
    else:
        assert eq <= total * (1 + 1e-12)


@given(st.integers(1, 60), st.floats(0.1, 30.0))
def test_eqd2_of_2gy_fractions_is_the_physical_dose(n, ab):
    assert eqd2_gy(2.0 * n, n, ab) == pytest.approx(2.0 * n, rel=1e-12)


@given(st.floats(0.0, 100.0), st.integers(1, 40), st.floats(0.5, 20.0))
def test_bed_eqd2_relation(total, n, ab):
    assert eqd2_gy(total, n, ab) * (1 + 2 / ab) == pytest.approx(bed_gy(total, n, ab))


def test_alpha_beta_table():
    table = AlphaBetaTable(default_gy=3.0, by_structure={"PTV": 10.0, "Spinal Cord": 2.0})
    assert table.for_structure("ptv") == 10.0
    assert table.for_structure("SPINAL CORD") == 2.0
    assert table.for_structure("Rectum") == 3.0
    parsed = AlphaBetaTable.parse(3.0, ["PTV=10", "Cord=2"])
    assert parsed.for_structure("PTV") == 10.0 and parsed.for_structure("cord") == 2.0
    assert parsed.to_dict() == {"default_gy": 3.0, "by_structure": {"ptv": 10.0, "cord": 2.0}}
    # names may contain '='; the last one separates the value
    assert AlphaBetaTable.parse(3.0, ["a=b=4"]).for_structure("a=b") == 4.0
    for bad in (["PTV"], ["PTV=x"], ["PTV=-1"], ["=3"]):
        with pytest.raises(ValueError, match="NAME=ALPHA_BETA_GY"):
            AlphaBetaTable.parse(3.0, bad)
    with pytest.raises(ValueError, match=ALPHA_BETA_ERROR):
        AlphaBetaTable(default_gy=0.0)


# ------------------------------------------------------------ alpha/beta that breaks BED
def dvh(*args: str):
    return CliRunner().invoke(cli, ["dvh", *args])


def test_alpha_beta_table_refuses_infinite_values() -> None:
    with pytest.raises(ValueError, match=ALPHA_BETA_ERROR + ", got inf"):
        AlphaBetaTable(3.0, {"PTV": float("inf")})


def test_tiny_alpha_beta_makes_bed_not_evaluated_not_an_internal_error() -> None:
    """``--alpha-beta 1e-320`` made BED overflow to inf and the command exit 4 (internal
    error). It is a positive, finite value, so not a usage error: the BED metric is NOT
    EVALUATED with the reason, and the command exits 1 naming it (README, "Exit codes")."""
    res = dvh(str(SPINE), "--structure", "PTV", "--metric", "Mean[Gy]", "--dose-space", "bed",
              "--alpha-beta", "1e-320", "--no-indices", "--format", "json")
    assert res.exit_code == 1, res.output
    assert res.stderr.startswith("rtcheck: not all requested numbers were computed "
                                 "(NOT EVALUATED): PTV: Mean[Gy]"), res.stderr
    assert "internal error" not in res.output
    (detail,) = json.loads(res.stdout)["structures"][0]["metric_details"]
    assert detail["value"] is None and detail["status"] == "NOT_EVALUATED"
    assert detail["dose_space"] == "BED"
    assert "is not a finite number (alpha/beta far too small?)" in detail["message"]


# ------------------------------------------------------------ --alpha-beta-for names
def test_alpha_beta_for_a_structure_that_does_not_exist_is_a_usage_error() -> None:
    """``--alpha-beta-for PVT=10`` (typo) was ignored: PTV BED silently used alpha/beta 3."""
    res = dvh(str(SPINE), "--structure", "PTV", "--metric", "Mean[Gy]@BED",
              "--alpha-beta-for", "PVT=10", "--no-indices", "--format", "csv")
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert res.stderr == ("rtcheck: error: --alpha-beta-for: no structure named 'PVT'; "
                          "available: Body, Esophagus, GTV, PTV, SpinalCord\n")


def test_alpha_beta_for_matches_case_insensitively() -> None:
    """``ptv=10`` applies to PTV: the same BED as alpha/beta 10 for every structure."""
    def mean_bed(*options: str) -> float:
        res = dvh(str(SPINE), "--structure", "PTV", "--metric", "Mean[Gy]@BED", *options,
                  "--no-indices", "--format", "csv")
        assert res.exit_code == 0, res.output
        assert res.stderr == ""
        (row,) = csv.DictReader(io.StringIO(res.stdout))
        return float(row["Mean[Gy]@BED"])

    by_name = mean_bed("--alpha-beta-for", "ptv=10")
    assert by_name == mean_bed("--alpha-beta", "10")
    assert by_name < mean_bed()  # alpha/beta 3 gives the larger BED
