"""Invariants of the plan check.

* A required structure removed or renamed (to a name no matching rule accepts) never
  leaves a PASS, for every fixture that passes (exhaustive, then hypothesis names).
* The public API never turns a partial DVH into an evaluated number; the slim
  evaluation refuses EVALUATED metrics of an incomplete structure.
* The result model: to_dict/from_dict, JSON, schema version, pickle size.
"""

from __future__ import annotations

import fnmatch
import json
import pickle
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtcheck.dicom.model import Case
from rtcheck.dose.engine import compute_dvhs
from rtcheck.dose.metric_spec import parse_metric
from rtcheck.dose.metrics import MetricResult, MetricStatus, evaluate_metric
from rtcheck.evaluate import StructureEvaluation, StructureState
from rtcheck.rules.engine import check_case, check_load
from rtcheck.rules.matching import MatchStatus, match_structure, normalise_name
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.result import SCHEMA_VERSION, CaseResult, CheckReport, CheckResult
from rtcheck.rules.structures import protocol_names
from rtcheck.rules.vocabulary import CheckStatus, Verdict
from tests.check_helpers import case_of, loaded, medcare

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"

#: the fixtures that pass, with the site they are checked for (fixtures/README.md)
PASSING = {"spine_sbrt": "spine", "pelvic_node_sbrt": "pelvis", "spine_beam_doses": "spine"}


def required_of(site: str) -> tuple[str, ...]:
    """Every structure the SBRT arm and the site require, read from the protocol."""
    p = medcare()
    return tuple(dict.fromkeys((*p.arm("sbrt").required, *p.site(site).required)))


def aliases_of(standard: str) -> tuple[str, ...]:
    p = medcare()
    names = protocol_names(p.arm("sbrt"), ())
    return (*p.aliases_for(standard), *names.get(standard, ()))


def still_matches(standard: str, roi_name: str) -> bool:
    """True when a matching rule could still take ``roi_name`` for ``standard``
    (computed here from the rules' definitions, not by calling the matcher)."""
    aliases = aliases_of(standard)
    folded = roi_name.casefold()
    return (roi_name == standard or roi_name in aliases
            or normalise_name(roi_name) == normalise_name(standard)
            or any(fnmatch.fnmatchcase(folded, a.casefold()) for a in aliases)
            or (standard in ("PTV", "GTV", "CTV")
                and folded.strip().startswith(standard.casefold())))


def roi_for(case: Case, standard: str) -> str:
    """The ROI the fixture uses for a required structure (the names are TG-263)."""
    ss = case.structure_set
    assert ss is not None
    s = ss.by_name(standard)
    assert s is not None, standard
    return s.name


def without(case: Case, roi: str) -> Case:
    ss = case.structure_set
    assert ss is not None
    return replace(case, structure_set=replace(
        ss, structures=tuple(s for s in ss.structures if s.name != roi)))


def renamed(case: Case, roi: str, new: str) -> Case:
    ss = case.structure_set
    assert ss is not None
    return replace(case, structure_set=replace(
        ss, structures=tuple(replace(s, name=new) if s.name == roi else s
                             for s in ss.structures)))


def verdict(case: Case, site: str) -> CaseResult:
    return check_case(case, medcare(), CheckOptions(site=site))


# ----------------------------------------------------------- 6. required structures

PAIRS = [(fx, name) for fx, site in PASSING.items() for name in required_of(site)]


def test_required_structures_per_site() -> None:
    assert required_of("spine") == ("PTV", "SpinalCord")
    assert required_of("pelvis") == ("PTV", "Bowel", "Rectum", "Bladder")


@pytest.mark.parametrize("fixture", list(PASSING))
def test_the_fixture_passes_as_is(fixture: str) -> None:
    assert verdict(case_of(fixture), PASSING[fixture]).verdict is Verdict.PASS


