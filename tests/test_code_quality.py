"""ruff and mypy are part of the test suite, configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, check=False
    )


def test_ruff_is_clean() -> None:
    done = _tool("ruff", "check", "rtcheck", "tests", "fixtures", "benchmarks")
    if "No module named ruff" in done.stderr:
        pytest.fail("ruff is not installed; install the test extras: pip install -e '.[test]'")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean() -> None:
    done = _tool("mypy")
    if "No module named mypy" in done.stderr:
        pytest.fail("mypy is not installed; install the test extras: pip install -e '.[test]'")
    assert done.returncode == 0, done.stdout + done.stderr
