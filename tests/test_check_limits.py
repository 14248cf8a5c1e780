"""Which limit applies, and what a structure longer than the dose grid can prove.

* Every TG-101 row as encoded in the MEDCARE SBRT arm, against ``constraints/tg101.yaml``
  read independently; untabulated fraction counts; the equal-BED conversion computed by
  hand; the 3-fraction caveat of the parallel organs.
* The grid-boundary rule (``rtcheck.evaluate.bounds`` + ``rtcheck.rules.dvh_checks``) on
  small in-memory grids whose numbers are known by construction, and on the fixture
  ``spine_grid_misses_oar``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from rtcheck.dicom.loader import load
from rtcheck.dicom.model import (
    Case,
    Contour,
    DoseGrid,
    DoseSummationType,
    Structure,
    StructureSet,
)
from rtcheck.dose.metric_spec import parse_metric
from rtcheck.evaluate import EvaluationRequest, StructureState, evaluate_case
from rtcheck.rules.engine import check_case
from rtcheck.rules.limits import equivalent_dose_gy, resolve_limit
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.protocol import Constraint, Conversion, Protocol, load_protocol
from rtcheck.rules.quantity import parse_quantity
from rtcheck.rules.result import CaseResult, CheckResult
from rtcheck.rules.vocabulary import CheckStatus, Comparison, Tier, Verdict
from tests.check_helpers import medcare

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
TG101 = ROOT / "constraints" / "tg101.yaml"
SPINE = CheckOptions(site="spine")
CAVEAT = "TG-101: printed 3-fx value probably a 4-fx value (tg101-table3.md §5.1)"


@cache
def case_of(name: str) -> Case:
    (case,) = load([str(FIXTURES / name)]).cases
    return case


def by_id(result: CaseResult, check_id: str) -> CheckResult:
    return next(c for c in result.checks if c.id == check_id)


@cache
def tg101_rows() -> list[dict[str, Any]]:
    """tg101.yaml read with plain yaml.safe_load (not rtcheck's loader)."""
    with TG101.open(encoding="utf-8") as f:
        return list(yaml.safe_load(f)["rows"])


def tg101_limits() -> list[tuple[int, str, str, dict[int, str]]]:
    return [(row["row"], lim["metric"], lim["comparison"], lim["limit"])
            for row in tg101_rows() for lim in row["limits"]]


def sbrt_constraint(row: int, metric: str) -> Constraint:
    cid = f"tg101.row{row}.{metric}"
    return next(c for c in medcare().arm("sbrt").constraints if c.id == cid)


# ------------------------------------------------------------------ 3. TG-101 encoding


def test_every_tg101_limit_is_one_constraint_of_the_sbrt_arm() -> None:
    lib = [c for c in medcare().arm("sbrt").constraints if c.id.startswith("tg101.")]
    assert len(lib) == len(tg101_limits()) == 52  # 31 rows, 52 limits
    assert len({c.id for c in lib}) == len(lib)


@pytest.mark.parametrize(("row", "metric", "comparison", "table"), tg101_limits(),
                         ids=[f"row{r}-{m}" for r, m, _, _ in tg101_limits()])
def test_tg101_row_encoding(row: int, metric: str, comparison: str,
                            table: dict[int, str]) -> None:
    c = sbrt_constraint(row, metric)
    assert c.comparison is Comparison(comparison) is Comparison.LE
    assert c.metric.raw == metric
    assert c.priority == 1
    derived = bool(next(r for r in tg101_rows() if r["row"] == row)
                   .get("needs_derived_structure"))
    assert c.tier is (Tier.OPTIONAL if derived else Tier.MANDATORY)
    for n in (1, 3, 5):
        got = resolve_limit(c, n)
        if n in table:
            number, unit = table[n].split()
            assert got.limit is not None, (row, metric, n)
            assert got.limit.value == float(number)
            assert got.limit.unit == unit == "Gy"
            assert got.reason == "" and got.note == ""
        else:  # row 16 (rib D30cc) is tabulated for 3 fractions only
            assert got.limit is None
            assert got.reason.startswith(f"no limit for {n} fractions")
    four = resolve_limit(c, 4)
    assert four.limit is None
    tabulated = ", ".join(str(k) for k in sorted(table))
    assert four.reason == (f"no limit for 4 fractions (tabulated: {tabulated}) and the "
                           "protocol gives no conversion")
    assert "fractions is unknown" in resolve_limit(c, None).reason


def _bed(dose: float, n: int, ab: float = 3.0) -> float:
    return dose * (1 + dose / (n * ab))


def _dose_for_bed(bed: float, n: int, ab: float = 3.0) -> float:
    a = n * ab
    return a / 2 * (math.sqrt(1 + 4 * bed / a) - 1)


def test_bed_conversion_arithmetic_by_hand() -> None:
    """Cord D0.35cc: 18 Gy in 3 fx has BED 18 (1 + 6/3) = 54 Gy (α/β 3 Gy).

    In 4 fractions D (1 + D/12) = 54 → D = 6 (√(1 + 4·54/12) − 1) = 6 (√19 − 1)
    = 20.153 Gy. (The brief's 19.65 Gy is an arithmetic slip: 6 × 3.359 = 20.15.)
    From 23 Gy in 5 fx: BED 23 (1 + 23/15) = 58.27 Gy → 6 (√(1 + 58.27/3) − 1)
    = 21.11 Gy. The upper limit keeps the lower: 20.153 Gy.
    """
    assert _bed(18.0, 3) == pytest.approx(54.0)
    from_3 = 6 * (math.sqrt(19) - 1)
    assert from_3 == pytest.approx(20.1534, abs=1e-4)
    assert equivalent_dose_gy(18.0, 3, 4, 3.0) == pytest.approx(from_3, rel=1e-12)
    from_5 = 6 * (math.sqrt(1 + _bed(23.0, 5) / 3) - 1)
    assert from_5 == pytest.approx(21.1146, abs=1e-4)
    assert equivalent_dose_gy(23.0, 5, 4, 3.0) == pytest.approx(from_5, rel=1e-12)
    # the same BED in the same number of fractions is the same dose
    assert equivalent_dose_gy(18.0, 3, 3, 3.0) == pytest.approx(18.0, rel=1e-12)


def _converted(c: Constraint) -> Constraint:
    return replace(c, convert=Conversion(method="bed", alpha_beta_gy=3.0))


def test_conversion_for_four_fractions_keeps_the_lower_limit() -> None:
    c = _converted(sbrt_constraint(4, "D0.35cc[Gy]"))
    got = resolve_limit(c, 4)
    assert got.limit is not None and got.limit.unit == "Gy"
    assert got.limit.value == round(6 * (math.sqrt(19) - 1), 4) == 20.1534
    assert got.note == ("limit converted from 18 Gy in 3 fractions to 4 fractions by equal "
                        "BED (alpha/beta 3 Gy): 20.15 Gy")
    # tabulated counts are never converted
    exact = resolve_limit(c, 3)
    assert exact.limit is not None and exact.limit.value == 18.0 and exact.note == ""


@pytest.mark.parametrize(("row", "metric", "n"), [
    (4, "D0.35cc[Gy]", 2), (4, "D0.35cc[Gy]", 4), (4, "D0.35cc[Gy]", 6),
    (4, "D0.035cc[Gy]", 4), (9, "D5cc[Gy]", 4), (28, "DC1500cc[Gy]", 2),
])
def test_conversion_is_the_min_over_the_neighbouring_tabulated_counts(
        row: int, metric: str, n: int) -> None:
    c = _converted(sbrt_constraint(row, metric))
    table = next(lim["limit"] for r in tg101_rows() if r["row"] == row
                 for lim in r["limits"] if lim["metric"] == metric)
    lower = [k for k in sorted(table) if k < n][-1:]
    higher = [k for k in sorted(table) if k > n][:1]
    candidates = [_dose_for_bed(_bed(parse_quantity(table[k]).value, k), n)
                  for k in lower + higher]
    got = resolve_limit(c, n)
    assert got.limit is not None
    assert got.limit.value == pytest.approx(min(candidates), abs=5e-5)


def test_lower_limit_conversion_keeps_the_higher_value() -> None:
    base = sbrt_constraint(4, "D0.35cc[Gy]")
    c = replace(base, comparison=Comparison.GE, convert=Conversion("bed", 3.0),
                limits=((3, parse_quantity("30 Gy")), (5, parse_quantity("35 Gy"))))
    from_3 = _dose_for_bed(_bed(30.0, 3), 4)   # BED 130 → 33.95 Gy
    from_5 = _dose_for_bed(_bed(35.0, 5), 4)   # BED 116.7 → 31.89 Gy
    got = resolve_limit(c, 4)
    assert got.limit is not None
    assert got.limit.value == pytest.approx(max(from_3, from_5), abs=5e-5)
    assert from_3 > from_5


def test_volume_limits_are_never_converted() -> None:
    base = sbrt_constraint(4, "D0.35cc[Gy]")
    c = replace(base, metric=parse_metric("V20Gy[cc]"), convert=Conversion("bed", 3.0),
                limits=((3, parse_quantity("1 cc")), (5, parse_quantity("2 cc"))))
    got = resolve_limit(c, 4)
    assert got.limit is None
    assert got.reason == ("no limit for 4 fractions and only dose limits can be converted "
                          "by BED")


def conversion_protocol(folder: Path) -> Protocol:
    path = folder / "converted.yaml"
    path.write_text(f"""schema_version: 1
kind: protocol
id: converted
title: TG-101 with equal-BED conversion
version: "1"
source: {{document: "test"}}
default_arm: a
arms:
  a:
    title: arm a
    prescription: {{dose: "32 Gy", fractions: 4}}
    required: [PTV, SpinalCord]
    checks: []
    libraries:
      - {{file: "{TG101}", tier: mandatory, priority: 1,
         convert: {{method: bed, alpha_beta_gy: 3}}}}
""", encoding="utf-8")
    return load_protocol(path)


def test_four_fractions_through_the_engine(tmp_path: Path) -> None:
    four = CheckOptions(site="spine", rx_gy=32, fractions=4)
    plain = check_case(case_of("spine_sbrt"), medcare(), four)
    cord = by_id(plain, "tg101.row4.D0.35cc[Gy]")
    assert cord.status is CheckStatus.NOT_EVALUATED
    assert cord.value is None and cord.limit is None
    assert cord.message == ("no limit for 4 fractions (tabulated: 1, 3, 5) and the protocol "
                            "gives no conversion")
    assert plain.verdict is Verdict.INCOMPLETE

    converted = check_case(case_of("spine_sbrt"), conversion_protocol(tmp_path),
                           CheckOptions(rx_gy=32, fractions=4))
    cord = by_id(converted, "tg101.row4.D0.35cc[Gy]")
    assert cord.status is CheckStatus.PASS
    assert cord.limit == 20.1534
    assert cord.margin == pytest.approx(20.1534 - (cord.value or 0.0), abs=1e-12)
    assert any(n.startswith("limit converted from 18 Gy in 3 fractions") for n in cord.notes)
    assert converted.verdict is Verdict.PASS


def _with_parallel_organs(case: Case) -> Case:
    """spine_sbrt plus 'Lungs' and 'Liver' ROIs (the Body's contours, 2110 cc)."""
    ss = case.structure_set
    assert ss is not None
    body = ss.by_name("Body")
    assert body is not None
    extra = (Structure(90, "Lungs", "ORGAN", contours=body.contours),
             Structure(91, "Liver", "ORGAN", contours=body.contours))
    return replace(case, structure_set=replace(ss, structures=(*ss.structures, *extra)))


PARALLEL = ("tg101.row28.DC1500cc[Gy]", "tg101.row29.DC1000cc[Gy]",
            "tg101.row30.DC700cc[Gy]")


def test_three_fraction_caveat_shown_once_for_three_fractions() -> None:
    result = check_case(_with_parallel_organs(case_of("spine_sbrt")), medcare(), SPINE)
    for cid in PARALLEL:
        c = by_id(result, cid)
        assert c.status is CheckStatus.PASS  # the organs get a few Gy at most
        assert c.notes.count(CAVEAT) == 1, c.notes
        assert len(c.notes) == 1
    # a parallel row whose organ is not contoured still carries it (renal cortex)
    renal = by_id(result, "tg101.row31.DC200cc[Gy]")
    assert renal.status is CheckStatus.NOT_APPLICABLE
    assert renal.notes == (CAVEAT,)
    # serial rows never do
    assert not any("3-fx" in n for n in by_id(result, "tg101.row4.D0.35cc[Gy]").notes)
    assert result.verdict is Verdict.PASS


def test_three_fraction_caveat_absent_for_five_fractions() -> None:
    result = check_case(_with_parallel_organs(case_of("spine_sbrt")), medcare(),
                        CheckOptions(site="spine", rx_gy=35, fractions=5))
    for cid in (*PARALLEL, "tg101.row31.DC200cc[Gy]"):
        assert CAVEAT not in by_id(result, cid).notes
    lungs = by_id(result, "tg101.row28.DC1500cc[Gy]")
    assert lungs.limit == 12.5


# ------------------------------------------------------------------ 8. grid boundary

AX = np.arange(-10.0, 10.01, 2.0)      # 11 nodes: the grid covers -11 … +11 mm
N_GON = 64
RADIUS = 3.0
CORD_AREA = 0.5 * N_GON * RADIUS**2 * math.sin(2 * math.pi / N_GON)  # 28.229 mm²


def cord_case(interior: float, face: float, corner: float | None = None) -> Case:
    """A cord-like cylinder (r 3 mm, z −21…+21 mm) in an 11³ grid (z −11…+11 mm).

    Dose: ``interior`` on every node except the two z-face planes, which hold ``face``;
    ``corner`` (if given) replaces the face value at the (x+, y+) corner of the z− face,
    14 mm from the cord axis, so it raises B without touching the cord.
    """
    dose = np.full((AX.size,) * 3, interior)
    dose[0] = face
    dose[-1] = face
    if corner is not None:
        dose[0, -1, -1] = corner
    grid = DoseGrid(AX, AX, AX, dose, "PHYSICAL", DoseSummationType.PLAN, "1.2.3", "1.2.3.9")
    t = np.arange(N_GON) * 2 * np.pi / N_GON
    ring = np.column_stack((RADIUS * np.cos(t), RADIUS * np.sin(t)))
    cord = Structure(1, "SpinalCord", "ORGAN",
                     contours=tuple(Contour(z, ring) for z in np.arange(-20.0, 20.01, 2.0)))
    return Case("cylinder", None, grid, StructureSet("1.2.4", "SS", "1.2.3", (cord,)))


@pytest.fixture(scope="module")
def boundary_protocol(tmp_path_factory: pytest.TempPathFactory) -> Protocol:
    path = tmp_path_factory.mktemp("protocol") / "boundary.yaml"
    checks = [("cord_max", "D0.035cc[Gy]", "21.9 Gy", "mandatory"),
              ("cord_d10", "D10%[Gy]", "100 Gy", "optional"),
              ("cord_v20", "V20Gy[cc]", "1 cc", "optional"),
              ("cord_v20_tight", "V20Gy[cc]", "0.3 cc", "optional")]
    body = "".join(f"""      - id: {cid}
        kind: dvh
        structure: SpinalCord
        metric: "{metric}"
        comparison: "<="
        limit: "{limit}"
        tier: {tier}
        priority: 1
        source: {{document: "test"}}
""" for cid, metric, limit, tier in checks)
    path.write_text(f"""schema_version: 1
kind: protocol
id: boundary
title: grid-boundary rule
version: "1"
source: {{document: "test"}}
default_arm: a
arms:
  a:
    title: arm a
    prescription: {{dose: "30 Gy", fractions: 3}}
    checks:
{body}""", encoding="utf-8")
    return load_protocol(path)


def run_cord(protocol: Protocol, interior: float, face: float,
             corner: float | None = None) -> CaseResult:
    return check_case(cord_case(interior, face, corner), protocol,
                      CheckOptions(rx_gy=30, fractions=3))


def test_the_cylinder_crosses_only_the_z_faces(boundary_protocol: Protocol) -> None:
    result = run_cord(boundary_protocol, 15.0, 12.0, 20.0)
    (cord,) = result.structures
    assert cord.state == "partial"
    assert cord.volume_cc == pytest.approx(CORD_AREA * 42 / 1000, rel=1e-3)
    assert cord.in_grid_volume_cc == pytest.approx(CORD_AREA * 22 / 1000, rel=1e-3)
    assert cord.grid_boundary_gy == 20.0
    assert cord.max_gy is None and cord.mean_gy is None


def test_a_in_grid_value_above_the_limit_fails_with_its_lower_bound(
        boundary_protocol: Protocol) -> None:
    result = run_cord(boundary_protocol, 25.0, 25.0)
    c = by_id(result, "a.cord_max")
    assert c.status is CheckStatus.FAIL
    assert c.value is None
    assert c.lower_bound == pytest.approx(25.0, abs=1e-9)
    assert c.upper_bound == pytest.approx(25.0, abs=1e-9)   # max(25, B = 25)
    assert c.margin == pytest.approx(21.9 - 25.0, abs=1e-9)
    assert "the in-grid part alone gives D0.035cc[Gy] ≥ 25 Gy" in c.message
    assert result.verdict is Verdict.FAIL


@pytest.mark.parametrize(("corner", "bound"), [
    (None, 15.0),    # B = 12 Gy (the face) < in-grid 15 Gy
    (13.0, 15.0),    # B = 13 Gy
    (20.0, 20.0),    # B = 20 Gy > in-grid 15 Gy, still ≤ 21.9 Gy
])
def test_bounds_within_the_limit_pass_with_the_assumption(
        boundary_protocol: Protocol, corner: float | None, bound: float) -> None:
    result = run_cord(boundary_protocol, 15.0, 12.0, corner)
    c = by_id(result, "a.cord_max")
    b = 12.0 if corner is None else corner
    assert c.status is CheckStatus.PASS
    assert c.value is None
    assert c.lower_bound == pytest.approx(15.0, abs=1e-9)
    assert c.upper_bound == pytest.approx(max(15.0, b), abs=1e-9) == bound
    assert c.margin == pytest.approx(21.9 - bound, abs=1e-9)
    assumed = [n for n in c.notes if n.startswith("GRID_BOUNDARY_ASSUMED")]
    assert assumed == [f"GRID_BOUNDARY_ASSUMED: assumes no dose outside the grid exceeds "
                       f"B = {b:g} Gy, the highest dose on the crossed grid face(s) z-, z+"]
    assert result.verdict is Verdict.PASS


def test_b_above_the_limit_with_the_in_grid_part_below_is_not_evaluated(
        boundary_protocol: Protocol) -> None:
    result = run_cord(boundary_protocol, 15.0, 12.0, 25.0)
    c = by_id(result, "a.cord_max")
    assert c.status is CheckStatus.NOT_EVALUATED
    assert c.lower_bound == pytest.approx(15.0, abs=1e-9)
    assert c.upper_bound == pytest.approx(25.0, abs=1e-9)
    assert "cannot be decided — in-grid 15 Gy and B 25 Gy" in c.message
    assert result.verdict is Verdict.INCOMPLETE


@pytest.mark.parametrize(("interior", "face", "corner"), [
    (15.0, 12.0, None), (25.0, 25.0, None), (15.0, 12.0, 25.0)])
def test_a_percent_volume_metric_is_never_bounded(
        boundary_protocol: Protocol, interior: float, face: float,
        corner: float | None) -> None:
    c = by_id(run_cord(boundary_protocol, interior, face, corner), "a.cord_d10")
    assert c.status is CheckStatus.NOT_EVALUATED
    assert c.lower_bound is None and c.upper_bound is None and c.value is None


def test_volume_above_a_dose_b_never_reaches_is_exact(boundary_protocol: Protocol) -> None:
    """Interior 25 Gy, faces 10 Gy (= B < 20 Gy): along z the dose ramps linearly from
    10 Gy at z = ±10 mm to 25 Gy at ±8 mm, so it is ≥ 20 Gy for |z| ≤ 8 + 2·5/15 mm and
    V20Gy = area × 17.333 mm = 0.4893 cc, with nothing outside the grid reaching 20 Gy."""
    v20 = CORD_AREA * 2 * (8 + 2 * 5 / 15) / 1000
    assert v20 == pytest.approx(0.4893, abs=1e-4)
    result = run_cord(boundary_protocol, 25.0, 10.0)
    ok = by_id(result, "a.cord_v20")
    assert ok.status is CheckStatus.PASS
    assert ok.lower_bound == pytest.approx(v20, rel=5e-3)
    assert ok.upper_bound == ok.lower_bound
    assert any(n.startswith("GRID_BOUNDARY_ASSUMED") for n in ok.notes)
    tight = by_id(result, "a.cord_v20_tight")
    assert tight.status is CheckStatus.FAIL
    assert tight.lower_bound == pytest.approx(v20, rel=5e-3)
    assert tight.margin == pytest.approx(0.3 - (tight.lower_bound or 0.0), abs=1e-12)


def test_volume_above_a_dose_b_reaches_has_only_a_lower_bound(
        boundary_protocol: Protocol) -> None:
    # faces 22 Gy ≥ 20 Gy: the whole in-grid cord gets ≥ 20 Gy, outside unknown
    result = run_cord(boundary_protocol, 25.0, 22.0)
    in_grid = CORD_AREA * 22 / 1000           # 0.621 cc
    loose = by_id(result, "a.cord_v20")
    assert loose.status is CheckStatus.NOT_EVALUATED
    assert loose.lower_bound == pytest.approx(in_grid, rel=5e-3)
    assert loose.upper_bound is None
    assert by_id(result, "a.cord_v20_tight").status is CheckStatus.FAIL


# ------------------------------------------------------- the spine_grid_misses_oar plan


@pytest.fixture(scope="module")
def misses() -> CaseResult:
    return check_case(case_of("spine_grid_misses_oar"), medcare(), SPINE)


@pytest.fixture(scope="module")
def face_max_gy() -> float:
    """B read straight from the grid: the maximum of its first and last z planes."""
    grid = case_of("spine_grid_misses_oar").dose
    assert grid is not None
    assert grid.z_mm[0] == -17.5 and grid.z_mm[-1] == 17.5
    return float(max(grid.dose_gy[0].max(), grid.dose_gy[-1].max()))


def test_face_dose_is_22_35_gy(face_max_gy: float) -> None:
    assert face_max_gy == pytest.approx(22.35, abs=0.01)


def test_grid_misses_oar_is_incomplete_because_b_exceeds_the_cord_limits(
        misses: CaseResult, face_max_gy: float) -> None:
    assert misses.verdict is Verdict.INCOMPLETE
    assert not misses.input_blocked
    sbrt = check_case(case_of("spine_sbrt"), medcare(), SPINE)
    for cid, limit in (("tg101.row4.D0.35cc[Gy]", 18.0), ("tg101.row4.D0.035cc[Gy]", 21.9),
                       ("tg101.row5.D1.2cc[Gy]", 12.3)):
        c = by_id(misses, cid)
        assert c.status is CheckStatus.NOT_EVALUATED, cid
        assert c.limit == limit < face_max_gy
        assert c.upper_bound == pytest.approx(face_max_gy, abs=1e-9)
        # inside the grid the plan is spine_sbrt's: the same hot spots
        assert c.lower_bound == pytest.approx(by_id(sbrt, cid).value, rel=2e-3)
        assert "cannot be decided" in c.message
    cord = next(s for s in misses.structures if s.name == "SpinalCord")
    assert cord.state == "partial"
    assert cord.grid_boundary_gy == pytest.approx(face_max_gy, abs=1e-9)
    assert cord.in_grid_volume_cc is not None and cord.volume_cc is not None
    assert 1 - cord.in_grid_volume_cc / cord.volume_cc == pytest.approx(0.348, abs=0.01)


def test_grid_misses_oar_esophagus_max_passes_with_the_note(
        misses: CaseResult, face_max_gy: float) -> None:
    c = by_id(misses, "tg101.row9.D0.035cc[Gy]")
    assert c.status is CheckStatus.PASS
    assert c.value is None
    assert c.lower_bound == pytest.approx(14.04, abs=0.05)
    assert c.upper_bound == pytest.approx(face_max_gy, abs=1e-9)   # B > in-grid 14 Gy
    assert c.upper_bound is not None and c.upper_bound <= 25.2
    assert c.margin == pytest.approx(25.2 - face_max_gy, abs=1e-9)
    assert any(n.startswith("GRID_BOUNDARY_ASSUMED") for n in c.notes)
    # D5cc: in-grid 8.4 Gy but B 22.35 Gy > 17.7 Gy → undecided
    assert by_id(misses, "tg101.row9.D5cc[Gy]").status is CheckStatus.NOT_EVALUATED


def test_a_body_partly_outside_the_grid_blocks_nothing(misses: CaseResult) -> None:
    # the premise: the Body extends beyond the grid (the evaluation layer says partial)
    ev = evaluate_case(case_of("spine_grid_misses_oar"),
                       EvaluationRequest(structures=("Body",)))
    body = ev.structure("Body")
    assert body is not None and body.state is StructureState.PARTIAL
    assert body.boundary is not None and body.boundary.faces == ("z-", "z+")
    # the check does not even evaluate it (no limit names it) and nothing is blocked
    assert "Body" not in {s.name for s in misses.structures}
    assert not misses.input_blocked
    for cid in ("sbrt.ptv_coverage", "sbrt.rx_bed", "sbrt.dmax_plausible"):
        assert by_id(misses, cid).status is CheckStatus.PASS, cid
    assert by_id(misses, "sbrt.ptv_coverage").value == pytest.approx(
        by_id(check_case(case_of("spine_sbrt"), medcare(), SPINE),
              "sbrt.ptv_coverage").value, rel=1e-12)
