"""Shared helpers and data for the rtcheck.events tests (not a test module)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from rtcheck.events import CohortResult, analyse_file
from rtcheck.events.reader import ALL_COLUMNS

REPO = Path(__file__).resolve().parents[1]
COHORT_CSV = REPO / "fixtures" / "cohort" / "medcare_cohort.csv"
BAD_CSV = REPO / "fixtures" / "cohort" / "bad_events.csv"

#: (patient, row, field, text) expected for fixtures/cohort/bad_events.csv
BAD_CORPUS = [
    ("B01", 4, "date", "'2020-13-45' does not exist (day or month out of range); correct it "
                       "from the source document"),
    ("B01", 5, "date", "'03/04/2021' is not a date"),
    ("B02", 7, "date", "rt_end on 2020-02-14 is before registration (2020-03-02)"),
    ("B03", 11, "date", "death on 2021-01-10 (row 10) is followed by a psa on 2021-02-01"),
    ("B03", 12, "date", "followed by a last_followup on 2021-03-01"),
    ("B04", 18, "value", "different PSA values on 2020-05-20: 2.5 (row 17), 25 (row 18)"),
    ("B05", 21, "unit", "PSA unit missing; write ng/mL"),
    ("B05", 22, "unit", "PSA unit 'ng/dL' not accepted"),
    ("B08", 28, "event_type", "'chemo' is not an event type"),
    ("B09", 31, "site", "'bone' is not allowed; use one of local, nodal, metastatic"),
    ("B09", 32, "reason", "missing for a nest row"),
    ("B09", 33, "cause", "missing for a death row; use one of prostate_cancer, other"),
    ("B10", 36, "grade", "grade '6' is not one of 1, 2, 3, 4, 5"),
    ("B10", 37, "resolution_date", "resolution_date 2020-04-01 is before the onset 2020-04-10"),
    ("B10", 38, "grade", "grade '3' is not one of I, II, IIIa"),
    ("B11", 41, "unit", "testosterone unit missing"),
    ("B11", 42, "value", "'seventy' is not a number"),
    ("B12", 44, "date", "NEST on 2020-03-20 is before the start of follow-up 2020-04-10"),
    ("B13", 49, "event_type", "2 death rows; keep one"),
    ("?", 50, "patient_id", "missing; every row needs one"),
    ("B14", 53, "date", "missing for a psa row"),
    ("B15", 55, "modality", "missing for a rt_end row; use one of SBRT, fractionated"),
    ("B16", 60, "value", "covariate who_ps given 2 times with different values (rows 59, 60)"),
    ("B17", 63, "value", "'abc' is not a number"),
    ("B17", 64, "value", "'<0.1' disagrees with the limit of detection 0.2 in 'lod'"),
    ("B17", 65, "modality", "'CT' is not allowed; use one of conventional, PSMA"),
    ("B17", 66, "decision_date", "tumour-board decision 2021-02-01 is after the NEST start"),
    ("B17", 67, "date", "'2021-13' does not exist (month out of range)"),
]
#: warnings listed with the errors of bad_events.csv (patients excluded or without registration)
BAD_WARNINGS = [
    "(warning) B04: DUPLICATE_ROW: row 16 repeats row 15 exactly",
    "(warning) B06: PATIENT_EXCLUDED: start date missing: no course-1 'rt_end'/'rt_fraction' or "
    "'metastasectomy' row, so the patient counts as registered but not treated",
    "(warning) B07: NO_REGISTRATION: no 'registration' row: the first course-1 treatment day "
    "stands in for it",
]

#: the columns of a minimal event CSV written line by line (:func:`write_lines`)
HEADER = ("patient_id,event_type,date,value,unit,modality,term,grade,grade_system,"
          "resolution_date,covariate\n")
#: patient P1: registered, SBRT ending 2023-05-01, baseline PSA and testosterone, covariates
P1_BASE = [
    "P1,registration,2023-04-01,,,,,,,,",
    "P1,rt_end,2023-05-01,,,SBRT,,,,,",
    "P1,psa,2023-04-20,4.0,ng/mL,,,,,,",
    "P1,testosterone,2023-04-20,30,ng/dL,,,,,,",
    "P1,covariate,,70,,,,,,,age_years",
    "P1,covariate,,1,,,,,,,who_ps",
    "P1,covariate,,0,,,,,,,local_recurrence",
]


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


def write_lines(tmp_path: Path, lines: list[str], name: str = "ev.csv",
                header: str = HEADER) -> Path:
    """Write ``header`` and the CSV ``lines`` as ``tmp_path/name`` and return the path."""
    p = tmp_path / name
    p.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return p


def analyse_rows(tmp_path: Path, rows: list[dict[str, str]], cutoff: str,
                 name: str = "events.csv") -> CohortResult:
    """Write rows and run the full analysis."""
    return analyse_file(write_events(tmp_path / name, rows), date.fromisoformat(cutoff))
