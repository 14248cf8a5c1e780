"""Walking every element of a dataset without decoding values nobody needs.

pydicom decodes an element when it is accessed; a structure set holds megabytes of
ContourData and a dose its pixels, which neither the anonymiser nor the verification reads
(they are numbers, kept byte for byte). :func:`element_vr` reads the VR from the raw
element (or the dictionary, for implicit VR), so only text, UID, date and sequence
elements are ever decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

#: an element's place: (tag, item index, tag, item index, ..., tag)
ElementPath = tuple[int, ...]

#: Value Representations holding free text or codes, searched for identifiers
TEXT_VRS = frozenset({"AE", "AS", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})


def element_vr(ds: Dataset, tag: BaseTag) -> str:
    """The element's VR without decoding its value; ``UN`` when nothing better is known."""
    raw = ds.get_item(tag)
    vr = getattr(raw, "VR", None)
    if vr and vr != "UN":
        return str(vr)
    try:
        return str(dictionary_VR(tag)) if not tag.is_private else "UN"
    except KeyError:
        return "UN"


def keyword(tag: BaseTag) -> str:
    return str(keyword_for_tag(tag) or "")


def describe(path: ElementPath) -> str:
    """``StructureSetROISequence[2].ROIName (3006,0026)``: a path for messages."""
    parts: list[str] = []
    for i, step in enumerate(path):
        if i % 2:
            parts[-1] += f"[{step}]"
        else:
            parts.append(keyword(BaseTag(step)) or f"({step >> 16:04X},{step & 0xFFFF:04X})")
    last = path[-1]
    return ".".join(parts) + f" ({last >> 16:04X},{last & 0xFFFF:04X})"


def values_of(value: object) -> list[str]:
    """The values of a (possibly multi-valued) text element, as strings."""
    if value is None:
        return []
    if isinstance(value, bytes):
        return [value.decode("latin-1")]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple | MultiValue):
        return [str(v) for v in value]
    return [str(value)]  # one value (a PersonName is iterable, but one name)


@dataclass(frozen=True)
class Leaf:
    """One non-sequence element met by :func:`walk` (its value decoded)."""

    path: ElementPath
    keyword: str
    vr: str
    values: tuple[str, ...]


#: VRs :func:`walk` decodes and yields; numbers and binary data are skipped
WALKED_VRS = TEXT_VRS | {"UI", "DA", "DT", "TM", "UN"}


def walk(ds: Dataset, prefix: ElementPath = ()) -> Iterator[Leaf]:
    """Every text, UID, date/time and unknown (UN) element, in nested sequences too."""
    for tag in list(ds.keys()):
        vr = element_vr(ds, tag)
        path = (*prefix, int(tag))
        if vr == "SQ":
            for index, item in enumerate(ds[tag].value or []):
                yield from walk(item, (*path, index))
        elif vr in WALKED_VRS:
            value = ds[tag].value
            yield Leaf(path, keyword(tag), vr, tuple(v for v in values_of(value)))
