"""Checks on the plan as a whole: prescription, BED, isodose level, Dmax, spacing,
approval and dose summation.

BED (linear-quadratic): BED = n·d·(1 + d/(α/β)) (Fowler JF, Br J Radiol
1989;62:679-694); 30 Gy in 3 fractions with α/β = 3 Gy gives 130 Gy
(``../shared/reference/protocol-notes.md``). The isodose level of the prescription is
Rx / Dmax of the plan (MEDCARE: "80 % of the dose (= 30 Gy)").
"""

from __future__ import annotations

from collections.abc import Sequence

from rtcheck.dicom.model import TreatmentRecord
from rtcheck.dose.bed import bed_gy
from rtcheck.evaluate.case import CaseEvaluation
from rtcheck.rules.dvh_checks import judge, margin_of
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.protocol import Arm, PlanCheck
from rtcheck.rules.result import CheckResult, FractionGapResult
from rtcheck.rules.spacing import SpacingRule, SpacingStatus, evaluate_spacing
from rtcheck.rules.vocabulary import CheckKind, CheckStatus

_SPACING = {SpacingStatus.PASS: CheckStatus.PASS, SpacingStatus.FAIL: CheckStatus.FAIL,
            SpacingStatus.PENDING: CheckStatus.PENDING,
            SpacingStatus.NOT_EVALUATED: CheckStatus.NOT_EVALUATED}
#: Checks that need the dose: an input ERROR blocks them.
DOSE_KINDS = frozenset({CheckKind.ISODOSE_LEVEL, CheckKind.MAX_DOSE, CheckKind.DOSE_SUMMATION})


def _base(pc: PlanCheck) -> dict[str, object]:
    return dict(id=pc.id, kind=pc.kind, title=pc.title, tier=pc.tier, priority=pc.priority,
                source=pc.source.text(), notes=(pc.note,) if pc.note else ())


def _ne(pc: PlanCheck, why: str, **extra: object) -> CheckResult:
    return CheckResult(**_base(pc), status=CheckStatus.NOT_EVALUATED, message=why, **extra)  # type: ignore[arg-type]


def prescription(pc: PlanCheck, ev: CaseEvaluation, arm: Arm) -> CheckResult:
    rx = ev.prescription
    want = f"{arm.prescription_gy:g} Gy in {arm.fractions} fractions"
    if rx.total_gy is None or rx.fractions is None:
        return _ne(pc, f"the plan's prescription is unknown (the arm asks {want}); give --rx")
    ok = abs(rx.total_gy - arm.prescription_gy) <= 1e-3 and rx.fractions == arm.fractions
    got = f"{rx.total_gy:g} Gy in {rx.fractions} fractions ({rx.source})"
    return CheckResult(**_base(pc), status=CheckStatus.PASS if ok else CheckStatus.FAIL,  # type: ignore[arg-type]
                       metric="prescription", value=rx.total_gy, unit="Gy",
                       limit=arm.prescription_gy,
                       message=f"{got}; the arm asks {want}")


def prescription_bed(pc: PlanCheck, ev: CaseEvaluation) -> CheckResult:
    rx = ev.prescription
    assert pc.limit is not None and pc.comparison is not None and pc.alpha_beta_gy
    extra = dict(metric=f"BED (alpha/beta {pc.alpha_beta_gy:g} Gy)", unit="Gy",
                 comparison=pc.comparison, limit=pc.limit.value)
    if rx.total_gy is None or not rx.fractions:
        return _ne(pc, "the prescription or number of fractions is unknown: BED not "
                       "evaluated (give --rx DOSE/Nfx)", **extra)
    if rx.one_fraction_dose:
        return _ne(pc, "the dose is one FRACTION kept as stored: BED not evaluated", **extra)
    bed = bed_gy(rx.total_gy, rx.fractions, pc.alpha_beta_gy)
    status = judge(pc.comparison, bed, pc.limit.value, None)
    d = rx.total_gy / rx.fractions
    return CheckResult(**_base(pc), status=status, value=bed,  # type: ignore[arg-type]
                       margin=margin_of(pc.comparison, bed, pc.limit.value),
                       message=f"BED = {rx.fractions} × {d:g} Gy × (1 + {d:g}/"
                               f"{pc.alpha_beta_gy:g}) = {bed:.4g} Gy", **extra)  # type: ignore[arg-type]


