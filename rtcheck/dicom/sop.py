"""SOP Class UIDs rtcheck understands (DICOM PS3.4 Annex B.5) and their roles."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """The role a DICOM object plays for rtcheck."""

    RTPLAN = "RTPLAN"
    RTIONPLAN = "RTIONPLAN"
    RTDOSE = "RTDOSE"
    RTSTRUCT = "RTSTRUCT"
    RTRECORD = "RTRECORD"
    RTIONRECORD = "RTIONRECORD"
    CT = "CT"
    OTHER = "OTHER"


#: PS3.4 Table B.5-1 (Standard SOP Classes).
SOP_CLASS_KIND: dict[str, Kind] = {
    "1.2.840.10008.5.1.4.1.1.481.5": Kind.RTPLAN,  # RT Plan Storage
    "1.2.840.10008.5.1.4.1.1.481.8": Kind.RTIONPLAN,  # RT Ion Plan Storage
    "1.2.840.10008.5.1.4.1.1.481.2": Kind.RTDOSE,  # RT Dose Storage
    "1.2.840.10008.5.1.4.1.1.481.3": Kind.RTSTRUCT,  # RT Structure Set Storage
    "1.2.840.10008.5.1.4.1.1.481.4": Kind.RTRECORD,  # RT Beams Treatment Record Storage
    "1.2.840.10008.5.1.4.1.1.481.9": Kind.RTIONRECORD,  # RT Ion Beams Treatment Record Storage
    "1.2.840.10008.5.1.4.1.1.2": Kind.CT,  # CT Image Storage
    "1.2.840.10008.5.1.4.1.1.2.1": Kind.CT,  # Enhanced CT Image Storage
}

#: Modality (0008,0060) fallback when SOPClassUID is missing (files without meta header).
MODALITY_KIND: dict[str, Kind] = {
    "RTPLAN": Kind.RTPLAN,
    "RTDOSE": Kind.RTDOSE,
    "RTSTRUCT": Kind.RTSTRUCT,
    "RTRECORD": Kind.RTRECORD,
    "CT": Kind.CT,
}


def classify(sop_class_uid: str, modality: str) -> Kind:
    """Role of an object from its SOP Class UID, falling back to its Modality."""
    kind = SOP_CLASS_KIND.get(sop_class_uid.strip())
    if kind is not None:
        return kind
    if not sop_class_uid.strip():
        return MODALITY_KIND.get(modality.strip().upper(), Kind.OTHER)
    return Kind.OTHER
