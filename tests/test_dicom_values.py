"""Fast DS-array reading gives exactly pydicom's values, raw or already converted."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset

from rtcheck.dicom.values import ds_array
from tests.conftest import pydicom_test_file, refdata_case


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


@pytest.mark.parametrize(
    ("text", "bad"),
    [("1\\2abc\\3", "2abc"), ("1,5\\2", "1,5"), ("1 2\\3", "1 2"), ("1\\\\3", "")],
)
def test_fast_ds_parser_never_accepts_part_of_a_value(text: str, bad: str) -> None:
    """numpy's text parser stops early or splits on blanks; the count check catches both."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    ds = Dataset()
    tag = Tag(0x30060050)
    raw = text.encode() + b" " * (len(text) % 2)
    ds._dict[tag] = RawDataElement(tag, "DS", len(raw), raw, 0, True, True)
    with pytest.raises(ValueError, match=f"could not convert string to float: '{bad}'"):
        ds_array(ds, "ContourData")


def test_fast_ds_parser_equals_float_on_every_contour_of_a_real_export() -> None:
    """Every ContourData number of the shared Eclipse export, bit for bit as ``float``."""
    import pydicom

    ds = pydicom.dcmread(refdata_case("eclipse-breast-boost") / "rtss.dcm")
    n = 0
    for roi in ds.ROIContourSequence:
        for contour in roi.get("ContourSequence") or []:
            text = contour.get_item("ContourData").value.decode().strip(" \x00")
            expected = np.array([float(v) for v in text.split("\\")])
            np.testing.assert_array_equal(ds_array(contour, "ContourData"), expected)
            n += 1
    assert n == 441


def test_sequences_rtcheck_never_reads_are_not_decoded_the_others_are() -> None:
    """A corrupt element inside a sequence rtcheck reads is refused by name; inside
    ContourImageSequence (never read, left raw for speed) it cannot change a number."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    from rtcheck.dicom.scan import _decode_all
    from rtcheck.errors import DicomInputError

    def with_bad_us(item: Dataset) -> Dataset:
        tag = Tag(0x0028, 0x0010)  # Rows, US: 3 bytes cannot be an unsigned short
        item._dict[tag] = RawDataElement(tag, "US", 3, b"\x01\x02\x03", 0, False, True)
        return item

    ds = Dataset()
    ds.ROIContourSequence = [Dataset()]
    ds.ROIContourSequence[0].ContourSequence = [Dataset()]
    contour = ds.ROIContourSequence[0].ContourSequence[0]
    contour.ContourImageSequence = [with_bad_us(Dataset())]
    _decode_all(ds)  # left raw: not an error
    assert contour.get_item(Tag(0x3006, 0x0016)).VR == "SQ"
    with_bad_us(contour)
    with pytest.raises(DicomInputError, match=r"element \(3006,0039\)\[0\]\.\(3006,0040\)\[0\]"
                                              r"\.\(0028,0010\) cannot be decoded"):
        _decode_all(ds)
