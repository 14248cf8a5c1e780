"""Case discovery of ``rtcheck audit``: case folders with their subtrees, sites by folder
level, DICOM detection, and the input hash over a case's whole subtree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from rtcheck.audit.discover import ROOT_SITE, discover, is_dicom_file, stray_file_warnings
from rtcheck.audit.task import folder_files, input_sha256
from rtcheck.errors import UsageError

MARKER = b"\0" * 128 + b"DICM" + b"\0" * 10


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def keys_and_sites(root: Path, site_level: int = 1) -> list[tuple[str, str]]:
    return [(c.key, c.site) for c in discover(root, site_level)]


def test_a_case_is_a_folder_with_its_whole_subtree(tmp_path: Path) -> None:
    for modality in ("RTPLAN", "RTDOSE", "RTSTRUCT"):  # per-modality folders
        touch(tmp_path / "site_a" / "case1" / modality / f"{modality}.dcm")
    touch(tmp_path / "site_a" / "case2" / "RP.dcm")  # a plan beside its records/
    touch(tmp_path / "site_a" / "case2" / "records" / "RT1.dcm")
    touch(tmp_path / "site_b" / "p7" / "course1" / "plan2" / "RD.DCM")  # patient/course/plan
    touch(tmp_path / "site_b" / "p7" / "course1" / "plan3" / "RD.dcm")
    touch(tmp_path / "site_b" / "p8" / "a" / "IMG0001", MARKER)  # no extension: DICM marker
    touch(tmp_path / "site_b" / "notes" / "readme.txt")  # no DICOM: not a case
    touch(tmp_path / "site_c" / ".trash" / "p1" / "RP.dcm")  # hidden folders are skipped
    touch(tmp_path / "site_c" / "p2" / ".old" / "RP.dcm")  # ... inside a case too
    touch(tmp_path / "site_c" / "p3" / ".RP.dcm")  # hidden files are skipped
    touch(tmp_path / ".cache" / "RP.dcm")

    cases = discover(tmp_path)
    assert [(c.key, c.site) for c in cases] == [
        ("site_a/case1", "site_a"), ("site_a/case2", "site_a"), ("site_b/p7", "site_b"),
        ("site_b/p8", "site_b")]
    assert cases[0].folder == str(tmp_path / "site_a" / "case1")


def test_dicom_directly_at_the_site_level_makes_a_case_of_the_folder(tmp_path: Path) -> None:
    # fixtures/ style: ROOT/<case>/ holds DICOM directly; its subfolders are part of it
    touch(tmp_path / "spine_sbrt" / "RP.dcm")
    touch(tmp_path / "spine_sbrt" / "records" / "RT1.dcm")
    touch(tmp_path / "spine_sbrt" / "records" / "old" / "RT0.dcm")
    touch(tmp_path / "pelvis" / "RD.dcm")
    touch(tmp_path / "site_x" / "p1" / "RP.dcm")  # a site folder beside them
    # a stray DICOM file in a site folder makes the whole site folder one case
    touch(tmp_path / "site_y" / "stray.dcm")
    touch(tmp_path / "site_y" / "p1" / "RP.dcm")

    assert keys_and_sites(tmp_path) == [
        ("pelvis", ROOT_SITE), ("site_x/p1", "site_x"), ("site_y", ROOT_SITE),
        ("spine_sbrt", ROOT_SITE)]


def test_root_holding_dicom_is_one_case(tmp_path: Path) -> None:
    touch(tmp_path / "RP.dcm")
    touch(tmp_path / "RTDOSE" / "RD.dcm")
    touch(tmp_path / "site_a" / "p1" / "RS.dcm")
    cases = discover(tmp_path)
    assert [(c.key, c.site, c.folder) for c in cases] == [(".", ROOT_SITE, str(tmp_path))]


def test_site_level_two(tmp_path: Path) -> None:
    touch(tmp_path / "north" / "centre1" / "p1" / "RTPLAN" / "RP.dcm")
    touch(tmp_path / "north" / "centre1" / "p1" / "RTDOSE" / "RD.dcm")
    touch(tmp_path / "north" / "centre1" / "p2" / "c1" / "plan" / "RP.dcm")
    touch(tmp_path / "north" / "centre2" / "RP.dcm")  # at depth 2 <= N: a (root) case
    touch(tmp_path / "north" / "centre2" / "sub" / "RD.dcm")
    touch(tmp_path / "south" / "p9" / "RP.dcm")  # at depth 2 <= N too
    touch(tmp_path / "loose" / "RP.dcm")  # depth 1

    assert keys_and_sites(tmp_path, site_level=2) == [
        ("loose", ROOT_SITE), ("north/centre1/p1", "centre1"),
        ("north/centre1/p2", "centre1"), ("north/centre2", ROOT_SITE),
        ("south/p9", ROOT_SITE)]
    # the same tree at level 1: the regions are the sites, depth-2 folders the cases
    assert keys_and_sites(tmp_path) == [
        ("loose", ROOT_SITE), ("north/centre1", "north"), ("north/centre2", "north"),
        ("south/p9", "south")]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    touch(outside / "RP.dcm")
    root = tmp_path / "root"
    touch(root / "site_a" / "p1" / "RP.dcm")
    (root / "site_b").mkdir()
    os.symlink(outside, root / "site_b" / "p2")  # a case folder that is a link
    (root / "site_a" / "p3").mkdir()
    os.symlink(outside, root / "site_a" / "p3" / "link")  # DICOM only through a link
    os.symlink(root, root / "site_a" / "p1" / "cycle")  # would loop if followed
    assert keys_and_sites(root) == [("site_a/p1", "site_a")]
    assert [p.name for p in folder_files(root / "site_a" / "p1")] == ["RP.dcm"]


def test_dicom_detection(tmp_path: Path) -> None:
    assert is_dicom_file(touch(tmp_path / "a.dcm", b""))
    assert is_dicom_file(touch(tmp_path / "a.DCM", b""))
    assert is_dicom_file(touch(tmp_path / "IMG", MARKER))
    assert not is_dicom_file(touch(tmp_path / "b", b"\0" * 128 + b"DICX"))
    assert not is_dicom_file(touch(tmp_path / "c", b"DICM"))  # marker not at byte 128
    assert not is_dicom_file(tmp_path / "missing")


def test_bad_root_and_level(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a folder"):
        discover(tmp_path / "missing")
    with pytest.raises(UsageError, match="--site-level 0"):
        discover(tmp_path, site_level=0)
    assert discover(tmp_path) == ()


def _case(tmp_path: Path) -> Path:
    case = tmp_path / "site_a" / "case1"
    touch(case / "rtcheck.yaml", b"arm: sbrt\n")
    touch(case / "RTPLAN" / "RP.dcm", b"plan")
    touch(case / "RTDOSE" / "RD.dcm", b"dose")
    touch(case / "records" / "2024" / "RT1.dcm", b"rec1")
    touch(case / ".DS_Store", b"finder")
    touch(case / ".git" / "HEAD", b"ref")
    return case


def test_folder_files_cover_the_subtree(tmp_path: Path) -> None:
    case = _case(tmp_path)
    rel = [p.relative_to(case).as_posix() for p in folder_files(case)]
    assert rel == ["RTDOSE/RD.dcm", "RTPLAN/RP.dcm", "records/2024/RT1.dcm", "rtcheck.yaml"]
    hidden = [p.relative_to(case).as_posix() for p in folder_files(case, hidden=True)]
    assert hidden == [".DS_Store", ".git/HEAD", "RTDOSE/RD.dcm", "RTPLAN/RP.dcm",
                      "records/2024/RT1.dcm", "rtcheck.yaml"]


def test_input_hash_covers_the_subtree(tmp_path: Path) -> None:
    case = _case(tmp_path)
    lines = [(".DS_Store", b"finder"), (".git/HEAD", b"ref"),
             ("RTDOSE/RD.dcm", b"dose"), ("RTPLAN/RP.dcm", b"plan"),
             ("records/2024/RT1.dcm", b"rec1"), ("rtcheck.yaml", b"arm: sbrt\n")]
    expected = hashlib.sha256(b"".join(
        rel.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n"
        for rel, data in lines)).hexdigest()
    first = input_sha256(case)
    assert first == expected == input_sha256(str(case))

    touch(case / ".old" / "RP.dcm", b"old plan")  # the loader reads hidden files: they count
    assert input_sha256(case) != first
    (case / ".old" / "RP.dcm").unlink()
    (case / ".old").rmdir()
    assert input_sha256(case) == first

    touch(case / "records" / "2024" / "RT1.dcm", b"rec2")  # a file in a subfolder changed
    changed = input_sha256(case)
    assert changed != first
    touch(case / "records" / "2024" / "RT1.dcm", b"rec1")
    assert input_sha256(case) == first

    (case / "records" / "2024" / "RT1.dcm").rename(case / "records" / "2024" / "RT9.dcm")
    renamed = input_sha256(case)  # same contents, new name
    assert renamed not in (first, changed)
    (case / "records" / "2024").rename(case / "records" / "2025")  # moved with its folder
    assert input_sha256(case) not in (first, changed, renamed)


def test_input_hash_of_a_flat_folder_is_unchanged(tmp_path: Path) -> None:
    # a folder without subfolders hashes as before the recursive rule (path = name), so
    # --resume keeps results written by an earlier version
    touch(tmp_path / "RP.dcm", b"plan")
    touch(tmp_path / "RD.dcm", b"dose")
    old = hashlib.sha256()
    for name, data in (("RD.dcm", b"dose"), ("RP.dcm", b"plan")):
        old.update(name.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n")
    assert input_sha256(tmp_path) == old.hexdigest()


def test_a_stray_dicom_file_in_a_site_folder_is_warned(tmp_path: Path) -> None:
    """site s1 with a stray RT file beside its case folders c1, c2: the whole site folder is
    one case (the documented rule a), and a warning says so (found by a new-user trial)."""
    touch(tmp_path / "s1" / "stray.dcm")
    touch(tmp_path / "s1" / "c1" / "RP.dcm")
    touch(tmp_path / "s1" / "c2" / "RP.dcm")
    touch(tmp_path / "s2" / "c3" / "RP.dcm")
    touch(tmp_path / "flat" / "RP.dcm")  # a case with its records: one subfolder, no warning
    touch(tmp_path / "flat" / "records" / "RT1.dcm")
    cases = discover(tmp_path)
    assert [c.key for c in cases] == ["flat", "s1", "s2/c3"]
    assert stray_file_warnings(cases) == (
        "case folder s1 holds DICOM file(s) directly (stray.dcm) and 2 subfolders with DICOM "
        "files (c1, c2): they are checked as ONE case; if it is a site folder, move its own "
        "DICOM files into a case folder",)
