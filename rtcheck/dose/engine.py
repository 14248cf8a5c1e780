"""The DVH engine: structure + dose grid → :class:`StructureDVH`.

``compute_dvh`` samples the structure (:func:`rtcheck.dose.sampling.sample_structure`:
exact contour volume with the end-cap policy of
:class:`~rtcheck.dose.settings.DvhSettings`, adaptive sub-voxel sampling, even-odd
polygons, trilinear dose interpolation) and builds the cumulative DVH
(:class:`~rtcheck.dose.dvh.CumulativeDVH`) from the volume-weighted samples. Its
end points are the structure's exact Dmax and Dmin (dose-grid nodes inside the
structure and its surface, end caps included).

Nothing is ever silently truncated or zero-filled:

* an empty ROI → ``STRUCTURE_EMPTY`` (ERROR), a POINT ROI → ``STRUCTURE_IS_POINT``
  (ERROR); no DVH, ``evaluable`` is False;
* a structure partly outside the dose grid → ``STRUCTURE_OUTSIDE_DOSE_GRID``
  (ERROR, with the outside fraction and volume): the DVH describes the in-grid
  part (``dvh.total_volume_cc == in_grid_volume_cc``) and every metric of the
  structure must be flagged by the caller (``complete`` is False); wholly
  outside → no DVH.

References
----------
Nelms BE et al. Methods, software and datasets to verify DVH calculations
against analytical values. Med Phys 2015;42(8):4435-4448.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rtcheck.dicom.model import DoseGrid, Structure, StructureSet
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.geometry import median_plane_spacing_mm
from rtcheck.dose.sampling import StructureSamples, sample_structure
from rtcheck.dose.settings import DvhSettings
from rtcheck.findings import Finding, Severity


@dataclass(frozen=True)
class StructureDVH:
    """The DVH of one structure and everything needed to judge it.

    Attributes
    ----------
    name, roi_number
        ROIName and ROINumber.
    volume_cc
        Exact volume from the contours (cc; 0 for empty and POINT ROIs).
    dvh
        Cumulative DVH of the in-grid part, or ``None`` when nothing is
        evaluable (never a silent 0 Gy curve).
    samples
        The volume-weighted dose samples (``samples.dose_gy``,
        ``samples.weight_cc``: equal-length arrays whose weights add up to the
        in-grid volume) for voxel-by-voxel recomputation (BED, EQD2); ``None``
        for empty and POINT ROIs.
    findings
        Everything found on the way; an ERROR means the metrics of this
        structure cannot pass.
    """

    name: str
    roi_number: int
    volume_cc: float
    dvh: CumulativeDVH | None
    samples: StructureSamples | None
    findings: tuple[Finding, ...] = ()

    @property
    def evaluable(self) -> bool:
        """True when a DVH exists (possibly of a partial volume: see ``complete``)."""
        return self.dvh is not None

    @property
    def complete(self) -> bool:
        """True when the DVH exists and covers the whole structure without ERROR findings."""
        return self.evaluable and not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def in_grid_volume_cc(self) -> float:
        """Volume covered by the dose grid (cc)."""
        return self.samples.in_grid_volume_cc if self.samples is not None else 0.0

    @property
    def outside_fraction(self) -> float:
        """Fraction of the contour volume outside the dose grid (0..1)."""
        return self.samples.outside_fraction if self.samples is not None else 0.0

    def to_dicompyler(self, bin_width_gy: float = 0.01) -> Any:
        """The DVH as a :class:`dicompylercore.dvh.DVH` (cumulative, Gy, cm³).

        Raises ``ValueError`` when the structure is not evaluable.
        """
        if self.dvh is None:
            raise ValueError(f"structure {self.name!r} has no DVH")
        return self.dvh.to_dicompyler(name=self.name, bin_width_gy=bin_width_gy)


def _partial_reason(samples: StructureSamples) -> str:
    if samples.outside_volume_cc > 0:
        return (f"{samples.outside_volume_cc:.4g} cc ({100 * samples.outside_fraction:.2f} %) "
                "of the structure lies outside the dose grid: the curve is of the in-grid part")
    errors = [f for f in samples.findings if f.severity is Severity.ERROR]
    return f"{errors[0].code}: {errors[0].message}" if errors else ""


def _curve(samples: StructureSamples) -> CumulativeDVH:
    """CumulativeDVH of the samples with the exact Dmax/Dmin as its end points.

    The curve of a structure that is not wholly sampled carries ``partial_reason``.
    """
    dvh = CumulativeDVH.from_samples(samples.dose_gy, samples.weight_cc)
    dose = dvh.dose_gy.copy()
    if samples.dmax_gy is not None:
        dose[0] = max(dose[0], samples.dmax_gy)
    if samples.dmin_gy is not None:
        dose[-1] = min(dose[-1], samples.dmin_gy)
    return CumulativeDVH(
        volume_cc=dvh.volume_cc, dose_gy=dose, total_volume_cc=dvh.total_volume_cc,
        mean_gy=dvh.mean_gy, partial_reason=_partial_reason(samples),
    )


def compute_dvh(
    structure: Structure,
    grid: DoseGrid,
    settings: DvhSettings | None = None,
    default_plane_spacing_mm: float | None = None,
) -> StructureDVH:
    """Compute the DVH of one structure on ``grid``.

    Parameters
    ----------
    structure
        The ROI.
    grid
        The dose grid (Gy), in the structure's frame of reference.
    settings
        DVH settings (default :class:`DvhSettings`).
    default_plane_spacing_mm
        Slab thickness for a single-plane structure when the settings give none
        (``compute_dvhs`` passes the structure set's median plane spacing).
    """
    settings = settings or DvhSettings()
    name, roi = structure.name, structure.roi_number
    if structure.is_point:
        finding = Finding(
            "STRUCTURE_IS_POINT", Severity.ERROR,
            "a POINT ROI (marker) has no volume: no DVH", subject=name)
        return StructureDVH(name, roi, 0.0, None, None, (finding,))
    if structure.is_empty or not structure.contours:
        finding = Finding(
            "STRUCTURE_EMPTY", Severity.ERROR,
            "the ROI has no contours: no DVH (contour it or remove the constraint)", subject=name)
        return StructureDVH(name, roi, 0.0, None, None, (finding,))
    samples = sample_structure(structure, grid, settings, default_plane_spacing_mm)
    dvh = _curve(samples) if samples.n_samples else None
    return StructureDVH(name, roi, samples.volume_cc, dvh, samples, samples.findings)


def compute_dvhs(
    structure_set: StructureSet,
    grid: DoseGrid,
    settings: DvhSettings | None = None,
    names: Iterable[str] | None = None,
) -> tuple[StructureDVH, ...]:
    """DVHs of the structures of ``structure_set`` (all, or those named).

    ``names`` are matched by :meth:`StructureSet.by_name` (exact, then
    case-insensitive); names not found are skipped, so callers check
    ``by_name`` themselves to report a missing structure. The result follows
    the order of the structure set (each structure once).
    """
    settings = settings or DvhSettings()
    if names is None:
        chosen = list(structure_set.structures)
    else:
        wanted = {id(s) for n in names if (s := structure_set.by_name(n)) is not None}
        chosen = [s for s in structure_set.structures if id(s) in wanted]
    spacing = median_plane_spacing_mm(structure_set.structures) if chosen else None
    return tuple(compute_dvh(s, grid, settings, spacing) for s in chosen)

