"""TPS-embedded DVHs: reading the curve, and comparing with rtcheck's own DVH."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rtcheck.dicom.model import EmbeddedDVH
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.tps_compare import compare_embedded, compare_one, tps_curve

REFDATA = Path(__file__).parents[1] / ".." / "shared" / "refdata"
BREAST = REFDATA / "eclipse-breast-boost"


def _abs(value: float | None) -> float:
    assert value is not None
    return abs(value)


def test_curve_from_bins_is_piecewise_linear():
    # cumulative: 10 cc >= 0 and >= 1 Gy, 5 cc >= 2 Gy, none >= 3 Gy
    e = EmbeddedDVH(1, np.array([0.0, 1.0, 2.0, 3.0]), np.array([10.0, 10.0, 5.0, 0.0]))
    c = tps_curve(e)
    assert c is not None
    assert c.total_volume_cc == 10.0
    assert c.min_gy == 1.0  # D100%: highest edge still reaching the full volume
    assert c.max_gy == 3.0
    # mean = (1/V) integral V(d) dd = (10 + 7.5 + 2.5) / 10 = bin-centre mean (5 x 1.5 + 5 x 2.5)/10
    assert c.mean_gy == pytest.approx(2.0)
    assert c.dose_at_percent_gy(50.0) == pytest.approx(2.0)
    assert c.dose_at_percent_gy(95.0) == pytest.approx(1.1)
    assert c.volume_at_dose_cc(2.5) == pytest.approx(2.5)


def test_last_bin_with_volume_and_negative_noise():
    e = EmbeddedDVH(2, np.array([0.0, 0.5, 1.0]), np.array([4.0, 2.0, 2.0 + 1e-9]))
    c = tps_curve(e)
    assert c is not None
    assert c.max_gy == pytest.approx(1.5)  # one bin width beyond the last edge
    assert c.volume_at_dose_cc(1.0) == pytest.approx(2.0)
    neg = EmbeddedDVH(3, np.array([0.0, 1.0, 2.0]), np.array([4.0, 2.0, -1e-13]))
    c2 = tps_curve(neg)
    assert c2 is not None and c2.max_gy == 2.0 and c2.min_gy == 0.0


def test_empty_tps_dvh():
    e = EmbeddedDVH(4, np.array([0.0, 1.0]), np.array([0.0, 0.0]))
    assert tps_curve(e) is None
    cmp = compare_one(e, "Empty", None)
    assert {f.code for f in cmp.findings} == {"TPS_DVH_EMPTY", "TPS_DVH_NOT_COMPARED"}
    assert all(v is None for v in cmp.delta.values())


def test_differences_and_findings():
    e = EmbeddedDVH(5, np.array([0.0, 1.0, 2.0, 3.0]), np.array([10.0, 10.0, 5.0, 0.0]),
                    declared_min_gy=50.0, declared_mean_gy=100.0, declared_max_gy=150.0)
    same = tps_curve(e)
    cmp = compare_one(e, "PTV", same, prescription_gy=2.0)
    assert all(v == pytest.approx(0.0) for v in cmp.delta.values())
    codes = [f.code for f in cmp.findings]
    assert codes == ["TPS_DVH_DECLARED_INCONSISTENT"]
    assert "as % of the 2 Gy prescription" in cmp.findings[0].message
    # rtcheck's curve: 12 cc, 0.5 Gy hotter everywhere
    other = CumulativeDVH(np.array([0.0, 6.0, 12.0]), np.array([3.5, 2.5, 1.5]), 12.0, 2.5)
    cmp = compare_one(e, "PTV", other)
    assert cmp.delta["volume_cc"] == pytest.approx(2.0)
    assert cmp.delta["mean_gy"] == pytest.approx(0.5)
    assert cmp.delta["d95_gy"] == pytest.approx(0.5)
    assert cmp.delta["d2_gy"] == pytest.approx(0.5)
    diff = [f for f in cmp.findings if f.code == "TPS_DVH_DIFFERENCE"]
    assert len(diff) == 1 and "volume +2 cc" in diff[0].message
    d = cmp.to_dict()
    assert d["delta"]["volume_cc"] == 2.0 and d["tps"]["volume_cc"] == 10.0
    # only ROIs rtcheck computed are compared
    assert compare_embedded([e], {}) == ()
    assert len(compare_embedded([e], {5: ("PTV", same)})) == 1


@pytest.fixture(scope="module")
def breast():
    if not (BREAST / "rtdose.dcm").is_file():
        pytest.skip(f"shared reference data not found at {BREAST} (read-only sample set absent)")
    from rtcheck.dicom.loader import load

    result = load([str(BREAST)])
    assert len(result.cases) == 1
    return result.cases[0]


def test_breast_tumor_bed_tps_curve(breast):
    """dicompyler-core asserts on ROI 9 (Tumor Bed): volume 12.8092 cc, mean 14.28583 Gy,
    D90% 14.17 Gy, D2cc 14.39 Gy, D100% 14.06 Gy, max 14.58 Gy (nearest 0.01 Gy bin)."""
    by_roi = {e.roi_number: e for e in breast.dose.embedded_dvhs}
    assert sorted(by_roi) == [1, 3, 4, 5, 6, 7, 8, 9, 10]
    c = tps_curve(by_roi[9])
    assert c is not None
    assert c.total_volume_cc == pytest.approx(12.809180549338803, abs=1e-9)
    assert c.mean_gy == pytest.approx(14.285830178442307, abs=1e-9)  # same integral
    assert c.dose_at_percent_gy(90.0) == pytest.approx(14.17, abs=0.01)  # interpolated: 14.1656
    assert c.dose_at_volume_gy(2.0) == pytest.approx(14.39, abs=0.005)
    assert c.min_gy == pytest.approx(14.06, abs=1e-9)
    assert c.max_gy == pytest.approx(14.57, abs=0.011)
    heart = tps_curve(by_roi[5])
    assert heart is not None
    assert heart.total_volume_cc == pytest.approx(437.4623175026471, abs=1e-6)
    assert heart.mean_gy == pytest.approx(0.6427, abs=1e-4)  # 4.5909 % of 14 Gy
    assert heart.max_gy == pytest.approx(3.10, abs=0.011)


def test_breast_comparison_with_rtcheck(breast):
    from rtcheck.dose.engine import compute_dvhs

    dvhs = compute_dvhs(breast.structure_set, breast.dose)
    mapping = {s.roi_number: (s.name, s.dvh) for s in dvhs}
    cmps = {c.roi_number: c for c in compare_embedded(breast.dose.embedded_dvhs, mapping, 14.0)}
    assert sorted(cmps) == [1, 3, 4, 5, 6, 7, 8, 9, 10]
    tb = cmps[9]
    assert tb.name == "Tumor Bed"
    assert tb.tps["volume_cc"] == pytest.approx(12.8092, abs=1e-4)
    # rtcheck integrates the contour stack: a few % more volume, the same dose within 0.05 Gy
    assert _abs(tb.delta["volume_cc"]) < 0.05 * 12.81
    assert _abs(tb.delta["mean_gy"]) < 0.05
    assert _abs(tb.delta["d95_gy"]) < 0.05
    assert _abs(tb.delta["d2_gy"]) < 0.05
    # the Eclipse quirk: declared min/mean/max are % of the 14 Gy prescription
    quirk = [f for f in tb.findings if f.code == "TPS_DVH_DECLARED_INCONSISTENT"]
    assert quirk and "as % of the 14 Gy prescription" in quirk[0].message
    heart = cmps[5]
    assert _abs(heart.delta["mean_gy"]) < 0.02
    assert _abs(heart.delta["volume_cc"]) < 5.0
