"""A reader of stdout that goes away early (``rtcheck ... | head``) ends the command
quietly: exit 141 (128 + SIGPIPE), nothing on stderr — never ``internal error:
BrokenPipeError`` and exit 4."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rtcheck.cli import exitcodes
from tests.conftest import FIXTURES, REPO

COMMANDS = {"constraints": ["constraints", "show", "medcare"],
            "check": [str(FIXTURES / "spine_sbrt")]}


def _rtcheck(args: list[str], stdout: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "rtcheck", *args], stdout=stdout,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_stdout_closed_before_any_output_exits_quietly(command: str) -> None:
    """The read end is closed before the command starts: its first write fails, always."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = _rtcheck(COMMANDS[command], write_end)
    finally:
        os.close(write_end)
    _, stderr = proc.communicate(timeout=120)
    assert stderr == ""
    assert proc.returncode == exitcodes.BROKEN_PIPE == 141


def test_reader_that_stops_after_one_line_leaves_no_internal_error() -> None:
    """``rtcheck constraints show medcare | head -1``: whether the rest was written
    before the pipe closed (exit 0) or not (exit 141), nothing is said about it."""
    proc = _rtcheck(COMMANDS["constraints"], subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("medcare: ")
    proc.stdout.close()
    proc.wait(timeout=120)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert "internal error" not in stderr and "BrokenPipeError" not in stderr
    assert stderr == ""
    assert proc.returncode in (exitcodes.OK, exitcodes.BROKEN_PIPE)
