"""Fast numeric reads of large multi-valued DICOM attributes.

ContourData (3006,0050) and DVHData (3004,0058) are Decimal Strings (DS, PS3.5
§6.2) holding up to hundreds of thousands of backslash-separated numbers; pydicom
builds one ``DSfloat`` object per value, which dominates loading time. Reading the
raw element and converting it with numpy gives the same float64 values.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from rtcheck.dicom.model import FloatArray

_EMPTY = np.zeros(0, dtype=np.float64)


def ds_array(ds: Dataset, keyword: str) -> FloatArray:
    """All numbers of a DS attribute as float64 (empty when absent or empty).

    Raises
    ------
    ValueError
        When a value is not a number (the caller turns it into a finding or error).
    """
    if keyword not in ds:
        return _EMPTY
    elem = ds.get_item(keyword)
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes | bytearray):
        text = elem.value.decode("ascii").strip(" \x00")
        if not text:
            return _EMPTY
        return np.array(text.split("\\"), dtype=np.float64)
    value = ds[keyword].value
    if value is None or value == "":
        return _EMPTY
    items = [value] if isinstance(value, float | int | str) else list(value)
    return np.array([float(v) for v in items], dtype=np.float64)
