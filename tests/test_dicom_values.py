"""Fast DS-array reading gives exactly pydicom's values, raw or already converted."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset

from rtcheck.dicom.values import ds_array
from tests.conftest import pydicom_test_file


def test_raw_and_converted_contour_data_agree() -> None:
    import pydicom

    ds = pydicom.dcmread(pydicom_test_file("rtstruct.dcm"), force=True)
    contour = ds.ROIContourSequence[0].ContourSequence[0]
    fast = ds_array(contour, "ContourData")  # raw bytes, not yet converted
    slow = np.array([float(v) for v in contour.ContourData])  # forces pydicom's conversion
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(ds_array(contour, "ContourData"), slow)  # converted path
    assert fast.size % 3 == 0 and fast.size > 0


def test_single_absent_and_bad_values() -> None:
    ds = Dataset()
    assert ds_array(ds, "ContourData").size == 0
    ds.ContourData = ["1.5", "-2", "3e1"]
    np.testing.assert_array_equal(ds_array(ds, "ContourData"), [1.5, -2.0, 30.0])
    ds.DVHDoseScaling = "2.5"
    np.testing.assert_array_equal(ds_array(ds, "DVHDoseScaling"), [2.5])
    bad = Dataset()
    bad.add_new(0x30060050, "DS", None)
    assert ds_array(bad, "ContourData").size == 0


def test_non_numeric_raw_value_raises() -> None:
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    ds = Dataset()
    tag = Tag(0x30060050)
    ds._dict[tag] = RawDataElement(tag, "DS", 6, b"1\\x\\2 ", 0, True, True)
    with pytest.raises(ValueError, match="could not convert string to float: 'x'"):
        ds_array(ds, "ContourData")
    ds._dict[tag] = RawDataElement(tag, "DS", 8, b"1\\-2.5 ", 0, True, True)
    np.testing.assert_array_equal(ds_array(ds, "ContourData"), [1.0, -2.5])


def test_embedded_dvh_with_zero_dose_scaling_is_skipped() -> None:
    from rtcheck.dicom.read_embedded_dvh import read_embedded_dvhs

    def dataset(scaling: str | None) -> Dataset:
        item = Dataset()
        ref = Dataset()
        ref.ReferencedROINumber = 3
        item.DVHReferencedROISequence = [ref]
        item.DoseUnits, item.DVHVolumeUnits, item.DVHType = "GY", "CM3", "CUMULATIVE"
        item.DVHData = ["0.5", "2.0", "0.5", "1.0"]
        if scaling is not None:
            item.DVHDoseScaling = scaling
        ds = Dataset()
        ds.DVHSequence = [item]
        return ds

    dvhs, findings = read_embedded_dvhs(dataset("0"), "rd.dcm")
    assert dvhs == () and [f.code for f in findings] == ["EMBEDDED_DVH_SKIPPED"]
    assert "DVHDoseScaling is 0" in findings[0].message
    (absent,), _ = read_embedded_dvhs(dataset(None), "rd.dcm")
    np.testing.assert_array_equal(absent.dose_edges_gy, [0.0, 0.5])
    (scaled,), _ = read_embedded_dvhs(dataset("2"), "rd.dcm")
    np.testing.assert_array_equal(scaled.dose_edges_gy, [0.0, 1.0])
    np.testing.assert_array_equal(scaled.volume_cc, [2.0, 1.0])
