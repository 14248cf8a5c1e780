"""Turn the RTDOSE objects of one plan into the one total dose rtcheck evaluates.

Rules (DoseSummationType, PS3.3 C.8.8.3):

* one ``PLAN`` (or ``MULTI_PLAN``) dose: used as is; ``BEAM`` doses of the same
  plan, when present, are summed only to cross-check it (max |difference| reported);
* several ``PLAN`` doses: ambiguous → no dose (the case is NOT EVALUATED);
* only ``BEAM`` doses: summed (identical grids are added; others are resampled
  by trilinear interpolation onto the first beam's grid); the summed beams are
  compared with the plan's treatment beams and a missing beam is an ERROR (the
  incomplete sum is not used); two
  doses for one beam, or beams in different frames of reference, are refused
  (ERROR, no dose) rather than summed;
* a ``FRACTION`` dose is multiplied by the plan's NumberOfFractionsPlanned; without
  a plan it is kept as stored, with a finding;
* other types (BRACHY, *_SESSION, CONTROL_POINT, RECORD) are not used.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from rtcheck.dicom.model import DoseBasis, DoseGrid, DoseSummationType, FloatArray, Plan
from rtcheck.findings import Finding, Severity

#: Beam sums that differ from the plan dose by more than this fraction of the
#: plan maximum are flagged (a 1 % tolerance, the usual dose-comparison level).
CROSSCHECK_TOLERANCE = 0.01

_TOTAL_TYPES = (DoseSummationType.PLAN, DoseSummationType.MULTI_PLAN)


def _fractional_index(axis: FloatArray, values: FloatArray) -> FloatArray:
    return np.interp(
        values, axis, np.arange(axis.size, dtype=np.float64), left=-1.0, right=axis.size
    )


def resample(grid: DoseGrid, onto: DoseGrid) -> FloatArray:
    """Dose of ``grid`` trilinearly interpolated at the voxels of ``onto`` (0 outside)."""
    if grid.same_geometry(onto):
        return grid.dose_gy
    zz, yy, xx = np.meshgrid(
        _fractional_index(grid.z_mm, onto.z_mm),
        _fractional_index(grid.y_mm, onto.y_mm),
        _fractional_index(grid.x_mm, onto.x_mm),
        indexing="ij",
    )
    return np.asarray(
        _map_coordinates()(grid.dose_gy, [zz, yy, xx], order=1, mode="constant", cval=0.0)
    )


def _sum(grids: list[DoseGrid]) -> tuple[DoseGrid, list[Finding]]:
    findings: list[Finding] = []
    reference = grids[0]
    total = np.array(reference.dose_gy, dtype=np.float64)
    for other in grids[1:]:
        if not other.same_geometry(reference):
            findings.append(
                Finding(
                    "DOSE_BEAM_GRIDS_DIFFER",
                    Severity.WARNING,
                    "beam doses are on different grids; resampled onto the first beam's grid "
                    "(dose outside that grid is lost)",
                    path=other.source_paths[0] if other.source_paths else None,
                )
            )
        total += resample(other, reference)
    beams = tuple(sorted(b for g in grids for b in g.referenced_beam_numbers))
    summed = replace(
        reference,
        dose_gy=total,
        summation_type=DoseSummationType.PLAN,
        sop_instance_uid="+".join(g.sop_instance_uid for g in grids),
        referenced_beam_numbers=beams,
        source_paths=tuple(p for g in grids for p in g.source_paths),
        embedded_dvhs=(),
    )
    return summed, findings


def _map_coordinates() -> Any:
    """scipy's map_coordinates, imported only when beam grids need resampling."""
    from scipy.ndimage import map_coordinates

    return map_coordinates


def _missing_beams(plan: Plan | None, beams: list[DoseGrid]) -> Finding | None:
    if plan is None:
        return None
    expected = {b.number for b in plan.beams if b.meterset_mu not in (None, 0.0)}
    present = {n for g in beams for n in g.referenced_beam_numbers}
    missing = sorted(expected - present)
    if not missing or not present:
        return None
    return Finding(
        "DOSE_BEAM_MISSING",
        Severity.ERROR,
        f"beam dose(s) for beam number(s) {missing} are missing; the sum would be incomplete, "
        "so no dose is used. Export every beam dose or the plan dose",
        subject=plan.label,
    )


def _unsummable(beams: list[DoseGrid], plan: Plan | None) -> Finding | None:
    """Why BEAM doses cannot be added up, or ``None``.

    Two doses for one beam number (a stale re-export left next to the new one) would
    count that beam twice; a dose for a beam the plan does not have belongs to another
    plan version; doses in different frames of reference (PS3.3 C.7.4.1) have no
    common coordinates. Either way the sum would be a plausible, wrong dose.
    """
    numbers = [n for g in beams for n in g.referenced_beam_numbers]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        paths = ", ".join(p for g in beams for p in g.source_paths
                          if set(g.referenced_beam_numbers) & set(repeated))
        return Finding(
            "DOSE_AMBIGUOUS",
            Severity.ERROR,
            f"several BEAM doses for beam number(s) {repeated} ({paths}); none is used — "
            "keep one dose per beam",
        )
    unknown = sorted(set(numbers) - {b.number for b in plan.beams}) if plan else []
    if unknown:
        return Finding(
            "DOSE_AMBIGUOUS",
            Severity.ERROR,
            f"BEAM dose(s) for beam number(s) {unknown}, which the plan does not have; none "
            "is used — remove the doses of other plans or plan versions",
        )
    frames = sorted({g.frame_of_reference_uid for g in beams if g.frame_of_reference_uid})
    if len(frames) > 1:
        return Finding(
            "FOR_MISMATCH",
            Severity.ERROR,
            f"BEAM doses are in different frames of reference ({'; '.join(frames)}); they "
            "cannot be summed and none is used. Re-export them from one plan",
        )
    return None


