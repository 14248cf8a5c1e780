"""Fast numeric reads of large multi-valued DICOM attributes.

ContourData (3006,0050) and DVHData (3004,0058) are Decimal Strings (DS, PS3.5
§6.2) holding up to hundreds of thousands of backslash-separated numbers; pydicom
builds one ``DSfloat`` object per value, which dominates loading time. Reading the
raw element and converting it with numpy gives the same float64 values.

The checked readers (:func:`decimals`, :func:`decimal`, :func:`integer`) turn every
value that is not a number — which pydicom hands back as the raw string when the
file is corrupt — into a one-line :class:`~rtcheck.errors.DicomInputError` naming
the file and the attribute, instead of a ``ValueError`` deep in the loader.
"""

from __future__ import annotations

import warnings

import numpy as np
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from rtcheck.dicom.model import FloatArray
from rtcheck.errors import DicomInputError

_EMPTY = np.zeros(0, dtype=np.float64)


def _parse_ds(text: str) -> FloatArray:
    """The numbers of a backslash-separated DS text. numpy's C text parser (~25 % faster
    than converting the split strings) may stop at a malformed value (with a warning or
    a ``ValueError``, by numpy version), so its count is checked against the separators
    and any doubt is re-parsed strictly (``ValueError`` names the value)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            values = np.fromstring(text.replace("\\", " "), dtype=np.float64, sep=" ")
    except ValueError:
        values = _EMPTY
    if values.size != text.count("\\") + 1:
        return np.array(text.split("\\"), dtype=np.float64)
    return values


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
        return _parse_ds(text)
    value = ds[keyword].value
    if value is None or value == "":
        return _EMPTY
    items = [value] if isinstance(value, float | int | str) else list(value)
    return np.array([float(v) for v in items], dtype=np.float64)


def _texts(value: object) -> list[str]:
    """The backslash-separated items of a DS/IS value as stored (pydicom may hand back
    a number, a MultiValue, or the raw string when the value is not valid)."""
    if value is None:
        return []
    if isinstance(value, bytes | bytearray):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        text = value.strip(" \x00")
        return [item.strip(" \x00") for item in text.split("\\")] if text else []
    if isinstance(value, list | tuple | MultiValue):
        return [str(v).strip(" \x00") for v in value]
    return [str(value).strip(" \x00")]


def _present_texts(ds: Dataset, keyword: str, path: str, required: bool) -> list[str]:
    """The attribute's values as text; a missing ``required`` attribute is an error."""
    items = _texts(ds.get(keyword))
    if not items and required:
        raise DicomInputError(
            "required attribute is missing; re-export the object from the TPS",
            path=path,
            field=keyword,
        )
    return items


def decimals(
    ds: Dataset, keyword: str, path: str, count: int | None = None, required: bool = False
) -> list[float]:
    """Every number of a DS attribute, finite, as floats (PS3.5 §6.2 Decimal String).

    Raises
    ------
    DicomInputError
        A value that is not a finite number, ``count`` values expected and not found,
        or a missing ``required`` attribute; the message names the file and the field.
    """
    items = _present_texts(ds, keyword, path, required)
    if not items:
        return []
    numbers: list[float] = []
    for item in items:
        try:
            number = float(item)
        except ValueError:
            number = float("nan")
        if not np.isfinite(number):
            raise DicomInputError(
                f"{item[:40]!r} is not a finite number; the file is corrupt, re-export it",
                path=path,
                field=keyword,
            ) from None
        numbers.append(number)
    if count is not None and len(numbers) != count:
        raise DicomInputError(
            f"must have {count} value(s), found {len(numbers)}; re-export the object",
            path=path,
            field=keyword,
        )
    return numbers


def decimal(ds: Dataset, keyword: str, path: str, required: bool = False) -> float | None:
    """One DS number (``None`` when absent and not ``required``); see :func:`decimals`."""
    numbers = decimals(ds, keyword, path, count=None, required=required)
    if not numbers:
        return None
    if len(numbers) != 1:
        raise DicomInputError(
            f"must have 1 value, found {len(numbers)}; re-export the object",
            path=path,
            field=keyword,
        )
    return numbers[0]


def integer(
    ds: Dataset, keyword: str, path: str, required: bool = False, minimum: int | None = None
) -> int | None:
    """One IS (Integer String, PS3.5 §6.2) or binary integer value; ``None`` when absent.

    Raises
    ------
    DicomInputError
        A value that is not one integer, below ``minimum``, or a missing ``required``
        attribute.
    """
    items = _present_texts(ds, keyword, path, required)
    if not items:
        return None
    text = items[0]
    if len(items) != 1 or not text.lstrip("+-").isdigit():
        shown = "\\".join(items)[:40]
        raise DicomInputError(
            f"{shown!r} is not one integer; the file is corrupt, re-export it",
            path=path,
            field=keyword,
        )
    number = int(text)
    if minimum is not None and number < minimum:
        raise DicomInputError(
            f"{number} is not allowed (must be at least {minimum}); re-export the object",
            path=path,
            field=keyword,
        )
    return number


def require_type1(ds: Dataset, keywords: tuple[str, ...], path: str, section: str) -> None:
    """Refuse a data set that lacks a Type 1 attribute of its IOD (PS3.3 ``section``).

    pydicom reads a file cut exactly between two elements as a shorter, valid data
    set; the missing mandatory attribute is the only trace of the cut.
    """
    for keyword in keywords:
        value = ds.get(keyword)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise DicomInputError(
                f"is missing (Type 1, PS3.3 {section}); the file is incomplete or truncated, "
                "re-export it",
                path=path,
                field=keyword,
            )