def isodose_level(pc: PlanCheck, ev: CaseEvaluation) -> CheckResult:
    rx, dose = ev.prescription.total_gy, ev.dose
    if rx is None or dose is None:
        return _ne(pc, "needs the prescription and the dose")
    level = 100.0 * rx / dose.max_gy
    return CheckResult(**_base(pc), status=CheckStatus.INFO, metric="Rx / Dmax",  # type: ignore[arg-type]
                       value=level, unit="%",
                       message=f"the {rx:g} Gy prescription is the {level:.1f} % isodose "
                               f"(plan Dmax {dose.max_gy:.4g} Gy)")


def max_dose(pc: PlanCheck, ev: CaseEvaluation) -> CheckResult:
    rx, dose = ev.prescription.total_gy, ev.dose
    assert pc.minimum is not None and pc.maximum is not None
    if dose is None:
        return _ne(pc, "no dose")
    if pc.minimum.unit == "%":
        if rx is None:
            return _ne(pc, "needs the prescription (Dmax as % of Rx)")
        value, unit = 100.0 * dose.max_gy / rx, "%"
    else:
        value, unit = dose.max_gy, "Gy"
    lo, hi = pc.minimum.value, pc.maximum.value
    ok = lo <= value <= hi
    margin = min(value - lo, hi - value)
    return CheckResult(**_base(pc), status=CheckStatus.PASS if ok else CheckStatus.FAIL,  # type: ignore[arg-type]
                       metric="Dmax", value=value, unit=unit, margin=margin,
                       message=f"plan Dmax {dose.max_gy:.4g} Gy = {value:.4g} {unit}; "
                               f"plausible range {lo:g}–{hi:g} {unit}")


def spacing(pc: PlanCheck, ev: CaseEvaluation, records: Sequence[TreatmentRecord],
            options: CheckOptions) -> tuple[CheckResult, tuple[FractionGapResult, ...]]:
    assert pc.minimum is not None and pc.maximum is not None
    rule = SpacingRule(min_gap_hours=pc.minimum.value, max_gap_hours=pc.maximum.value)
    out = evaluate_spacing(records, ev.prescription.fractions, rule, options.schedule)
    gaps = tuple(FractionGapResult(g.from_fraction, g.to_fraction, g.gap_hours,
                                   _SPACING[g.status], g.message) for g in out.gaps)
    finite = [g.gap_hours for g in out.gaps if g.gap_hours == g.gap_hours]
    status = _SPACING[out.status]
    value = min(finite) if finite and status is not CheckStatus.NOT_EVALUATED else None
    notes = tuple(out.messages[1:]) + tuple(f"code {c}" for c in out.codes)
    return CheckResult(**_base(pc) | {"notes": (*_base(pc)["notes"], *notes)},  # type: ignore[arg-type,misc]
                       status=status, metric=f"shortest gap ({rule.describe()})", value=value,
                       unit="h", message=out.messages[0] if out.messages else rule.describe()
                       ), gaps


def approval(pc: PlanCheck, ev: CaseEvaluation) -> CheckResult:
    status = ev.approval_status
    if status is None:
        return _ne(pc, "no RTPLAN: approval status unknown")
    ok = status.upper() == "APPROVED"
    return CheckResult(**_base(pc), status=CheckStatus.PASS if ok else CheckStatus.FAIL,  # type: ignore[arg-type]
                       message=f"ApprovalStatus {status or '(empty)'}")


def dose_summation(pc: PlanCheck, ev: CaseEvaluation) -> CheckResult:
    dose = ev.dose
    if dose is None:
        return _ne(pc, "no RTDOSE")
    used = ", ".join(f.message for f in ev.findings if f.code.startswith("DOSE_")
                     and f.code in ("DOSE_BEAMS_SUMMED", "DOSE_FRACTION_SCALED"))
    text = f"DoseSummationType as evaluated {dose.summation_type}, {dose.basis.lower()}" + \
        (f" ({used})" if used else "")
    if dose.basis == "ONE_FRACTION":
        return _ne(pc, text + ": one fraction as stored, total-dose limits cannot apply")
    return CheckResult(**_base(pc), status=CheckStatus.INFO, message=text)  # type: ignore[arg-type]