def _crosscheck(plan_dose: DoseGrid, beams: list[DoseGrid]) -> Finding:
    summed, _ = _sum(beams)
    diff = float(np.max(np.abs(resample(summed, plan_dose) - plan_dose.dose_gy)))
    limit = CROSSCHECK_TOLERANCE * plan_dose.max_dose_gy
    ok = diff <= limit
    return Finding(
        "DOSE_BEAM_CROSSCHECK",
        Severity.INFO if ok else Severity.WARNING,
        f"sum of {len(beams)} beam dose(s) differs from the plan dose by at most {diff:.4g} Gy "
        f"({'within' if ok else 'above'} {CROSSCHECK_TOLERANCE:.0%} of the plan maximum)",
    )


def _unsupported(by_type: dict[DoseSummationType, list[DoseGrid]]) -> list[Finding]:
    """A ``DOSE_SUMMATION_UNSUPPORTED`` warning per DoseSummationType rtcheck does not use."""
    used = (*_TOTAL_TYPES, DoseSummationType.BEAM, DoseSummationType.FRACTION)
    return [
        Finding(
            "DOSE_SUMMATION_UNSUPPORTED",
            Severity.WARNING,
            f"{len(grids)} RTDOSE with DoseSummationType {kind.value} not used",
            path=grids[0].source_paths[0] if grids[0].source_paths else None,
        )
        for kind, grids in by_type.items()
        if kind not in used
    ]


def _from_total(total: DoseGrid, beams: list[DoseGrid]) -> tuple[DoseGrid, list[Finding]]:
    """The one plan-level dose, used as is; ``beams`` only cross-check it."""
    findings: list[Finding] = []
    if total.summation_type is DoseSummationType.MULTI_PLAN:
        findings.append(
            Finding(
                "DOSE_MULTI_PLAN",
                Severity.WARNING,
                "dose is a MULTI_PLAN sum; checked as the plan dose",
            )
        )
    if beams:
        findings.append(_crosscheck(total, beams))
    return total, findings


def _from_beams(
    beams: list[DoseGrid], plan: Plan | None
) -> tuple[DoseGrid | None, list[Finding]]:
    """The sum of the BEAM doses, or ``None`` when they cannot be summed or one is missing."""
    refused = _unsummable(beams, plan)
    if refused is not None:
        return None, [refused]
    summed, findings = _sum(beams)
    findings.append(
        Finding(
            "DOSE_BEAMS_SUMMED",
            Severity.INFO,
            f"plan dose built by summing {len(beams)} BEAM doses",
        )
    )
    missing = _missing_beams(plan, beams)
    if missing is not None:
        findings.append(missing)
        return None, findings  # an incomplete sum is a plausible, too-low dose
    return summed, findings


def _from_fractions(
    fractions: list[DoseGrid], plan: Plan | None
) -> tuple[DoseGrid | None, list[Finding]]:
    """The FRACTION dose times the planned fractions (as stored without a plan)."""
    if len(fractions) > 1:
        return None, [
            Finding(
                "DOSE_AMBIGUOUS",
                Severity.ERROR,
                f"{len(fractions)} FRACTION doses for one plan",
            )
        ]
    fraction = fractions[0]
    if plan is None or plan.fractions_planned is None:
        return fraction, [
            Finding(
                "DOSE_FRACTION_NOT_SCALED",
                Severity.WARNING,
                "dose is a single-FRACTION dose and no plan gives the number of fractions; "
                "values are per fraction, as stored",
            )
        ]
    n = plan.fractions_planned
    scaled = replace(
        fraction, dose_gy=fraction.dose_gy * n, summation_type=DoseSummationType.PLAN,
        basis=DoseBasis.TOTAL,
    )
    return scaled, [
        Finding(
            "DOSE_FRACTION_SCALED",
            Severity.INFO,
            f"FRACTION dose multiplied by {n} planned fractions",
        )
    ]


def combine_doses(
    doses: list[DoseGrid], plan: Plan | None
) -> tuple[DoseGrid | None, list[Finding]]:
    """Choose or build the total plan dose from the RTDOSE objects of one plan.

    Parameters
    ----------
    doses
        The RTDOSE objects of the plan (any DoseSummationType).
    plan
        The plan, when known: its beams check a BEAM sum, its fractions scale a
        FRACTION dose.

    Returns
    -------
    tuple
        The dose to evaluate (``None`` when there is none or it is ambiguous or
        incomplete) and the findings explaining the choice (module docstring).
    """
    if not doses:
        return None, []
    by_type: dict[DoseSummationType, list[DoseGrid]] = {}
    for grid in doses:
        by_type.setdefault(grid.summation_type, []).append(grid)
    totals = [g for t in _TOTAL_TYPES for g in by_type.get(t, [])]
    beams = by_type.get(DoseSummationType.BEAM, [])
    fractions = by_type.get(DoseSummationType.FRACTION, [])
    findings = _unsupported(by_type)
    if len(totals) > 1:
        findings.append(
            Finding(
                "DOSE_AMBIGUOUS",
                Severity.ERROR,
                f"{len(totals)} plan-level RTDOSE objects for one plan; keep only the one to check",
            )
        )
        return None, findings
    chosen: tuple[DoseGrid | None, list[Finding]]
    if totals:
        chosen = _from_total(totals[0], beams)
    elif beams:
        chosen = _from_beams(beams, plan)
    elif fractions:
        chosen = _from_fractions(fractions, plan)
    else:
        return None, findings
    return chosen[0], findings + chosen[1]
