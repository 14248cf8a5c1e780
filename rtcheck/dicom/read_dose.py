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
* Every number is checked (finite, right count, positive spacing and scaling) and
  the pixel data must match Rows × Columns × NumberOfFrames exactly (PS3.5 §8.1.1);
  anything else is refused with a one-line error naming the attribute.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from rtcheck.dicom.model import (
    MAX_PLAUSIBLE_DOSE_GY,
    DoseBasis,
    DoseGrid,
    DoseSummationType,
    EmbeddedDVH,
    FloatArray,
)
from rtcheck.dicom.read_embedded_dvh import read_embedded_dvhs
from rtcheck.dicom.scan import first_truncated_element
from rtcheck.dicom.values import decimal, decimals, integer
from rtcheck.errors import DicomInputError
from rtcheck.findings import Finding, Severity

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


def _referenced(ds: Dataset, path: str) -> tuple[str, tuple[int, ...]]:
    """ReferencedRTPlanSequence → (plan SOPInstanceUID, referenced beam numbers)."""
    plan_uid = ""
    beams: list[int] = []
    for item in ds.get("ReferencedRTPlanSequence", []) or []:
        plan_uid = plan_uid or str(item.get("ReferencedSOPInstanceUID", "")).strip()
        for group in item.get("ReferencedFractionGroupSequence", []) or []:
            for beam in group.get("ReferencedBeamSequence", []) or []:
                number = integer(beam, "ReferencedBeamNumber", path)
                if number is not None:
                    beams.append(number)
    return plan_uid, tuple(beams)


def _orientation(ds: Dataset, path: str) -> tuple[float, float]:
    """Return (row_x_sign, col_y_sign) for an axis-aligned grid, else refuse."""
    iop = np.array(decimals(ds, "ImageOrientationPatient", path, count=6, required=True))
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
    offsets = np.array(decimals(ds, "GridFrameOffsetVector", path), dtype=np.float64)
    if offsets.size == 0:
        if n_frames == 1:
            return np.array([ipp_z])
        raise DicomInputError(
            "is missing for a multi-frame dose", path=path, field="GridFrameOffsetVector"
        )
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
    if np.any(np.diff(np.sort(np.round(z, 4))) == 0):  # (np.unique imports numpy.ma)
        raise DicomInputError(
            "contains repeated frame positions", path=path, field="GridFrameOffsetVector"
        )
    steps = np.diff(offsets)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        # PS3.3 C.8.8.3.2 lists the frame planes in order; a vector that goes back and
        # forth is a corrupt file, not a shuffled grid to be sorted silently
        raise DicomInputError(
            "values are neither ascending nor descending; the frame positions are corrupt, "
            "re-export the dose",
            path=path,
            field="GridFrameOffsetVector",
        )
    return z


def _check_pixel_module(ds: Dataset, path: str, dose_type: str) -> None:
    """The RT Dose image pixel description (PS3.3 C.8.8.3.4.1-4).

    BitsAllocated is 16 or 32, BitsStored equals it, HighBit is one less, and
    PixelRepresentation is 0 (unsigned); only an ERROR dose may be signed. pydicom honours
    BitsStored and PixelRepresentation when it decodes, so a wrong value would
    mask or sign-flip every voxel into a plausible but wrong dose.
    """
    bits = integer(ds, "BitsAllocated", path, required=True)
    stored = integer(ds, "BitsStored", path, required=True)
    high = integer(ds, "HighBit", path, required=True)
    signed = integer(ds, "PixelRepresentation", path, required=True)
    problem = ""
    if bits not in (16, 32):
        problem = f"BitsAllocated {bits} is not 16 or 32"
    elif stored != bits or high != bits - 1:
        problem = f"BitsStored {stored} / HighBit {high} do not match BitsAllocated {bits}"
    elif signed not in (0, 1) or (signed == 1 and dose_type != "ERROR"):
        problem = f"PixelRepresentation {signed} does not fit DoseType {dose_type or '(none)'}"
    if problem:
        raise DicomInputError(
            f"{problem} (PS3.3 C.8.8.3.4); the dose values cannot be trusted, re-export the dose",
            path=path,
            field="PixelData",
        )


def _check_pixel_length(full: Dataset, path: str, n_voxels: int) -> None:
    """Native (uncompressed) PixelData must hold exactly Rows × Columns × frames values.

    PS3.5 §8.1.1: the value is the pixel cells in order, padded to an even length.
    pydicom only warns about surplus bytes and would silently drop them, so a wrong
    Rows, Columns, NumberOfFrames or BitsAllocated would shift every voxel.
    """
    if full.file_meta.get("TransferSyntaxUID", pydicom.uid.ExplicitVRLittleEndian).is_compressed:
        return
    raw = full.get("PixelData")
    if raw is None:
        raise DicomInputError(
            "is missing; the file holds no dose values (truncated?), re-export it",
            path=path,
            field="PixelData",
        )
    bits = integer(full, "BitsAllocated", path, required=True, minimum=1) or 0
    samples = integer(full, "SamplesPerPixel", path) or 1
    expected = n_voxels * samples * bits // 8
    if len(raw) not in (expected, expected + 1):
        raise DicomInputError(
            f"holds {len(raw)} bytes but Rows × Columns × NumberOfFrames × BitsAllocated/8 "
            f"= {expected}; the header does not describe the pixels, re-export the dose",
            path=path,
            field="PixelData",
        )


