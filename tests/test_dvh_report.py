"""rtcheck.report.dvh_report / dvh_render: what ``rtcheck dvh`` puts in its text, CSV and JSON.

Each test guards a defect that gave a plausible wrong number or label; it failed before the fix.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from tests.conftest import FIXTURES

SPINE = FIXTURES / "spine_sbrt"
MISSES = FIXTURES / "spine_grid_misses_oar"


def run(*args: str):
    return CliRunner().invoke(cli, ["dvh", *args])


@pytest.mark.parametrize(("option", "message"), [
    (("--rx-gy", "inf"), "--rx-gy must be a positive, finite dose in Gy"),
    (("--isodose", "inf"), "--isodose must be a positive percentage of the prescription"),
])
def test_infinite_prescription_or_isodose_is_a_usage_error(option, message) -> None:
    """``--rx-gy inf`` gave V100%[%] = 0.0 (a plausible wrong number), exit 0."""
    res = run(str(SPINE), "--structure", "PTV", "--metric", "V100%[%]", *option,
              "--format", "csv")
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert res.stderr == f"rtcheck: error: {message}\n"


def test_csv_statistics_of_an_incomplete_structure_are_empty_cells() -> None:
    """CSV printed min/mean/max of the in-grid part of a cropped cord as bare numbers."""
    res = run(str(MISSES), "--structure", "SpinalCord", "--structure", "PTV", "--no-indices",
              "--format", "csv")
    assert res.exit_code == 1, res.output  # the cord's numbers are NOT EVALUATED
    assert res.stderr == ("rtcheck: not all requested numbers were computed (NOT EVALUATED): "
                          "SpinalCord: every number (STRUCTURE_OUTSIDE_DOSE_GRID)\n")
    rows = {r["structure"]: r for r in csv.DictReader(io.StringIO(res.stdout))}
    cord, ptv = rows["SpinalCord"], rows["PTV"]
    assert (cord["min_gy"], cord["mean_gy"], cord["max_gy"]) == ("", "", "")
    assert "STRUCTURE_OUTSIDE_DOSE_GRID" in cord["findings"]
    assert float(ptv["max_gy"]) == pytest.approx(37.5)  # the model's D_max at the PTV centre


def test_csv_and_text_columns_say_bed_when_dose_space_bed_is_the_default() -> None:
    """With --dose-space bed the CSV column 'D90%[Gy]' held 136.2 (BED) next to physical
    min/mean/max, and nothing in the CSV said BED."""
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
