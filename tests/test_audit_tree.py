"""The multi-site audit tree generator (fixtures/synth/audit_tree.py, issue #9).

Copies of the shipped fixtures with new UIDs, patients, site naming conventions and small
dose/contour variations: deterministic, unique UIDs, originals untouched, and every copy
checks exactly like its source (same verdict, same check statuses and findings).
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fixtures.synth.audit_tree import (  # noqa: E402
    DEFAULT_SITES,
    FIXTURE_VERDICTS,
    SITE_A,
    SITE_B,
    SITE_C,
    SOURCES,
    AuditTreeManifest,
    DicomFile,
    main,
    mix_pattern,
    write_audit_tree,
)
from rtcheck.cli import cli  # noqa: E402
from rtcheck.dicom.loader import load  # noqa: E402
from rtcheck.rules.engine import check_load  # noqa: E402
from rtcheck.rules.matching import AliasTable, MatchRule, MatchStatus, match_structure  # noqa: E402
from rtcheck.rules.protocol import load_protocol  # noqa: E402
from rtcheck.rules.setup import prepare_check  # noqa: E402

FIXTURES = REPO / "fixtures"
SOURCE_NAMES = [s.name for s in SOURCES]
#: The sources whose copies are checked at every site: one per verdict kind.
CHECKED_SOURCES = ("spine_sbrt", "pelvic_node_sbrt", "spine_cord_overdose",
                   "spine_grid_misses_oar")
KEEP_UIDS = ("1.2.840.10008.",)


def _fixture_hashes() -> dict[str, str]:
    return {str(p.relative_to(FIXTURES)): hashlib.sha256(p.read_bytes()).hexdigest()
            for name in SOURCE_NAMES for p in sorted((FIXTURES / name).iterdir())}


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _uid_values(ds: Dataset) -> Iterator[tuple[str, str]]:
    """(keyword, value) of every UI element, nested ones included; other elements stay
    undecoded (decoding every ContourData would take seconds)."""
    for tag in list(ds.keys()):
        vr = ds.get_item(tag).VR
        if vr == "SQ":
            for item in ds[tag].value:
                yield from _uid_values(item)
        elif vr == "UI" and ds[tag].value:
            value = ds[tag].value
            for v in value if isinstance(value, list | tuple) else [value]:
                yield ds[tag].keyword, str(v)


def _instance_uids(ds: Dataset) -> set[str]:
    """Every instance UID of a file (data set and file meta), as a set."""
    pairs = [*_uid_values(ds.file_meta), *_uid_values(ds)]
    return {v for k, v in pairs
            if k != "ImplementationClassUID" and not v.startswith(KEEP_UIDS)}


@pytest.fixture(scope="module")
def fixture_hashes_before() -> dict[str, str]:
    return _fixture_hashes()


@pytest.fixture(scope="module")
def two_trees(tmp_path_factory: pytest.TempPathFactory,
              fixture_hashes_before: dict[str, str]) -> tuple[AuditTreeManifest, ...]:
    """The n=9 tree written twice, into different folders."""
    out = []
    for name in ("first", "second"):
        base = tmp_path_factory.mktemp(name)
        out.append(write_audit_tree(base / "tree", 9, seed=0, corrupt=1))
    return tuple(out)


@pytest.fixture(scope="module")
def full_cycle(tmp_path_factory: pytest.TempPathFactory,
               fixture_hashes_before: dict[str, str]) -> AuditTreeManifest:
    """60 cases: every site gets one full cycle of the mix, so every source."""
    base = tmp_path_factory.mktemp("cycle")
    return write_audit_tree(base / "tree", 20 * len(DEFAULT_SITES), seed=0)


def _report(folder: Path | str, aliases: Path | None) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        setup = prepare_check([str(folder)], aliases=str(aliases) if aliases else None)
        result = load([str(folder)])
        return check_load(result, setup.protocol, setup.options, setup.extra_inputs).to_dict()


@pytest.fixture(scope="module")
def source_reports() -> dict[str, dict[str, Any]]:
    return {name: _report(FIXTURES / name, None) for name in CHECKED_SOURCES}


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    """What must not change between a fixture and its copy: verdict, one case, every
    check's status, the findings' codes. TG-101 row 8 lists SacralPlex and SacralPlexus;
    a name found by normalisation is reported under the first (SacralPlex)."""
    (case,) = report["cases"]
    return {
        "verdict": report["verdict"],
        "checks": sorted((c["id"].replace(":SacralPlexus", ":SacralPlex"), c["status"])
                         for c in case["checks"]),
        "findings": sorted((f["code"], f["severity"]) for f in case["findings"]),
        "load_findings": sorted(f["code"] for f in report["findings"]),
    }


# ---------------------------------------------------------------------------- tests


def test_the_codec_gives_back_every_fixture_file_byte_for_byte() -> None:
    for path in sorted(FIXTURES.glob("*/*.dcm")):
        data = path.read_bytes()
        assert DicomFile.parse(data).encode() == data, path


def test_two_writes_give_identical_trees(two_trees: tuple[AuditTreeManifest, ...]) -> None:
    first, second = two_trees
    files = _tree_bytes(first.root)
    assert len(files) >= 9 * 7
    assert files == _tree_bytes(second.root)
    assert _tree_bytes(first.aliases_dir) == _tree_bytes(second.aliases_dir)
    assert first.cases == second.cases
    assert {c.folder for c in first.cases} == {str(p.parent.relative_to(first.root))
                                               for p in first.root.rglob("RP.dcm")}


def test_the_tree_holds_only_case_folders(two_trees: tuple[AuditTreeManifest, ...]) -> None:
    m = two_trees[0]
    assert sorted(p.name for p in m.root.iterdir()) == ["site_a", "site_b", "site_c"]
    assert not m.aliases_dir.is_relative_to(m.root)
    assert sorted(p.name for p in m.aliases_dir.iterdir()) == [
        "site_a.yaml", "site_b.yaml", "site_c.yaml"]
    for case in m.cases:
        folder = m.root / case.folder
        assert folder.parent.parent == m.root and folder.name == case.patient_id
        source = FIXTURES / case.source
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            p.name for p in source.iterdir())
        assert (folder / "rtcheck.yaml").read_bytes() == (source / "rtcheck.yaml").read_bytes()


def test_uids_are_new_unique_and_consistent(full_cycle: AuditTreeManifest,
                                            two_trees: tuple[AuditTreeManifest, ...]) -> None:
    fixture_uids = set()
    for path in sorted(FIXTURES.glob("*/*.dcm")):
        fixture_uids |= _instance_uids(pydicom.dcmread(path))
    for m in (full_cycle, two_trees[0]):
        owner: dict[str, str] = {}
        for case in m.cases:
            folder = m.root / case.folder
            sops, uids = [], set()
            for path in sorted(folder.glob("*.dcm")):
                if case.corrupt and path.name.startswith("RD"):
                    continue
                ds = pydicom.dcmread(path)
                assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
                assert all(len(u) <= 64 for u in _instance_uids(ds))
                sops.append(ds.SOPInstanceUID)
                uids |= _instance_uids(ds)
                assert (ds.PatientID, str(ds.PatientName), ds.PatientBirthDate) == (
                    case.patient_id, case.patient_name, case.patient_birth_date)
            assert len(set(sops)) == len(sops)
            assert not uids & fixture_uids, case.folder
            for uid in uids:
                assert owner.setdefault(uid, case.folder) == case.folder, \
                    f"{uid} shared by {owner[uid]} and {case.folder}"


def test_links_and_frame_of_reference_follow_the_new_uids(
        two_trees: tuple[AuditTreeManifest, ...]) -> None:
    m = two_trees[0]
    case = next(c for c in m.cases if not c.corrupt)
    folder = m.root / case.folder
    rp, rs = pydicom.dcmread(folder / "RP.dcm"), pydicom.dcmread(folder / "RS.dcm")
    assert rp.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID == rs.SOPInstanceUID
    frame = rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID
    assert rp.FrameOfReferenceUID == frame == rs.FrameOfReferenceUID
    assert {r.ReferencedFrameOfReferenceUID for r in rs.StructureSetROISequence} == {frame}
    assert rp.StudyInstanceUID == rs.StudyInstanceUID
    for path in sorted(folder.glob("R[DT]*.dcm")):
        ds = pydicom.dcmread(path)
        assert ds.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID == rp.SOPInstanceUID
        assert ds.StudyInstanceUID == rp.StudyInstanceUID
    result = load([str(folder)])
    assert len(result.cases) == 1 and not [f for f in result.findings
                                          if f.severity.name == "ERROR"]


def test_originals_are_untouched(two_trees: tuple[AuditTreeManifest, ...],
                                 full_cycle: AuditTreeManifest,
                                 fixture_hashes_before: dict[str, str]) -> None:
    assert _fixture_hashes() == fixture_hashes_before


def test_the_manifest_describes_the_variations(full_cycle: AuditTreeManifest,
                                               two_trees: tuple[AuditTreeManifest, ...]) -> None:
    sites = {s.name: s for s in DEFAULT_SITES}
    specs = {s.name: s for s in SOURCES}
    for case in full_cycle.cases:
        lo, hi = specs[case.source].scale_range
        assert lo <= case.dose_scale <= hi
        assert case.shift_mm[2] == 0 and (case.shift_mm[0] ** 2 + case.shift_mm[1] ** 2) <= 1.0001
        assert case.expected_verdict == FIXTURE_VERDICTS[case.source]
        rs = pydicom.dcmread(full_cycle.root / case.folder / "RS.dcm")
        names = [r.ROIName for r in rs.StructureSetROISequence]
        assert case.shift_roi in names
        fixture_rs = pydicom.dcmread(FIXTURES / case.source / "RS.dcm")
        assert names == [sites[case.site].roi_name(r.ROIName)
                         for r in fixture_rs.StructureSetROISequence]
        rd_name = "RD_beam1.dcm" if case.source == "spine_beam_doses" else "RD.dcm"
        rd = pydicom.dcmread(full_cycle.root / case.folder / rd_name)
        source_rd = pydicom.dcmread(FIXTURES / case.source / rd_name)
        assert float(rd.DoseGridScaling) / float(source_rd.DoseGridScaling) == \
            pytest.approx(case.dose_scale, rel=1e-8)
        assert rd.PixelData == source_rd.PixelData
    # every site sees the whole mix, in the pattern's proportions
    pattern = mix_pattern()
    assert sorted(pattern) == sorted(s.name for s in SOURCES for _ in range(s.weight))
    for site in sites:
        got = sorted(c.source for c in full_cycle.cases if c.site == site)
        assert got == sorted(pattern)
    corrupt = [c for c in two_trees[0].cases if c.corrupt]
    assert len(corrupt) == 1 and corrupt[0].expected_verdict == "ERROR"
    # the manifest is JSON-ready
    assert json.loads(json.dumps(full_cycle.to_dict()))["cases"][0]["site"] == "site_a"


@pytest.mark.parametrize("site", DEFAULT_SITES, ids=lambda s: s.name)
def test_site_names_match_by_the_intended_rule(site: Any, tmp_path: Path) -> None:
    """site_a exact, site_b only through its alias file, site_c by TG-263 normalisation."""
    protocol = load_protocol("medcare")
    path = tmp_path / f"{site.name}.yaml"
    path.write_text(site.alias_yaml(), encoding="utf-8")
    table = AliasTable.load(path)
    organs = ("SpinalCord", "Esophagus", "Bowel", "Rectum", "Bladder", "SacralPlexus",
              "CaudaEquina")
    for std in organs:
        roi = site.roi_name(std)
        names = [site.roi_name(n) for n in ("Body", "GTV", "PTV", std)]
        bare = match_structure(std, names, aliases=protocol.aliases_for(std))
        with_table = match_structure(std, names, aliases=protocol.aliases_for(std),
                                     alias_table=table)
        assert with_table.status is MatchStatus.MATCHED and with_table.roi_name == roi, std
        if site is SITE_A:
            assert bare.rule is MatchRule.EXACT
        elif site is SITE_B:
            assert bare.status is MatchStatus.MISSING, std
            assert with_table.rule is MatchRule.ALIAS_FILE
        else:
            assert site is SITE_C and bare.rule is MatchRule.TG263, std
    ptv = match_structure("PTV", [site.roi_name("PTV")], aliases=protocol.aliases_for("PTV"))
    assert ptv.status is MatchStatus.MATCHED


@pytest.mark.parametrize("source", CHECKED_SOURCES)
def test_copies_check_like_their_source_at_every_site(
        source: str, full_cycle: AuditTreeManifest,
        source_reports: dict[str, dict[str, Any]]) -> None:
    expected = _summary(source_reports[source])
    assert expected["verdict"] == FIXTURE_VERDICTS[source]
    for site in DEFAULT_SITES:
        case = next(c for c in full_cycle.cases if c.site == site.name and c.source == source)
        report = _report(full_cycle.root / case.folder, full_cycle.alias_file(site.name))
        assert _summary(report) == expected, case.folder
        assert report["cases"][0]["plan_label"] == source_reports[source]["cases"][0][
            "plan_label"]


def test_site_b_without_its_alias_file_cannot_find_the_cord(
        full_cycle: AuditTreeManifest) -> None:
    case = next(c for c in full_cycle.cases if c.site == "site_b" and c.source == "spine_sbrt")
    report = _report(full_cycle.root / case.folder, None)
    assert report["verdict"] == "INCOMPLETE"
    cord = [c for c in report["cases"][0]["checks"] if c["structure"] == "SpinalCord"
            and c["tier"] == "mandatory"]
    assert {c["id"] for c in cord} >= {"required.SpinalCord", "tg101.row4.D0.35cc[Gy]"}
    assert {c["status"] for c in cord} == {"not_evaluated"}


def test_a_corrupt_case_is_unreadable(two_trees: tuple[AuditTreeManifest, ...]) -> None:
    m = two_trees[0]
    (case,) = [c for c in m.cases if c.corrupt]
    folder = m.root / case.folder
    source = FIXTURES / case.source / "RD.dcm"
    assert (folder / "RD.dcm").stat().st_size < source.stat().st_size
    run = CliRunner().invoke(cli, ["check", str(folder), "--format", "json"])
    assert run.exit_code == 3, run.output


def test_cli_writes_a_tree_and_refuses_a_non_empty_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tree"
    manifest = tmp_path / "manifest.json"
    assert main([str(out), "--cases", "4", "--seed", "3", "--manifest", str(manifest)]) == 0
    assert "wrote 4 cases" in capsys.readouterr().out
    cases = json.loads(manifest.read_text())["cases"]
    assert [c["folder"] for c in cases] == ["site_a/SITEA-0001", "site_b/SITEB-0001",
                                            "site_c/SITEC-0001", "site_a/SITEA-0002"]
    assert (tmp_path / "site_aliases" / "site_b.yaml").is_file()
    assert main([str(out), "--cases", "1"]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    with pytest.raises(ValueError, match="outside"):
        write_audit_tree(tmp_path / "t2", 1, aliases_dir=tmp_path / "t2" / "aliases")
    with pytest.raises(SystemExit):
        main([str(tmp_path / "t3"), "--sites", "site_x"])
