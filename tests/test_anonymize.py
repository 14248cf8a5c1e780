"""``rtcheck anonymize``: the command, refusals, planted identifiers, determinism, atomicity.

The evidence on every fixture and real export is in test_anonymize_evidence.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner, Result
from pydicom.tag import BaseTag

from rtcheck.cli import cli
from rtcheck.deid import VerificationError, anonymize_tree
from rtcheck.deid.keys import KeyedMapper
from rtcheck.deid.transform import Transformer
from tests.conftest import FIXTURES

SPINE = FIXTURES / "spine_sbrt"
KEY = b"test-key-0123456789abcdef"
NAME, PID = "Mustermann^Erika", "PID-4711-X"
Mutate = Callable[[str, pydicom.Dataset], None]


def _plant(src: Path, dest: Path, mutate: Mutate | None = None) -> Path:
    """A copy of ``src`` whose patient is Erika Mustermann, PID-4711-X (then ``mutate``)."""
    dest.mkdir(parents=True)
    for path in sorted(src.iterdir()):
        if path.suffix != ".dcm":
            shutil.copy(path, dest / path.name)
            continue
        ds = pydicom.dcmread(path)
        ds.PatientName, ds.PatientID = NAME, PID
        if mutate is not None:
            mutate(path.name, ds)
        ds.save_as(dest / path.name)
    return dest


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(*args: str, key: bytes | None = KEY, tmp: Path | None = None,
         env: dict[str, str] | None = None) -> Result:
    extra: list[str] = []
    if key is not None and tmp is not None:
        key_file = tmp / "anon.key"
        key_file.write_bytes(key)
        extra = ["--key", str(key_file)]
    return CliRunner().invoke(cli, ["anonymize", *args, *extra], env=env)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "rtcheck-" in p.name]


def test_cli_writes_one_line_per_file_and_a_summary(tmp_path: Path) -> None:
    before = _hashes(SPINE)
    out = tmp_path / "out"
    run = _run(str(SPINE), str(out), tmp=tmp_path, env={"RTCHECK_ANON_KEY": ""})
    assert run.exit_code == 0, run.output
    assert run.stdout == (f"anonymized 6 file(s) into {out}: 1 patient(s), dates shifted by "
                          "whole weeks, 1 case(s) linked as in the input, no original "
                          "identifier found\n")
    lines = run.stderr.splitlines()
    assert len(lines) == 7 and lines[0].startswith("anonymize: RD.dcm -> RTDOSE.2.25.")
    assert lines[-1] == "anonymize: rtcheck.yaml -> rtcheck.yaml (YAML data copied, comments " \
                        "dropped)"
    assert sorted(p.name.split(".")[0] for p in out.iterdir()) == \
        ["RTDOSE", "RTPLAN", "RTRECORD", "RTRECORD", "RTRECORD", "RTSTRUCT", "rtcheck"]
    assert _hashes(SPINE) == before and _leftovers(tmp_path) == []
    # the key may come from the environment as well: the same key gives the same files
    again = _run(str(SPINE), str(tmp_path / "env"), key=None,
                 env={"RTCHECK_ANON_KEY": KEY.decode()})
    assert again.exit_code == 0, again.output
    assert _hashes(tmp_path / "env") == _hashes(out)


def test_same_key_same_bytes_and_another_key_other_uids_and_dates(tmp_path: Path) -> None:
    anonymize_tree(SPINE, tmp_path / "a", KEY)
    anonymize_tree(SPINE, tmp_path / "b", KEY)
    anonymize_tree(SPINE, tmp_path / "c", b"another-key-0123456789")
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    plans = {k: pydicom.dcmread(next((tmp_path / k).glob("RTPLAN.*"))) for k in "ac"}
    original = pydicom.dcmread(SPINE / "RP.dcm")
    assert not {p.name for p in (tmp_path / "a").glob("*.dcm")} & \
        {p.name for p in (tmp_path / "c").glob("*.dcm")}
    assert plans["a"].FrameOfReferenceUID != plans["c"].FrameOfReferenceUID
    assert plans["a"].PatientID != plans["c"].PatientID
    day = dt.datetime.strptime(original.StudyDate, "%Y%m%d")
    shifts = {k: (day - dt.datetime.strptime(p.StudyDate, "%Y%m%d")).days
              for k, p in plans.items()}
    assert shifts["a"] != shifts["c"] and all(s >= 364 and s % 7 == 0 for s in shifts.values())


def _private(name: str, ds: pydicom.Dataset) -> None:
    """Identifiers where the profile removes them: descriptions, private tags (top level and
    nested), person names in nested sequences, other IDs, comments."""
    ds.StudyDescription = "CT Erika Mustermann"
    ds.OtherPatientIDs = "PID-4711-X"
    ds.PatientComments = "Mustermann, Erika"
    block = ds.private_block(0x0011, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "Mustermann")
    block.add_new(0x02, "UI", ds.SOPInstanceUID)
    if name == "RS.dcm":
        item = ds.StructureSetROISequence[0]
        item.private_block(0x0013, "ACME 1.0", create=True).add_new(0x01, "PN", NAME)
        item.ROIObservationDescription = "drawn for PID-4711-X"
    if name == "RT1.dcm":
        ds.TreatmentMachineSequence[0].OperatorsName = NAME
        ds.TreatmentMachineSequence[0].InstitutionName = "Klinik Mustermann"


def test_identifiers_the_profile_removes_are_gone(tmp_path: Path) -> None:
    src = _plant(SPINE, tmp_path / "in", _private)
    out = tmp_path / "out"
    run = _run(str(src), str(out), tmp=tmp_path)
    assert run.exit_code == 0, run.output
    for path in out.iterdir():
        data = path.read_bytes().lower()
        assert b"mustermann" not in data and b"erika" not in data and b"4711" not in data
        if path.suffix == ".dcm":
            ds = pydicom.dcmread(path)
            assert "StudyDescription" not in ds and "OtherPatientIDs" not in ds
            assert not ds.group_dataset(0x0011) and "PatientComments" not in ds
    record = pydicom.dcmread(next(out.glob("RTRECORD.*")))
    assert {str(m.get("OperatorsName")) for m in record.TreatmentMachineSequence} <= \
        {"ANONYMIZED", "", "None"}


def _set(name: str, path: Callable[[pydicom.Dataset], None]) -> Mutate:
    return lambda file, ds: path(ds) if file == name else None


def _set_roi_name(ds: pydicom.Dataset) -> None:
    ds.StructureSetROISequence[1].ROIName = "PTV_Mustermann"


def _set_dose_comment(ds: pydicom.Dataset) -> None:
    ds.DoseComment = "dose for PID-4711-X"


def _set_beam_name(ds: pydicom.Dataset) -> None:
    ds.BeamSequence[0].BeamName = f"ARC {ds.StudyDate}"


def _set_plan_name(ds: pydicom.Dataset) -> None:
    ds.RTPlanName = ds.FrameOfReferenceUID


def _set_manufacturer(ds: pydicom.Dataset) -> None:
    ds.Manufacturer = "Erika Mustermann"


@pytest.mark.parametrize(("mutate", "where", "what"), [
    (_set("RS.dcm", _set_roi_name), "StructureSetROISequence[1].ROIName (3006,0026)",
     "PatientName (a name component)"),
    (_set("RD.dcm", _set_dose_comment), "DoseComment (3004,0006)", "PatientID"),
    (_set("RP.dcm", _set_beam_name), "BeamSequence[0].BeamName (300A,00C2)",
     "an original date"),
    (_set("RP.dcm", _set_plan_name), "RTPlanName (300A,0003)", "an original UID"),
    (_set("RT2.dcm", _set_manufacturer), "Manufacturer (0008,0070)", "PatientName"),
], ids=["roi-name", "dose-comment", "date-in-beam-name", "uid-in-plan-name", "manufacturer"])
def test_identifier_in_kept_text_fails_and_nothing_is_written(
        tmp_path: Path, mutate: Mutate, where: str, what: str) -> None:
    src = _plant(SPINE, tmp_path / "in", mutate)
    before = _hashes(src)
    out = tmp_path / "out"
    run = _run(str(src), str(out), tmp=tmp_path)
    assert run.exit_code == 3, run.output
    first = run.stderr.splitlines()[0]
    assert first.startswith(f"rtcheck: error: {out}: verification failed, nothing was written: ")
    assert f": {where}: holds {what} of the input" in first
    assert "ustermann" not in run.stderr and "4711" not in run.stderr  # never the value
    assert not out.exists() and _leftovers(tmp_path) == [] and _hashes(src) == before


def test_identifying_folder_names_are_replaced(tmp_path: Path) -> None:
    src = tmp_path / "in"
    _plant(SPINE, src / "Mustermann_Erika" / "plan")
    out = tmp_path / "out"
    result = anonymize_tree(src, out, KEY)
    (folder,) = list(out.iterdir())
    assert folder.name.startswith("folder-") and (folder / "plan" / "rtcheck.yaml").is_file()
    assert all(dst.parts[:2] == (folder.name, "plan") for _, dst, _ in result.files)
    run = CliRunner().invoke(cli, ["check", str(folder / "plan")])
    assert run.exit_code == 0 and "VERDICT: PASS" in run.stdout


def test_a_broken_link_fails_the_verification(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A transform that maps ReferencedSOPInstanceUID unlike SOPInstanceUID is caught."""
    original = Transformer._uids

    def skewed(self: Transformer, ds: pydicom.Dataset, tag: BaseTag, kw: str) -> None:
        original(self, ds, tag, kw)
        if kw == "ReferencedSOPInstanceUID":
            ds[tag].value = self.mapper.uid(str(ds[tag].value))

    monkeypatch.setattr(Transformer, "_uids", skewed)
    out = tmp_path / "out"
    with pytest.raises(VerificationError) as caught:
        anonymize_tree(SPINE, out, KEY)
    assert any("no longer form one case" in p for p in caught.value.problems)
    assert not out.exists() and _leftovers(tmp_path) == []


