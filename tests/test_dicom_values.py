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
    with pytest.raises(ValueError):
        ds_array(ds, "ContourData")
    ds._dict[tag] = RawDataElement(tag, "DS", 8, b"1\\-2.5 ", 0, True, True)
    np.testing.assert_array_equal(ds_array(ds, "ContourData"), [1.0, -2.5])
