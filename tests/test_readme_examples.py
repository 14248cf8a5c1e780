"""Executable documentation: every README block that shows ``$ rtcheck ...`` is run.

A fenced block whose first line starts with ``$ rtcheck`` is a command (continued by a
trailing backslash) followed by its output; ``$ echo $?`` followed by a number states the
exit code. The shown output must equal the real stdout + stderr line by line (trailing
blanks ignored); a line that is only ``...`` (any indentation) stands for any number of
lines. ``python tests/test_readme_examples.py`` prints the real output of each block to
help update the README after an intended change.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_BLOCK = re.compile(r"^```[a-z]*\n(\$ rtcheck .*?)^```", re.M | re.S)


@dataclass(frozen=True)
class Example:
    line: int
    argv: tuple[str, ...]
    shown: tuple[str, ...]
    exit_code: int | None


def examples(text: str | None = None) -> list[Example]:
    text = README.read_text(encoding="utf-8") if text is None else text
    out = []
    for m in _BLOCK.finditer(text):
        lines = m.group(1).rstrip("\n").split("\n")
        command = lines.pop(0)[2:]
        while command.endswith("\\"):
            command = command[:-1] + " " + lines.pop(0).strip()
        code = None
        if len(lines) >= 2 and lines[-2].strip() == "$ echo $?":
            code = int(lines[-1])
            lines = lines[:-2]
        out.append(Example(text[:m.start()].count("\n") + 1, tuple(shlex.split(command)[1:]),
                           tuple(lines), code))
    return out


def run(example: Example) -> tuple[str, int]:
    proc = subprocess.run([sys.executable, "-m", "rtcheck", *example.argv], cwd=ROOT,
                          capture_output=True, text=True, env={"COLUMNS": "200", "PATH": "",
                                                               "PYTHONUTF8": "1"})
    return proc.stdout + proc.stderr, proc.returncode


def matches(shown: tuple[str, ...], actual: str) -> bool:
    parts = [r"(?:[^\n]*\n)*?" if line.strip() == "..." else re.escape(line.rstrip()) + r"\n"
             for line in shown]
    real = "\n".join(line.rstrip() for line in actual.rstrip("\n").split("\n")) + "\n"
    return re.fullmatch("".join(parts), real) is not None


def test_the_readme_shows_commands() -> None:
    assert len(examples()) >= 5


@pytest.mark.parametrize("example", examples(), ids=lambda e: f"README:{e.line}")
def test_readme_example_is_the_real_output(example: Example) -> None:
    actual, code = run(example)
    if example.exit_code is not None:
        assert code == example.exit_code
    assert matches(example.shown, actual), (
        f"README.md:{example.line}: the output of `rtcheck {' '.join(example.argv)}` differs "
        f"from the README; real output:\n{actual}")


def test_elision_matches_any_lines_and_nothing_else() -> None:
    assert matches(("a", "...", "d"), "a\nb\nc\nd\n")
    assert matches(("a", "...", "d"), "a\nd\n")
    assert not matches(("a", "...", "d"), "a\nb\nc\n")
    assert not matches(("a", "b"), "a\nc\n")


if __name__ == "__main__":
    for ex in examples():
        out, rc = run(ex)
        print(f"--- README.md:{ex.line}: rtcheck {' '.join(ex.argv)} (exit {rc})\n{out}")


def test_the_json_example_numbers_are_the_programs() -> None:
    """The ``--format json`` excerpt of the README quotes the real PTV numbers of spine_sbrt."""
    import json

    text = README.read_text(encoding="utf-8")
    excerpt = text[text.index("```jsonc"):text.index("```", text.index("```jsonc") + 8)]
    out, code = run(Example(0, ("dvh", "fixtures/spine_sbrt", "--metric", "D90%[Gy]", "--metric",
                                "V100%[%]", "--structure", "PTV", "--format", "json",
                                "--no-indices"), (), None))
    assert code == 0
    ptv = json.loads(out)["structures"][0]
    for key in ("volume_cc", "in_grid_volume_cc", "min_gy", "mean_gy", "max_gy"):
        assert f'"{key}": {ptv[key]:g}' in excerpt, key
    for spec, value in ptv["metrics"].items():
        assert f'"{spec}": {value:g}' in excerpt, spec


def test_the_fixture_readme_quotes_rtchecks_v30gy() -> None:
    import json

    out, code = run(Example(0, ("dvh", "fixtures/spine_sbrt", "--metric", "V30Gy[%]",
                                "--structure", "PTV", "--format", "json", "--no-indices"),
                            (), None))
    assert code == 0
    value = json.loads(out)["structures"][0]["metrics"]["V30Gy[%]"]
    text = (ROOT / "fixtures" / "README.md").read_text(encoding="utf-8")
    assert f"gives V30Gy(PTV) {value:.2f} % for spine_sbrt" in text