@pytest.mark.parametrize(("fixture", "standard"), PAIRS)
def test_removing_a_required_structure_never_passes(fixture: str, standard: str) -> None:
    result = verdict(without(case_of(fixture), roi_for(case_of(fixture), standard)),
                     PASSING[fixture])
    assert result.verdict is not Verdict.PASS
    req = next(c for c in result.checks if c.id == f"required.{standard}")
    assert req.status is CheckStatus.NOT_EVALUATED


@pytest.mark.parametrize(("fixture", "standard"), PAIRS)
def test_renaming_a_required_structure_never_passes(fixture: str, standard: str) -> None:
    new = "Unrelated_ROI_7"
    assert not still_matches(standard, new)
    result = verdict(renamed(case_of(fixture), roi_for(case_of(fixture), standard), new),
                     PASSING[fixture])
    assert result.verdict is not Verdict.PASS


NAMES = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"),
                                       whitelist_characters=" _-.()"),
                min_size=1, max_size=14)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(pair=st.sampled_from(PAIRS), data=st.data())
def test_renaming_to_any_non_matching_name_never_passes(pair: tuple[str, str],
                                                         data: st.DataObject) -> None:
    fixture, standard = pair
    new = data.draw(NAMES.filter(lambda n: not still_matches(standard, n)), label="new name")
    result = verdict(renamed(case_of(fixture), roi_for(case_of(fixture), standard), new),
                     PASSING[fixture])
    assert result.verdict is not Verdict.PASS


@settings(max_examples=300, deadline=None)
@given(standard=st.sampled_from(sorted({n for _, n in PAIRS})), name=NAMES)
def test_the_filter_is_wider_than_the_matcher(standard: str, name: str) -> None:
    """Whatever the matcher accepts, the filter excludes: renamed ROIs really are lost."""
    m = match_structure(standard, [name], aliases=aliases_of(standard))
    if m.status is MatchStatus.MATCHED:
        assert still_matches(standard, name)


def test_the_filter_excludes_what_the_rules_accept() -> None:
    # the property's filter is at least as wide as the matching rules
    for name in ("Spinal Cord", "spinal_cord", "CORD", "Cord", "SpinalCanal"):
        assert still_matches("SpinalCord", name), name
    for name in ("PTV1", "ptv_30Gy", "PTV high"):
        assert still_matches("PTV", name), name
    assert still_matches("Bowel", "BOWEL")
    assert not still_matches("SpinalCord", "CORD_PRV5")


# -------------------------------------------------------------------- 10. public API


def test_partial_dvh_gives_no_evaluated_metric_through_the_public_api() -> None:
    case = case_of("spine_grid_misses_oar")
    assert case.structure_set is not None and case.dose is not None
    (cord,) = compute_dvhs(case.structure_set, case.dose, names=["SpinalCord"])
    assert cord.dvh is not None and cord.dvh.is_partial
    result = evaluate_metric(parse_metric("D0.035cc[Gy]"), cord.dvh)
    assert result.status is MetricStatus.NOT_EVALUATED
    assert result.value is None
    assert "outside the dose grid" in result.message


def test_incomplete_structure_evaluation_refuses_evaluated_metrics() -> None:
    spec = parse_metric("D0.035cc[Gy]")
    evaluated = MetricResult(spec, 15.0, "Gy", MetricStatus.EVALUATED)
    for state in (StructureState.PARTIAL, StructureState.NOT_EVALUABLE,
                  StructureState.BLOCKED, StructureState.NOT_FOUND):
        with pytest.raises(ValueError, match="cannot have EVALUATED metrics"):
            StructureEvaluation("SpinalCord", 4, "ORGAN", state, 4.5, 2.9, None, None, None,
                                (evaluated,))
        with pytest.raises(ValueError, match="statistics only for a complete structure"):
            StructureEvaluation("SpinalCord", 4, "ORGAN", state, 4.5, 2.9, None, None, 15.0,
                                ())
    ok = StructureEvaluation("SpinalCord", 4, "ORGAN", StructureState.COMPLETE, 4.5, 4.5,
                             1.0, 5.0, 15.0, (evaluated,))
    assert ok.complete and ok.metric("D0.035cc[Gy]").value == 15.0


