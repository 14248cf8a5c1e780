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


def _char_device(path: Path, minor: int) -> Path:
    """A character device node in ``path`` (1, 3 = null; 1, 7 = full); skip without root."""
    import stat

    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except (PermissionError, AttributeError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    return path


def test_a_device_is_written_into_never_replaced(tmp_path: Path) -> None:
    """--junit /dev/full --overwrite replaced the device with a file (renamed over it)."""
    import stat

    full = _char_device(tmp_path / "full", 7)
    with pytest.raises(OutputError, match=r"full: cannot be written \(No space left on device\)"):
        write_text_atomic(full, "<xml/>", overwrite=True)
    assert stat.S_ISCHR(full.stat().st_mode)
    null = _char_device(tmp_path / "null", 3)
    write_text_atomic(null, "<xml/>")  # a stream: nothing to overwrite, no --overwrite needed
    assert stat.S_ISCHR(null.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "null"]  # no temporary


def test_a_named_pipe_is_written_into(tmp_path: Path) -> None:
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    write_text_atomic(fifo, "report\n")
    reader.join(timeout=10)
    assert got == ["report\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_symbolic_link_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "r.json"
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    with pytest.raises(UsageError, match=r"latest\.json exists; give --overwrite"):
        write_text_atomic(link, "new")
    write_text_atomic(link, "new", overwrite=True)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["r.json"]


def test_a_folder_is_no_report_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"is a folder; give a file name for the report"):
        write_text_atomic(tmp_path, "x", overwrite=True)


def test_check_reports_into_devices(tmp_path: Path) -> None:
    """`rtcheck check --junit /dev/null` needs no --overwrite; into a full device it is a
    one-line error, exit 2, and the device stays a device."""
    import stat

    from tests.check_helpers import fixture, run

    null = _char_device(tmp_path / "null", 3)
    assert run("check", fixture("spine_sbrt"), "--junit", str(null)).exit_code == 0
    full = _char_device(tmp_path / "full", 7)
    res = run("check", fixture("spine_sbrt"), "--junit", str(full), "--overwrite")
    assert res.exit_code == 2
    assert res.stderr.strip().endswith("full: cannot be written (No space left on device); "
                                       "choose a folder you can write to, with room for the file")
    assert stat.S_ISCHR(full.stat().st_mode)
