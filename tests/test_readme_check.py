"""The README's "A real run" block is the real output of ``rtcheck fixtures/spine_cord_overdose``.

Regenerate the block with ``python tests/test_readme_check.py`` after an intended change
of the text report, and review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN = "<!-- check-run:begin"
END = "<!-- check-run:end -->"
COMMAND = ["fixtures/spine_cord_overdose"]


def _run() -> tuple[str, int]:
    import os

    from rtcheck.cli import cli

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(cli, COMMAND, prog_name="rtcheck")
    finally:
        os.chdir(cwd)
    return result.stdout, result.exit_code


def block(stdout: str, code: int) -> str:
    return (f"```\n$ rtcheck {' '.join(COMMAND)}\n{stdout.rstrip()}\n$ echo $?\n{code}\n```\n")


def _current() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n", text.index(BEGIN)) + 1
    return text[start:text.index(END)]


def test_readme_run_is_the_real_output() -> None:
    stdout, code = _run()
    assert code == 1
    assert "VERDICT: FAIL" in stdout
    assert _current() == block(stdout, code), (
        "the README's 'A real run' block is out of date: run python tests/test_readme_check.py")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    out, rc = _run()
    text = README.read_text(encoding="utf-8")
    start = text.index("\n", text.index(BEGIN)) + 1
    README.write_text(text[:start] + block(out, rc) + text[text.index(END):], encoding="utf-8")
    print("README block updated")
