"""``rtcheck dvh``: assemble DVHs, metrics, indices and TPS comparisons, and render them.

:func:`build_dvh_report` turns a :class:`~rtcheck.dicom.model.LoadResult` into a
:class:`DvhReport`; :func:`render_text`, :func:`render_json` and :func:`render_csv`
write it. JSON numbers are rounded to 4 decimals; a value that could not be
evaluated is ``null`` (JSON) or an empty cell (CSV), with the reason in the
structure's ``metric_details``/``findings`` — never a 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any

from rtcheck import __version__
from rtcheck.dicom.model import Case, LoadResult, Structure
from rtcheck.dose.bed import AlphaBetaTable, prescription_in_space_gy
from rtcheck.dose.engine import StructureDVH, compute_dvhs
from rtcheck.dose.indices import PlanIndices, compute_indices, grid_adequacy_findings
from rtcheck.dose.metric_spec import DoseSpace, MetricSpec
from rtcheck.dose.metrics import (
    MetricResult,
    MetricStatus,
    evaluate_structure_metrics,
    not_evaluated,
)
from rtcheck.dose.settings import DvhSettings
from rtcheck.dose.tps_compare import TpsComparison, compare_embedded
from rtcheck.errors import InputError, UsageError
from rtcheck.findings import Finding, Severity

_DEC = 4
BODY_NAMES = ("body", "external")


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), _DEC)


@dataclass(frozen=True)
class StructureReport:
    """One structure of one case: its DVH, metric results, TPS comparison, findings."""

    case: str
    name: str
    sdvh: StructureDVH | None
    metrics: tuple[MetricResult, ...]
    findings: tuple[Finding, ...]
    tps: TpsComparison | None = None
    #: ERROR findings of the case or of the whole load (frame-of-reference mismatch,
    #: ambiguous or incomplete dose, conflicting duplicates...): the structure's numbers
    #: are then not a result either.
    blocked_by: tuple[Finding, ...] = ()

    @property
    def complete(self) -> bool:
        """True when the DVH covers the whole structure and nothing blocks the case."""
        return bool(self.sdvh and self.sdvh.complete) and not self.blocked_by

    def to_dict(self, curves: bool = False) -> dict[str, Any]:
        s, dvh = self.sdvh, (self.sdvh.dvh if self.sdvh else None)
        out: dict[str, Any] = {
            "case": self.case, "name": self.name,
            "roi_number": s.roi_number if s else None,
            "volume_cc": _r(s.volume_cc) if s else None,
            "in_grid_volume_cc": _r(s.in_grid_volume_cc) if s else None,
            "evaluable": bool(s and s.evaluable), "complete": self.complete,
            "min_gy": _r(dvh.min_gy) if dvh else None,
            "mean_gy": _r(dvh.mean_gy) if dvh else None,
            "max_gy": _r(dvh.max_gy) if dvh else None,
            "metrics": {m.spec.raw: _r(m.value) for m in self.metrics},
            "metric_details": [m.to_dict() for m in self.metrics],
            "findings": [f.to_dict() for f in self.findings],
            "blocked_by": [f.code for f in self.blocked_by],
            "tps_comparison": self.tps.to_dict() if self.tps else None,
        }
        if curves:
            out["curve"] = None if dvh is None else {
                "dose_space": "PHYSICAL",
                "dose_gy": [round(float(v), 6) for v in dvh.dose_gy],
                "volume_cc": [round(float(v), 6) for v in dvh.volume_cc]}
        return out


@dataclass(frozen=True)
class CaseReport:
    label: str
    case: Case
    prescription_gy: float | None
    fractions: int | None
    rx_source: str
    structures: tuple[StructureReport, ...]
    indices: tuple[PlanIndices, ...] = ()
    findings: tuple[Finding, ...] = ()

    def to_dict(self, alpha_beta: AlphaBetaTable) -> dict[str, Any]:
        c, rx, n = self.case, self.prescription_gy, self.fractions
        ab = alpha_beta.default_gy
        presc = None
        if rx is not None:
            presc = {"total_gy": rx, "fractions": n, "source": self.rx_source,
                     "alpha_beta_gy": ab,
                     "bed_gy": _r(prescription_in_space_gy(rx, DoseSpace.BED, n, ab)),
                     "eqd2_gy": _r(prescription_in_space_gy(rx, DoseSpace.EQD2, n, ab))}
        dose = None
        if c.dose is not None:
            dose = {"summation_type": c.dose.summation_type.value, "dose_type": c.dose.dose_type,
                    "grid_spacing_mm": [_r(v) for v in c.dose.spacing_mm],
                    "shape_zyx": list(c.dose.shape), "max_gy": _r(c.dose.max_dose_gy),
                    "source_paths": list(c.dose.source_paths),
                    "tps_dvhs": len(c.dose.embedded_dvhs)}
        return {"label": self.label, "plan": c.plan.label if c.plan else None,
                "prescription": presc, "dose": dose,
                "indices": [i.to_dict() for i in self.indices],
                "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True)
class DvhReport:
    settings: DvhSettings
    dose_space: DoseSpace
    alpha_beta: AlphaBetaTable
    specs: tuple[MetricSpec, ...]
    cases: tuple[CaseReport, ...]
    findings: tuple[Finding, ...] = field(default=())

    @property
    def structures(self) -> tuple[StructureReport, ...]:
        return tuple(s for c in self.cases for s in c.structures)

    def to_dict(self, curves: bool = False) -> dict[str, Any]:
        settings = {k: v.value if isinstance(v, Enum) else v
                    for k, v in asdict(self.settings).items()}
        return {
            "rtcheck_version": __version__, "settings": settings,
            "dose_space": self.dose_space.value, "alpha_beta": self.alpha_beta.to_dict(),
            "metrics": [s.raw for s in self.specs],
            "structures": [s.to_dict(curves) for s in self.structures],
            "cases": [c.to_dict(self.alpha_beta) for c in self.cases],
            "findings": [f.to_dict() for f in self.findings],
        }


def _is_body(s: Structure) -> bool:
    return s.interpreted_type.upper() == "EXTERNAL" or s.name.casefold() in BODY_NAMES


def _partial(results: tuple[MetricResult, ...], sdvh: StructureDVH,
             blocking: tuple[Finding, ...] = ()) -> tuple[MetricResult, ...]:
    """Metrics of an incomplete DVH, or of a case with ERROR findings, are NOT EVALUATED.

    The value the DVH alone would give is kept in the message, never in ``value``.
    """
    engine_errors = [f for f in sdvh.findings if f.severity is Severity.ERROR]
    errors = engine_errors + list(blocking)
    alone = "the in-grid DVH alone gives" if engine_errors else "the DVH alone gives"
    if not errors or not sdvh.evaluable:
        return results
    out = []
    for m in results:
        if m.evaluated and m.value is not None:
            why = (f"{errors[0].code}: {errors[0].message}; {alone} "
                   f"{m.value:.4g} {m.unit}")
            m = replace(m, value=None, status=MetricStatus.NOT_EVALUATED, message=why)
        out.append(m)
    return tuple(out)


def _case_report(
    case: Case, specs: tuple[MetricSpec, ...], names: tuple[str, ...], settings: DvhSettings,
    alpha_beta: AlphaBetaTable, targets: tuple[str, ...], indices: bool,
    rx_gy: float | None, fractions: int | None, isodose_levels: tuple[float, ...],
    load_errors: tuple[Finding, ...] = (),
) -> CaseReport:
    findings: list[Finding] = list(case.findings)
    blocking = tuple(f for f in (*case.findings, *load_errors) if f.severity is Severity.ERROR)
    presc = case.plan.prescription if case.plan else None
    rx, n, source = (presc.total_dose_gy, presc.fractions, "plan") if presc else (None, None, "")
    if n is None and case.plan is not None:
        n = case.plan.fractions_planned
    if rx_gy is not None:
        rx, source = rx_gy, "command line"
    if fractions is not None:
        n = fractions
    grid, ss = case.dose, case.structure_set
    if grid is None or ss is None:
        missing = "RTDOSE" if grid is None else "RTSTRUCT"
        findings.append(Finding("DVH_NOT_COMPUTED", Severity.ERROR,
                                f"no {missing} for this case: no DVH", subject=case.label))
        return CaseReport(case.label, case, rx, n, source, (), (), tuple(findings))
    codes = {f.code for f in findings}
    as_stored = "DOSE_FRACTION_NOT_SCALED" in codes
    if grid.summation_type.value == "FRACTION" and case.plan is None and not as_stored:
        as_stored = True
        findings.append(Finding("DVH_FRACTION_DOSE_AS_STORED", Severity.WARNING,
                                "the dose is one FRACTION and no plan gives the number of "
                                "fractions: DVHs are of the dose as stored", subject=case.label))
    if as_stored and source == "plan":
        # the plan's total prescription cannot be compared with one stored fraction
        rx, source = None, ""
        findings.append(Finding("DVH_RX_NOT_APPLICABLE", Severity.WARNING,
                                "the plan's total prescription does not apply to a single-FRACTION "
                                "dose: % of Rx is not evaluated (give --rx-gy for the stored "
                                "dose)", subject=case.label))
    if names:
        wanted, found = names, [ss.by_name(nm) for nm in names]
        computed = compute_dvhs(ss, grid, settings, [s.name for s in found if s is not None])
    else:  # every ROI, even when two share a name
        wanted, found = tuple(s.name for s in ss.structures), list(ss.structures)
        computed = compute_dvhs(ss, grid, settings)
    dvhs = {s.roi_number: s for s in computed}
    target_names = targets or tuple(s.name for s in found
                                    if s is not None and s.interpreted_type.upper() == "PTV")
    rows: list[StructureReport] = []
    for nm, st in zip(wanted, found, strict=True):
        if st is None:
            f = Finding("STRUCTURE_NOT_FOUND", Severity.ERROR,
                        f"no structure named {nm!r}; available: "
                        + ", ".join(s.name for s in ss.structures), subject=nm)
            rows.append(StructureReport(case.label, nm, None,
                                        tuple(not_evaluated(sp, "structure not found")
                                              for sp in specs), (f,)))
            continue
        sdvh = dvhs[st.roi_number]
        reason = "; ".join(f.message for f in sdvh.findings if f.severity is Severity.ERROR) \
            or "no DVH"
        if as_stored:
            results = tuple(
                evaluate_structure_metrics([sp], st.name, sdvh.dvh, sdvh.samples,
                                           prescription_gy=rx, n_fractions=n,
                                           alpha_beta=alpha_beta, not_evaluable_reason=reason)[0]
                if sp.dose_space is DoseSpace.PHYSICAL else not_evaluated(
                    sp, "the dose is one FRACTION as stored (no plan): no BED/EQD2")
                for sp in specs)
        else:
            results = evaluate_structure_metrics(
                specs, st.name, sdvh.dvh, sdvh.samples, prescription_gy=rx, n_fractions=n,
                alpha_beta=alpha_beta, not_evaluable_reason=reason)
        # (the TG-101 2 mm note for targets comes with their indices)
        extra = grid_adequacy_findings(st.name, sdvh.volume_cc, grid) if sdvh.evaluable else []
        rows.append(StructureReport(case.label, st.name, sdvh,
                                    _partial(results, sdvh, blocking),
                                    (*sdvh.findings, *extra), blocked_by=blocking))
    by_roi = {r.sdvh.roi_number: r for r in rows if r.sdvh is not None}
    for cmp in compare_embedded(grid.embedded_dvhs,  # an incomplete DVH is not compared
                                {k: (r.name, r.sdvh.dvh if r.sdvh and r.complete else None)
                                 for k, r in by_roi.items()}, rx):
        r = by_roi[cmp.roi_number]
        rows[rows.index(r)] = replace(r, tps=cmp)
    plan_indices: list[PlanIndices] = []
    if indices and target_names and blocking:
        blocked_codes = ", ".join(sorted({f.code for f in blocking}))
        findings.append(Finding("INDICES_NOT_EVALUATED", Severity.WARNING,
                                f"plan-quality indices not computed: the input has ERROR "
                                f"findings ({blocked_codes})", subject=case.label))
    elif indices and target_names:
        if rx is None:
            findings.append(Finding("INDICES_NO_PRESCRIPTION", Severity.WARNING,
                                    "plan-quality indices need a prescription dose (plan or "
                                    "--rx-gy)", subject=case.label))
        else:
            body = next((s for s in ss.structures if _is_body(s) and s.contours), None)
            for tn in target_names:
                t = ss.by_name(tn)
                if t is None:
                    findings.append(Finding("STRUCTURE_NOT_FOUND", Severity.ERROR,
                                            f"no target named {tn!r} for indices", subject=tn))
                    continue
                # the engine's DVH also for a target that is not reported (README)
                t_dvh = dvhs.get(t.roi_number) or compute_dvhs(ss, grid, settings, [tn])[0]
                plan_indices.append(compute_indices(
                    grid, t, rx, ptv_dvh=t_dvh.dvh if t_dvh and t_dvh.complete else None,
                    body=body, coverage_levels_percent=isodose_levels))
    return CaseReport(case.label, case, rx, n, source, tuple(rows), tuple(plan_indices),
                      tuple(findings))


def build_dvh_report(
    result: LoadResult,
    specs: tuple[MetricSpec, ...] = (),
    names: tuple[str, ...] = (),
    settings: DvhSettings | None = None,
    alpha_beta: AlphaBetaTable | None = None,
    dose_space: DoseSpace = DoseSpace.PHYSICAL,
    targets: tuple[str, ...] = (),
    indices: bool = True,
    rx_gy: float | None = None,
    fractions: int | None = None,
    isodose_levels: tuple[float, ...] = (100.0,),
) -> DvhReport:
    """DVHs, metrics, indices and TPS comparisons of every case with a dose and structures.

    ``dose_space`` applies to specs without their own ``@`` suffix;
    ``isodose_levels`` (% of Rx) are the coverage levels reported with the indices. Raises
    :class:`~rtcheck.errors.InputError` when no case has both an RTDOSE and an
    RTSTRUCT, or when none of the named structures exists anywhere;
    :class:`~rtcheck.errors.UsageError` when an α/β is given for a structure name that
    exists nowhere (it would silently fall back to the default).
    """
    settings = settings or DvhSettings()
    alpha_beta = alpha_beta or AlphaBetaTable()
    specs = tuple(s.with_dose_space(dose_space) for s in specs)
    usable = [c for c in result.cases if c.dose is not None and c.structure_set is not None]
    if not usable:
        raise InputError("no case has both an RTDOSE and an RTSTRUCT: nothing to compute "
                         f"({len(result.cases)} case(s) found); give a plan folder or an "
                         "RTSTRUCT and an RTDOSE")
    available = sorted({s.name for c in usable if c.structure_set
                        for s in c.structure_set.structures})
    if names and not any(c.structure_set.by_name(n) for c in usable for n in names
                         if c.structure_set is not None):
        raise InputError(f"none of the structures {', '.join(map(repr, names))} exists; "
                         f"available: {', '.join(available)}")
    unknown = [n for n in alpha_beta.by_structure if n not in {a.casefold() for a in available}]
    if unknown:  # a misspelt name would silently fall back to the default alpha/beta
        raise UsageError(f"--alpha-beta-for: no structure named {', '.join(map(repr, unknown))}; "
                         f"available: {', '.join(available)}")
    load_errors = tuple(f for f in result.findings if f.severity is Severity.ERROR)
    cases = tuple(_case_report(c, specs, names, settings, alpha_beta, targets, indices,
                               rx_gy, fractions, isodose_levels, load_errors)
                  for c in result.cases)
    return DvhReport(settings, dose_space, alpha_beta, specs, cases, result.findings)


# Rendering lives in rtcheck.report.dvh_render; re-exported for callers of this module.
from rtcheck.report.dvh_render import render_csv, render_json, render_text  # noqa: E402

__all__ = ["DvhReport", "build_dvh_report", "render_csv", "render_json", "render_text"]
