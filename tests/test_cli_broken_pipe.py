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


def test_output_larger_than_the_pipe_is_never_cut_silently() -> None:
    """``rtcheck dvh ... --format json --curves | head -c 100`` (about 3 MB): the reader takes
    100 bytes and goes; the pipe takes at most its buffer (64 KiB), and the rest must not be
    dropped without a word (Python's buffered stdout would report the short write as done,
    exit 0). Exit 141, whatever the timing: the output cannot fit in the pipe."""
    proc = _rtcheck(["dvh", str(FIXTURES / "spine_sbrt"), "--format", "json", "--curves"],
                    subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith("{")
    proc.stdout.close()
    proc.wait(timeout=120)
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert stderr == ""
    assert proc.returncode == exitcodes.BROKEN_PIPE


def test_all_of_a_large_output_reaches_a_reader_that_reads_it_all(tmp_path) -> None:
    """Written whole through a pipe (3 MB, read as it comes) or into a file: the same bytes,
    every one once, in order, ending with the JSON's closing brace."""
    args = [sys.executable, "-m", "rtcheck", "dvh", str(FIXTURES / "spine_sbrt"), "--format",
            "json", "--curves"]
    piped = subprocess.run(args, capture_output=True, cwd=REPO, check=True).stdout
    with (tmp_path / "out.json").open("wb") as f:
        subprocess.run(args, stdout=f, cwd=REPO, check=True)
    assert len(piped) > 1_000_000  # far beyond a pipe's buffer
    assert piped == (tmp_path / "out.json").read_bytes()
    assert piped.rstrip().endswith(b"}")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_on_stdout_is_an_output_error_not_a_bug() -> None:
    """``rtcheck dvh ... > /dev/full``: one line naming stdout and the reason, exit 2."""
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "rtcheck", "dvh",
                               str(FIXTURES / "spine_sbrt")], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.returncode == exitcodes.USAGE
    assert proc.stderr == ("rtcheck: error: stdout: the result could not be written (No space "
                           "left on device); write it to a file with room for it (--output or "
                           "> FILE)\n")
