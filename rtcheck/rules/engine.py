"""The plan check: a loaded case + a protocol → a :class:`~.result.CaseResult`.

:func:`check_case` matches the protocol's structures, asks the evaluation layer
(:func:`rtcheck.evaluate.evaluate_case`) for exactly the metrics the constraints
need, turns them into checks (:mod:`.dvh_checks`, :mod:`.plan_checks`), applies the
protocol's priority of OAR limits over PTV coverage, and decides the verdict
(:mod:`.verdict`). :func:`check_load` does it for every case of a load and adds
provenance.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, replace
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from rtcheck import __version__
from rtcheck.dicom.model import Case, LoadResult
from rtcheck.dose.metric_spec import MetricSpec
from rtcheck.evaluate import EvaluationRequest, evaluate_case
from rtcheck.evaluate.case import CaseEvaluation
from rtcheck.findings import Finding, Severity
from rtcheck.rules import plan_checks
from rtcheck.rules.dvh_checks import evaluate_constraint
from rtcheck.rules.matching import MatchStatus
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.protocol import Arm, Protocol, Source
from rtcheck.rules.result import (
    CURVE_POINTS,
    CaseResult,
    CheckReport,
    CheckResult,
    FractionGapResult,
    Provenance,
    StructureSummary,
)
from rtcheck.rules.structures import StructureMatches, match_all
from rtcheck.rules.verdict import verdict_of
from rtcheck.rules.vocabulary import CheckKind, CheckStatus, Tier


def _request(arm: Arm, matches: StructureMatches, options: CheckOptions,
             protocol: Protocol) -> EvaluationRequest:
    per_roi: dict[str, list[MetricSpec]] = {}
    for c in arm.constraints:
        for s in c.structures:
            m = matches.get(s)
            if m.status is MatchStatus.MATCHED and m.roi_name:
                per_roi.setdefault(m.roi_name, []).append(c.metric)
    from rtcheck.dose.bed import AlphaBetaTable
    return EvaluationRequest(
        structures=matches.roi_names(),
        structure_specs=tuple((k, tuple(dict.fromkeys(v))) for k, v in per_roi.items()),
        settings=options.settings, alpha_beta=AlphaBetaTable(protocol.alpha_beta_gy),
        rx_gy=options.rx_gy, fractions=options.fractions, curve_points=CURVE_POINTS)


def _site_check(protocol: Protocol, site: str | None) -> CheckResult | None:
    if not protocol.site_required:
        return None
    base = dict(id="site", kind=CheckKind.SITE, title="treatment site", tier=Tier.MANDATORY,
                priority=1, source=f"{protocol.source.text()} (site-specific required organs)")
    if site is None:
        return CheckResult(**base, status=CheckStatus.NOT_EVALUATED,  # type: ignore[arg-type]
                           message="no treatment site given: the organs a site requires cannot "
                                   "be checked; give --site "
                                   + "|".join(s.id for s in protocol.sites)
                                   + " or a rtcheck.yaml beside the plan")
    return CheckResult(**base, status=CheckStatus.PASS, message=f"site {site}")  # type: ignore[arg-type]


def _required_checks(matches: StructureMatches, site: str | None) -> list[CheckResult]:
    out = []
    for name in matches.required:
        m = matches.get(name)
        ok = m.status is MatchStatus.MATCHED
        out.append(CheckResult(
            id=f"required.{name}", kind=CheckKind.REQUIRED_STRUCTURE,
            title=f"required structure {name}", tier=Tier.MANDATORY, priority=1,
            source="protocol arm" + (f" and site {site}" if site else ""),
            status=CheckStatus.PASS if ok else CheckStatus.NOT_EVALUATED, structure=name,
            roi=m.roi_name, match=m.describe(),
            message=m.describe() if ok else f"{m.describe()}: every check on it is not "
                                            "evaluated; contour it or map its name "
                                            "(--aliases)"))
    return out


def _plan_level(arm: Arm, ev: CaseEvaluation, case: Case, options: CheckOptions
                ) -> tuple[list[CheckResult], tuple[FractionGapResult, ...]]:
    out: list[CheckResult] = []
    gaps: tuple[FractionGapResult, ...] = ()
    for pc in arm.checks:
        if pc.kind is CheckKind.PRESCRIPTION:
            out.append(plan_checks.prescription(pc, ev, arm))
        elif pc.kind is CheckKind.PRESCRIPTION_BED:
            out.append(plan_checks.prescription_bed(pc, ev))
        elif pc.kind is CheckKind.ISODOSE_LEVEL:
            out.append(plan_checks.isodose_level(pc, ev))
        elif pc.kind is CheckKind.MAX_DOSE:
            out.append(plan_checks.max_dose(pc, ev))
        elif pc.kind is CheckKind.FRACTION_SPACING:
            result, gaps = plan_checks.spacing(pc, ev, case.records, options)
            out.append(result)
        elif pc.kind is CheckKind.APPROVAL:
            out.append(plan_checks.approval(pc, ev))
        elif pc.kind is CheckKind.DOSE_SUMMATION:
            out.append(plan_checks.dose_summation(pc, ev))
    return out, gaps


def _blocked(checks: list[CheckResult], blocking: tuple[Finding, ...]) -> list[CheckResult]:
    """Dose checks of a case with ERROR findings: NOT EVALUATED (CHECK_BLOCKED)."""
    if not blocking:
        return checks
    codes = ", ".join(sorted({f.code for f in blocking}))
    out = []
    for c in checks:
        if c.kind in (CheckKind.DVH, *plan_checks.DOSE_KINDS) and c.status not in (
                CheckStatus.NOT_APPLICABLE,):
            c = replace(c, status=CheckStatus.NOT_EVALUATED, value=None, margin=None,
                        lower_bound=None, upper_bound=None,
                        message=f"CHECK_BLOCKED by the input's ERROR finding(s) {codes}: "
                                f"{blocking[0].message}")
        out.append(c)
    return out


def _one_fraction(checks: list[CheckResult], ev: CaseEvaluation) -> list[CheckResult]:
    """Dose checks of a dose that is one FRACTION kept as stored: NOT EVALUATED.

    The protocol's limits are total doses; a per-fraction dose judged against them
    would fail coverage and pass every OAR limit by the number of fractions.
    """
    if not ev.prescription.one_fraction_dose:
        return checks
    out = []
    for c in checks:
        if c.kind in (CheckKind.DVH, *plan_checks.DOSE_KINDS) and c.status not in (
                CheckStatus.NOT_APPLICABLE, CheckStatus.NOT_EVALUATED):
            c = replace(c, status=CheckStatus.NOT_EVALUATED, value=None, margin=None,
                        lower_bound=None, upper_bound=None,
                        message="the dose is one FRACTION kept as stored (no plan gives the "
                                "number of fractions): the protocol's total-dose limits "
                                "cannot apply; load the RTPLAN with it")
        out.append(c)
    return out


def _coverage_ids(arm: Arm) -> frozenset[str]:
    """Ids of the check results of the arm's ``role: coverage`` constraints."""
    return frozenset(c.id if len(c.structures) == 1 else f"{c.id}:{s}"
                     for c in arm.constraints if c.role == "coverage" for s in c.structures)


