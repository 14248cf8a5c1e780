"""ruff and mypy are part of the test suite, configured in pyproject.toml."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_test_module_imports_another() -> None:
    """Shared test code lives in helper modules (tests/*_helpers.py...), never in a test_ file
    (issue #8): importing a test module runs its module-level set-up and re-collects nothing."""
    tests_dir = REPO / "tests"
    offenders = sorted(
        f"{path.name} imports {name}"
        for path in tests_dir.rglob("test_*.py")
        for name in _imported_modules(path)
        if name.split(".")[-1].startswith("test_") and name.startswith("tests"))
    assert offenders == []


def test_test_files_are_named_by_module_not_by_review() -> None:
    assert sorted(p.name for p in (REPO / "tests").rglob("test_review_*.py")) == []
