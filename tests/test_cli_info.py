"""``rtcheck info`` through click's CliRunner: stdout, stderr and exit codes apart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from tests.conftest import pydicom_test_file


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_info_text_on_breast_boost(breast_dir: Path) -> None:
    result = run("info", str(breast_dir))
    assert result.exit_code == 0, result.stderr
    assert "case 1: B1" in result.stdout
    assert "Rx        14 Gy in 7 fx (2 Gy/fx)" in result.stdout
    assert (
        "194x129x98 voxels at 2.5x2.5x3 mm, PLAN PHYSICAL, max 14.681 Gy, 9 TPS DVHs"
        in result.stdout
    )
    assert "Areola" in result.stdout and "EMPTY" in result.stdout
    assert result.stderr == ""


def test_info_json_on_proton(proton_dir: Path) -> None:
    result = run("info", "--format", "json", str(proton_dir))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    case = data["cases"][0]
    assert case["plan"]["ion"] is True
    assert case["dose"]["shape_zyx"] == [110, 107, 107]
    assert case["dose"]["dose_type"] == "EFFECTIVE"
    assert [s["name"] for s in case["structure_set"]["structures"]] == [
        "Cube101010",
        "Slope101004",
        "External",
        "PMMA",
        "LoPo",
    ]
    codes = {f["code"] for f in case["findings"]}
    assert {"PRESCRIPTION_MISSING", "PATIENT_ID_MISMATCH", "DOSE_BEAM_CROSSCHECK"} <= codes


def test_info_prostate_without_dose(prostate_dir: Path) -> None:
    result = run("info", str(prostate_dir))
    assert result.exit_code == 0
    assert "dose      none" in result.stdout
    assert "DOSE_MISSING" in result.stdout


def test_truncated_plan_is_a_one_line_error() -> None:
    path = pydicom_test_file("rtplan_truncated.dcm")
    result = run("info", str(path))
    assert result.exit_code == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0] == (
        f"rtcheck: error: {path}: file is truncated (element (300A,00B0) is shorter than its "
        f"declared length; the file ends at byte {path.stat().st_size}); copy or re-export the "
        "complete file"
    )


def test_relative_dose_is_refused_with_exit_3() -> None:
    path = pydicom_test_file("rtdose.dcm")
    result = run("info", str(path))
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"rtcheck: error: {path}: DoseUnits: is 'RELATIVE'; rtcheck needs absolute dose in Gy "
        "(RELATIVE doses cannot be checked). Export the dose in GY from the TPS"
    )


def test_file_without_meta_header_loads_with_a_warning() -> None:
    path = pydicom_test_file("rtstruct.dcm")
    result = run("info", str(path))
    assert result.exit_code == 0
    assert "WARNING NO_FILE_META" in result.stdout
    assert "Isocenter 1" in result.stdout and "1 point(s)" in result.stdout


def test_plan_with_missing_structure_set_exits_3() -> None:
    path = pydicom_test_file("rtplan.dcm")
    result = run("info", str(path))
    assert result.exit_code == 3
    assert "ERROR LINK_STRUCTURE_SET_MISSING" in result.stdout
    assert (
        result.stderr.strip()
        == "rtcheck: error: the input has 1 ERROR finding(s): LINK_STRUCTURE_SET_MISSING"
    )


def test_non_dicom_only_is_unusable(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not dicom")
    result = run("info", str(tmp_path))
    assert result.exit_code == 3
    assert "no DICOM-RT files" in result.stderr
    assert "Traceback" not in result.stderr


def test_dcm_file_without_dicom_content_is_named(tmp_path: Path) -> None:
    """A .dcm file cut before its header is an error naming it, not skipped."""
    (tmp_path / "notes.txt").write_text("not dicom")
    (tmp_path / "fake.dcm").write_bytes(b"\x00" * 50)
    result = run("info", str(tmp_path))
    assert result.exit_code == 3
    assert str(tmp_path / "fake.dcm") in result.stderr
    assert "holds 50 b" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_corrupt_dicom_is_unusable(tmp_path: Path, breast_dir: Path) -> None:
    data = (breast_dir / "rtplan.dcm").read_bytes()
    (tmp_path / "plan.dcm").write_bytes(data[:2000])
    result = run("info", str(tmp_path))
    assert result.exit_code == 3
    assert str(tmp_path / "plan.dcm") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2(breast_dir: Path) -> None:
    assert run("info").exit_code == 2
    assert run("info", "/no/such/path").exit_code == 2
    selected = run("info", "--plan", "nope", str(breast_dir))
    assert selected.exit_code == 2
    assert "available plans: B1" in selected.stderr


def test_inputs_are_not_modified(proton_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(proton_dir, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    result = run("info", str(copy))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("1 case(s) found")
    after = {p.name: p.read_bytes() for p in copy.iterdir()}
    assert before == after


def test_python_dash_m_works(breast_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rtcheck", "info", "--format", "json", str(breast_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cases"][0]["label"] == "B1"


@pytest.mark.parametrize("name", ["rtdose_1frame.dcm", "rtdose_expb.dcm", "rtdose_rle.dcm"])
def test_other_relative_dose_encodings_are_refused(name: str) -> None:
    result = run("info", str(pydicom_test_file(name)))
    assert result.exit_code == 3
    assert "DoseUnits: is 'RELATIVE'" in result.stderr
