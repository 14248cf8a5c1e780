"""``rtcheck dvh``: assemble DVHs, metrics, indices and TPS comparisons, and render them.

:func:`build_dvh_report` turns a :class:`~rtcheck.dicom.model.LoadResult` into a
:class:`DvhReport`; :func:`render_text`, :func:`render_json` and :func:`render_csv`
write it. JSON numbers are rounded to 4 decimals; a value that could not be
evaluated is ``null`` (JSON) or an empty cell (CSV), with the reason in the
structure's ``metric_details``/``findings`` — never a 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from rtcheck import __version__
from rtcheck.dicom.model import LoadResult
from rtcheck.dose.bed import AlphaBetaTable, prescription_in_space_gy
from rtcheck.dose.metric_spec import DoseSpace, MetricSpec
from rtcheck.dose.metrics import MetricResult
from rtcheck.dose.settings import DvhSettings
from rtcheck.dose.tps_compare import TpsComparison
from rtcheck.errors import InputError, UsageError
from rtcheck.evaluate import CaseEvaluation, EvaluationRequest, StructureEvaluation, evaluate_case
from rtcheck.evaluate.structure import StructureState, rounded
from rtcheck.findings import Finding, Severity

if TYPE_CHECKING:  # imports scipy: only when indices are computed
    from rtcheck.dose.index_results import PlanIndices

_r = rounded


@dataclass(frozen=True)
class StructureReport:
    """One structure of one case as ``rtcheck dvh`` reports it (a view of the evaluation)."""

    case: str
    ev: StructureEvaluation

    @property
    def name(self) -> str:
        return self.ev.name

    @property
    def metrics(self) -> tuple[MetricResult, ...]:
        return self.ev.metrics

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.ev.findings

    @property
    def tps(self) -> TpsComparison | None:
        return self.ev.tps

    @property
    def complete(self) -> bool:
        """True when the DVH covers the whole structure and nothing blocks the case."""
        return self.ev.complete

    def to_dict(self, curves: bool = False) -> dict[str, Any]:
        s = self.ev
        out: dict[str, Any] = {
            "case": self.case, "name": s.name, "roi_number": s.roi_number,
            "volume_cc": _r(s.volume_cc), "in_grid_volume_cc": _r(s.in_grid_volume_cc),
            "state": s.state.value,
            "evaluable": s.state in (StructureState.COMPLETE, StructureState.PARTIAL,
                                     StructureState.BLOCKED) and s.volume_cc is not None
                         and s.in_grid_volume_cc is not None and s.in_grid_volume_cc > 0,
            "complete": s.complete,
            "min_gy": _r(s.min_gy), "mean_gy": _r(s.mean_gy), "max_gy": _r(s.max_gy),
            "metrics": {m.spec.raw: _r(m.value) for m in s.metrics},
            "metric_details": [m.to_dict() for m in s.metrics],
            "findings": [f.to_dict() for f in s.findings],
            "blocked_by": list(s.blocked_by),
            "grid_boundary": s.boundary.to_dict() if s.boundary else None,
            "tps_comparison": s.tps.to_dict() if s.tps else None,
        }
        if curves:
            out["curve"] = None if s.curve is None else s.curve.to_dict()
        return out


@dataclass(frozen=True)
class CaseReport:
    """One case as ``rtcheck dvh`` reports it: its evaluation, its structure rows and the
    names of every ROI of its structure set (``roi_names``: rows or not)."""

    ev: CaseEvaluation
    structures: tuple[StructureReport, ...]
    folder: str = ""  #: where the case's plan, structure and dose files are
    roi_names: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The case as the text report names it: its label and its folder."""
        return f"{self.ev.label}  [{self.folder}]" if self.folder else self.ev.label

    @property
    def prescription_gy(self) -> float | None:
        return self.ev.prescription.total_gy

    @property
    def fractions(self) -> int | None:
        return self.ev.prescription.fractions

    @property
    def rx_source(self) -> str:
        return self.ev.prescription.source

    @property
    def indices(self) -> tuple[PlanIndices, ...]:
        return self.ev.indices

    @property
    def reported_names(self) -> frozenset[str]:
        """The structures the report gives numbers for, case-folded: its rows and the
        targets of its plan-quality indices."""
        return frozenset(n.casefold() for n in (*(s.name for s in self.structures),
                                                *(i.target for i in self.indices)))

    def about_unreported_roi(self, finding: Finding) -> bool:
        """Whether ``finding`` concerns no number of the report.

        Parameters
        ----------
        finding
            One of the case's own findings.

        Returns
        -------
        bool
            True when its subject names a ROI of the case's structure set that the
            report gives no number for (not selected with ``--structure``, not an index
            target; e.g. ``ROI_WITHOUT_CONTOURS`` of an empty ROI) and it does not
            block the case's numbers (an ERROR of the input blocks them all).
        """
        subject = (finding.subject or "").casefold()
        return (subject in {n.casefold() for n in self.roi_names}
                and subject not in self.reported_names and finding not in self.ev.blocking)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The case's own findings that concern the report: every format leaves out
        those about a ROI it gives no number for (:meth:`about_unreported_roi`)."""
        return tuple(f for f in self.ev.findings if not self.about_unreported_roi(f))

    def to_dict(self, alpha_beta: AlphaBetaTable) -> dict[str, Any]:
        ev, rx, n = self.ev, self.prescription_gy, self.fractions
        ab = alpha_beta.default_gy
        presc = None
        if rx is not None:
            presc = {"total_gy": rx, "fractions": n, "source": self.rx_source,
                     "alpha_beta_gy": ab,
                     "bed_gy": _r(prescription_in_space_gy(rx, DoseSpace.BED, n, ab)),
                     "eqd2_gy": _r(prescription_in_space_gy(rx, DoseSpace.EQD2, n, ab))}
        return {"label": ev.label, "plan": ev.plan_label, "prescription": presc,
                "dose": ev.dose.to_dict() if ev.dose else None,
                "indices": [i.to_dict() for i in ev.indices],
                "findings": [f.to_dict() for f in self.findings],
                "blocked_by": sorted({f.code for f in ev.blocking})}


@dataclass(frozen=True)
class DvhReport:
    settings: DvhSettings
    dose_space: DoseSpace
    alpha_beta: AlphaBetaTable
    specs: tuple[MetricSpec, ...]
    cases: tuple[CaseReport, ...]
    findings: tuple[Finding, ...] = field(default=())
    #: where the DVH geometry model came from: ``option`` (--geometry) or ``default``;
    #: ``None`` when the caller does not say (the report then names the model only)
    geometry_source: str | None = None

    @property
    def structures(self) -> tuple[StructureReport, ...]:
        return tuple(s for c in self.cases for s in c.structures)

    def not_computed(self) -> tuple[str, ...]:
        """What was asked for and is NOT EVALUATED, one entry per case or structure.

        A structure without a complete DVH (not found, partly outside the dose grid,
        empty, blocked...) has none of its numbers; a complete one lists its metrics
        that are NOT EVALUATED; a case without a DVH, or an index target that does not
        exist, is named too. Empty when every requested number was computed.
        """
        out: list[str] = []
        for c in self.cases:
            where = f"case {c.label}: " if len(self.cases) > 1 else ""
            for f in c.findings:
                if f.code == "DVH_NOT_COMPUTED":
                    out.append(f"{where}no DVH ({f.code})")
                elif f.code == "STRUCTURE_NOT_FOUND":
                    out.append(f"{where}indices of target {f.subject!r} ({f.code})")
            for s in c.structures:
                if not s.complete:
                    codes = sorted({f.code for f in s.findings if f.severity is Severity.ERROR}
                                   | set(s.ev.blocked_by)) or [s.ev.state.value]
                    out.append(f"{where}{s.name}: every number ({', '.join(codes)})")
                    continue
                missing = [m.spec.label for m in s.metrics if not m.evaluated]
                if missing:
                    out.append(f"{where}{s.name}: {', '.join(missing)}")
        return tuple(out)

    def to_dict(self, curves: bool = False) -> dict[str, Any]:
        settings = {k: v.value if isinstance(v, Enum) else v
                    for k, v in asdict(self.settings).items()}
        return {
            "rtcheck_version": __version__, "settings": settings,
            "geometry_source": self.geometry_source,
            "dose_space": self.dose_space.value, "alpha_beta": self.alpha_beta.to_dict(),
            "metrics": [s.raw for s in self.specs],
            "structures": [s.to_dict(curves) for s in self.structures],
            "cases": [c.to_dict(self.alpha_beta) for c in self.cases],
            "findings": [f.to_dict() for f in self.findings],
        }


def build_dvh_report(  # noqa: PLR0913 -- public API: every option of `rtcheck dvh`
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
    curves: bool = False,
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
    unknown = [alpha_beta.given_names.get(n, n) for n in alpha_beta.by_structure
               if n not in {a.casefold() for a in available}]
    if unknown:  # a misspelt name would silently fall back to the default alpha/beta
        raise UsageError(f"--alpha-beta-for: no structure named {', '.join(map(repr, unknown))}; "
                         f"available: {', '.join(available)}")
    load_errors = tuple(f for f in result.findings if f.severity is Severity.ERROR)
    request = EvaluationRequest(
        structures=names or None, specs=specs, settings=settings, alpha_beta=alpha_beta,
        rx_gy=rx_gy, fractions=fractions, targets=targets, indices=indices,
        isodose_levels=isodose_levels, tps_compare=True, curve_points=None if curves else 0)
    cases = []
    for c in result.cases:
        ev = evaluate_case(c, request, load_errors)
        rois = tuple(s.name for s in c.structure_set.structures) if c.structure_set else ()
        cases.append(CaseReport(ev, tuple(StructureReport(c.label, s) for s in ev.structures),
                                c.folder, rois))
    return DvhReport(settings, dose_space, alpha_beta, specs, tuple(cases), result.findings)


# Rendering lives in rtcheck.report.dvh_render; re-exported for callers of this module.
from rtcheck.report.dvh_render import render_csv, render_json, render_text  # noqa: E402

__all__ = ["DvhReport", "build_dvh_report", "render_csv", "render_json", "render_text"]
