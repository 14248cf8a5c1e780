"""Atomic report files (:func:`rtcheck.atomic.write_text_atomic`): a write the system
refuses is a one-line :class:`~rtcheck.errors.OutputError`, the destination untouched and
no temporary file left behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from rtcheck import atomic
from rtcheck.atomic import write_text_atomic
from rtcheck.errors import OutputError, UsageError


def test_writes_the_text_and_leaves_nothing_else(tmp_path: Path) -> None:
    dest = write_text_atomic(tmp_path / "r.json", "{}\n")
    assert dest.read_text(encoding="utf-8") == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_an_existing_file_needs_overwrite(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("old")
    with pytest.raises(UsageError, match=r"r\.json exists; give --overwrite to replace it"):
        write_text_atomic(tmp_path / "r.json", "new")
    assert write_text_atomic(tmp_path / "r.json", "new", overwrite=True).read_text() == "new"


def test_a_folder_that_refuses_the_file_is_an_output_error(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError, match=r"r\.html: cannot be written \(Permission denied\); "
                                          r"choose a folder you can write to"):
        write_text_atomic(tmp_path / "r.html", "<html>")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    (tmp_path / "r.json").write_text("old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(OutputError, match=r"r\.json: cannot be written \(No space left on "
                                          r"device\)"):
        write_text_atomic(tmp_path / "r.json", "new", overwrite=True)
    assert (tmp_path / "r.json").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["r.json"]
