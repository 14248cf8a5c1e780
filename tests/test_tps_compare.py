"""TPS-embedded DVHs: reading the curve, and comparing with rtcheck's own DVH."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rtcheck.dicom.model import EmbeddedDVH
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.settings import Geometry
from rtcheck.dose.tps_compare import compare_embedded, compare_one, tps_curve
from tests.conftest import REFDATA

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


def _differing() -> tuple[EmbeddedDVH, CumulativeDVH]:
    """A TPS DVH (10 cc) and an rtcheck curve 2 cc larger and 0.5 Gy hotter."""
    e = EmbeddedDVH(5, np.array([0.0, 1.0, 2.0, 3.0]), np.array([10.0, 10.0, 5.0, 0.0]))
    return e, CumulativeDVH(np.array([0.0, 6.0, 12.0]), np.array([3.5, 2.5, 1.5]), 12.0, 2.5)


def test_comparison_names_the_stacked_model_by_default():
    e, other = _differing()
    cmp = compare_one(e, "PTV", other)
    assert cmp.geometry == "stacked" and cmp.to_dict()["geometry"] == "stacked"
    (diff,) = [f for f in cmp.findings if f.code == "TPS_DVH_DIFFERENCE"]
    assert diff.message == (
        "rtcheck (stacked geometry) and the TPS DVH differ beyond review thresholds (volume "
        "+2 cc; mean +0.5 Gy; d95 +0.5 Gy; d2 +0.5 Gy); check the structure sampling and dose "
        "grid")
    assert compare_one(e, "PTV", other, geometry=Geometry.STACKED) == cmp


def test_smooth_comparison_says_the_model_may_explain_the_difference():
    e, other = _differing()
    cmp = compare_one(e, "PTV", other, geometry="smooth")
    assert cmp.geometry == "smooth"
    d = cmp.to_dict()
    assert d["geometry"] == "smooth" and d["delta"]["volume_cc"] == 2.0
    (diff,) = [f for f in cmp.findings if f.code == "TPS_DVH_DIFFERENCE"]
    assert diff.message == (
        "rtcheck (smooth geometry) and the TPS DVH differ beyond review thresholds (volume "
        "+2 cc; mean +0.5 Gy; d95 +0.5 Gy; d2 +0.5 Gy); planning systems use the stacked "
        "(staircase) geometry: where the smooth model departs from it, part of the difference "
        "may come from the model; compare with --geometry stacked")
    assert diff.subject == "PTV"
    # no difference, no finding: the model is still named in the row
    same = compare_one(e, "PTV", tps_curve(e), geometry=Geometry.SMOOTH)
    assert same.findings == () and same.to_dict()["geometry"] == "smooth"
    (row,) = compare_embedded([e], {5: ("PTV", other)}, None, "smooth")
    assert row.geometry == "smooth"
    with pytest.raises(ValueError, match="'round' is not a valid Geometry"):
        compare_one(e, "PTV", other, geometry="round")


@pytest.mark.parametrize("geometry", ["stacked", "smooth"])
def test_dvh_report_compares_with_the_model_it_computed(geometry: str):
    """``rtcheck dvh`` passes its model to the comparison: JSON row, finding and text."""
    from rtcheck.dose.settings import DvhSettings
    from rtcheck.report.dvh_report import build_dvh_report, render_json, render_text
    from tests.box_cases import box, load_of, uniform_grid

    tps = EmbeddedDVH(1, np.array([0.0, 10.0, 10.01]), np.array([2.0, 2.0, 0.0]))  # 2 cc
    report = build_dvh_report(load_of(("mem", uniform_grid((tps,)), (box(1, "Box"),))),
                              settings=DvhSettings(geometry=Geometry(geometry)))
    (row,) = report.structures
    assert row.tps is not None and row.tps.geometry == geometry
    (diff,) = [f for f in row.tps.findings if f.code == "TPS_DVH_DIFFERENCE"]  # ~1 cc vs 2
    assert diff.message.startswith(f"rtcheck ({geometry} geometry) and the TPS DVH differ")
    assert ("compare with --geometry stacked" in diff.message) is (geometry == "smooth")
    doc = json.loads(render_json(report))
    assert doc["settings"]["geometry"] == geometry
    assert doc["structures"][0]["tps_comparison"]["geometry"] == geometry
    text = render_text(report)
    assert f"TPS DVH comparison (delta = rtcheck - TPS; rtcheck geometry {geometry})" in text
    assert text.startswith(f"DVH geometry: {geometry} (")


@pytest.fixture(scope="module")
def breast():
    if not (BREAST / "rtdose.dcm").is_file():
        pytest.skip(f"shared reference data not found at {BREAST} (read-only sample set absent)")
    from rtcheck.dicom.loader import load

    result = load([str(BREAST)])
    assert len(result.cases) == 1
    return result.cases[0]


def dvh_data_reference(roi_number: int) -> dict[str, float]:
    """Volume, mean, D100 % and Dmax of the embedded DVH of ``roi_number``, computed here from
    the raw DVHData (pydicom + numpy, none of rtcheck's code): volume = first cumulative bin;
    mean = bin-centre mean of the differential histogram ``V_i - V_(i+1)`` (dicompyler-core's
    definition, equal to the integral of the piecewise-linear curve for uniform bins);
    D100 % = the highest lower bin edge still reaching the whole volume; Dmax = the first edge
    with no volume left; D90 % and D2cc by linear interpolation between the points
    ``(lower edge_i, V_i)`` (``np.interp``)."""
    import pydicom

    ds = pydicom.dcmread(BREAST / "rtdose.dcm", stop_before_pixels=True)
    (item,) = [d for d in ds.DVHSequence
               if int(d.DVHReferencedROISequence[0].ReferencedROINumber) == roi_number]
    assert item.DVHType == "CUMULATIVE" and item.DoseUnits == "GY"
    assert item.DVHVolumeUnits == "CM3"
    pairs = np.asarray(item.DVHData, dtype=np.float64).reshape(-1, 2)
    widths, volumes = pairs[:, 0] * float(item.DVHDoseScaling), pairs[:, 1]
    edges = np.concatenate(([0.0], np.cumsum(widths)))  # bin i: [edges[i], edges[i + 1])
    counts = volumes - np.append(volumes[1:], 0.0)  # differential histogram
    centres = (edges[:-1] + edges[1:]) / 2
    total = float(volumes[0])
    lower = edges[:-1]
    return {"volume_cc": total, "mean_gy": float(np.sum(counts * centres) / counts.sum()),
            "min_gy": float(lower[volumes >= total * (1 - 1e-9)].max()),
            "max_gy": float(lower[volumes <= 1e-9 * total].min()),
            "d90_gy": float(np.interp(0.9 * total, volumes[::-1], lower[::-1])),
            "d2cc_gy": float(np.interp(2.0, volumes[::-1], lower[::-1]))}


def test_breast_tumor_bed_tps_curve(breast):
    """The TPS curves of ROI 9 (Tumor Bed) and 5 (Heart) against the raw DVHData
    (:func:`dvh_data_reference`). dicompyler-core 0.5.6 (``DVH.from_dicom_dvh``) gives for the
    Tumor Bed volume 12.8092 cc, mean 14.28583 Gy, D90% 14.17 Gy, D2cc 14.39 Gy, min 14.07 Gy,
    max 14.58 Gy (nearest 0.01 Gy bin, its own convention) and for the Heart 437.4623 cc,
    mean 0.64273 Gy."""
    by_roi = {e.roi_number: e for e in breast.dose.embedded_dvhs}
    assert sorted(by_roi) == [1, 3, 4, 5, 6, 7, 8, 9, 10]
    c = tps_curve(by_roi[9])
    assert c is not None
    ref = dvh_data_reference(9)
    assert ref["volume_cc"] == pytest.approx(12.8092, abs=1e-4)  # dicompyler-core
    assert ref["mean_gy"] == pytest.approx(14.28583, abs=1e-5)  # dicompyler-core
    assert c.total_volume_cc == pytest.approx(ref["volume_cc"], rel=1e-12)
    assert c.mean_gy == pytest.approx(ref["mean_gy"], rel=1e-12)  # same integral
    assert c.min_gy == pytest.approx(ref["min_gy"], abs=1e-9)  # 14.06: last full-volume edge
    assert c.max_gy == pytest.approx(ref["max_gy"], abs=1e-9)  # 14.57: first empty edge
    # piecewise linear between bin edges: 14.1656 and 14.3893 (dicompyler-core, nearest
    # bin: 14.17 and 14.39)
    assert ref["d90_gy"] == pytest.approx(14.17, abs=0.01)
    assert ref["d2cc_gy"] == pytest.approx(14.39, abs=0.01)
    assert c.dose_at_percent_gy(90.0) == pytest.approx(ref["d90_gy"], abs=1e-9)
    assert c.dose_at_volume_gy(2.0) == pytest.approx(ref["d2cc_gy"], abs=1e-9)
    heart = tps_curve(by_roi[5])
    assert heart is not None
    ref = dvh_data_reference(5)
    assert ref["volume_cc"] == pytest.approx(437.4623, abs=1e-4)  # dicompyler-core
    assert ref["mean_gy"] == pytest.approx(0.64273, abs=1e-5)  # dicompyler-core; 4.5909 % of 14
    assert heart.total_volume_cc == pytest.approx(ref["volume_cc"], rel=1e-12)
    assert heart.mean_gy == pytest.approx(ref["mean_gy"], rel=1e-12)
    assert heart.max_gy == pytest.approx(ref["max_gy"], abs=1e-9)  # 3.10 (dicompyler: 3.11)


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


def test_tps_comparison_does_not_use_an_incomplete_dvh():
    """A TPS DVH was compared with rtcheck's in-grid part of a structure partly outside
    the grid: the 'rtcheck' column and the delta were numbers of half a structure."""
    from rtcheck.report.dvh_report import build_dvh_report
    from tests.box_cases import box, load_of, uniform_grid

    tps = EmbeddedDVH(2, np.array([0.0, 10.0, 10.01]), np.array([1.0, 1.0, 0.0]))
    report = build_dvh_report(load_of(("mem", uniform_grid((tps,)), (box(2, "HalfOut", 10.0),))))
    (row,) = report.structures
    assert row.tps is not None
    assert all(v is None for v in row.tps.rtcheck.values())
    assert all(v is None for v in row.tps.delta.values())
    (why,) = [f for f in row.tps.findings if f.code == "TPS_DVH_NOT_COMPARED"]
    assert why.subject == "HalfOut" and why.message == "rtcheck has no DVH for this structure"
    assert "STRUCTURE_OUTSIDE_DOSE_GRID" in [f.code for f in row.findings]