def _oar_priority(checks: list[CheckResult], margin_percent: float,
                  coverage_ids: frozenset[str]) -> list[CheckResult]:
    """A failed coverage check (``role: coverage``) while a higher-priority OAR limit is
    binding reads as a minor deviation naming that OAR (MEDCARE: "the dose constraints
    for OAR have priority above the prescription dose to the PTV")."""
    binding = [c for c in checks if c.kind is CheckKind.DVH and c.structure and c.limit
               and c.status in (CheckStatus.PASS, CheckStatus.MINOR_DEVIATION)
               and c.margin is not None and c.comparison is not None
               and c.comparison.is_upper_limit
               and c.margin <= abs(c.limit) * margin_percent / 100.0]
    out = []
    for c in checks:
        if c.id in coverage_ids and c.status is CheckStatus.FAIL:
            why = [b for b in binding if b.priority < c.priority]
            if why:
                b = why[0]
                shown = b.value if b.value is not None else b.upper_bound
                c = replace(c, status=CheckStatus.MINOR_DEVIATION, message=(
                    f"{c.message}; COVERAGE_OAR_PRIORITY: the higher-priority limit "
                    f"{b.structure} {b.metric} {b.limit_text} is binding ({shown:.4g} "
                    f"{b.unit}, margin {b.margin:.3g} {b.unit}); the protocol gives OAR "
                    "limits priority over PTV coverage"))
        out.append(c)
    return out


def _structures(ev: CaseEvaluation, matches: StructureMatches, arm: Arm
                ) -> tuple[StructureSummary, ...]:
    constrained = {matches.get(s).roi_name for c in arm.constraints for s in c.structures
                   if matches.get(s).status is MatchStatus.MATCHED}
    targets = {matches.get(c.structures[0]).roi_name for c in arm.constraints
               if c.role in ("coverage", "target")}
    return tuple(StructureSummary(
        s.name, s.roi_number, s.state.value, s.volume_cc, s.in_grid_volume_cc, s.min_gy,
        s.mean_gy, s.max_gy, s.name in constrained, s.name in targets,
        s.boundary.max_face_dose_gy if s.boundary else None, s.curve)
        for s in ev.structures)


