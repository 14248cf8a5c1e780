"""``evaluate_case``: the one entry point from a loaded case to evaluated numbers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rtcheck.dicom.model import MAX_PLAUSIBLE_DOSE_GY, Case, DoseGrid, Structure
from rtcheck.dose.engine import StructureDVH, compute_dvhs
from rtcheck.dose.geometry import median_plane_spacing_mm
from rtcheck.dose.grid_adequacy import grid_adequacy_findings
from rtcheck.dose.metric_spec import DoseSpace, MetricSpec
from rtcheck.dose.metrics import MetricResult, evaluate_structure_metrics, not_evaluated
from rtcheck.dose.settings import EndCap, Geometry
from rtcheck.dose.tps_compare import compare_embedded
from rtcheck.evaluate.bounds import grid_boundary, with_bounds
from rtcheck.evaluate.prescription import PrescriptionResolution, resolve_prescription
from rtcheck.evaluate.request import EvaluationRequest
from rtcheck.evaluate.structure import (
    DvhCurve,
    StructureEvaluation,
    StructureState,
    rounded,
)
from rtcheck.findings import Finding, Severity

if TYPE_CHECKING:  # the indices and TPS comparison import scipy: loaded only when asked
    from rtcheck.dose.index_results import PlanIndices

BODY_NAMES = ("body", "external")


@dataclass(frozen=True)
class DoseSummary:
    """What the evaluated dose is, without its voxels."""

    summation_type: str
    basis: str
    dose_type: str
    spacing_mm: tuple[float, float, float]
    shape_zyx: tuple[int, int, int]
    max_gy: float
    source_paths: tuple[str, ...]
    tps_dvhs: int
    sop_instance_uid: str = ""
    origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def of(cls, grid: DoseGrid) -> DoseSummary:
        origin = (float(grid.x_mm[0]), float(grid.y_mm[0]), float(grid.z_mm[0]))
        return cls(grid.summation_type.value, grid.basis.value, grid.dose_type,
                   grid.spacing_mm, grid.shape, grid.max_dose_gy, grid.source_paths,
                   len(grid.embedded_dvhs), grid.sop_instance_uid, origin)

    def to_dict(self) -> dict[str, Any]:
        """The one JSON form of a dose grid (``info``, ``dvh`` and ``check`` use it)."""
        return {"sop_instance_uid": self.sop_instance_uid,
                "summation_type": self.summation_type, "basis": self.basis,
                "dose_type": self.dose_type,
                "grid_spacing_mm": [rounded(v) for v in self.spacing_mm],
                "shape_zyx": list(self.shape_zyx),
                "origin_mm": [rounded(v) for v in self.origin_mm],
                "max_gy": rounded(self.max_gy),
                "source_paths": list(self.source_paths), "tps_dvhs": self.tps_dvhs}


@dataclass(frozen=True)
class CaseEvaluation:
    """One case, evaluated: slim (no dose arrays, no sample clouds), picklable.

    ``blocking`` are the ERROR findings (of the case or of the whole load) that make
    every number of the case NOT EVALUATED; ``findings`` are the case's own findings
    plus those of the evaluation.
    """

    label: str
    plan_label: str | None
    plan_uid: str | None
    approval_status: str | None
    prescription: PrescriptionResolution
    dose: DoseSummary | None
    structures: tuple[StructureEvaluation, ...]
    indices: tuple[PlanIndices, ...] = ()
    findings: tuple[Finding, ...] = ()
    blocking: tuple[Finding, ...] = ()

    def structure(self, name: str) -> StructureEvaluation | None:
        """The evaluated structure called ``name`` (exact, then case-insensitive)."""
        for s in self.structures:
            if s.name == name:
                return s
        return next((s for s in self.structures if s.name.casefold() == name.casefold()), None)


def _is_body(s: Structure) -> bool:
    return s.interpreted_type.upper() == "EXTERNAL" or s.name.casefold() in BODY_NAMES


def _metrics(st: Structure, sdvh: StructureDVH, specs: tuple[MetricSpec, ...],
             rx: PrescriptionResolution, request: EvaluationRequest) -> tuple[MetricResult, ...]:
    reason = "; ".join(f.message for f in sdvh.findings if f.severity is Severity.ERROR) \
        or "no DVH"
    out = []
    for sp in specs:
        if rx.one_fraction_dose and sp.dose_space is not DoseSpace.PHYSICAL:
            out.append(not_evaluated(sp, "the dose is one FRACTION as stored: no BED/EQD2"))
            continue
        out.append(evaluate_structure_metrics(
            [sp], st.name, sdvh.dvh, sdvh.samples, prescription_gy=rx.total_gy,
            n_fractions=rx.fractions, alpha_beta=request.alpha_beta,
            not_evaluable_reason=reason)[0])
    return tuple(out)


def _blocked(results: tuple[MetricResult, ...], blocking: tuple[Finding, ...]
             ) -> tuple[MetricResult, ...]:
    why = f"{blocking[0].code}: {blocking[0].message}"
    return tuple(m if not m.evaluated else not_evaluated(m.spec, why, m.alpha_beta_gy)
                 for m in results)


def _structure(st: Structure, sdvh: StructureDVH, grid: DoseGrid, spacing: float | None,
               rx: PrescriptionResolution, request: EvaluationRequest,
               blocking: tuple[Finding, ...]) -> StructureEvaluation:
    specs = request.specs_for(st.name)
    results = _metrics(st, sdvh, specs, rx, request)
    boundary = None
    if blocking:
        state = StructureState.BLOCKED
        results = _blocked(results, blocking)
    elif sdvh.dvh is None:
        state = StructureState.NOT_EVALUABLE
    elif sdvh.dvh.is_partial or not sdvh.complete:
        state = StructureState.PARTIAL
        if sdvh.samples is not None and sdvh.samples.outside_volume_cc > 0:
            boundary = grid_boundary(st, grid, spacing,
                                     request.settings.end_cap is EndCap.HALF_SLICE)
            results = tuple(with_bounds(m, sdvh.dvh, boundary, sdvh.volume_cc, rx.total_gy)
                            for m in results)
    else:
        state = StructureState.COMPLETE
    dvh = sdvh.dvh
    complete = state is StructureState.COMPLETE and dvh is not None
    extra = (grid_adequacy_findings(st.name, sdvh.volume_cc, grid,
                                    is_target=st.interpreted_type.upper() == "PTV")
             if sdvh.evaluable else [])
    curve = None
    if dvh is not None and request.curve_points != 0:
        curve = DvhCurve.of(dvh, request.curve_points)
    return StructureEvaluation(
        name=st.name, roi_number=st.roi_number, interpreted_type=st.interpreted_type,
        state=state, volume_cc=sdvh.volume_cc, in_grid_volume_cc=sdvh.in_grid_volume_cc,
        min_gy=dvh.min_gy if complete and dvh else None,
        mean_gy=dvh.mean_gy if complete and dvh else None,
        max_gy=dvh.max_gy if complete and dvh else None,
        metrics=results, boundary=boundary, findings=(*sdvh.findings, *extra),
        blocked_by=tuple(f.code for f in blocking), curve=curve)


def _not_found(name: str, specs: tuple[MetricSpec, ...], available: list[str]
               ) -> StructureEvaluation:
    f = Finding("STRUCTURE_NOT_FOUND", Severity.ERROR,
                f"no structure named {name!r}; available: " + ", ".join(available), subject=name)
    return StructureEvaluation(name, None, "", StructureState.NOT_FOUND, None, None, None, None,
                               None, tuple(not_evaluated(sp, "structure not found")
                                           for sp in specs), findings=(f,))


def _implausible(grid: DoseGrid, case: Case) -> Finding | None:
    if grid.max_dose_gy <= MAX_PLAUSIBLE_DOSE_GY:
        return None
    if any(f.code == "DOSE_IMPLAUSIBLE" for f in case.findings):
        return None
    return Finding("DOSE_IMPLAUSIBLE", Severity.ERROR,
                   f"the dose maximum is {grid.max_dose_gy:.4g} Gy, above the "
                   f"{MAX_PLAUSIBLE_DOSE_GY:g} Gy any course could give: not used",
                   subject=case.label)


def evaluate_case(case: Case, request: EvaluationRequest | None = None,
                  load_errors: tuple[Finding, ...] = ()) -> CaseEvaluation:
    """Evaluate ``case`` as ``request`` asks.

    Parameters
    ----------
    case
        A loaded case (:class:`~rtcheck.dicom.model.Case`).
    request
        What to compute (default: DVH statistics of every structure).
    load_errors
        ERROR findings of the whole load (not tied to a case); they block every number.

    Returns
    -------
    CaseEvaluation
        No metric of a structure that is partial, blocked, not evaluable or not
        found is EVALUATED; their reasons are in the metric messages.
    """
    request = request or EvaluationRequest()
    rx = resolve_prescription(case, request.rx_gy, request.fractions)
    findings: list[Finding] = [*case.findings, *rx.findings]
    grid, ss = case.dose, case.structure_set
    plan = case.plan
    head = CaseEvaluation(label=case.label, plan_label=plan.label if plan else None,
                          plan_uid=plan.sop_instance_uid if plan else None,
                          approval_status=plan.approval_status if plan else None,
                          prescription=rx, dose=DoseSummary.of(grid) if grid else None,
                          structures=())
    if grid is not None and (bad := _implausible(grid, case)) is not None:
        findings.append(bad)
    blocking = tuple(f for f in (*findings, *load_errors) if f.severity is Severity.ERROR)
    if grid is None or ss is None:
        missing = "RTDOSE" if grid is None else "RTSTRUCT"
        findings.append(Finding("DVH_NOT_COMPUTED", Severity.ERROR,
                                f"no {missing} for this case: no DVH", subject=case.label))
        return replace(head, findings=tuple(findings), blocking=(*blocking, findings[-1]))
    names = request.wanted_names()
    wanted: list[tuple[str, Structure | None]]
    if names is None:
        wanted = [(s.name, s) for s in ss.structures]
        computed = compute_dvhs(ss, grid, request.settings)
    else:
        wanted = [(n, ss.by_name(n)) for n in names]
        computed = compute_dvhs(ss, grid, request.settings,
                                [s.name for _, s in wanted if s is not None])
    dvhs = {s.roi_number: s for s in computed}
    spacing = median_plane_spacing_mm(ss.structures)
    available = [s.name for s in ss.structures]
    rows = [_structure(st, dvhs[st.roi_number], grid, spacing, rx, request, blocking)
            if st is not None else _not_found(n, request.specs_for(n), available)
            for n, st in wanted]
    if request.tps_compare:
        rows = _with_tps(rows, grid, rx.total_gy, dvhs, request.settings.geometry)
    indices, index_findings = _indices(case, request, rx, blocking, dvhs)
    return replace(head, structures=tuple(rows), indices=indices,
                   findings=(*findings, *index_findings), blocking=blocking)


def _with_tps(rows: list[StructureEvaluation], grid: DoseGrid, rx_gy: float | None,
              dvhs: dict[int, StructureDVH], geometry: Geometry
              ) -> list[StructureEvaluation]:
    """Compare complete structures with the TPS-embedded DVHs (partial ones are not);
    each comparison names the ``geometry`` model of rtcheck's DVHs."""
    by_roi = {r.roi_number: r for r in rows if r.roi_number is not None}
    curves = {k: (r.name, dvhs[k].dvh if r.complete else None) for k, r in by_roi.items()}
    out = list(rows)
    for cmp in compare_embedded(grid.embedded_dvhs, curves, rx_gy, geometry):
        r = by_roi[cmp.roi_number]
        out[out.index(r)] = replace(r, tps=cmp)
    return out


