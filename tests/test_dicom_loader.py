"""Loader and linker on the shared real exports and on modified copies of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from rtcheck.dicom import DoseSummationType, load, read_treatment_records
from rtcheck.errors import DicomInputError, UsageError
from tests.conftest import FIXTURES

PROTON_PLAN_DOSE = "RD1.2.752.243.1.1.20250523160113556.3000.73252.dcm"
PROTON_BEAM1 = "RD1.2.752.243.1.1.20250523160113556.4000.16653.dcm"
PROTON_BEAM2 = "RD1.2.752.243.1.1.20250523160113556.5000.84138.dcm"
PROTON_RS = "RS1.2.752.243.1.1.20250522124652761.2000.43711.dcm"
PROTON_PLAN = "ramped_2Gy_ver2_full.dcm"


def codes(case) -> set[str]:
    return {f.code for f in case.findings}


def copy_files(src: Path, dst: Path, names: list[str]) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(src / name, dst / name)
    return dst


# ------------------------------------------------------------------ real exports
def test_breast_boost_links_plan_dose_structures_and_ct(breast_dir: Path) -> None:
    result = load([breast_dir])
    assert len(result.cases) == 1
    case = result.cases[0]
    assert case.plan is not None and case.plan.label == "B1"
    assert case.plan.prescription is not None
    assert case.plan.prescription.total_dose_gy == pytest.approx(14.0)
    assert case.plan.prescription.fractions == 7
    assert [b.name for b in case.plan.beams] == ["3 RAO", "4 AP", "5 LAO", "6 LPO"]
    assert [b.meterset_mu for b in case.plan.beams] == [97.0, 87.0, 89.0, 94.0]
    assert case.plan.beams[0].energy == "10 MV"
    dose = case.dose
    assert dose is not None
    assert dose.shape == (98, 129, 194)
    assert dose.spacing_mm == pytest.approx((2.5, 2.5, 3.0))
    assert dose.x_mm[0] == pytest.approx(-228.6541915)
    assert dose.z_mm[-1] == pytest.approx(-122.4407 + 291.0)
    # PROVENANCE.md: raw max 1048626 × DoseGridScaling 1.4e-05 = 14.6808 Gy
    assert dose.max_dose_gy == pytest.approx(1048626 * 1.4e-05)
    assert dose.summation_type is DoseSummationType.PLAN
    assert len(dose.embedded_dvhs) == 9
    ss = case.structure_set
    assert ss is not None and len(ss.structures) == 10
    heart = ss.by_name("heart")
    assert heart is not None and heart.color_rgb == (255, 128, 0)
    first = heart.contours[0]
    assert first.z_mm == pytest.approx(-47.44) or len(heart.contours) > 1
    assert ss.by_name("Areola") is not None and ss.by_name("Areola").is_empty  # type: ignore[union-attr]
    assert len(case.images) == 1 and case.images[0].n_images == 1
    assert "ROI_WITHOUT_CONTOURS" in codes(case)
    # the 11.31 Gy calculation point does not override the 14 Gy site prescription
    assert "PRESCRIPTION_MULTIPLE" not in codes(case)


def test_breast_heart_contour_matches_dicompyler_reference(breast_dir: Path) -> None:
    heart = load([breast_dir]).cases[0].structure_set.by_name("Heart")  # type: ignore[union-attr]
    assert heart is not None
    plane = [c for c in heart.contours if abs(c.z_mm - (-47.44)) < 1e-3]
    assert len(plane) == 1
    assert plane[0].points_xy_mm.shape == (166, 2)
    assert plane[0].points_xy_mm[0] == pytest.approx((2.69, -313.11))


def test_breast_embedded_tumor_bed_dvh(breast_dir: Path) -> None:
    dose = load([breast_dir]).cases[0].dose
    assert dose is not None
    tumor_bed = next(d for d in dose.embedded_dvhs if d.roi_number == 9)
    # PROVENANCE.md (dicompyler-core test_dvh.py): volume 12.8091805 cc
    assert tumor_bed.total_volume_cc == pytest.approx(12.8091805, rel=1e-6)
    assert tumor_bed.dose_edges_gy[1] - tumor_bed.dose_edges_gy[0] == pytest.approx(0.01)


def test_proton_plan_dose_preferred_and_beams_cross_checked(proton_dir: Path) -> None:
    case = load([proton_dir]).cases[0]
    assert case.plan is not None and case.plan.is_ion
    assert case.plan.prescription is None
    assert {"PRESCRIPTION_MISSING", "DOSE_BEAM_CROSSCHECK", "PATIENT_ID_MISMATCH"} <= codes(case)
    assert case.dose is not None and case.dose.dose_type == "EFFECTIVE"
    assert case.dose.max_dose_gy == pytest.approx(2.2102, abs=1e-4)
    check = next(f for f in case.findings if f.code == "DOSE_BEAM_CROSSCHECK")
    assert check.severity.value == "INFO"
    lopo = case.structure_set.by_name("LoPo")  # type: ignore[union-attr]
    assert lopo is not None and lopo.is_point


def test_prostate_plan_without_dose_is_reported(prostate_dir: Path) -> None:
    case = load([prostate_dir]).cases[0]
    assert case.dose is None
    assert "DOSE_MISSING" in codes(case)
    assert case.plan is not None and case.plan.prescription is not None
    assert case.plan.prescription.total_dose_gy == 46 and case.plan.prescription.fractions == 23
    cbct = next(b for b in case.plan.beams if b.name == "CBCT")
    assert cbct.meterset_mu is None
    assert "BEAM_WITHOUT_METERSET" in codes(case)
    empty = sorted(s.name for s in case.structure_set.structures if s.is_empty)  # type: ignore[union-attr]
    assert len(empty) == 10


def test_several_folders_give_several_cases_and_plan_selection(
    breast_dir: Path, proton_dir: Path
) -> None:
    result = load([breast_dir, proton_dir])
    assert sorted(c.label for c in result.cases) == ["B1", "Slope101010E_o_1"]
    only = load([breast_dir, proton_dir], plan_selector="B1")
    assert [c.label for c in only.cases] == ["B1"]
    with pytest.raises(UsageError, match="available plans"):
        load([breast_dir], plan_selector="nope")


# ------------------------------------------------------------ dose summation
def test_beam_doses_are_summed_when_no_plan_dose(proton_dir: Path, tmp_path: Path) -> None:
    folder = copy_files(
        proton_dir, tmp_path / "beams", [PROTON_BEAM1, PROTON_BEAM2, PROTON_RS, PROTON_PLAN]
    )
    case = load([folder]).cases[0]
    assert "DOSE_BEAMS_SUMMED" in codes(case)
    assert case.dose is not None and case.dose.referenced_beam_numbers == (1, 2)
    reference = load([proton_dir / PROTON_PLAN_DOSE, proton_dir / PROTON_RS]).cases[0].dose
    assert reference is not None
    # PROVENANCE.md: plan sum = beam 1 + beam 2 within 4.6e-5 Gy
    assert np.max(np.abs(case.dose.dose_gy - reference.dose_gy)) < 5e-5


def test_missing_beam_dose_is_an_error(proton_dir: Path, tmp_path: Path) -> None:
    folder = copy_files(proton_dir, tmp_path / "one", [PROTON_BEAM1, PROTON_RS, PROTON_PLAN])
    case = load([folder]).cases[0]
    missing = next(f for f in case.findings if f.code == "DOSE_BEAM_MISSING")
    assert missing.severity.value == "ERROR" and "[2]" in missing.message


def test_fraction_dose_is_scaled_by_planned_fractions(proton_dir: Path, tmp_path: Path) -> None:
    folder = copy_files(proton_dir, tmp_path / "fx", [PROTON_RS])
    plan = pydicom.dcmread(proton_dir / PROTON_PLAN)
    plan.FractionGroupSequence[0].NumberOfFractionsPlanned = 3
    plan.save_as(folder / "plan.dcm")
    dose = pydicom.dcmread(proton_dir / PROTON_PLAN_DOSE)
    dose.DoseSummationType = "FRACTION"
    dose.save_as(folder / "dose.dcm")
    case = load([folder]).cases[0]
    assert "DOSE_FRACTION_SCALED" in codes(case)
    assert case.dose is not None
    assert case.dose.max_dose_gy == pytest.approx(3 * 2.2102275, rel=1e-6)
    alone = load([folder / "dose.dcm", folder / PROTON_RS]).cases[0]
    assert "DOSE_FRACTION_NOT_SCALED" in codes(alone)
    assert alone.dose is not None and alone.dose.max_dose_gy == pytest.approx(2.2102275, rel=1e-6)


# --------------------------------------------------------- orientation handling
def _rewrite_dose(
    src: Path,
    dst: Path,
    iop: list[int],
    flip_x: bool,
    flip_y: bool,
    flip_z: bool,
    offsets: str = "relative",
) -> None:
    ds = pydicom.dcmread(src)
    pixels = ds.pixel_array
    ipp = [float(v) for v in ds.ImagePositionPatient]
    n_x, n_y = int(ds.Columns), int(ds.Rows)
    z = ipp[2] + np.array([float(v) for v in ds.GridFrameOffsetVector])
    dx, dy = float(ds.PixelSpacing[1]), float(ds.PixelSpacing[0])
    if flip_x:
        pixels = pixels[:, :, ::-1]
        ipp[0] += (n_x - 1) * dx
    if flip_y:
        pixels = pixels[:, ::-1, :]
        ipp[1] += (n_y - 1) * dy
    if flip_z:
        pixels = pixels[::-1]
        z = z[::-1]
        ipp[2] = float(z[0])
    normal_z = iop[0] * iop[4]
    if offsets == "relative":
        ds.GridFrameOffsetVector = [f"{v:g}" for v in normal_z * (z - z[0])]
    else:
        ds.GridFrameOffsetVector = [f"{v:g}" for v in z]
    ds.ImagePositionPatient = [f"{v:g}" for v in ipp]
    ds.ImageOrientationPatient = iop
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(dst)


@pytest.mark.parametrize(
    ("position", "iop", "flips", "offsets"),
    [
        ("FFS", [-1, 0, 0, 0, 1, 0], (True, False, True), "relative"),
        ("HFP", [-1, 0, 0, 0, -1, 0], (True, True, False), "relative"),
        ("FFP", [1, 0, 0, 0, -1, 0], (False, True, True), "relative"),
        ("HFS descending z", [1, 0, 0, 0, 1, 0], (False, False, True), "relative"),
        ("HFS absolute z", [1, 0, 0, 0, 1, 0], (False, False, False), "absolute"),
    ],
)
def test_orientations_give_the_same_patient_dose(
    proton_dir: Path,
    tmp_path: Path,
    position: str,
    iop: list[int],
    flips: tuple[bool, bool, bool],
    offsets: str,
) -> None:
    reference = load([proton_dir / PROTON_PLAN_DOSE]).cases[0].dose
    assert reference is not None
    target = tmp_path / "dose.dcm"
    _rewrite_dose(proton_dir / PROTON_PLAN_DOSE, target, iop, *flips, offsets=offsets)
    grid = load([target]).cases[0].dose
    assert grid is not None, position
    np.testing.assert_allclose(grid.x_mm, reference.x_mm, atol=1e-6)
    np.testing.assert_allclose(grid.y_mm, reference.y_mm, atol=1e-6)
    np.testing.assert_allclose(grid.z_mm, reference.z_mm, atol=1e-6)
    np.testing.assert_array_equal(grid.dose_gy, reference.dose_gy)


def test_oblique_dose_grid_is_refused(proton_dir: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(proton_dir / PROTON_PLAN_DOSE)
    ds.ImageOrientationPatient = [0.9848, 0.1736, 0, -0.1736, 0.9848, 0]
    ds.save_as(tmp_path / "oblique.dcm")
    with pytest.raises(DicomInputError, match=r"oblique\.dcm: ImageOrientationPatient: oblique"):
        load([tmp_path / "oblique.dcm"])


# ------------------------------------------------------------- link problems
def test_frame_of_reference_mismatch_is_an_error(proton_dir: Path, tmp_path: Path) -> None:
    folder = copy_files(proton_dir, tmp_path / "for", [PROTON_PLAN_DOSE, PROTON_PLAN])
    rs = pydicom.dcmread(proton_dir / PROTON_RS)
    rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID = "1.2.3.4"
    for roi in rs.StructureSetROISequence:
        roi.ReferencedFrameOfReferenceUID = "1.2.3.4"
    rs.save_as(folder / "rs.dcm")
    case = load([folder]).cases[0]
    mismatch = next(f for f in case.findings if f.code == "FOR_MISMATCH")
    assert mismatch.severity.value == "ERROR" and "1.2.3.4" in mismatch.message


def test_duplicate_uid_with_different_content(proton_dir: Path, tmp_path: Path) -> None:
    folder = copy_files(proton_dir, tmp_path / "dup", [PROTON_PLAN, PROTON_RS])
    plan = pydicom.dcmread(proton_dir / PROTON_PLAN)
    plan.RTPlanName = "edited later"
    plan.save_as(folder / "zz_copy.dcm")
    shutil.copy(proton_dir / PROTON_RS, folder / "zz_rs_copy.dcm")
    result = load([folder])
    found = {f.code: f for f in result.findings}
    assert found["DUPLICATE_SOP_INSTANCE"].severity.value == "ERROR"
    assert found["DUPLICATE_FILE"].severity.value == "INFO"


def test_dose_without_plan_pairs_with_structures_by_frame_of_reference(
    proton_dir: Path, tmp_path: Path
) -> None:
    folder = copy_files(proton_dir, tmp_path / "dvh", [PROTON_PLAN_DOSE, PROTON_RS])
    case = load([folder]).cases[0]
    assert case.plan is None and case.dose is not None and case.structure_set is not None
    assert "LINK_PLAN_MISSING" in codes(case)


def test_records_reader_on_plan_free_input(tmp_path: Path) -> None:
    assert read_treatment_records([tmp_path]) == ()


# ------------------------------------------------------------------ treatment records
SPINE = Path(__file__).resolve().parents[1] / "fixtures" / "spine_sbrt"


def _edit_record(tmp_path: Path, change) -> tuple:
    folder = tmp_path / "case"
    shutil.copytree(SPINE, folder)
    ds = pydicom.dcmread(folder / "RT2.dcm")
    change(ds)
    ds.save_as(folder / "RT2.dcm")
    (case,) = load([folder]).cases
    (record,) = [r for r in case.records if r.source_path.endswith("RT2.dcm")]
    return case, record


def test_record_beam_meterset_is_the_last_control_points(tmp_path: Path) -> None:
    """Without the last control point's DeliveredMeterset the meterset is unknown (not the
    first control point's cumulative 0 MU) and a warning names the file and the field."""
    def drop(ds) -> None:
        del ds.TreatmentSessionBeamSequence[0].ControlPointDeliverySequence[-1].DeliveredMeterset

    case, record = _edit_record(tmp_path, drop)
    assert record.beams[0].delivered_meterset_mu is None
    (finding,) = [f for f in case.findings if f.code == "RECORD_BEAM_INCOMPLETE"]
    assert finding.path.endswith("RT2.dcm")
    assert "DeliveredMeterset (3008,0044)" in finding.message
    assert "beam session 1 (beam 1)" in finding.message


