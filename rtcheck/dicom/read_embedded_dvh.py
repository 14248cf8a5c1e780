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

from rtcheck.dicom.model import EmbeddedDVH
from rtcheck.dicom.values import ds_array
from rtcheck.findings import Finding, Severity


def _optional_float(item: Dataset, keyword: str) -> float | None:
    value = item.get(keyword)
    return None if value is None or value == "" else float(value)


def _skip(path: str, roi: int | None, why: str) -> Finding:
    return Finding(
        "EMBEDDED_DVH_SKIPPED",
        Severity.INFO,
        f"TPS DVH not used: {why}",
        path=path,
        subject=None if roi is None else f"ROI {roi}",
    )


def _one(item: Dataset, path: str) -> tuple[EmbeddedDVH | None, Finding | None]:
    refs = item.get("DVHReferencedROISequence") or []
    roi = int(refs[0].ReferencedROINumber) if refs and "ReferencedROINumber" in refs[0] else None
    if roi is None:
        return None, _skip(path, None, "no DVHReferencedROISequence")
    units = str(item.get("DoseUnits", "")).upper()
    vol_units = str(item.get("DVHVolumeUnits", "")).upper()
    dvh_type = str(item.get("DVHType", "")).upper()
    if units != "GY" or vol_units != "CM3":
        return None, _skip(path, roi, f"units {units or '?'}/{vol_units or '?'} (need GY/CM3)")
    if dvh_type not in ("CUMULATIVE", "DIFFERENTIAL"):
        return None, _skip(path, roi, f"DVHType {dvh_type or '?'} is not supported")
    try:
        data = ds_array(item, "DVHData")
    except ValueError:
        return None, _skip(path, roi, "DVHData holds a value that is not a number")
    if data.size < 2 or data.size % 2:
        return None, _skip(path, roi, "DVHData is empty or has an odd number of values")
    scaling = float(item.get("DVHDoseScaling", 1.0) or 1.0)
    widths_gy = data[0::2] * scaling
    volumes = data[1::2]
    edges = np.concatenate(([0.0], np.cumsum(widths_gy)[:-1]))
    if dvh_type == "DIFFERENTIAL":
        volumes = np.cumsum(volumes[::-1])[::-1]
    dvh = EmbeddedDVH(
        roi_number=roi,
        dose_edges_gy=edges,
        volume_cc=volumes,
        declared_min_gy=_optional_float(item, "DVHMinimumDose"),
        declared_mean_gy=_optional_float(item, "DVHMeanDose"),
        declared_max_gy=_optional_float(item, "DVHMaximumDose"),
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