def test_patient_map_names_pseudonym_and_offset(tmp_path: Path) -> None:
    src = _plant(SPINE, tmp_path / "in")
    out, mapping = tmp_path / "out", tmp_path / "secret" / "map.csv"
    mapping.parent.mkdir()
    run = _run(str(src), str(out), "--patient-map", str(mapping), tmp=tmp_path)
    assert run.exit_code == 0, run.output
    assert run.stdout.rstrip().endswith(f"; patient map: {mapping.resolve()}")
    (row,) = list(csv.DictReader(mapping.read_text(encoding="utf-8").splitlines()))
    plan = pydicom.dcmread(next(out.glob("RTPLAN.*")))
    assert (row["patient_id"], row["patient_name"]) == (PID, NAME)
    assert row["pseudonym_id"] == plan.PatientID == str(plan.PatientName)
    assert row["pseudonym_id"] == KeyedMapper(KEY).patient_id(PID)
    before = dt.datetime.strptime(pydicom.dcmread(src / "RP.dcm").StudyDate, "%Y%m%d")
    after = dt.datetime.strptime(plan.StudyDate, "%Y%m%d")
    assert (before - after).days == int(row["date_offset_days"])


def _refusal_inside_in(tmp: Path) -> list[str]:
    src = _plant(SPINE, tmp / "in")
    return [str(src), str(src / "out")]


