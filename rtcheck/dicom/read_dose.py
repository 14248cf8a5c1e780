"""RT Dose (PS3.3 C.8.8.3) → :class:`~rtcheck.dicom.model.DoseGrid` in Gy.

The conversion happens here and only here:

* dose (Gy) = stored pixel value × DoseGridScaling (3004,000E), PS3.3 C.8.8.3.
* DoseUnits (3004,0002) must be ``GY``; ``RELATIVE`` doses are refused.
* Voxel positions: ``P(i, j, k) = IPP + i·Δc·row + j·Δr·col + o_k·n`` with
  PixelSpacing = (Δr, Δc) (PS3.3 C.7.6.2.1.1, C.7.6.3.1.3) and ``n = row × col``.
* GridFrameOffsetVector (3004,000C), PS3.3 C.8.8.3.2: when its first value is 0
  the offsets are relative to IPP along ``n``; otherwise they must equal the frame
  z coordinates (first value = IPP z), which the standard allows only for
  ``ImageOrientationPatient = [1, 0, 0, 0, 1, 0]``.
* Only axis-aligned orientations (HFS, FFS, HFP, FFP and their decubitus-free
  kin: row = ±x, column = ±y) are accepted; the grid is re-ordered so every
  axis ascends.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from rtcheck.dicom.model import DoseGrid, DoseSummationType, EmbeddedDVH, FloatArray
from rtcheck.dicom.read_embedded_dvh import read_embedded_dvhs
from rtcheck.dicom.scan import first_truncated_element
from rtcheck.errors import DicomInputError
from rtcheck.findings import Finding

_AXIS_TOL = 1e-3


def _require(ds: Dataset, keyword: str, path: str) -> object:
    value = ds.get(keyword)
    if value is None or value == "":
        raise DicomInputError(
            "required attribute is missing; re-export the dose from the TPS",
            path=path,
            field=keyword,
        )
    return value


def _referenced(ds: Dataset) -> tuple[str, tuple[int, ...]]:
    """ReferencedRTPlanSequence → (plan SOPInstanceUID, referenced beam numbers)."""
    plan_uid = ""
    beams: list[int] = []
    for item in ds.get("ReferencedRTPlanSequence", []) or []:
        plan_uid = plan_uid or str(item.get("ReferencedSOPInstanceUID", "")).strip()
        for group in item.get("ReferencedFractionGroupSequence", []) or []:
            for beam in group.get("ReferencedBeamSequence", []) or []:
                if beam.get("ReferencedBeamNumber") is not None:
                    beams.append(int(beam.ReferencedBeamNumber))
    return plan_uid, tuple(beams)


def _orientation(ds: Dataset, path: str) -> tuple[float, float]:
    """Return (row_x_sign, col_y_sign) for an axis-aligned grid, else refuse."""
    iop = np.array([float(v) for v in _require(ds, "ImageOrientationPatient", path)])  # type: ignore[attr-defined]
    if iop.size != 6:
        raise DicomInputError("must have 6 values", path=path, field="ImageOrientationPatient")
    row, col = iop[:3], iop[3:]
    row_ok = (
        abs(abs(row[0]) - 1) < _AXIS_TOL and abs(row[1]) < _AXIS_TOL and abs(row[2]) < _AXIS_TOL
    )
    col_ok = (
        abs(abs(col[1]) - 1) < _AXIS_TOL and abs(col[0]) < _AXIS_TOL and abs(col[2]) < _AXIS_TOL
    )
    if not (row_ok and col_ok):
        raise DicomInputError(
            f"oblique or rotated dose grid {list(iop)} is not supported; export the dose on an "
            "axial grid (HFS/FFS/HFP/FFP)",
            path=path,
            field="ImageOrientationPatient",
        )
    return float(np.sign(row[0])), float(np.sign(col[1]))


def _frame_z(
    ds: Dataset, path: str, ipp_z: float, row_sign: float, col_sign: float, n_frames: int
) -> FloatArray:
    normal_z = row_sign * col_sign  # (row × col)_z for row = (±1,0,0), col = (0,±1,0)
    offsets_raw = ds.get("GridFrameOffsetVector")
    if offsets_raw is None:
        if n_frames == 1:
            return np.array([ipp_z])
        raise DicomInputError(
            "is missing for a multi-frame dose", path=path, field="GridFrameOffsetVector"
        )
    offsets = np.atleast_1d(np.array([float(v) for v in offsets_raw], dtype=np.float64))
    if offsets.size != n_frames:
        raise DicomInputError(
            f"has {offsets.size} values for {n_frames} frames; re-export the dose",
            path=path,
            field="GridFrameOffsetVector",
        )
    if abs(offsets[0]) < _AXIS_TOL:
        z = ipp_z + normal_z * offsets
    elif abs(offsets[0] - ipp_z) < _AXIS_TOL and row_sign > 0 and col_sign > 0:
        z = offsets.copy()
    else:
        raise DicomInputError(
            f"first value {offsets[0]:g} is neither 0 (relative) nor the Image Position z "
            f"{ipp_z:g} (absolute); the frame positions are ambiguous",
            path=path,
            field="GridFrameOffsetVector",
        )
    if np.unique(np.round(z, 4)).size != z.size:
        raise DicomInputError(
            "contains repeated frame positions", path=path, field="GridFrameOffsetVector"
        )
    return z


def _pixels_gy(path: str, scaling: float) -> FloatArray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = pydicom.dcmread(path, force=True)
            truncated = first_truncated_element(full)
            if truncated:
                raise DicomInputError(
                    f"file is truncated (element {truncated}); copy or re-export the complete file",
                    path=path,
                )
            pixels = full.pixel_array
    except DicomInputError:
        raise
    except Exception as exc:  # pydicom raises many types for bad pixel data
        raise DicomInputError(
            f"dose pixel data cannot be decoded ({type(exc).__name__}: {exc}); re-export "
            "uncompressed",
            path=path,
            field="PixelData",
        ) from exc
    return np.asarray(pixels, dtype=np.float64) * scaling


def read_dose(ds: Dataset, path: str) -> tuple[DoseGrid, list[Finding]]:
    """Convert one RTDOSE header (pixels are read from ``path``) to a DoseGrid in Gy."""
    findings: list[Finding] = []
    units = str(_require(ds, "DoseUnits", path)).strip().upper()
    if units != "GY":
        raise DicomInputError(
            f"is {units!r}; rtcheck needs absolute dose in Gy (RELATIVE doses cannot be checked). "
            "Export the dose in GY from the TPS",
            path=path,
            field="DoseUnits",
        )
    summation = str(_require(ds, "DoseSummationType", path)).strip().upper()
    try:
        summation_type = DoseSummationType(summation)
    except ValueError as exc:
        raise DicomInputError(
            f"unknown value {summation!r}", path=path, field="DoseSummationType"
        ) from exc
    scaling = float(_require(ds, "DoseGridScaling", path))  # type: ignore[arg-type]
    if not (scaling > 0 and np.isfinite(scaling)):
        raise DicomInputError(
            f"must be positive, got {scaling}", path=path, field="DoseGridScaling"
        )
    row_sign, col_sign = _orientation(ds, path)
    ipp = [float(v) for v in _require(ds, "ImagePositionPatient", path)]  # type: ignore[attr-defined]
    spacing = [float(v) for v in _require(ds, "PixelSpacing", path)]  # type: ignore[attr-defined]
    rows, cols = int(_require(ds, "Rows", path)), int(_require(ds, "Columns", path))  # type: ignore[call-overload]
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    dose = _pixels_gy(path, scaling).reshape(n_frames, rows, cols)
    x = ipp[0] + row_sign * spacing[1] * np.arange(cols)
    y = ipp[1] + col_sign * spacing[0] * np.arange(rows)
    z = _frame_z(ds, path, ipp[2], row_sign, col_sign, n_frames)
    if row_sign < 0:
        x, dose = x[::-1], dose[:, :, ::-1]
    if col_sign < 0:
        y, dose = y[::-1], dose[:, ::-1, :]
    order = np.argsort(z)
    z, dose = z[order], dose[order]
    plan_uid, beams = _referenced(ds)
    embedded: tuple[EmbeddedDVH, ...] = ()
    if ds.get("DVHSequence"):
        embedded, dvh_findings = read_embedded_dvhs(ds, path)
        findings.extend(dvh_findings)
    grid = DoseGrid(
        x_mm=x,
        y_mm=y,
        z_mm=z,
        dose_gy=np.ascontiguousarray(dose),
        dose_type=str(ds.get("DoseType", "")).strip().upper(),
        summation_type=summation_type,
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")).strip(),
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")).strip(),
        referenced_plan_uid=plan_uid,
        referenced_beam_numbers=beams,
        source_paths=(str(Path(path)),),
        embedded_dvhs=embedded,
    )
    return grid, findings