def test_record_without_beam_number_or_beam_is_reported(tmp_path: Path) -> None:
    def drop_number(ds) -> None:
        del ds.TreatmentSessionBeamSequence[0].ReferencedBeamNumber

    case, record = _edit_record(tmp_path, drop_number)
    assert record.beams[0].number is None  # never beam 0
    assert "ReferencedBeamNumber (300C,0006)" in " ".join(
        f.message for f in case.findings if f.code == "RECORD_BEAM_INCOMPLETE")
    (missing,) = [f for f in case.findings if f.code == "RECORD_BEAMS_MISSING"]
    assert "plan beam(s) 1 of 1, 2" in missing.message

    def drop_beam(ds) -> None:
        del ds.TreatmentSessionBeamSequence[0]

    case, record = _edit_record(tmp_path / "b", drop_beam)
    (missing,) = [f for f in case.findings if f.code == "RECORD_BEAMS_MISSING"]
    assert "fraction 2" in missing.message and missing.path.endswith("RT2.dcm")


def test_complete_records_carry_no_record_warning() -> None:
    (case,) = load([SPINE]).cases
    assert not codes(case) & {"RECORD_BEAM_INCOMPLETE", "RECORD_BEAMS_MISSING"}
    # each fraction delivered both beams in full: the plan's 1423.6 and 1389.2 MU
    assert [(b.number, b.delivered_meterset_mu) for r in case.records for b in r.beams] == [
        (1, 1423.6), (2, 1389.2)] * 3


@pytest.mark.parametrize(("content", "what"), [
    pytest.param(b"", "is empty (0 bytes)", id="empty"),
    pytest.param(b"\0" * 100, "holds 100 bytes without a DICOM header (no 'DICM' at byte 128, "
                 "no data set)", id="100-zero-bytes"),
])
def test_a_dcm_file_without_dicom_is_an_error_naming_it(tmp_path: Path, content: bytes,
                                                        what: str) -> None:
    """An empty RD.dcm was skipped as 'not DICOM' and the plan only showed DOSE_MISSING."""
    case = tmp_path / "case"
    shutil.copytree(FIXTURES / "spine_sbrt", case)
    (case / "RD.dcm").write_bytes(content)
    with pytest.raises(DicomInputError) as info:
        load([case])
    assert str(info.value) == (f"{case / 'RD.dcm'}: is named .dcm but {what}; copy or "
                               "re-export the complete file, or remove it from the folder")


def test_a_non_dicom_file_with_another_name_is_skipped(tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(FIXTURES / "spine_sbrt", case)
    (case / "notes.txt").write_bytes(b"")
    assert len(load([case]).cases) == 1
