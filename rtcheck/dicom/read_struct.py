"""RT Structure Set (PS3.3 C.8.8.5, C.8.8.6, C.8.8.8) → :class:`StructureSet`.

* ROIs come from StructureSetROISequence (3006,0020); their contours from
  ROIContourSequence (3006,0039) matched by ReferencedROINumber; their type from
  RTROIObservationsSequence (3006,0080) RTROIInterpretedType.
* CLOSED_PLANAR contours must lie on one axial plane (all z equal within
  0.01 mm); other planar orientations are not supported: reported (ERROR), and then
  no contour of that ROI is used, since the remaining stack would have a hole.
* POINT contours are kept as points; OPEN_* contours are ignored with a finding.
* Several contours of one ROI on one plane are kept apart; downstream they
  combine by the even-odd rule (holes).
* Corruption is refused (one-line error): ROINumbers that repeat, contours that
  reference an undeclared ROI, ContourData holding something other than finite
  numbers. Only well-formed but unsupported contours become CONTOUR_IGNORED.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from pydicom.dataset import Dataset

from rtcheck.dicom.model import Contour, FloatArray, Structure, StructureSet
from rtcheck.dicom.values import ds_array, integer, require_type1
from rtcheck.errors import DicomInputError
from rtcheck.findings import Finding, Severity

_PLANE_TOL_MM = 0.01
_NON_AXIAL = "contour not on an axial plane"


def _frame_of_reference(ds: Dataset) -> str:
    refs = ds.get("ReferencedFrameOfReferenceSequence") or []
    for item in refs:
        uid = str(item.get("FrameOfReferenceUID", "")).strip()
        if uid:
            return uid
    return str(ds.get("FrameOfReferenceUID", "")).strip()


def _referenced_series(ds: Dataset) -> str:
    for for_item in ds.get("ReferencedFrameOfReferenceSequence") or []:
        for study in for_item.get("RTReferencedStudySequence") or []:
            for series in study.get("RTReferencedSeriesSequence") or []:
                uid = str(series.get("SeriesInstanceUID", "")).strip()
                if uid:
                    return uid
    return ""


def _color(item: Dataset) -> tuple[int, int, int] | None:
    """ROIDisplayColor (3006,002A); cosmetic, so an unreadable colour is just no colour."""
    raw = item.get("ROIDisplayColor")
    if raw is None:
        return None
    try:
        values = [int(v) for v in raw]
    except (TypeError, ValueError):
        return None
    return (values[0], values[1], values[2]) if len(values) == 3 else None


def _contour_data(contour: Dataset, index: int, name: str, path: str) -> FloatArray:
    """ContourData (3006,0050) of one contour: (x, y, z) triplets of finite numbers.

    A value that is not a finite number is corruption, not a contour rtcheck could
    skip: the ROI's volume would silently shrink, so the file is refused.
    """
    try:
        data = ds_array(contour, "ContourData")
    except ValueError:
        data = np.array([np.nan])
    if not np.all(np.isfinite(data)):
        raise DicomInputError(
            f"contour {index + 1} of ROI {name!r} holds a value that is not a finite number; "
            "the structure set is corrupt, re-export it",
            path=path,
            field="ContourData",
        )
    if data.size == 0 or data.size % 3:
        raise DicomInputError(
            f"contour {index + 1} of ROI {name!r} holds {data.size} numbers, not (x, y, z) "
            "triplets; the structure set is corrupt, re-export it",
            path=path,
            field="ContourData",
        )
    return data


def _other_frame(roi_for: str, set_for: str, count: int, name: str, path: str) -> Finding:
    return Finding(
        "CONTOUR_IGNORED",
        Severity.ERROR,
        f"{count} contour(s) in frame of reference {roi_for}, not the structure set's "
        f"{set_for}; they cannot be overlaid on the dose and are not used",
        path=path,
        subject=name,
    )


def _roi_numbers(ds: Dataset, path: str) -> list[int]:
    """ROINumber (3006,0022) of every StructureSetROISequence item; they must be unique."""
    numbers = [
        integer(roi, "ROINumber", path, required=True) or 0
        for roi in ds.get("StructureSetROISequence") or []
    ]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise DicomInputError(
            f"{repeated} used by several ROIs (PS3.3 C.8.8.5 requires unique numbers); "
            "which contours belong to which ROI is unknown, re-export the structure set",
            path=path,
            field="ROINumber",
        )
    return numbers


def _contour_items(ds: Dataset, numbers: list[int], path: str) -> dict[int, Dataset]:
    """ROIContourSequence (3006,0039) items by ReferencedROINumber (PS3.3 C.8.8.6).

    Each must reference a declared ROI, once.
    """
    items: dict[int, Dataset] = {}
    for item in ds.get("ROIContourSequence") or []:
        number = integer(item, "ReferencedROINumber", path, required=True) or 0
        if number not in numbers:
            raise DicomInputError(
                f"{number} in ROIContourSequence is not a ROINumber of "
                "StructureSetROISequence; its contours belong to no ROI, re-export the "
                "structure set",
                path=path,
                field="ReferencedROINumber",
            )
        if number in items:
            raise DicomInputError(
                f"{number} has several ROIContourSequence items; re-export the structure set",
                path=path,
                field="ReferencedROINumber",
            )
        items[number] = item
    return items


def _contours(
    item: Dataset, name: str, path: str
) -> tuple[list[Contour], list[list[float]], list[Finding]]:
    contours: list[Contour] = []
    points: list[list[float]] = []
    problems: Counter[str] = Counter()
    for index, contour in enumerate(item.get("ContourSequence") or []):
        geometry = str(contour.get("ContourGeometricType", "")).upper()
        data = _contour_data(contour, index, name, path)
        xyz = data.reshape(-1, 3)
        if geometry == "POINT":
            points.extend(xyz.tolist())
        elif geometry == "CLOSED_PLANAR":
            if xyz.shape[0] < 3:
                problems["closed contour with fewer than 3 points"] += 1
            elif np.ptp(xyz[:, 2]) > _PLANE_TOL_MM:
                problems[_NON_AXIAL] += 1
            else:
                contours.append(Contour(z_mm=float(xyz[0, 2]), points_xy_mm=xyz[:, :2]))
        else:
            problems[f"{geometry or 'untyped'} contour ignored"] += 1
    # A skipped non-axial contour leaves a hole in the stack: the DVH of the rest would
    # be a plausible, wrong number, so none of the structure's contours is used then.
    unusable = problems[_NON_AXIAL] > 0
    findings = [
        Finding(
            "CONTOUR_IGNORED",
            Severity.ERROR if why == _NON_AXIAL else Severity.WARNING,
            f"{count} contour(s): {why}; "
            + (
                f"none of the structure's {len(contours) + problems[_NON_AXIAL]} contours is "
                "used (its volume would be incomplete)"
                if why == _NON_AXIAL
                else "the structure's volume may be incomplete"
            ),
            path=path,
            subject=name,
        )
        for why, count in sorted(problems.items())
    ]
    return ([] if unusable else contours), points, findings


def _interpreted_types(ds: Dataset, path: str) -> dict[int | None, str]:
    """RTROIInterpretedType (upper case) by ReferencedROINumber."""
    return {
        integer(obs, "ReferencedROINumber", path): str(
            obs.get("RTROIInterpretedType", "") or ""
        ).strip().upper()
        for obs in ds.get("RTROIObservationsSequence") or []
    }


def _structure(
    roi: Dataset, number: int, item: Dataset | None, set_for: str, roi_type: str, path: str
) -> tuple[Structure, list[Finding]]:
    """One ROI as a :class:`Structure`, with its contour, frame and emptiness findings."""
    name = str(roi.get("ROIName", "") or f"ROI {number}").strip()
    contours, points, findings = ([], [], []) if item is None else _contours(item, name, path)
    roi_for = str(roi.get("ReferencedFrameOfReferenceUID", "") or set_for).strip()
    if set_for and roi_for != set_for and (contours or points):
        # PS3.3 C.8.8.5: this ROI's coordinates are in another frame (a registered
        # image); laid on the plan's dose they would give a plausible, wrong DVH
        findings.append(_other_frame(roi_for, set_for, len(contours) + len(points), name, path))
        contours, points = [], []
    structure = Structure(
        roi_number=number,
        name=name,
        interpreted_type=roi_type,
        color_rgb=None if item is None else _color(item),
        contours=tuple(contours),
        points_mm=np.array(points, dtype=np.float64).reshape(-1, 3),
        frame_of_reference_uid=roi_for,
    )
    if structure.is_empty:
        findings.append(
            Finding(
                "ROI_WITHOUT_CONTOURS",
                Severity.INFO,
                "ROI is declared but has no contours",
                path=path,
                subject=name,
            )
        )
    return structure, findings


def _duplicate_names(structures: list[Structure], path: str) -> list[Finding]:
    """A ``STRUCTURE_NAME_DUPLICATE`` warning per name (case-insensitive) used twice."""
    names = Counter(s.name.casefold() for s in structures)
    return [
        Finding(
            "STRUCTURE_NAME_DUPLICATE",
            Severity.WARNING,
            "several ROIs share this name; rules that name it cannot tell them apart",
            path=path,
            subject=dup,
        )
        for dup in sorted(n for n, c in names.items() if c > 1)
    ]


def read_structure_set(ds: Dataset, path: str) -> tuple[StructureSet, list[Finding]]:
    """Convert one RTSTRUCT dataset into a StructureSet plus findings.

    Parameters
    ----------
    ds
        The RTSTRUCT dataset.
    path
        Its file, for messages and findings.

    Returns
    -------
    tuple
        The structure set (one :class:`Structure` per ROI, in file order) and the
        findings on its contours, frames of reference and names.

    Raises
    ------
    DicomInputError
        When the dataset has no StructureSetROISequence or a required sequence is missing.
    """
    findings: list[Finding] = []
    rois = ds.get("StructureSetROISequence")
    if rois is None:
        raise DicomInputError(
            "is missing; this RTSTRUCT has no ROIs to check",
            path=path,
            field="StructureSetROISequence",
        )
    if len(rois):
        require_type1(
            ds, ("ROIContourSequence", "RTROIObservationsSequence"), path, "C.8.8.6, C.8.8.8"
        )
    numbers = _roi_numbers(ds, path)
    contour_items = _contour_items(ds, numbers, path)
    types = _interpreted_types(ds, path)
    set_for = _frame_of_reference(ds)
    structures: list[Structure] = []
    for roi, number in zip(rois, numbers, strict=True):
        structure, roi_findings = _structure(
            roi, number, contour_items.get(number), set_for, types.get(number, ""), path
        )
        findings.extend(roi_findings)
        structures.append(structure)
    findings.extend(_duplicate_names(structures, path))
    structure_set = StructureSet(
        sop_instance_uid=str(ds.SOPInstanceUID).strip(),
        label=str(ds.get("StructureSetLabel", "") or "").strip(),
        frame_of_reference_uid=set_for,
        structures=tuple(structures),
        referenced_series_uid=_referenced_series(ds),
        source_path=path,
    )
    return structure_set, findings
