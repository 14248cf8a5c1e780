"""Shared test fixtures: locations of the shared real exports, the reference documents and
the repository fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

REPO = Path(__file__).resolve().parents[1]
REFDATA = Path(os.environ.get("RTCHECK_REFDATA", REPO.parent / "shared" / "refdata"))
#: reference documents (tg101-table3.md...): $RTCHECK_REFERENCE, else the `reference`
#: folder beside the default refdata — never derived from $RTCHECK_REFDATA
REFERENCE = Path(os.environ.get("RTCHECK_REFERENCE", REPO.parent / "shared" / "reference"))
FIXTURES = REPO / "fixtures"


def refdata_case(name: str) -> Path:
    """Folder of a shared real export; skip the test with a clear reason when absent."""
    path = REFDATA / name
    if not path.is_dir():
        pytest.skip(f"shared real DICOM exports not found at {path} (set RTCHECK_REFDATA)")
    return path


def pydicom_test_file(name: str) -> Path:
    """A file bundled with pydicom's test data."""
    found = get_testdata_file(name)
    if found is None:
        pytest.skip(f"pydicom test file {name} is not available")
    return Path(str(found))


@pytest.fixture
def proton_dir() -> Path:
    return refdata_case("proton-phantom-ramp")


@pytest.fixture
def breast_dir() -> Path:
    return refdata_case("eclipse-breast-boost")


@pytest.fixture
def prostate_dir() -> Path:
    return refdata_case("eclipse-prostate-phantom-nodose")