def check_case(case: Case, protocol: Protocol, options: CheckOptions | None = None,
               load_errors: tuple[Finding, ...] = (), folder: str = "") -> CaseResult:
    """Check one case against ``protocol`` (arm and site from ``options``)."""
    options = options or CheckOptions()
    arm = protocol.arm(options.arm)
    site = protocol.site(options.site) if options.site else None
    required = tuple(dict.fromkeys((*arm.required, *(site.required if site else ()))))
    matches = match_all(case.structure_set, protocol, arm, required, options)
    ev = evaluate_case(case, _request(arm, matches, options, protocol), load_errors)
    checks: list[CheckResult] = []
    if (sc := _site_check(protocol, options.site)) is not None:
        checks.append(sc)
    checks += _required_checks(matches, options.site)
    plan_level, gaps = _plan_level(arm, ev, case, options)
    checks += plan_level
    for c in arm.constraints:
        checks += evaluate_constraint(c, ev, matches)
    checks = _blocked(checks, ev.blocking)
    checks = _one_fraction(checks, ev)
    checks = _oar_priority(checks, protocol.binding_margin_percent, _coverage_ids(arm))
    blocked = bool(ev.blocking)
    return CaseResult(
        label=case.label, folder=folder or _folder(case), plan_label=ev.plan_label,
        plan_uid=ev.plan_uid, arm=arm.id, site=options.site,
        prescription={**ev.prescription.to_dict(), "arm_total_gy": arm.prescription_gy,
                      "arm_fractions": arm.fractions, **_plan_rx(case),
                      "site_requires": list(site.required) if site else None},
        dose=ev.dose.to_dict() if ev.dose else None,
        verdict=verdict_of(checks, blocked), checks=tuple(checks),
        structures=_structures(ev, matches, arm), fraction_gaps=gaps,
        findings=_case_findings(ev), input_blocked=blocked)


def _plan_rx(case: Case) -> dict[str, object]:
    """The plan's own prescription, to show beside one given on the command line."""
    p = case.plan.prescription if case.plan else None
    return {"plan_total_gy": p.total_dose_gy if p else None,
            "plan_fractions": p.fractions if p else None}


def _case_findings(ev: CaseEvaluation) -> tuple[Finding, ...]:
    """The case's findings and those of every evaluated structure (each format carries all)."""
    out = list(ev.findings)
    for s in ev.structures:
        out += [f for f in s.findings if f not in out]
    return tuple(out)


def _folder(case: Case) -> str:
    paths = [p for p in (case.plan.source_path if case.plan else "",
                         case.structure_set.source_path if case.structure_set else "",
                         *(case.dose.source_paths if case.dose else ())) if p]
    return str(Path(paths[0]).parent) if paths else ""


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_files(case: Case) -> list[str]:
    """Every file a case was built from (plan, structures, doses, records)."""
    out = [case.plan.source_path if case.plan else "",
           case.structure_set.source_path if case.structure_set else "",
           *(case.dose.source_paths if case.dose else ()),
           *(r.source_path for r in case.records)]
    return sorted({p for p in out if p})


def provenance(result: LoadResult, protocol: Protocol, options: CheckOptions,
               extra_inputs: tuple[str, ...] = ()) -> Provenance:
    files = sorted({p for c in result.cases for p in input_files(c)} | set(extra_inputs))
    settings = {k: v.value if isinstance(v, Enum) else v
                for k, v in asdict(options.settings).items()}
    opts = {"arm": options.arm, "site": options.site, "rx_gy": options.rx_gy,
            "fractions": options.fractions,
            "aliases": options.alias_table.source if options.alias_table else None,
            "schedule_fractions": len(options.schedule),
            "geometry_source": options.geometry_source}
    return Provenance(__version__, platform.python_version(),
                      datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      tuple((p, sha256_of(p)) for p in files), protocol.path, protocol.sha256,
                      protocol.libraries, settings, opts)


def check_load(result: LoadResult, protocol: Protocol, options: CheckOptions | None = None,
               extra_inputs: tuple[str, ...] = ()) -> CheckReport:
    """Check every case of a load; a load with no case gives an INCOMPLETE report."""
    options = options or CheckOptions()
    load_errors = tuple(f for f in result.findings if f.severity is Severity.ERROR)
    cases = tuple(check_case(c, protocol, options, load_errors) for c in result.cases)
    return CheckReport(protocol.id, protocol.title, protocol.version, cases,
                       provenance(result, protocol, options, extra_inputs), result.findings)


__all__ = ["Source", "check_case", "check_load", "input_files", "provenance", "sha256_of"]
