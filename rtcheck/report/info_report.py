"""Render what the loader found (``rtcheck info``) as text or a JSON-ready dict."""

from __future__ import annotations

from typing import Any

from rtcheck.dicom.model import Case, DoseGrid, LoadResult, Plan, StructureSet, TreatmentRecord
from rtcheck.findings import Finding


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def plan_dict(plan: Plan) -> dict[str, Any]:
    rx = plan.prescription
    return {
        "sop_instance_uid": plan.sop_instance_uid,
        "label": plan.label,
        "name": plan.name,
        "approval_status": plan.approval_status,
        "ion": plan.is_ion,
        "prescription": None
        if rx is None
        else {
            "total_dose_gy": _round(rx.total_dose_gy),
            "fractions": rx.fractions,
            "dose_per_fraction_gy": _round(rx.dose_per_fraction_gy),
            "site": rx.site,
        },
        "fractions_planned": plan.fractions_planned,
        "fraction_pattern": plan.fraction_pattern,
        "beams": [
            {
                "number": b.number,
                "name": b.name,
                "type": b.beam_type,
                "radiation": b.radiation_type,
                "energy": b.energy,
                "machine": b.machine,
                "meterset_mu": _round(b.meterset_mu, 2),
                "beam_dose_gy": _round(b.beam_dose_gy),
                "control_points": b.control_points,
            }
            for b in plan.beams
        ],
        "path": plan.source_path,
    }


def dose_dict(dose: DoseGrid) -> dict[str, Any]:
    """The dose grid in rtcheck's one JSON vocabulary (:class:`rtcheck.evaluate.DoseSummary`)."""
    from rtcheck.evaluate.case import DoseSummary

    return DoseSummary.of(dose).to_dict()


def structures_dict(ss: StructureSet) -> dict[str, Any]:
    return {
        "sop_instance_uid": ss.sop_instance_uid,
        "label": ss.label,
        "path": ss.source_path,
        "structures": [
            {
                "roi_number": s.roi_number,
                "name": s.name,
                "type": s.interpreted_type,
                "contours": len(s.contours),
                "planes": int(s.plane_z_mm.size),
                "points": int(s.points_mm.shape[0]),
                "empty": s.is_empty,
                "color_rgb": list(s.color_rgb) if s.color_rgb else None,
            }
            for s in ss.structures
        ],
    }


def record_dict(record: TreatmentRecord) -> dict[str, Any]:
    return {
        "fraction": record.fraction_number,
        "delivered": None
        if record.delivery_datetime is None
        else record.delivery_datetime.isoformat(),
        "beams": [
            {
                "number": b.number,
                "name": b.name,
                "meterset_mu": _round(b.delivered_meterset_mu, 2),
                "termination": b.termination_status,
            }
            for b in record.beams
        ],
        "path": record.source_path,
    }


def case_dict(case: Case) -> dict[str, Any]:
    return {
        "label": case.label,
        "frame_of_reference_uid": case.frame_of_reference_uid,
        "plan": None if case.plan is None else plan_dict(case.plan),
        "dose": None if case.dose is None else dose_dict(case.dose),
        "structure_set": None
        if case.structure_set is None
        else structures_dict(case.structure_set),
        "records": [record_dict(r) for r in case.records],
        "images": [
            {"series_instance_uid": i.series_instance_uid, "images": i.n_images}
            for i in case.images
        ],
        "findings": [f.to_dict() for f in case.findings],
    }


def info_dict(result: LoadResult) -> dict[str, Any]:
    """The whole load as a JSON-ready dict."""
    return {
        "cases": [case_dict(c) for c in result.cases],
        "findings": [f.to_dict() for f in result.findings],
        "ignored_files": list(result.ignored_files),
    }


def _plan_lines(plan: Plan) -> list[str]:
    rx = plan.prescription
    rx_text = (
        f"{rx.total_dose_gy:g} Gy in {rx.fractions} fx ({rx.dose_per_fraction_gy:g} Gy/fx)"
        if rx
        else "none found"
    )
    lines = [
        f"  plan      {plan.label!r} {plan.name!r} [{plan.approval_status or 'no approval status'}]"
        f"{' (ion)' if plan.is_ion else ''}",
        f"  Rx        {rx_text}",
    ]
    for b in plan.beams:
        mu = "-" if b.meterset_mu is None else f"{b.meterset_mu:.1f} MU"
        lines.append(
            f"    beam {b.number:<3} {b.name:<14} {b.beam_type:<8} {b.radiation_type:<7} "
            f"{b.energy:<8} {b.machine:<10} {mu}"
        )
    return lines


def _dose_lines(dose: DoseGrid) -> list[str]:
    nx, ny, nz = reversed(dose.shape)
    dx, dy, dz = dose.spacing_mm
    return [
        f"  dose      {nx}x{ny}x{nz} voxels at {dx:g}x{dy:g}x{dz:g} mm, "
        f"{dose.summation_type.value} "
        f"{dose.dose_type}, max {dose.max_dose_gy:.3f} Gy"
        + (f", {len(dose.embedded_dvhs)} TPS DVHs" if dose.embedded_dvhs else "")
    ]


def _structure_lines(ss: StructureSet) -> list[str]:
    lines = [f"  structures {ss.label!r}: {len(ss.structures)} ROIs"]
    for s in ss.structures:
        what = (
            "EMPTY"
            if s.is_empty
            else (
                f"{int(s.points_mm.shape[0])} point(s)"
                if s.is_point
                else f"{len(s.contours)} contours"
            )
        )
        lines.append(f"    {s.roi_number:>3} {s.name:<24} {s.interpreted_type or '-':<10} {what}")
    return lines


def _finding_lines(findings: tuple[Finding, ...], indent: str) -> list[str]:
    return [f"{indent}{f}" for f in findings]


def render_text(result: LoadResult) -> str:
    """Human-readable summary of cases, links and findings."""
    lines: list[str] = [f"{len(result.cases)} case(s) found"]
    for i, case in enumerate(result.cases, 1):
        lines.append("")
        lines.append(
            f"case {i}: {case.label}  [{case.folder or '?'}]  "
            f"(frame of reference {case.frame_of_reference_uid or '?'})"
        )
        lines.extend(_plan_lines(case.plan) if case.plan else ["  plan      none"])
        lines.extend(_dose_lines(case.dose) if case.dose else ["  dose      none"])
        lines.extend(
            _structure_lines(case.structure_set) if case.structure_set else ["  structures none"]
        )
        if case.records:
            lines.append(f"  records   {len(case.records)} treatment record(s)")
            for r in case.records:
                when = r.delivery_datetime.isoformat() if r.delivery_datetime else "no date"
                lines.append(
                    f"    fraction {r.fraction_number or '?'}: {when}, {len(r.beams)} beam(s)"
                )
        for series in case.images:
            lines.append(
                f"  images    CT series {series.series_instance_uid}: {series.n_images} image(s)"
            )
        if case.findings:
            lines.append("  findings")
            lines.extend(_finding_lines(case.findings, "    "))
    if result.ignored_files:
        lines.append("")
        lines.append(
            f"ignored {len(result.ignored_files)} file(s) (not DICOM, or not used by rtcheck)"
        )
        lines.extend(f"  {path}" for path in result.ignored_files)
    if result.findings:
        lines.append("")
        lines.append("findings not tied to a case")
        lines.extend(_finding_lines(result.findings, "  "))
    return "\n".join(lines)
