"""DVH constraints → check results, including structures longer than the dose grid.

For each structure a constraint names: not contoured and not required → one
NOT_APPLICABLE result per constraint; required but missing, or ambiguous → NOT
EVALUATED; matched → the metric from :func:`rtcheck.evaluate.evaluate_case`,
compared with the limit for the plan's fraction count (:mod:`.limits`).

A structure partly outside the dose grid has no evaluated metric; its bounds
(:mod:`rtcheck.evaluate.bounds`) decide when they can: an in-grid value already
beyond an upper limit is a FAIL (more volume can only raise it); an upper bound
within the limit is a PASS that carries the assumption in its notes; anything else
stays NOT EVALUATED.
"""

from __future__ import annotations

from rtcheck.dose.metric_spec import MetricKind, QueryUnit
from rtcheck.dose.metrics import MetricResult
from rtcheck.evaluate.case import CaseEvaluation
from rtcheck.evaluate.structure import StructureEvaluation, StructureState
from rtcheck.rules.limits import ResolvedLimit, resolve_limit
from rtcheck.rules.matching import MatchRule, MatchStatus, StructureMatch
from rtcheck.rules.protocol import Constraint
from rtcheck.rules.result import CheckResult
from rtcheck.rules.structures import StructureMatches
from rtcheck.rules.vocabulary import CheckKind, CheckStatus, Comparison


def margin_of(comparison: Comparison, value: float, limit: float) -> float:
    """Room to the limit: ``limit - value`` (upper limits) or ``value - limit`` (lower)."""
    return limit - value if comparison.is_upper_limit else value - limit


def judge(comparison: Comparison, value: float, limit: float, minor: float | None
          ) -> CheckStatus:
    """PASS, MINOR_DEVIATION (within the band up to ``minor``) or FAIL."""
    if comparison.holds(value, limit):
        return CheckStatus.PASS
    if minor is not None and comparison.holds(value, minor):
        return CheckStatus.MINOR_DEVIATION
    return CheckStatus.FAIL


def _base(c: Constraint, structure: str, match: StructureMatch | None) -> dict[str, object]:
    notes = list(c.notes)  # the TG-101 3-fraction caveat: _applicable_notes (n == 3 only)
    return dict(id=c.id if len(c.structures) == 1 else f"{c.id}:{structure}",
                kind=CheckKind.DVH, title=c.title, tier=c.tier, priority=c.priority,
                source=c.source.text(), structure=structure,
                roi=match.roi_name if match else None,
                match=match.describe() if match else None, metric=c.metric.raw,
                unit=c.metric.output_unit.value, comparison=c.comparison,
                notes=tuple(notes))


def _applicable_notes(c: Constraint, n: int | None) -> tuple[str, ...]:
    if c.three_fraction_caveat and n == 3:
        return (f"TG-101: {c.three_fraction_caveat}",)
    return ()


def evaluate_constraint(c: Constraint, ev: CaseEvaluation, matches: StructureMatches
                        ) -> list[CheckResult]:
    """The results of one constraint on one case (one per matched structure)."""
    n = ev.prescription.fractions
    resolved = resolve_limit(c, n)
    rank = {MatchRule.EXACT: 0, MatchRule.ALIAS_FILE: 1, MatchRule.TG263: 2, None: 3}
    # two names matching one ROI: the better rule names it (SacralPlexus exact before
    # SacralPlex by normalisation)
    found = sorted(((s, matches.get(s)) for s in c.structures), key=lambda sm: rank[sm[1].rule])
    present, rois = [], set()
    for s, m in found:  # two names matching one ROI (SacralPlex, SacralPlexus): once
        if m.status is not MatchStatus.MISSING and (m.roi_name is None or m.roi_name not in rois):
            present.append((s, m))
            rois.add(m.roi_name)
    required = [s for s in c.structures if s in matches.required]
    if not present and not required:
        names = ", ".join(c.structures)
        parent = _parent_present(c, matches)
        why = (f"needs the derived structure: {c.needs_derived_structure} (supply it as "
               f"{names})" if parent else f"{names} not contoured")
        status = CheckStatus.NOT_EVALUATED if parent else CheckStatus.NOT_APPLICABLE
        base = _base(c, c.structures[0] if c.structures else "", None)
        base["notes"] = (*base["notes"], *_applicable_notes(c, n))  # type: ignore[misc]
        if resolved.limit is not None:  # shown, so a reader sees what was not checked
            base["limit"] = resolved.limit.value
        return [CheckResult(**base, status=status, message=why)]  # type: ignore[arg-type]
    targets = present or [(s, matches.get(s)) for s in required]
    return [_one(c, s, m, ev, resolved) for s, m in targets]


def _parent_present(c: Constraint, matches: StructureMatches) -> bool:
    """True when ``c`` needs a derived structure whose parent organ is contoured."""
    if not c.needs_derived_structure:
        return False
    if not c.derived_from:
        return True
    try:
        return matches.get(c.derived_from).status is MatchStatus.MATCHED
    except KeyError:
        return False


def _smaller_than_volume(c: Constraint, sev: StructureEvaluation) -> float | None:
    """The structure's volume when it is smaller than an upper-limited D<v>cc's v.

    "No more than v cc above the threshold" (TG-101 serial rows) then holds whatever the
    dose: the volume above any dose is at most the whole structure, less than v.
    """
    spec = c.metric
    if (spec.kind is not MetricKind.DOSE_AT_VOLUME or spec.query_unit is not QueryUnit.CC
            or not c.comparison.is_upper_limit or sev.volume_cc is None
            or sev.state not in (StructureState.COMPLETE, StructureState.PARTIAL)):
        return None
    v = spec.query_value or 0.0
    return sev.volume_cc if sev.volume_cc < v else None


