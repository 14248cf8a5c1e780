"""Link plans, doses, structure sets, records and CT into cases by their UIDs.

* RTDOSE → RTPLAN by ReferencedRTPlanSequence; RTPLAN → RTSTRUCT by
  ReferencedStructureSetSequence; records → RTPLAN by ReferencedRTPlanSequence.
* A plan that references no (present) structure set is paired with the only
  structure set sharing its FrameOfReferenceUID, with a warning.
* Doses whose plan is absent are grouped by the plan UID they reference and
  paired with the only structure set sharing their FrameOfReferenceUID (DVH-only
  work needs no plan).
* Every case must share one FrameOfReferenceUID; a mismatch is an ERROR finding,
  and a dose in another frame than the structures is not used (no DVH).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rtcheck.dicom.dose_sum import combine_doses
from rtcheck.dicom.model import Case, DoseGrid, ImageSeries, Plan, StructureSet, TreatmentRecord
from rtcheck.findings import Finding, Severity


@dataclass
class LinkInput:
    """Objects read from disk, keyed for linking (mutable while collecting)."""

    plans: list[Plan] = field(default_factory=list)
    doses: list[DoseGrid] = field(default_factory=list)
    structure_sets: list[StructureSet] = field(default_factory=list)
    records: list[TreatmentRecord] = field(default_factory=list)
    images: list[ImageSeries] = field(default_factory=list)
    patient_ids: dict[str, str] = field(default_factory=dict)  # SOPInstanceUID → PatientID
    object_findings: dict[str, list[Finding]] = field(
        default_factory=dict
    )  # SOPInstanceUID → findings


def _structure_for(plan: Plan, data: LinkInput) -> tuple[StructureSet | None, list[Finding]]:
    by_uid = {s.sop_instance_uid: s for s in data.structure_sets}
    ref = plan.referenced_structure_set_uid
    if ref and ref in by_uid:
        return by_uid[ref], []
    same_for = [
        s
        for s in data.structure_sets
        if plan.frame_of_reference_uid and s.frame_of_reference_uid == plan.frame_of_reference_uid
    ]
    if ref:
        finding = Finding(
            "LINK_STRUCTURE_SET_MISSING",
            Severity.ERROR,
            f"the plan references structure set {ref}, which is not in the input; add the RTSTRUCT",
            path=plan.source_path,
            subject=plan.label,
        )
        return None, [finding]
    if len(same_for) == 1:
        return same_for[0], [
            Finding(
                "LINK_BY_FRAME_OF_REFERENCE",
                Severity.WARNING,
                "plan has no ReferencedStructureSetSequence; paired with the only structure set in "
                "its frame of reference",
                path=plan.source_path,
                subject=plan.label,
            )
        ]
    return None, [
        Finding(
            "LINK_STRUCTURE_SET_MISSING",
            Severity.ERROR,
            "no structure set can be linked to the plan; add the RTSTRUCT it was planned on",
            path=plan.source_path,
            subject=plan.label,
        )
    ]


def _consistency(
    label: str, plan: Plan | None, dose: DoseGrid | None, ss: StructureSet | None, data: LinkInput
) -> list[Finding]:
    findings: list[Finding] = []
    uids = {
        kind: uid
        for kind, uid in (
            ("plan", plan.frame_of_reference_uid if plan else ""),
            ("dose", dose.frame_of_reference_uid if dose else ""),
            ("structure set", ss.frame_of_reference_uid if ss else ""),
        )
        if uid
    }
    if len(set(uids.values())) > 1:
        listed = "; ".join(f"{k} {v}" for k, v in uids.items())
        findings.append(
            Finding(
                "FOR_MISMATCH",
                Severity.ERROR,
                f"objects are in different frames of reference ({listed}); "
                + (
                    "dose and structures cannot be overlaid, so the dose is not used"
                    if _overlay_impossible(dose, ss)
                    else "the plan (prescription, beams) may not belong to this dose"
                )
                + ". Re-export them from one plan",
                subject=label,
            )
        )
    sop_uids = [o.sop_instance_uid for o in (plan, ss) if o is not None]
    if dose is not None:
        sop_uids.extend(dose.sop_instance_uid.split("+"))
    patients = {data.patient_ids[u] for u in sop_uids if data.patient_ids.get(u)}
    if len(patients) > 1:
        findings.append(
            Finding(
                "PATIENT_ID_MISMATCH",
                Severity.WARNING,
                f"objects carry different PatientIDs {sorted(patients)}; "
                "confirm they belong together",
                subject=label,
            )
        )
    return findings


def _overlay_impossible(dose: DoseGrid | None, ss: StructureSet | None) -> bool:
    """True when the dose and the structures are in different frames of reference
    (PS3.3 C.7.4.1): their coordinates cannot be compared, so the dose is not used."""
    return bool(
        dose is not None
        and ss is not None
        and dose.frame_of_reference_uid
        and ss.frame_of_reference_uid
        and dose.frame_of_reference_uid != ss.frame_of_reference_uid
    )


def _object_findings(data: LinkInput, *objects: object) -> list[Finding]:
    out: list[Finding] = []
    for obj in objects:
        for uid in str(getattr(obj, "sop_instance_uid", "") or "").split("+"):
            out.extend(data.object_findings.get(uid, []))
    return out


def _missing_beams(plan: Plan | None, records: list[TreatmentRecord]) -> list[Finding]:
    """A warning for each record that delivers fewer of the plan's treatment beams (meterset
    > 0, as in :func:`rtcheck.dicom.dose_sum.combine_doses`) than the plan has."""
    if plan is None:
        return []
    expected = {b.number for b in plan.beams if b.meterset_mu not in (None, 0.0)}
    out = []
    for record in records:
        missing = sorted(expected - {b.number for b in record.beams})
        if missing:
            out.append(Finding(
                "RECORD_BEAMS_MISSING", Severity.WARNING,
                f"treatment record of fraction {record.fraction_number or '?'} has no beam "
                f"session for plan beam(s) {', '.join(map(str, missing))} of "
                f"{', '.join(map(str, sorted(expected)))}: a partial fraction or an "
                "incomplete export; check the record",
                path=record.source_path,
            ))
    return out


def _make_case(
    label: str,
    plan: Plan | None,
    doses: list[DoseGrid],
    ss: StructureSet | None,
    records: list[TreatmentRecord],
    data: LinkInput,
    extra: list[Finding],
) -> Case:
    dose, dose_findings = combine_doses(doses, plan)
    consistency = _consistency(label, plan, dose, ss, data)
    if _overlay_impossible(dose, ss):
        dose = None  # never a DVH of structures laid on a dose from another frame
    for_uid = next(
        (o.frame_of_reference_uid for o in (dose, ss, plan) if o and o.frame_of_reference_uid), ""
    )
    images = tuple(i for i in data.images if for_uid and i.frame_of_reference_uid == for_uid)
    findings = [
        *extra,
        *_object_findings(data, plan, ss, *doses, *records),
        *dose_findings,
        *consistency,
    ]
    if plan is not None and not doses:
        findings.append(
            Finding(
                "DOSE_MISSING",
                Severity.WARNING,
                "no RTDOSE for this plan; no DVH can be computed",
                subject=label,
            )
        )
    findings.extend(_missing_beams(plan, records))
    records_sorted = tuple(
        sorted(records, key=lambda r: (r.fraction_number or 0, r.sop_instance_uid))
    )
    return Case(label, plan, dose, ss, records_sorted, images, tuple(findings))


def _records_by_plan(
    data: LinkInput, plan_uids: set[str]
) -> tuple[dict[str, list[TreatmentRecord]], list[Finding]]:
    """Treatment records by the plan they reference; a warning for each whose plan is absent."""
    by_plan: dict[str, list[TreatmentRecord]] = defaultdict(list)
    findings: list[Finding] = []
    for record in data.records:
        if record.referenced_plan_uid in plan_uids:
            by_plan[record.referenced_plan_uid].append(record)
        else:
            findings.append(
                Finding(
                    "LINK_RECORD_PLAN_MISSING",
                    Severity.WARNING,
                    f"treatment record references plan {record.referenced_plan_uid or '(none)'}, "
                    "which "
                    "is not in the input",
                    path=record.source_path,
                )
            )
    return by_plan, findings


def _planless_findings(doses: list[DoseGrid], candidates: list[StructureSet]) -> list[Finding]:
    """Why doses without their plan lack a prescription, or cannot be paired with structures."""
    out: list[Finding] = []
    if doses[0].referenced_plan_uid:
        out.append(
            Finding(
                "LINK_PLAN_MISSING",
                Severity.WARNING,
                f"dose references plan {doses[0].referenced_plan_uid}, "
                "which is not in the input; "
                "no prescription or fractionation is known",
                path=doses[0].source_paths[0] if doses[0].source_paths else None,
            )
        )
    if len(candidates) > 1:
        out.append(
            Finding(
                "LINK_AMBIGUOUS",
                Severity.ERROR,
                f"{len(candidates)} structure sets share the dose's frame of reference; "
                "pass the RTSTRUCT and RTDOSE to pair explicitly",
            )
        )
    return out


def _planless_case(doses: list[DoseGrid], data: LinkInput) -> Case:
    """A case of doses whose plan is absent, with the only structure set in their frame."""
    for_uid = doses[0].frame_of_reference_uid
    candidates = [s for s in data.structure_sets if s.frame_of_reference_uid == for_uid]
    extra = _planless_findings(doses, candidates)
    ss = candidates[0] if len(candidates) == 1 else None
    label = f"{ss.label or 'structures'} + dose" if ss else "dose without structures"
    return _make_case(label, None, doses, ss, [], data, extra)


def link(data: LinkInput) -> tuple[list[Case], list[Finding]]:
    """Group everything into cases; return the cases and the findings tied to none.

    Parameters
    ----------
    data
        Every object read from the input.

    Returns
    -------
    tuple
        One case per plan (sorted by label), then one per group of doses whose plan
        is absent, then one per structure set used by none of them; and the findings
        tied to no case (records whose plan is absent).
    """
    cases: list[Case] = []
    plan_uids = {p.sop_instance_uid for p in data.plans}
    doses_by_plan: dict[str, list[DoseGrid]] = defaultdict(list)
    for dose in data.doses:
        doses_by_plan[dose.referenced_plan_uid or dose.sop_instance_uid].append(dose)
    records_by_plan, global_findings = _records_by_plan(data, plan_uids)
    for plan in sorted(data.plans, key=lambda p: (p.label, p.sop_instance_uid)):
        ss, link_findings = _structure_for(plan, data)
        label = plan.label or plan.sop_instance_uid
        cases.append(
            _make_case(
                label,
                plan,
                doses_by_plan.pop(plan.sop_instance_uid, []),
                ss,
                records_by_plan.get(plan.sop_instance_uid, []),
                data,
                link_findings,
            )
        )
    cases += [_planless_case(doses_by_plan[key], data) for key in sorted(doses_by_plan)]
    used_ss = {c.structure_set.sop_instance_uid for c in cases if c.structure_set is not None}
    for ss in data.structure_sets:
        if ss.sop_instance_uid not in used_ss:
            cases.append(_make_case(ss.label or ss.sop_instance_uid, None, [], ss, [], data, []))
    return cases, global_findings
