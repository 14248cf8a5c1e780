"""Shared, cached inputs of the plan-check tests (each fixture is loaded once per session)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

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