def _one(c: Constraint, structure: str, match: StructureMatch, ev: CaseEvaluation,
         resolved: ResolvedLimit) -> CheckResult:
    base = _base(c, structure, match)
    n = ev.prescription.fractions
    base["notes"] = (*base["notes"], *_applicable_notes(c, n),  # type: ignore[misc]
                     *((resolved.note,) if resolved.note else ()))
    limit = resolved.limit
    if limit is not None:
        base["limit"] = limit.value
        base["minor_limit"] = resolved.minor.value if resolved.minor else None

    def not_evaluated(why: str) -> CheckResult:
        return CheckResult(**base, status=CheckStatus.NOT_EVALUATED, message=why)  # type: ignore[arg-type]

    if match.status is MatchStatus.MISSING:
        return not_evaluated(f"required structure {structure} not found: {match.describe()}")
    if match.status is MatchStatus.AMBIGUOUS:
        return not_evaluated(f"ambiguous structure: {match.describe()}")
    if limit is None:
        return not_evaluated(resolved.reason)
    sev = ev.structure(match.roi_name or "")
    if sev is None:
        return not_evaluated("the structure was not evaluated (no dose or structure set)")
    result = next((m for m in sev.metrics if m.spec.raw == c.metric.raw), None)
    if result is None:
        return not_evaluated("the metric was not computed")
    small = _smaller_than_volume(c, sev)
    if small is not None and not result.evaluated:
        return CheckResult(**base, status=CheckStatus.PASS, upper_bound=None,  # type: ignore[arg-type]
                           message=f"{sev.name} is {small:.4g} cc, smaller than the "
                                   f"{c.metric.query_value:g} cc of {c.metric.raw}: no more than "
                                   f"{c.metric.query_value:g} cc can exceed {limit.value:g} "
                                   f"{c.metric.output_unit.value} (met whatever the dose)")
    if result.evaluated:
        assert result.value is not None
        value = result.value
        status = judge(c.comparison, value, limit.value,
                       resolved.minor.value if resolved.minor else None)
        return CheckResult(**base, status=status, value=value,  # type: ignore[arg-type]
                           margin=margin_of(c.comparison, value, limit.value),
                           message=_message(status, value, c, limit.value))
    return _bounded(base, c, limit.value, result, sev) or not_evaluated(result.message)


def _message(status: CheckStatus, value: float, c: Constraint, limit: float) -> str:
    unit = c.metric.output_unit.value
    word = {CheckStatus.PASS: "within", CheckStatus.MINOR_DEVIATION:
            "minor deviation from", CheckStatus.FAIL: "violates"}[status]
    return f"{c.metric.raw} = {value:.4g} {unit}, {word} the limit {c.comparison.value} " \
           f"{limit:g} {unit}"


def _bounded(base: dict[str, object], c: Constraint, limit: float, result: MetricResult,
             sev: StructureEvaluation) -> CheckResult | None:
    """The grid-boundary rule for upper limits (see the module docstring)."""
    if not c.comparison.is_upper_limit or sev.boundary is None:
        return None
    lo, hi = result.lower_bound, result.upper_bound
    unit = c.metric.output_unit.value
    outside = (f"{sev.name} extends beyond the dose grid "
               f"({sev.volume_cc or 0:.4g} cc, {sev.in_grid_volume_cc or 0:.4g} cc inside)")
    if lo is not None and not c.comparison.holds(lo, limit):
        return CheckResult(**base, status=CheckStatus.FAIL, lower_bound=lo,  # type: ignore[arg-type]
                           upper_bound=hi, margin=margin_of(c.comparison, lo, limit),
                           message=f"{outside}; the in-grid part alone gives {c.metric.raw} "
                                   f"≥ {lo:.4g} {unit}, beyond the limit {c.comparison.value} "
                                   f"{limit:g} {unit} (more volume can only raise it)")
    if hi is not None and c.comparison.holds(hi, limit):
        assumption = (f"GRID_BOUNDARY_ASSUMED: assumes no dose outside the grid exceeds "
                      f"{sev.boundary.describe()}")
        notes: tuple[str, ...] = (*base["notes"], assumption)  # type: ignore[misc]
        return CheckResult(**base | {"notes": notes},  # type: ignore[arg-type]
                           status=CheckStatus.PASS, lower_bound=lo, upper_bound=hi,
                           margin=margin_of(c.comparison, hi, limit),
                           message=f"{outside}; {c.metric.raw} ≤ {hi:.4g} {unit} "
                                   f"(max of the in-grid value and B), within the limit "
                                   f"{c.comparison.value} {limit:g} {unit}")
    why = (f"{outside}: cannot be decided — in-grid {lo:.4g} {unit} and B "
           f"{sev.boundary.max_face_dose_gy:.4g} Gy against the limit {c.comparison.value} "
           f"{limit:g} {unit}; extend the dose calculation volume"
           if lo is not None else f"{outside}: {result.message}")
    return CheckResult(**base, status=CheckStatus.NOT_EVALUATED, lower_bound=lo,  # type: ignore[arg-type]
                       upper_bound=hi, message=why)
