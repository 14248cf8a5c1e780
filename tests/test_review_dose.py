"""Review of the DVH metrics, BED/EQD2, indices and ``rtcheck dvh``: reproducers of defects.

Each test reproduces one defect found in the 2026-11-26 review; it failed before the fix.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from rtcheck.dose.bed import AlphaBetaTable
from rtcheck.dose.metric_spec import parse_metric
from rtcheck.dose.metrics import MetricStatus, evaluate_structure_metrics
from rtcheck.errors import MetricSpecError

FIXTURES = Path(__file__).parents[1] / "fixtures"
SPINE = FIXTURES / "spine_sbrt"
MISSES = FIXTURES / "spine_grid_misses_oar"


def run(*args: str):
    return CliRunner().invoke(cli, ["dvh", *args])


def need(path: Path) -> None:
    if not (path / "RD.dcm").exists():
        pytest.skip(f"{path} not generated")


class _Samples:
    def __init__(self, dose_gy, weight_cc):
        self.dose_gy, self.weight_cc = np.asarray(dose_gy), np.asarray(weight_cc)


# ------------------------------------------------------------ BED overflow
def test_tiny_alpha_beta_is_not_an_internal_error() -> None:
    """``--alpha-beta 1e-320`` made BED overflow to inf and the command exit 4."""
    need(SPINE)
    res = run(str(SPINE), "--structure", "PTV", "--metric", "Mean[Gy]", "--dose-space", "bed",
              "--alpha-beta", "1e-320", "--no-indices", "--format", "csv")
    assert res.exit_code in (0, 2), res.output
    assert "internal error" not in res.output


def test_metric_alpha_beta_that_overflows_bed_is_not_evaluated() -> None:
    """A denormal alpha/beta in the spec (@BED0.000...1) gave a traceback-level ValueError."""
    spec = parse_metric("Mean[Gy]@BED0." + "0" * 320 + "1")
    samples = _Samples([10.0, 20.0], [1.0, 1.0])
    from rtcheck.dose.dvh import CumulativeDVH

    dvh = CumulativeDVH.from_samples(samples.dose_gy, samples.weight_cc)
    (res,) = evaluate_structure_metrics([spec], "X", dvh, samples, n_fractions=3)
    assert res.status is MetricStatus.NOT_EVALUATED and res.value is None
    assert "alpha/beta" in res.message


def test_infinite_alpha_beta_in_a_spec_is_refused_when_parsed() -> None:
    with pytest.raises(MetricSpecError, match="alpha/beta"):
        parse_metric("Mean[Gy]@BED" + "9" * 400)


def test_alpha_beta_table_refuses_infinite_values() -> None:
    with pytest.raises(ValueError):
        AlphaBetaTable(3.0, {"PTV": float("inf")})


# ------------------------------------------------------------ non-finite options
@pytest.mark.parametrize("option", [("--rx-gy", "inf"), ("--isodose", "inf")])
def test_infinite_prescription_or_isodose_is_a_usage_error(option) -> None:
    """``--rx-gy inf`` gave V100%[%] = 0.0 (a plausible wrong number), exit 0."""
    need(SPINE)
    res = run(str(SPINE), "--structure", "PTV", "--metric", "V100%[%]", *option,
              "--format", "csv")
    assert res.exit_code == 2, res.output


# ------------------------------------------------------------ incomplete DVH in CSV
def test_csv_statistics_of_an_incomplete_structure_are_empty_cells() -> None:
    """CSV printed min/mean/max of the in-grid part of a cropped cord as bare numbers."""
    need(MISSES)
    res = run(str(MISSES), "--structure", "SpinalCord", "--structure", "PTV", "--no-indices",
              "--format", "csv")
    assert res.exit_code == 0, res.output
    rows = {r["structure"]: r for r in csv.DictReader(io.StringIO(res.stdout))}
    cord, ptv = rows["SpinalCord"], rows["PTV"]
    assert (cord["min_gy"], cord["mean_gy"], cord["max_gy"]) == ("", "", "")
    assert "STRUCTURE_OUTSIDE_DOSE_GRID" in cord["findings"]
    assert float(ptv["max_gy"]) == pytest.approx(37.5)


# ------------------------------------------------------------ indices on a cropped grid
def _indices(path: Path) -> tuple[dict, list[str]]:
    res = run(str(path), "--structure", "PTV", "--structure", "Body", "--format", "json")
    assert res.exit_code == 0, res.output
    case = json.loads(res.stdout)["cases"][0]
    (ind,) = case["indices"]
    return {i["key"]: i for i in ind["indices"]}, [f["code"] for f in ind["findings"]]


def test_gradient_indices_are_not_evaluated_when_the_50pct_isodose_leaves_the_grid() -> None:
    """The cropped grid cuts the 50 % isodose (22 Gy on its end faces, Body continues):
    PIV50 was 55.9 cc instead of 60.6 cc, GI 2.98 instead of 3.24, without any flag."""
    need(MISSES)
    idx, codes = _indices(MISSES)
    for key in ("paddick_gi", "r50", "piv50_cc"):
        assert idx[key]["value"] is None and idx[key]["status"] == "NOT_EVALUATED", key
    assert "INDEX_ISODOSE_OUTSIDE_GRID" in codes
    # the 100 % isodose stays inside the grid: PIV-based indices are still evaluated
    assert idx["rtog_ci"]["value"] == pytest.approx(0.954, abs=0.01)
    # D2cm: the Body continues beyond the grid where the dose (22 Gy) exceeds the
    # in-grid D2cm (8.3 Gy): the true D2cm may lie outside the grid
    assert idx["d2cm_gy"]["value"] is None


def test_gradient_indices_stay_evaluated_when_the_grid_covers_the_body() -> None:
    need(SPINE)
    idx, codes = _indices(SPINE)
    assert idx["paddick_gi"]["value"] == pytest.approx(3.235, abs=0.01)
    assert idx["d2cm_gy"]["value"] == pytest.approx(8.277, abs=0.01)
    assert "INDEX_ISODOSE_OUTSIDE_GRID" not in codes


def test_indices_of_a_target_partly_outside_the_grid_are_not_evaluated() -> None:
    """A PTV crossing the grid edge got indices of its in-grid part (only a WARNING > 5 %)."""
    from rtcheck.dicom.model import Contour, DoseGrid, DoseSummationType, Structure
    from rtcheck.dose.indices import compute_indices

    ax = np.arange(0.0, 40.1, 2.0)
    zz, yy, xx = np.meshgrid(ax, ax, ax, indexing="ij")
    dose = 30.0 * np.exp(-((xx - 20) ** 2 + (yy - 20) ** 2 + (zz - 20) ** 2) / 200.0)
    grid = DoseGrid(ax, ax, ax, dose, "PHYSICAL", DoseSummationType.PLAN, "1.2", "1.2.3")
    square = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0]])
    # planes 36..44 mm: the stack (end cap 45 mm) runs 4 mm beyond the grid (41 mm)
    ptv = Structure(1, "PTV", "PTV", contours=tuple(
        Contour(z, square) for z in np.arange(36.0, 44.1, 2.0)))
    ind = compute_indices(grid, ptv, 20.0)
    assert all(r.value is None for r in ind.results if r.key != "rx_isodose")
    assert any(f.code == "INDEX_TARGET_OUTSIDE_GRID" for f in ind.findings)


# ------------------------------------------------------------ --alpha-beta-for typo
def test_alpha_beta_for_a_structure_that_does_not_exist_is_a_usage_error() -> None:
    """``--alpha-beta-for PVT=10`` (typo) was ignored: PTV BED silently used alpha/beta 3."""
    need(SPINE)
    res = run(str(SPINE), "--structure", "PTV", "--metric", "Mean[Gy]@BED",
              "--alpha-beta-for", "PVT=10", "--no-indices", "--format", "csv")
    assert res.exit_code == 2, res.output
    assert "'pvt'" in res.output and "PTV" in res.output


def test_alpha_beta_for_matches_case_insensitively() -> None:
    need(SPINE)
    res = run(str(SPINE), "--structure", "PTV", "--metric", "Mean[Gy]@BED",
              "--alpha-beta-for", "ptv=10", "--no-indices", "--format", "csv")
    assert res.exit_code == 0, res.output


# ------------------------------------------------------------ TPS comparison, incomplete DVH
def test_tps_comparison_does_not_use_an_incomplete_dvh() -> None:
    """A TPS DVH was compared with rtcheck's in-grid part of a structure partly outside
    the grid: the 'rtcheck' column and the delta were numbers of half a structure."""
    from rtcheck.dicom.model import (
        Case,
        Contour,
        DoseGrid,
        DoseSummationType,
        EmbeddedDVH,
        LoadResult,
        Structure,
        StructureSet,
    )
    from rtcheck.report.dvh_report import build_dvh_report

    ax = np.arange(0.0, 20.1, 2.0)
    square = np.array([[5.0, 5.0], [15.0, 5.0], [15.0, 15.0], [5.0, 15.0]])
    half_out = Structure(2, "HalfOut", "ORGAN", contours=tuple(
        Contour(z, square + 10.0) for z in np.arange(6.0, 14.1, 2.0)))
    tps = EmbeddedDVH(2, np.array([0.0, 10.0, 10.01]), np.array([1.0, 1.0, 0.0]))
    grid = DoseGrid(ax, ax, ax, np.full((ax.size,) * 3, 10.0), "PHYSICAL",
                    DoseSummationType.PLAN, "1.2", "1.2.3", embedded_dvhs=(tps,))
    ss = StructureSet("1.2.4", "SS", "1.2", (half_out,))
    report = build_dvh_report(LoadResult((Case("mem", None, grid, ss),)))
    (row,) = report.structures
    assert row.tps is not None
    assert all(v is None for v in row.tps.rtcheck.values())
    assert any(f.code == "TPS_DVH_NOT_COMPARED" for f in row.tps.findings)


# ------------------------------------------------------------ coverage of an unreported target
def test_target_coverage_does_not_depend_on_the_reported_structures() -> None:
    """README: coverage and HI use the target's DVH from the engine. With the target not in
    --structure, the lattice was used instead: coverage 93.73 % vs 94.16 % for the same PTV."""
    need(SPINE)

    def coverage(*structures: str) -> tuple[float, float]:
        args = [a for s in structures for a in ("--structure", s)]
        res = run(str(SPINE), *args, "--target", "PTV", "--format", "json")
        assert res.exit_code == 0, res.output
        (ind,) = json.loads(res.stdout)["cases"][0]["indices"]
        by_key = {i["key"]: i["value"] for i in ind["indices"]}
        return by_key["coverage_100"], by_key["hi_icru83"]

    assert coverage("GTV") == coverage("PTV")


# ------------------------------------------------------------ BED column titles
def test_csv_and_text_columns_say_bed_when_dose_space_bed_is_the_default() -> None:
    """With --dose-space bed the CSV column 'D90%[Gy]' held 136.2 (BED) next to physical
    min/mean/max, and nothing in the CSV said BED."""
    need(SPINE)
    res = run(str(SPINE), "--structure", "PTV", "--metric", "D90%[Gy]", "--metric",
              "D90%[Gy]@PHYS", "--dose-space", "bed", "--no-indices", "--format", "csv")
    assert res.exit_code == 0, res.output
    header = res.stdout.splitlines()[0].split(",")
    assert header[7:9] == ["D90%[Gy]@BED", "D90%[Gy]@PHYS"]
    text = run(str(SPINE), "--structure", "PTV", "--metric", "D90%[Gy]", "--dose-space",
               "eqd2", "--no-indices").stdout
    assert "D90%[Gy]@EQD2" in text
    doc = json.loads(run(str(SPINE), "--structure", "PTV", "--metric", "D90%[Gy]",
                         "--dose-space", "bed", "--no-indices", "--format", "json").stdout)
    assert "D90%[Gy]" in doc["structures"][0]["metrics"]  # JSON keys stay the spec as given
