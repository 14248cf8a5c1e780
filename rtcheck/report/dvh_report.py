"""``rtcheck dvh``: assemble DVHs, metrics, indices and TPS comparisons, and render them.

:func:`build_dvh_report` turns a :class:`~rtcheck.dicom.model.LoadResult` into a
:class:`DvhReport`; :func:`render_text`, :func:`render_json` and :func:`render_csv`
write it. JSON numbers are rounded to 4 decimals; a value that could not be
evaluated is ``null`` (JSON) or an empty cell (CSV), with the reason in the
structure's ``metric_details``/``findings`` — never a 0.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any

from rtcheck import __version__
from rtcheck.dicom.model import Case, LoadResult, Structure
from rtcheck.dose.bed import AlphaBetaTable, convert_dose
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


def _rx_in(space: DoseSpace, rx: float, n: int | None, ab: float) -> float | None:
    """The prescription as BED/EQD2; ``None`` without fractions or when it is not finite."""
    try:
        return float(convert_dose(rx, space, n, ab)) if n else None
    except ValueError:
        return None


@dataclass(frozen=True)
class StructureReport:
    """One structure of one case: its DVH, metric results, TPS comparison, findings."""

    case: str
    name: str
    sdvh: StructureDVH | None
    metrics: tuple[MetricResult, ...]
    findings: tuple[Finding, ...]
    tps: TpsComparison | None = None

    def to_dict(self, curves: bool = False) -> dict[str, Any]:
        s, dvh = self.sdvh, (self.sdvh.dvh if self.sdvh else None)
        out: dict[str, Any] = {
            "case": self.case, "name": self.name,
            "roi_number": s.roi_number if s else None,
            "volume_cc": _r(s.volume_cc) if s else None,
            "in_grid_volume_cc": _r(s.in_grid_volume_cc) if s else None,
            "evaluable": bool(s and s.evaluable), "complete": bool(s and s.complete),
            "min_gy": _r(dvh.min_gy) if dvh else None,
            "mean_gy": _r(dvh.mean_gy) if dvh else None,
            "max_gy": _r(dvh.max_gy) if dvh else None,
            "metrics": {m.spec.raw: _r(m.value) for m in self.metrics},
            "metric_details": [m.to_dict() for m in self.metrics],
            "findings": [f.to_dict() for f in self.findings],
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
                     "bed_gy": _r(_rx_in(DoseSpace.BED, rx, n, ab)),
                     "eqd2_gy": _r(_rx_in(DoseSpace.EQD2, rx, n, ab))}
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


def _partial(results: tuple[MetricResult, ...], sdvh: StructureDVH) -> tuple[MetricResult, ...]:
    """Metrics of a structure whose DVH is incomplete are NOT EVALUATED (value in the message)."""
    errors = [f for f in sdvh.findings if f.severity is Severity.ERROR]
    if not errors or not sdvh.evaluable:
        return results
    out = []
    for m in results:
        if m.evaluated and m.value is not None:
            why = (f"{errors[0].code}: {errors[0].message}; the in-grid DVH alone gives "
                   f"{m.value:.4g} {m.unit}")
            m = replace(m, value=None, status=MetricStatus.NOT_EVALUATED, message=why)
        out.append(m)
    return tuple(out)


def _case_report(
    case: Case, specs: tuple[MetricSpec, ...], names: tuple[str, ...], settings: DvhSettings,
    alpha_beta: AlphaBetaTable, targets: tuple[str, ...], indices: bool,
    rx_gy: float | None, fractions: int | None, isodose_levels: tuple[float, ...],
) -> CaseReport:
    findings: list[Finding] = list(case.findings)
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
        rows.append(StructureReport(case.label, st.name, sdvh, _partial(results, sdvh),
                                    (*sdvh.findings, *extra)))
    by_roi = {r.sdvh.roi_number: r for r in rows if r.sdvh is not None}
    for cmp in compare_embedded(grid.embedded_dvhs,  # an incomplete DVH is not compared
                                {k: (r.name, r.sdvh.dvh if r.sdvh and r.sdvh.complete else None)
                                 for k, r in by_roi.items()}, rx):
        r = by_roi[cmp.roi_number]
        rows[rows.index(r)] = replace(r, tps=cmp)
    plan_indices: list[PlanIndices] = []
    if indices and target_names:
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
    cases = tuple(_case_report(c, specs, names, settings, alpha_beta, targets, indices,
                               rx_gy, fractions, isodose_levels) for c in result.cases)
    return DvhReport(settings, dose_space, alpha_beta, specs, cases, result.findings)


# ------------------------------------------------------------------ rendering
def render_json(report: DvhReport, curves: bool = False) -> str:
    return json.dumps(report.to_dict(curves), indent=2, ensure_ascii=False) + "\n"


def _fmt(value: float | None) -> str:
    if value is None:
        return "NOT EVALUATED"
    return f"{value:.1f}" if abs(value) >= 1000 else f"{value:.4g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def render_text(report: DvhReport) -> str:
    out: list[str] = []
    for c in report.cases:
        d = c.case.dose
        rx = (f"Rx {c.prescription_gy:g} Gy / {c.fractions or '?'} fx ({c.rx_source})"
              if c.prescription_gy is not None else "no prescription")
        ab = report.alpha_beta.default_gy
        bed = None if c.prescription_gy is None else _rx_in(DoseSpace.BED, c.prescription_gy,
                                                            c.fractions, ab)
        if bed is not None:
            rx += f", BED {bed:.1f} Gy (alpha/beta {ab:g} Gy)"
        grid = (f"dose {d.summation_type.value}, grid "
                + " x ".join(f"{v:g}" for v in d.spacing_mm) + " mm") if d else "no dose"
        out += [f"Case {c.label}: {rx}; {grid}; dose space {report.dose_space.value}", ""]
        specs = [s.label for s in report.specs]
        rows = [[s.name, str(s.sdvh.roi_number) if s.sdvh else "-",
                 _fmt(s.sdvh.volume_cc if s.sdvh else None),
                 *(_fmt(getattr(s.sdvh.dvh, a) if s.sdvh and s.sdvh.dvh else None)
                   + ("*" if s.sdvh and s.sdvh.dvh and not s.sdvh.complete else "")
                   for a in ("min_gy", "mean_gy", "max_gy")),
                 *(_fmt(m.value) for m in s.metrics)] for s in c.structures]
        if rows:
            out += _table(["Structure", "ROI", "Volume cc", "Min Gy", "Mean Gy", "Max Gy",
                           *specs], rows)
        if any(s.sdvh and s.sdvh.dvh and not s.sdvh.complete for s in c.structures):
            out += ["* incomplete DVH (see the ERROR findings): the value describes only part "
                    "of the structure and is not a result"]
        for ind in c.indices:
            out += ["", f"Plan-quality indices, target {ind.target} (Rx {ind.prescription_gy:g} "
                    f"Gy, lattice {ind.lattice_step_mm:.2f} mm"
                    + (f", PIV within {ind.restricted_to})" if ind.restricted_to else ")")]
            out += _table(["Index", "Value", "Unit", "Definition", "Source"],
                          [[d["name"], _fmt(d["value"]), d["unit"], d["definition"], d["source"]]
                           for d in (r.to_dict() for r in ind.results)])
        tps = [s.tps for s in c.structures if s.tps is not None]
        if tps:
            out += ["", "TPS DVH comparison (delta = rtcheck - TPS)"]
            keys = ("volume_cc", "mean_gy", "d95_gy", "d2_gy")
            out += _table(["Structure", *(f"{k} TPS/rtcheck/delta" for k in keys)],
                          [[t.name, *(" / ".join(_fmt(v) for v in (t.tps[k], t.rtcheck[k],
                                                                   t.delta[k])) for k in keys)]
                           for t in tps])
        notes = [*c.findings, *(f for s in c.structures for f in s.findings),
                 *(f for s in c.structures if s.tps for f in s.tps.findings),
                 *(f for i in c.indices for f in i.findings)]
        reasons = [f"{s.name} {m.spec.raw}: {m.message}" for s in c.structures for m in s.metrics
                   if not m.evaluated]
        if notes or reasons:
            out += ["", "Findings"] + [f"  {f}" for f in notes]
            out += [f"  NOT EVALUATED {r}" for r in reasons]
        out.append("")
    out += [f"{f}" for f in report.findings]
    return "\n".join(out).rstrip() + "\n"


def render_csv(report: DvhReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    specs = [s.raw for s in report.specs]
    w.writerow(["case", "structure", "roi_number", "volume_cc", "min_gy", "mean_gy", "max_gy",
                *(s.label for s in report.specs), "findings"])
    for s in report.structures:
        d = s.to_dict()
        # an incomplete DVH (structure partly outside the grid) has no min/mean/max either
        stats = [d[k] if d["complete"] else None for k in ("min_gy", "mean_gy", "max_gy")]
        cells = [d["roi_number"], d["volume_cc"], *stats,
                 *(d["metrics"][k] for k in specs)]
        w.writerow([s.case, s.name, *("" if v is None else v for v in cells),
                    ";".join(f["code"] for f in d["findings"])])
    return buf.getvalue()