def _refusal_contains_in(tmp: Path) -> list[str]:
    src = _plant(SPINE, tmp / "parent" / "in")
    return [str(src), str(tmp / "parent")]


def _refusal_not_empty(tmp: Path) -> list[str]:
    (tmp / "out").mkdir()
    (tmp / "out" / "old.txt").write_text("x")
    return [str(SPINE), str(tmp / "out")]


def _refusal_map_in_out(tmp: Path) -> list[str]:
    return [str(SPINE), str(tmp / "out"), "--patient-map", str(tmp / "out" / "map.csv")]


def _refusal_map_exists(tmp: Path) -> list[str]:
    (tmp / "map.csv").write_text("x")
    return [str(SPINE), str(tmp / "out"), "--patient-map", str(tmp / "map.csv")]


def _missing_in(tmp: Path) -> list[str]:
    return [str(tmp / "nothing"), str(tmp / "out")]


def _no_dicom(tmp: Path) -> list[str]:
    (tmp / "in").mkdir()
    (tmp / "in" / "notes.txt").write_text("no DICOM here")
    return [str(tmp / "in"), str(tmp / "out")]


@pytest.mark.parametrize(("make", "code", "message"), [
    (_refusal_inside_in, 2, "OUT_DIR must lie outside IN_DIR"),
    (_refusal_contains_in, 2, "OUT_DIR must lie outside IN_DIR"),
    (_refusal_not_empty, 2, "exists and is not empty; give --overwrite to replace"),
    (_refusal_map_in_out, 2, "write it outside OUT_DIR and IN_DIR"),
    (_refusal_map_exists, 2, "exists; give --overwrite to replace it"),
    (_missing_in, 3, "no such folder; check the path"),
    (_no_dicom, 3, "no DICOM file found; check the path"),
], ids=["out-inside-in", "out-contains-in", "out-not-empty", "map-inside-out", "map-exists",
        "no-input", "no-dicom"])