def _pixels_gy(path: str, scaling: float, shape: tuple[int, int, int]) -> FloatArray:
    n_voxels = shape[0] * shape[1] * shape[2]
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
            _check_pixel_length(full, path, n_voxels)
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
    if pixels.size != n_voxels:
        raise DicomInputError(
            f"decodes to {pixels.size} values, not Rows × Columns × NumberOfFrames = {n_voxels}; "
            "re-export the dose",
            path=path,
            field="PixelData",
        )
    dose_gy = pixels.astype(np.float64).reshape(shape)  # a new array: scaled in place
    dose_gy *= scaling
    return dose_gy


def _summation_type(ds: Dataset, path: str) -> DoseSummationType:
    """DoseSummationType of a dose in absolute Gy (DoseUnits GY, else an error)."""
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
        return DoseSummationType(summation)
    except ValueError as exc:
        raise DicomInputError(
            f"unknown value {summation!r}", path=path, field="DoseSummationType"
        ) from exc


def _grid_scaling(ds: Dataset, path: str) -> float:
    """DoseGridScaling (Gy per stored value), which must be positive."""
    scaling = decimal(ds, "DoseGridScaling", path, required=True) or 0.0
    if not scaling > 0:
        raise DicomInputError(
            f"must be positive, got {scaling}", path=path, field="DoseGridScaling"
        )
    return scaling


def _axes_and_dose(
    ds: Dataset, path: str, scaling: float, dose_type: str
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Ascending x, y, z axes (mm) and the dose (Gy) indexed ``[z, y, x]`` on them."""
    row_sign, col_sign = _orientation(ds, path)
    ipp = decimals(ds, "ImagePositionPatient", path, count=3, required=True)
    spacing = decimals(ds, "PixelSpacing", path, count=2, required=True)
    if min(spacing) <= 0:
        raise DicomInputError(
            f"{spacing} must be positive; re-export the dose", path=path, field="PixelSpacing"
        )
    rows = integer(ds, "Rows", path, required=True, minimum=1) or 0
    cols = integer(ds, "Columns", path, required=True, minimum=1) or 0
    n_frames = integer(ds, "NumberOfFrames", path, minimum=1) or 1
    _check_pixel_module(ds, path, dose_type)
    dose = _pixels_gy(path, scaling, (n_frames, rows, cols))
    x = ipp[0] + row_sign * spacing[1] * np.arange(cols, dtype=np.float64)
    y = ipp[1] + col_sign * spacing[0] * np.arange(rows, dtype=np.float64)
    z = _frame_z(ds, path, ipp[2], row_sign, col_sign, n_frames)
    if row_sign < 0:
        x, dose = x[::-1], dose[:, :, ::-1]
    if col_sign < 0:
        y, dose = y[::-1], dose[:, ::-1, :]
    order = np.argsort(z)
    return x, y, z[order], dose[order]


def _implausible(grid: DoseGrid, scaling: float, path: str) -> list[Finding]:
    """``DOSE_IMPLAUSIBLE`` when the grid maximum is above any course's dose."""
    if grid.max_dose_gy <= MAX_PLAUSIBLE_DOSE_GY:
        return []
    return [Finding(
        "DOSE_IMPLAUSIBLE", Severity.ERROR,
        f"the grid maximum is {grid.max_dose_gy:.4g} Gy (DoseGridScaling "
        f"{scaling:.4g}), above the {MAX_PLAUSIBLE_DOSE_GY:g} Gy any course could give: "
        "an encoding error, not a dose; the dose is not used (re-export it)",
        path=str(path))]


def read_dose(ds: Dataset, path: str) -> tuple[DoseGrid, list[Finding]]:
    """Convert one RTDOSE header (pixels are read from ``path``) to a DoseGrid in Gy.

    Parameters
    ----------
    ds
        The RTDOSE dataset (its header; the pixels are read again from ``path``).
    path
        The file.

    Returns
    -------
    tuple
        The dose grid (ascending axes, dose in Gy) and the findings on its embedded
        DVHs and plausibility.

    Raises
    ------
    DicomInputError
        When the dose is not in Gy, its header does not describe its pixels, or a
        required attribute is missing or invalid.
    """
    findings: list[Finding] = []
    summation_type = _summation_type(ds, path)
    scaling = _grid_scaling(ds, path)
    dose_type = str(ds.get("DoseType", "")).strip().upper()
    x, y, z, dose = _axes_and_dose(ds, path, scaling, dose_type)
    plan_uid, beams = _referenced(ds, path)
    embedded: tuple[EmbeddedDVH, ...] = ()
    if ds.get("DVHSequence"):
        embedded, dvh_findings = read_embedded_dvhs(ds, path)
        findings.extend(dvh_findings)
    grid = DoseGrid(
        x_mm=x,
        y_mm=y,
        z_mm=z,
        dose_gy=np.ascontiguousarray(dose),
        dose_type=dose_type,
        summation_type=summation_type,
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")).strip(),
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")).strip(),
        referenced_plan_uid=plan_uid,
        referenced_beam_numbers=beams,
        source_paths=(str(Path(path)),),
        embedded_dvhs=embedded,
        basis=(DoseBasis.ONE_FRACTION if summation_type is DoseSummationType.FRACTION
               else DoseBasis.TOTAL),
    )
    return grid, findings + _implausible(grid, scaling, path)