def test_a_not_evaluated_check_cannot_carry_a_value() -> None:
    with pytest.raises(ValueError, match="NOT_EVALUATED check has no value"):
        CheckResult(id="x", kind="dvh", title="x", status="not_evaluated",  # type: ignore[arg-type]
                    tier="mandatory", priority=1, source="s", value=1.0)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def reports() -> dict[str, CheckReport]:
    return {name: check_load(loaded(name), medcare(), CheckOptions(site="spine"))
            for name in ("spine_sbrt", "spine_grid_misses_oar", "spine_cord_overdose")}


def _json_round(report: CheckReport) -> CheckReport:
    return CheckReport.from_dict(json.loads(json.dumps(report.to_dict())))


@pytest.mark.parametrize("name", ["spine_sbrt", "spine_grid_misses_oar",
                                  "spine_cord_overdose"])
def test_round_trip_through_json(reports: dict[str, CheckReport], name: str) -> None:
    report = reports[name]
    text = json.dumps(report.to_dict(), allow_nan=False)
    back = CheckReport.from_dict(json.loads(text))
    # the written form is a fixed point: reading and writing again changes nothing
    assert back.to_dict() == report.to_dict()
    assert _json_round(back) == back
    assert back.verdict is report.verdict
    (case,), (orig,) = back.cases, report.cases
    assert case.verdict is orig.verdict
    assert [c.id for c in case.checks] == [c.id for c in orig.checks]
    for got, want in zip(case.checks, orig.checks, strict=True):
        assert (got.status, got.tier, got.comparison, got.limit, got.notes, got.message) == \
            (want.status, want.tier, want.comparison, want.limit, want.notes, want.message)
        for field in ("value", "margin", "lower_bound", "upper_bound"):
            a, b = getattr(got, field), getattr(want, field)
            assert (a is None) == (b is None), (got.id, field)
            if a is not None:
                assert a == pytest.approx(b, abs=5e-5), (got.id, field)
    assert back.provenance == report.provenance
    assert case.fraction_gaps[0].gap_hours == pytest.approx(orig.fraction_gaps[0].gap_hours,
                                                            abs=5e-5)


def test_check_and_case_results_round_trip(reports: dict[str, CheckReport]) -> None:
    (case,) = reports["spine_grid_misses_oar"].cases
    once = CaseResult.from_dict(json.loads(json.dumps(case.to_dict())))
    assert CaseResult.from_dict(once.to_dict()) == once
    for c in once.checks:
        assert CheckResult.from_dict(c.to_dict()) == c


def test_round_trip_equals_the_report_as_written(reports: dict[str, CheckReport]) -> None:
    """Numbers are rounded once, when written (4 decimals): what is read back is what was
    written, and checks are judged on the full-precision values before that."""
    written = reports["spine_sbrt"].to_dict()
    assert CheckReport.from_dict(written).to_dict() == written


@pytest.mark.parametrize("version", ["2.0", "0.9", "", "abc"])
def test_from_dict_refuses_another_schema_major_version(reports: dict[str, CheckReport],
                                                        version: str) -> None:
    d = reports["spine_sbrt"].to_dict()
    d["schema_version"] = version
    with pytest.raises(ValueError, match="is not readable by this rtcheck"):
        CheckReport.from_dict(d)
    d["schema_version"] = SCHEMA_VERSION.split(".")[0] + ".7"   # a newer minor is read
    assert CheckReport.from_dict(d).schema_version.endswith(".7")


def test_the_result_pickles_small(reports: dict[str, CheckReport]) -> None:
    for report in reports.values():
        blob = pickle.dumps(report)
        assert len(blob) < 200_000
        assert pickle.loads(blob) == report
