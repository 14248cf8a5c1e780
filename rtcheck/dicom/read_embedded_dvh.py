"""RT Dose DVH Sequence (3004,0050), PS3.3 C.8.8.4 → :class:`EmbeddedDVH` in Gy and cc.

DVHData (3004,0058) holds ``DVHNumberOfBins`` pairs ``(bin width, volume)``; dose
widths are multiplied by DVHDoseScaling (3004,0052). For a CUMULATIVE DVH each
volume is the volume receiving at least the bin's lower edge; DIFFERENTIAL DVHs
are accumulated from the top bin down. Only DoseUnits GY and DVHVolumeUnits CM3
can be compared with rtcheck's DVHs; other DVHs are skipped with a finding.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from rtcheck.dicom.model import EmbeddedDVH, FloatArray
from rtcheck.dicom.values import decimal, ds_array, integer
from rtcheck.errors import DicomInputError
from rtcheck.findings import Finding, Severity


def _skip(path: str, roi: int | None, why: str) -> Finding:
    return Finding(
        "EMBEDDED_DVH_SKIPPED",
        Severity.INFO,
        f"TPS DVH not used: {why}",
        path=path,
        subject=None if roi is None else f"ROI {roi}",
    )


class _Skipped(Exception):
    """Why a DVH item is not used (the message of its ``EMBEDDED_DVH_SKIPPED``)."""


def _roi_number(item: Dataset, path: str) -> int:
    """The ROI the DVH describes (DVHReferencedROISequence)."""
    refs = item.get("DVHReferencedROISequence") or []
    try:
        roi = integer(refs[0], "ReferencedROINumber", path) if refs else None
    except DicomInputError as exc:
        raise _Skipped(str(exc)) from None
    if roi is None:
        raise _Skipped("no DVHReferencedROISequence")
    return roi


def _dvh_type(item: Dataset) -> str:
    """DVHType (CUMULATIVE or DIFFERENTIAL) of a DVH in Gy and cc."""
    units = str(item.get("DoseUnits", "")).upper()
    vol_units = str(item.get("DVHVolumeUnits", "")).upper()
    dvh_type = str(item.get("DVHType", "")).upper()
    if units != "GY" or vol_units != "CM3":
        raise _Skipped(f"units {units or '?'}/{vol_units or '?'} (need GY/CM3)")
    if dvh_type not in ("CUMULATIVE", "DIFFERENTIAL"):
        raise _Skipped(f"DVHType {dvh_type or '?'} is not supported")
    return dvh_type


def _dvh_data(item: Dataset) -> FloatArray:
    """DVHData: finite ``(bin width, volume)`` pairs."""
    try:
        data = ds_array(item, "DVHData")
    except ValueError:
        raise _Skipped("DVHData holds a value that is not a number") from None
    if data.size < 2 or data.size % 2 or not np.all(np.isfinite(data)):
        raise _Skipped("DVHData is empty, has an odd number of values or NaN")
    return data


def _dose_scaling(item: Dataset, path: str) -> tuple[float, list[float | None]]:
    """DVHDoseScaling (1 when absent) and the declared minimum, mean and maximum dose."""
    try:
        scaling = decimal(item, "DVHDoseScaling", path)
        declared = [
            decimal(item, keyword, path)
            for keyword in ("DVHMinimumDose", "DVHMeanDose", "DVHMaximumDose")
        ]
    except DicomInputError as exc:
        raise _Skipped(str(exc)) from None
    # DVHDoseScaling is Type 1 (PS3.3 C.8.8.4); read tolerantly, an absent value is taken
    # as 1, but a zero or negative scaling would turn every bin into 0 Gy: not used.
    if scaling is None:
        return 1.0, declared
    if not scaling > 0:
        raise _Skipped(f"DVHDoseScaling is {scaling:g}; it must be positive")
    return scaling, declared


def _one(item: Dataset, path: str) -> tuple[EmbeddedDVH | None, Finding | None]:
    """One DVH Sequence item as an :class:`EmbeddedDVH`, or why it is skipped."""
    roi: int | None = None
    try:
        roi = _roi_number(item, path)
        dvh_type = _dvh_type(item)
        data = _dvh_data(item)
        scaling, declared = _dose_scaling(item, path)
    except _Skipped as why:
        return None, _skip(path, roi, str(why))
    widths_gy = data[0::2] * scaling
    volumes = data[1::2]
    edges = np.concatenate(([0.0], np.cumsum(widths_gy)[:-1]))
    if dvh_type == "DIFFERENTIAL":
        volumes = np.cumsum(volumes[::-1])[::-1]
    dvh = EmbeddedDVH(
        roi_number=roi,
        dose_edges_gy=edges,
        volume_cc=volumes,
        declared_min_gy=declared[0],
        declared_mean_gy=declared[1],
        declared_max_gy=declared[2],
    )
    return dvh, None


def read_embedded_dvhs(ds: Dataset, path: str) -> tuple[tuple[EmbeddedDVH, ...], list[Finding]]:
    """Every usable DVH of the RTDOSE's DVH Sequence, and findings for the others."""
    dvhs: list[EmbeddedDVH] = []
    findings: list[Finding] = []
    for item in ds.get("DVHSequence") or []:
        dvh, finding = _one(item, path)
        if dvh is not None:
            dvhs.append(dvh)
        if finding is not None:
            findings.append(finding)
    return tuple(dvhs), findings
