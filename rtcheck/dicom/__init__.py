"""DICOM-RT loading and linking.

``load(paths)`` finds RTPLAN / RT Ion Plan, RTDOSE, RTSTRUCT, RT (Ion) Beams
Treatment Records and CT under the given paths, converts them once into the typed
model of :mod:`rtcheck.dicom.model` (Gy, mm, ascending axes) and links them into
cases by their UIDs.
"""

from rtcheck.dicom.loader import load, read_treatment_records
from rtcheck.dicom.model import (
    Beam,
    Case,
    Contour,
    DoseGrid,
    DoseSummationType,
    EmbeddedDVH,
    LoadResult,
    Plan,
    Prescription,
    Structure,
    StructureSet,
    TreatmentRecord,
)

__all__ = [
    "Beam",
    "Case",
    "Contour",
    "DoseGrid",
    "DoseSummationType",
    "EmbeddedDVH",
    "LoadResult",
    "Plan",
    "Prescription",
    "Structure",
    "StructureSet",
    "TreatmentRecord",
    "load",
    "read_treatment_records",
]
