"""Which prescription and number of fractions an evaluation uses, and why.

Order: the user's values (``--rx``/``--rx-gy``, ``--fractions``) replace the plan's;
the plan's come from DoseReferenceSequence TargetPrescriptionDose and
FractionGroupSequence NumberOfFractionsPlanned (DICOM PS3.3 C.8.8.10, C.8.8.13).
The dose policy: a FRACTION dose the loader could not scale (no plan gives the
number of fractions, :class:`~rtcheck.dicom.model.DoseBasis` ``ONE_FRACTION``)
cannot be compared with a total prescription, so the plan's prescription is then
not applied (the user may give one for the stored dose).
"""

from __future__ import annotations

from dataclasses import dataclass

from rtcheck.dicom.model import Case, DoseBasis
from rtcheck.findings import Finding, Severity


@dataclass(frozen=True)
class PrescriptionResolution:
    """The prescription an evaluation uses.

    Attributes
    ----------
    total_gy
        Total prescription dose (Gy) in the dose's own basis, or ``None``.
    fractions
        Number of fractions, or ``None``.
    source
        Where ``total_gy`` came from: ``"plan"``, ``"command line"`` or ``""``.
    fractions_source
        Where ``fractions`` came from: ``"plan"``, ``"command line"`` or ``""``.
    one_fraction_dose
        True when the dose is one FRACTION kept as stored.
    findings
        What was decided on the way (``DVH_*``/``RX_*`` codes).
    """

    total_gy: float | None
    fractions: int | None
    source: str
    fractions_source: str
    one_fraction_dose: bool = False
    findings: tuple[Finding, ...] = ()

    @property
    def dose_per_fraction_gy(self) -> float | None:
        if self.total_gy is None or not self.fractions:
            return None
        return self.total_gy / self.fractions

    def to_dict(self) -> dict[str, object]:
        return {"total_gy": self.total_gy, "fractions": self.fractions,
                "source": self.source, "fractions_source": self.fractions_source,
                "one_fraction_dose": self.one_fraction_dose}


def resolve_prescription(
    case: Case, rx_gy: float | None = None, fractions: int | None = None
) -> PrescriptionResolution:
    """Resolve the prescription of ``case`` (see the module docstring for the rules)."""
    findings: list[Finding] = []
    presc = case.plan.prescription if case.plan else None
    rx, rx_source = (presc.total_dose_gy, "plan") if presc else (None, "")
    n = presc.fractions if presc else (case.plan.fractions_planned if case.plan else None)
    n_source = "plan" if n is not None else ""
    if rx_gy is not None:
        differs = presc is not None and (abs(presc.total_dose_gy - rx_gy) > 1e-6 or (
            fractions is not None and fractions != presc.fractions))
        plan_text = (f" {presc.total_dose_gy:g} Gy in {presc.fractions} fractions"
                     if presc is not None else "")
        rx, rx_source = rx_gy, "command line"
        findings.append(Finding(
            "RX_FROM_COMMAND_LINE", Severity.WARNING if differs else Severity.INFO,
            f"prescription {rx_gy:g} Gy"
            + (f" in {fractions} fractions" if fractions is not None else "")
            + " given on the command line replaces the plan's" + plan_text
            + ("; every fraction-dependent limit follows the command line" if differs else ""),
            subject=case.label))
    if fractions is not None:
        n, n_source = fractions, "command line"
    one_fraction = case.dose is not None and case.dose.basis is DoseBasis.ONE_FRACTION
    if one_fraction and case.plan is None:
        findings.append(Finding("DVH_FRACTION_DOSE_AS_STORED", Severity.WARNING,
                                "the dose is one FRACTION and no plan gives the number of "
                                "fractions: DVHs are of the dose as stored", subject=case.label))
    if one_fraction and rx_source == "plan":
        rx, rx_source = None, ""
        findings.append(Finding("DVH_RX_NOT_APPLICABLE", Severity.WARNING,
                                "the plan's total prescription does not apply to a "
                                "single-FRACTION dose: % of Rx is not evaluated (give the "
                                "prescription of the stored dose)", subject=case.label))
    return PrescriptionResolution(rx, n, rx_source, n_source, one_fraction, tuple(findings))
