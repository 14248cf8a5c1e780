"""The typed, unit-carrying data model the loader produces.

Everything here is converted once, in the loader: doses in Gy (DoseGridScaling
applied, DoseUnits checked), positions in mm in the DICOM patient coordinate
system (LPS), dose grids re-ordered so that every axis is ascending. Nothing
downstream reads a pydicom dataset.

Conventions
-----------
* A :class:`DoseGrid` stores ``dose_gy[k, j, i]`` at patient position
  ``(x_mm[i], y_mm[j], z_mm[k])``; ``x_mm``, ``y_mm`` and ``z_mm`` are strictly
  ascending (the loader flips axes for FFS/HFP/FFP and descending frame offsets).
* A :class:`Contour` is one closed planar polygon on an axial plane ``z_mm``;
  several contours of one ROI on one plane combine by the even-odd rule (holes).
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

import numpy as np
import numpy.typing as npt

from rtcheck.dicom.plan_model import (
    Beam,
    DeliveredBeam,
    Plan,
    Prescription,
    TreatmentRecord,
)
from rtcheck.findings import Finding

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "Beam",
    "Case",
    "Contour",
    "DeliveredBeam",
    "DoseBasis",
    "DoseGrid",
    "DoseSummationType",
    "EmbeddedDVH",
    "FloatArray",
    "ImageSeries",
    "LoadResult",
    "Plan",
    "Prescription",
    "Structure",
    "StructureSet",
    "TreatmentRecord",
]


def _frozen_array(values: object, name: str, ndim: int) -> FloatArray:
    arr = np.array(values, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    arr.setflags(write=False)
    return arr


class DoseSummationType(StrEnum):
    """DICOM Dose Summation Type (3004,000A), PS3.3 C.8.8.3."""

    PLAN = "PLAN"
    MULTI_PLAN = "MULTI_PLAN"
    FRACTION = "FRACTION"
    BEAM = "BEAM"
    BRACHY = "BRACHY"
    FRACTION_SESSION = "FRACTION_SESSION"
    BEAM_SESSION = "BEAM_SESSION"
    BRACHY_SESSION = "BRACHY_SESSION"
    CONTROL_POINT = "CONTROL_POINT"
    RECORD = "RECORD"


class DoseBasis(StrEnum):
    """What a stored dose grid stands for, after the loader's conversion.

    ``TOTAL`` is the whole course (a PLAN dose, the sum of BEAM doses, or a FRACTION
    dose multiplied by the planned number of fractions). ``ONE_FRACTION`` is a FRACTION
    dose kept as stored because no plan gives the number of fractions: its values are
    per fraction, so total-dose limits, prescriptions and BED/EQD2 cannot be applied.
    """

    TOTAL = "TOTAL"
    ONE_FRACTION = "ONE_FRACTION"


#: Above this a grid maximum is not a dose but an encoding error (a DoseGridScaling of
#: 1e300, a wrong DoseUnits...): no external-beam or brachytherapy course prescribes
#: anywhere near 1000 Gy. rtcheck's own sanity bound, not a published limit.
MAX_PLAUSIBLE_DOSE_GY = 1000.0


@dataclass(frozen=True)
class EmbeddedDVH:
    """A DVH stored by the planning system in the RTDOSE DVH Sequence (3004,0050).

    Attributes
    ----------
    roi_number
        The referenced ROI (DVHReferencedROISequence).
    dose_edges_gy
        Lower dose edge of each bin (Gy; DVHDoseScaling and DoseUnits applied),
        length ``n``; bin ``i`` spans ``dose_edges_gy[i] .. dose_edges_gy[i] + width_i``.
    volume_cc
        Cumulative volume receiving at least ``dose_edges_gy[i]`` (cc), length ``n``.
        Differential DVHs are converted to cumulative by the loader.
    declared_min_gy, declared_mean_gy, declared_max_gy
        DVHMinimumDose/DVHMeanDose/DVHMaximumDose as stored (they are known to be
        in % of prescription in some Eclipse exports despite DoseUnits GY; compare
        with the curve before trusting them). ``None`` when absent.
    """

    roi_number: int
    dose_edges_gy: FloatArray
    volume_cc: FloatArray
    declared_min_gy: float | None = None
    declared_mean_gy: float | None = None
    declared_max_gy: float | None = None

    def __post_init__(self) -> None:
        edges = _frozen_array(self.dose_edges_gy, "dose_edges_gy", 1)
        vol = _frozen_array(self.volume_cc, "volume_cc", 1)
        if edges.shape != vol.shape:
            raise ValueError("dose_edges_gy and volume_cc must have the same length")
        object.__setattr__(self, "dose_edges_gy", edges)
        object.__setattr__(self, "volume_cc", vol)

    @property
    def total_volume_cc(self) -> float:
        return float(self.volume_cc[0]) if self.volume_cc.size else 0.0


@dataclass(frozen=True)
class DoseGrid:
    """A 3-D dose distribution in Gy on an axis-aligned grid.

    Attributes
    ----------
    x_mm, y_mm, z_mm
        Ascending voxel-centre coordinates (mm, patient LPS). ``x_mm`` and ``y_mm``
        are uniformly spaced; ``z_mm`` may be non-uniform.
    dose_gy
        Dose (Gy), shape ``(len(z_mm), len(y_mm), len(x_mm))``, read-only.
    dose_type
        DICOM DoseType: ``PHYSICAL``, ``EFFECTIVE`` (RBE-weighted) or ``ERROR``.
    summation_type
        DICOM DoseSummationType of the stored object (after summation by the loader
        this is the type of what the grid now represents, e.g. ``PLAN``).
    frame_of_reference_uid, sop_instance_uid, referenced_plan_uid
        Identifiers for linking (empty string when absent).
    referenced_beam_numbers
        Beam numbers for BEAM doses (ReferencedBeamSequence), else empty.
    source_paths
        The RTDOSE file(s) this grid came from (several after beam summation).
    embedded_dvhs
        DVHs stored by the planning system in the RTDOSE (empty when none).
    basis
        Whether the values are the whole course or one fraction kept as stored
        (:class:`DoseBasis`); set by the loader.
    """

    x_mm: FloatArray
    y_mm: FloatArray
    z_mm: FloatArray
    dose_gy: FloatArray
    dose_type: str
    summation_type: DoseSummationType
    frame_of_reference_uid: str
    sop_instance_uid: str
    referenced_plan_uid: str = ""
    referenced_beam_numbers: tuple[int, ...] = ()
    source_paths: tuple[str, ...] = ()
    embedded_dvhs: tuple[EmbeddedDVH, ...] = ()
    basis: DoseBasis = DoseBasis.TOTAL

    def __post_init__(self) -> None:
        if not isinstance(self.basis, DoseBasis):
            object.__setattr__(self, "basis", DoseBasis(self.basis))
        for name in ("x_mm", "y_mm", "z_mm"):
            axis = _frozen_array(getattr(self, name), name, 1)
            if axis.size < 1:
                raise ValueError(f"{name} is empty")
            if axis.size > 1 and not np.all(np.diff(axis) > 0):
                raise ValueError(f"{name} must be strictly ascending")
            object.__setattr__(self, name, axis)
        dose = _frozen_array(self.dose_gy, "dose_gy", 3)
        expected = (self.z_mm.size, self.y_mm.size, self.x_mm.size)
        if dose.shape != expected:
            raise ValueError(f"dose_gy shape {dose.shape} does not match axes {expected}")
        object.__setattr__(self, "dose_gy", dose)
        if not isinstance(self.summation_type, DoseSummationType):
            object.__setattr__(self, "summation_type", DoseSummationType(self.summation_type))

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(nz, ny, nx)``."""
        return (self.z_mm.size, self.y_mm.size, self.x_mm.size)

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel spacing ``(dx, dy, dz)`` in mm (dz is the median for non-uniform z)."""

        def step(a: FloatArray) -> float:
            return statistics.median(np.diff(a).tolist()) if a.size > 1 else 0.0

        return (step(self.x_mm), step(self.y_mm), step(self.z_mm))

    @cached_property
    def max_dose_gy(self) -> float:
        """Highest dose of the grid (Gy), computed once (the array is read-only)."""
        return float(self.dose_gy.max())

    @cached_property
    def min_dose_gy(self) -> float:
        """Lowest dose of the grid (Gy), computed once (the array is read-only)."""
        return float(self.dose_gy.min())

    def same_geometry(self, other: DoseGrid, tol_mm: float = 1e-3) -> bool:
        """True when both grids have identical axes (within ``tol_mm``)."""
        return all(
            a.shape == b.shape and bool(np.allclose(a, b, atol=tol_mm, rtol=0))
            for a, b in ((self.x_mm, other.x_mm), (self.y_mm, other.y_mm), (self.z_mm, other.z_mm))
        )


@dataclass(frozen=True)
class Contour:
    """One closed planar polygon on the axial plane ``z_mm``.

    ``points_xy_mm`` has shape ``(n, 2)``; the closing edge is implicit.
    """

    z_mm: float
    points_xy_mm: FloatArray

    def __post_init__(self) -> None:
        pts = _frozen_array(self.points_xy_mm, "points_xy_mm", 2)
        if pts.shape[1] != 2:
            raise ValueError(f"points_xy_mm must have shape (n, 2), got {pts.shape}")
        object.__setattr__(self, "points_xy_mm", pts)
        object.__setattr__(self, "z_mm", float(self.z_mm))

    @property
    def area_mm2(self) -> float:
        """Unsigned polygon area by the shoelace formula (mm²)."""
        x, y = self.points_xy_mm[:, 0], self.points_xy_mm[:, 1]
        return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


@dataclass(frozen=True)
class Structure:
    """One ROI of an RT Structure Set.

    Attributes
    ----------
    roi_number, name
        ROINumber and ROIName.
    interpreted_type
        RTROIInterpretedType (``PTV``, ``ORGAN``, ``EXTERNAL``...; empty when absent).
    color_rgb
        ROIDisplayColor, or ``None``.
    contours
        CLOSED_PLANAR contours sorted by ``z_mm`` (several per plane allowed).
    points_mm
        POINT contours, shape ``(n, 3)`` (empty for volumetric ROIs).
    frame_of_reference_uid
        ReferencedFrameOfReferenceUID of the ROI.
    """

    roi_number: int
    name: str
    interpreted_type: str = ""
    color_rgb: tuple[int, int, int] | None = None
    contours: tuple[Contour, ...] = ()
    points_mm: FloatArray = field(default_factory=lambda: np.zeros((0, 3)))
    frame_of_reference_uid: str = ""

    def __post_init__(self) -> None:
        pts = _frozen_array(np.reshape(self.points_mm, (-1, 3)), "points_mm", 2)
        object.__setattr__(self, "points_mm", pts)
        object.__setattr__(self, "contours", tuple(sorted(self.contours, key=lambda c: c.z_mm)))

    @property
    def is_empty(self) -> bool:
        """True when the ROI has neither contours nor points."""
        return not self.contours and self.points_mm.shape[0] == 0

    @property
    def is_point(self) -> bool:
        """True for a POINT ROI (marker) without contours."""
        return not self.contours and self.points_mm.shape[0] > 0

    @property
    def plane_z_mm(self) -> FloatArray:
        """Distinct contour plane positions (mm), ascending."""
        return np.array(sorted({c.z_mm for c in self.contours}), dtype=np.float64)


@dataclass(frozen=True)
class StructureSet:
    """An RT Structure Set: its identifiers and ROIs."""

    sop_instance_uid: str
    label: str
    frame_of_reference_uid: str
    structures: tuple[Structure, ...]
    referenced_series_uid: str = ""
    source_path: str = ""

    def by_name(self, name: str) -> Structure | None:
        """Exact, then case-insensitive ROI name lookup."""
        for s in self.structures:
            if s.name == name:
                return s
        folded = name.casefold()
        for s in self.structures:
            if s.name.casefold() == folded:
                return s
        return None


@dataclass(frozen=True)
class ImageSeries:
    """CT images found, summarised (rtcheck does not need the pixels)."""

    series_instance_uid: str
    frame_of_reference_uid: str
    n_images: int
    z_min_mm: float
    z_max_mm: float


@dataclass(frozen=True)
class Case:
    """One plan (or one structure set + dose pair) and everything linked to it.

    ``dose`` is the total dose for the plan in Gy as rtcheck will evaluate it
    (a PLAN dose, the sum of BEAM doses, or a FRACTION dose × fractions); what
    was done is recorded in ``findings`` (codes ``DOSE_*``).
    """

    label: str
    plan: Plan | None
    dose: DoseGrid | None
    structure_set: StructureSet | None
    records: tuple[TreatmentRecord, ...] = ()
    images: tuple[ImageSeries, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def folder(self) -> str:
        """Where the case's plan, structure and dose files are: their folder(s), in that
        order, without repeats and joined by ", "; "" when the case has no file."""
        paths = [self.plan.source_path if self.plan else "",
                 self.structure_set.source_path if self.structure_set else "",
                 *(self.dose.source_paths if self.dose else ())]
        folders = dict.fromkeys(os.path.dirname(p) or "." for p in paths if p)
        return ", ".join(folders)

    @property
    def frame_of_reference_uid(self) -> str:
        for obj in (self.dose, self.structure_set, self.plan):
            uid = getattr(obj, "frame_of_reference_uid", "") if obj is not None else ""
            if uid:
                return str(uid)
        return ""


@dataclass(frozen=True)
class LoadResult:
    """Everything a load found: the cases and the findings not tied to one case."""

    cases: tuple[Case, ...]
    findings: tuple[Finding, ...] = ()
    ignored_files: tuple[str, ...] = ()
