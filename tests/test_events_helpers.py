"""Shared helpers for the rtcheck.events tests (no tests here)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from rtcheck.events import CohortResult, analyse_file
from rtcheck.events.reader import ALL_COLUMNS

REPO = Path(__file__).resolve().parents[1]
COHORT_CSV = REPO / "fixtures" / "cohort" / "medcare_cohort.csv"
BAD_CSV = REPO / "fixtures" / "cohort" / "bad_events.csv"


def row(pid: str, event_type: str, day: str = "", **cells: object) -> dict[str, str]:
    """One event row; ``cells`` are the type-specific columns."""
    out = {"patient_id": pid, "event_type": event_type, "date": day}
    out.update({k: str(v) for k, v in cells.items()})
    return out


def sbrt(pid: str, first: str, second: str, third: str) -> list[dict[str, str]]:
    """Three SBRT fractions and the rt_end row on the last one."""
    return [row(pid, "rt_fraction", d, modality="SBRT") for d in (first, second, third)] + [
        row(pid, "rt_end", third, modality="SBRT")]


def write_events(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write ``rows`` as an event CSV (all columns) and return the path."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ALL_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def analyse_rows(tmp_path: Path, rows: list[dict[str, str]], cutoff: str,
                 name: str = "events.csv") -> CohortResult:
    """Write rows and run the full analysis."""
    return analyse_file(write_events(tmp_path / name, rows), date.fromisoformat(cutoff))