def test_refusals(tmp_path: Path, make: Callable[[Path], list[str]], code: int,
                  message: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    args = make(work)
    before = {p: _hashes(Path(p)) for p in args if Path(p).is_dir()}
    run = _run(*args, tmp=tmp_path)
    assert run.exit_code == code, run.output
    assert run.stderr.startswith("rtcheck: error: ") and message in run.stderr
    assert len(run.stderr.splitlines()) == 1 and run.stdout == ""
    assert {p: _hashes(Path(p)) for p in before} == before
    assert not [p for p in work.rglob("*") if "rtcheck-" in p.name]


def test_no_key_and_short_key_are_usage_errors(tmp_path: Path) -> None:
    run = _run(str(SPINE), str(tmp_path / "out"), key=None, env={"RTCHECK_ANON_KEY": ""})
    assert run.exit_code == 2
    assert run.stderr == ("rtcheck: error: rtcheck anonymize needs a secret key: set "
                          "$RTCHECK_ANON_KEY or give --key FILE (at least 16 bytes, kept at "
                          "the hospital)\n")
    run = _run(str(SPINE), str(tmp_path / "out"), key=b"short", tmp=tmp_path)
    assert run.exit_code == 2 and "the key has 5 bytes; use at least 16" in run.stderr
    assert not (tmp_path / "out").exists()


def test_overwrite_replaces_the_old_contents_and_the_map(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("stale")
    (tmp_path / "map.csv").write_text("stale")
    run = _run(str(SPINE), str(out), "--overwrite", "--patient-map", str(tmp_path / "map.csv"),
               tmp=tmp_path)
    assert run.exit_code == 0, run.output
    assert not (out / "old.txt").exists() and len(list(out.glob("*.dcm"))) == 6
    assert (tmp_path / "map.csv").read_text().startswith("patient_id,patient_name,")
    assert _leftovers(tmp_path) == []


def test_a_crash_while_writing_leaves_nothing(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = Transformer.anonymize

    def crash_third(self: Transformer, ds: pydicom.Dataset, patient: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        original(self, ds, patient)  # type: ignore[arg-type]

    monkeypatch.setattr(Transformer, "anonymize", crash_third)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        anonymize_tree(SPINE, out, KEY, patient_map=tmp_path / "map.csv")
    assert not out.exists() and not (tmp_path / "map.csv").exists()
    assert _leftovers(tmp_path) == []


def test_exports_anonymised_separately_still_link(tmp_path: Path) -> None:
    """The plan before treatment, the records after: same key, same UIDs and date offset,
    so the two outputs together check like the whole export."""
    plan_only, records_only = tmp_path / "plan", tmp_path / "records"
    plan_only.mkdir()
    records_only.mkdir()
    for path in SPINE.iterdir():
        shutil.copy(path, (records_only if path.name.startswith("RT") else plan_only) / path.name)
    together = tmp_path / "together"
    together.mkdir()
    anonymize_tree(plan_only, together / "a", KEY)
    anonymize_tree(records_only, together / "b", KEY)
    whole = tmp_path / "whole"
    anonymize_tree(SPINE, whole, KEY)
    assert sorted(p.name for p in together.rglob("*.dcm")) == \
        sorted(p.name for p in whole.glob("*.dcm"))
    run = CliRunner().invoke(cli, ["check", str(together / "a"), str(together / "b")])
    assert "Fraction gaps: 1→2 48.20 h pass; 2→3 48.15 h pass" in run.stdout


def test_missing_parent_folders_of_out_dir_are_created(tmp_path: Path) -> None:
    """The README workflow writes samples/case1 before samples/ exists."""
    out = tmp_path / "samples" / "spine_case1"
    res = _run(str(SPINE), str(out), tmp=tmp_path)
    assert res.exit_code == 0, res.output
    assert sorted(p.name.split(".")[0] for p in out.iterdir()) == [
        "RTDOSE", "RTPLAN", "RTRECORD", "RTRECORD", "RTRECORD", "RTSTRUCT", "rtcheck"]
    assert [p.name for p in (tmp_path / "samples").iterdir()] == ["spine_case1"]
