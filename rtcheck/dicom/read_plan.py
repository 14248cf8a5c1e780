"""RT Plan / RT Ion Plan (PS3.3 C.8.8.9-C.8.8.14, C.8.8.25) → :class:`Plan`.

* Prescription: DoseReferenceSequence (300A,0010) items with DoseReferenceType
  TARGET and a TargetPrescriptionDose (300A,0026, Gy). When several target items
  carry a dose, the highest is taken (the primary/boost level) and the others are
  listed in a finding. A missing prescription is a finding, not an error.
* Fractions: FractionGroupSequence (300A,0070) NumberOfFractionsPlanned; beam
  metersets and beam doses from its ReferencedBeamSequence (300C,0004).
* Beams: BeamSequence (300A,00B0) or IonBeamSequence (300A,03A2); energy from the
  first control point's NominalBeamEnergy (MV for photons, MeV for ions/electrons).
* Numbers are checked: a prescription, meterset, beam dose or energy that is not a
  finite number ≥ 0, or a NumberOfFractionsPlanned below 1, is a one-line error
  (never a silent "missing" value, never a negative BED).
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from rtcheck.dicom.model import Beam, Plan, Prescription
from rtcheck.dicom.sop import Kind
from rtcheck.dicom.values import decimal, integer, require_type1
from rtcheck.errors import DicomInputError
from rtcheck.findings import Finding, Severity


def _non_negative(item: Dataset, keyword: str, path: str) -> float | None:
    """A DS value that must be a finite number ≥ 0 (a dose, a meterset, an energy)."""
    value = decimal(item, keyword, path)
    if value is not None and value < 0:
        raise DicomInputError(
            f"{value:g} is negative; the plan is corrupt, re-export it", path=path, field=keyword
        )
    return value


def _fraction_group(
    ds: Dataset, path: str
) -> tuple[int | None, dict[int, tuple[float | None, float | None]], str]:
    groups = ds.get("FractionGroupSequence") or []
    if not groups:
        return None, {}, ""
    total = 0
    meterset: dict[int, tuple[float | None, float | None]] = {}
    pattern = ""
    for group in groups:
        # Type 2 (may be empty, then a FRACTIONS_MISSING finding); when given, a
        # count below 1 is garbage that BED/EQD2 must never use
        total += integer(group, "NumberOfFractionsPlanned", path, minimum=1) or 0
        pattern = pattern or str(group.get("FractionPattern", "") or "")
        for ref in group.get("ReferencedBeamSequence") or []:
            number = integer(ref, "ReferencedBeamNumber", path)
            if number is None:
                continue
            meterset[number] = (
                _non_negative(ref, "BeamMeterset", path),
                _non_negative(ref, "BeamDose", path),
            )
    return (total or None), meterset, pattern


def _energy(beam: Dataset, is_ion: bool, path: str) -> str:
    points = beam.get("IonControlPointSequence" if is_ion else "ControlPointSequence") or []
    for point in points:
        energy = _non_negative(point, "NominalBeamEnergy", path)
        if energy is not None:
            unit = (
                "MeV"
                if is_ion or str(beam.get("RadiationType", "")).upper() == "ELECTRON"
                else "MV"
            )
            return f"{energy:g} {unit}"
    return ""


def _beams(
    ds: Dataset, is_ion: bool, meterset: dict[int, tuple[float | None, float | None]], path: str
) -> tuple[Beam, ...]:
    sequence = ds.get("IonBeamSequence" if is_ion else "BeamSequence") or []
    beams = []
    for beam in sequence:
        number = integer(beam, "BeamNumber", path) or 0
        mu, dose = meterset.get(number, (None, None))
        points = beam.get("IonControlPointSequence" if is_ion else "ControlPointSequence") or []
        beams.append(
            Beam(
                number=number,
                name=str(beam.get("BeamName", "") or "").strip(),
                beam_type=str(beam.get("BeamType", "") or ""),
                radiation_type=str(beam.get("RadiationType", "") or ""),
                treatment_delivery_type=str(beam.get("TreatmentDeliveryType", "") or ""),
                machine=str(beam.get("TreatmentMachineName", "") or ""),
                energy=_energy(beam, is_ion, path),
                meterset_mu=mu,
                beam_dose_gy=dose,
                control_points=len(points),
            )
        )
    return tuple(beams)


def _prescription(
    ds: Dataset, fractions: int | None, path: str
) -> tuple[Prescription | None, list[Finding]]:
    targets: list[tuple[float, str]] = []
    points: list[tuple[float, str]] = []
    for item in ds.get("DoseReferenceSequence") or []:
        dose = decimal(item, "TargetPrescriptionDose", path)
        if dose is not None and dose < 0:
            raise DicomInputError(
                f"{dose:g} Gy is negative; the prescription is corrupt, re-export the plan",
                path=path,
                field="TargetPrescriptionDose",
            )
        if str(item.get("DoseReferenceType", "")).upper() != "TARGET" or dose is None or dose <= 0:
            continue
        entry = (dose, str(item.get("DoseReferenceDescription", "") or "").strip())
        # PS3.3 C.8.8.10: POINT/COORDINATES references are dose points (e.g. a
        # calculation point), not the target prescription, when a SITE/VOLUME exists.
        kind = str(item.get("DoseReferenceStructureType", "")).upper()
        (points if kind in ("POINT", "COORDINATES") else targets).append(entry)
    targets = targets or points
    findings: list[Finding] = []
    if not targets:
        findings.append(
            Finding(
                "PRESCRIPTION_MISSING",
                Severity.WARNING,
                "no TARGET DoseReference with TargetPrescriptionDose; checks relative to the "
                "prescription will be NOT EVALUATED unless the protocol states it",
                path=path,
            )
        )
        return None, findings
    if fractions is None:
        findings.append(
            Finding(
                "FRACTIONS_MISSING",
                Severity.WARNING,
                "FractionGroupSequence has no NumberOfFractionsPlanned; the prescription has no "
                "fractionation, so BED cannot be computed from the plan",
                path=path,
            )
        )
        return None, findings
    dose, site = max(targets)
    if len({d for d, _ in targets}) > 1:
        listed = ", ".join(f"{d:g} Gy ({s or 'no description'})" for d, s in sorted(targets))
        findings.append(
            Finding(
                "PRESCRIPTION_MULTIPLE",
                Severity.INFO,
                f"several target prescriptions: {listed}; using the highest, {dose:g} Gy",
                path=path,
            )
        )
    return Prescription(total_dose_gy=dose, fractions=fractions, site=site), findings


def read_plan(ds: Dataset, path: str, kind: Kind) -> tuple[Plan, list[Finding]]:
    """Convert an RTPLAN / RT Ion Plan dataset into a Plan plus findings."""
    is_ion = kind is Kind.RTIONPLAN
    require_type1(ds, ("RTPlanLabel", "RTPlanGeometry"), path, "C.8.8.9")
    fractions, meterset, pattern = _fraction_group(ds, path)
    prescription, findings = _prescription(ds, fractions, path)
    structure_refs = ds.get("ReferencedStructureSetSequence") or []
    structure_uid = (
        str(structure_refs[0].get("ReferencedSOPInstanceUID", "")).strip() if structure_refs else ""
    )
    plan = Plan(
        sop_instance_uid=str(ds.SOPInstanceUID).strip(),
        label=str(ds.get("RTPlanLabel", "") or "").strip(),
        name=str(ds.get("RTPlanName", "") or "").strip(),
        approval_status=str(ds.get("ApprovalStatus", "") or "").strip(),
        is_ion=is_ion,
        frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "") or "").strip(),
        referenced_structure_set_uid=structure_uid,
        prescription=prescription,
        fractions_planned=fractions,
        beams=_beams(ds, is_ion, meterset, path),
        fraction_pattern=pattern,
        patient_id=str(ds.get("PatientID", "") or "").strip(),
        source_path=path,
    )
    for beam in plan.beams:
        if beam.treatment_delivery_type.upper() in ("", "TREATMENT") and beam.meterset_mu is None:
            findings.append(
                Finding(
                    "BEAM_WITHOUT_METERSET",
                    Severity.INFO,
                    "treatment beam has no BeamMeterset in the fraction group "
                    "(imaging or setup field?)",
                    path=path,
                    subject=beam.name or f"beam {beam.number}",
                )
            )
    return plan, findings
