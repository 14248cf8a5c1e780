"""Shared, cached inputs of the plan-check tests (each fixture is loaded once per session)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from rtcheck.cli import cli
from rtcheck.dicom.loader import load
from rtcheck.dicom.model import Case, LoadResult
from rtcheck.rules.protocol import Protocol, load_protocol

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


@cache
def medcare() -> Protocol:
    return load_protocol("medcare")


@cache
def loaded(name: str) -> LoadResult:
    return load([str(FIXTURES / name)])


def case_of(name: str) -> Case:
    (case,) = loaded(name).cases
    return case


def run(*args: str | Path) -> Result:
    """``rtcheck ARGS...`` in this process (click's CliRunner), exceptions propagated."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def fixture(case: str) -> Path:
    """The folder of a shipped fixture plan (skips when the fixtures are not generated)."""
    path = FIXTURES / case
    if not (path / "RS.dcm").is_file():
        pytest.skip(f"fixture {case} not generated (python fixtures/generate.py)")
    return path
