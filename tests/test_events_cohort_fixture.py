"""The shipped synthetic cohort: deterministic generator, 18 patients, documented values."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

from rtcheck.events import read_event_file
from tests.events_helpers import COHORT_CSV, REPO

GENERATOR = REPO / "fixtures" / "cohort" / "generate_cohort.py"


def test_generator_reproduces_the_committed_csv(tmp_path: Path):
    out = tmp_path / "cohort.csv"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == COHORT_CSV.read_bytes()


def test_generator_depends_on_the_seed():
    spec = importlib.util.spec_from_file_location("generate_cohort", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate(module.SEED) == COHORT_CSV.read_text(encoding="utf-8")
    assert module.generate(module.SEED + 1) != module.generate(module.SEED)


def test_cohort_has_18_treated_patients_one_withdrawn_and_every_event_type():
    parsed = read_event_file(COHORT_CSV)
    assert parsed.problems == []
    assert len({e.patient_id for e in parsed.events}) == 19  # MC19 withdrew before treatment
    labels = {e.label for e in parsed.events}
    assert labels == {"registration", "rt_fraction", "rt_end", "metastasectomy", "nest",
                      "progression", "death", "last_followup", "psa", "testosterone",
                      "toxicity", "imaging", "withdrawal", "lost_to_followup"}
    below = [e for e in parsed.events if getattr(e, "below_lod", False)]
    assert [(e.patient_id, e.psa_ng_ml) for e in below] == [("MC05", 0.5)] * 3
    assert {c.name for c in parsed.covariates} == {
        "age_years", "who_ps", "isup_grade", "n_progressive_metastases", "local_recurrence",
        "psa_doubling_time_months"}


def test_sbrt_fractions_are_48_to_72_hours_apart():
    parsed = read_event_file(COHORT_CSV)
    by_patient: dict[str, list] = {}
    for e in parsed.events:
        if e.label == "rt_fraction":
            by_patient.setdefault(e.patient_id, []).append(e.event_date)
    assert by_patient
    for days in by_patient.values():
        gaps = [(b - a).days for a, b in pairwise(days)]
        assert gaps == [2, 2]  # whole days: 48 h apart (protocol: >= 48 h and < 72 h)