def _indices(case: Case, request: EvaluationRequest, rx: PrescriptionResolution,
             blocking: tuple[Finding, ...], dvhs: dict[int, StructureDVH]
             ) -> tuple[tuple[PlanIndices, ...], tuple[Finding, ...]]:
    ss, grid = case.structure_set, case.dose
    if not request.indices or ss is None or grid is None:
        return (), ()
    targets = request.targets or tuple(s.name for s in ss.structures
                                       if s.interpreted_type.upper() == "PTV")
    if not targets:
        return (), ()
    if blocking:
        codes = ", ".join(sorted({f.code for f in blocking}))
        return (), (Finding("INDICES_NOT_EVALUATED", Severity.WARNING,
                            f"plan-quality indices not computed: the input has ERROR "
                            f"findings ({codes})", subject=case.label),)
    if rx.total_gy is None:
        return (), (Finding("INDICES_NO_PRESCRIPTION", Severity.WARNING,
                            "plan-quality indices need a prescription dose (plan or --rx-gy)",
                            subject=case.label),)
    from rtcheck.dose.indices import compute_indices

    body = next((s for s in ss.structures if _is_body(s) and s.contours), None)
    spacing = median_plane_spacing_mm(ss.structures)  # as compute_dvhs: single-plane slabs
    out, findings = [], []
    for tn in targets:
        t = ss.by_name(tn)
        if t is None:
            findings.append(Finding("STRUCTURE_NOT_FOUND", Severity.ERROR,
                                    f"no target named {tn!r} for indices", subject=tn))
            continue
        t_dvh = dvhs.get(t.roi_number) or compute_dvhs(ss, grid, request.settings, [tn])[0]
        out.append(compute_indices(grid, t, rx.total_gy,
                                   ptv_dvh=t_dvh.dvh if t_dvh.complete else None, body=body,
                                   coverage_levels_percent=request.isodose_levels,
                                   settings=request.settings,
                                   default_plane_spacing_mm=spacing))
    return tuple(out), tuple(findings)
