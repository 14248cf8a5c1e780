"""Case discovery of ``rtcheck audit``: any depth, sites by folder level, DICOM detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtcheck.audit.discover import ROOT_SITE, discover, is_dicom_file
from rtcheck.errors import UsageError


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_cases_at_any_depth_with_their_site(tmp_path: Path) -> None:
    touch(tmp_path / "site_a" / "p1" / "RP.dcm")
    touch(tmp_path / "site_a" / "p2" / "course" / "plan" / "RD.DCM")
    touch(tmp_path / "site_b" / "RS.dcm")  # a case at site level: a site is a folder of cases
    touch(tmp_path / "site_b" / "notes" / "readme.txt")  # no DICOM: not a case
    touch(tmp_path / "site_c" / ".hidden" / "RP.dcm")  # hidden folders are skipped
    touch(tmp_path / "loose.dcm")  # a case at the root itself
    marker = b"\0" * 128 + b"DICM" + b"\0" * 10
    touch(tmp_path / "site_c" / "p9" / "IMG0001", marker)  # no extension, DICM marker

    cases = discover(tmp_path)
    assert [(c.key, c.site) for c in cases] == [
        (".", ROOT_SITE), ("site_a/p1", "site_a"), ("site_a/p2/course/plan", "site_a"),
        ("site_b", ROOT_SITE), ("site_c/p9", "site_c")]
    assert cases[1].folder == str(tmp_path / "site_a" / "p1")

    level2 = {c.key: c.site for c in discover(tmp_path, site_level=2)}
    assert level2 == {".": ROOT_SITE, "site_a/p1": ROOT_SITE, "site_a/p2/course/plan": "p2",
                      "site_b": ROOT_SITE, "site_c/p9": ROOT_SITE}


def test_dicom_detection(tmp_path: Path) -> None:
    assert is_dicom_file(touch(tmp_path / "a.dcm", b""))
    assert not is_dicom_file(touch(tmp_path / "b", b"\0" * 128 + b"DICX"))
    assert not is_dicom_file(touch(tmp_path / "c", b"DICM"))  # marker not at byte 128


def test_bad_root_and_level(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a folder"):
        discover(tmp_path / "missing")
    with pytest.raises(UsageError, match="--site-level 0"):
        discover(tmp_path, site_level=0)
    assert discover(tmp_path) == ()
