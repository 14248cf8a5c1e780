"""MEDCARE trial endpoints from dated patient events.

Read a documented event file (:mod:`rtcheck.events.reader`, format in
``fixtures/cohort/README.md``), validate it (:mod:`rtcheck.events.validate`), derive
per-patient endpoints (:mod:`rtcheck.events.endpoints`, :mod:`~rtcheck.events.psa`,
:mod:`~rtcheck.events.toxicity`, :mod:`~rtcheck.events.eligibility`), summarise the
cohort with lifelines (:mod:`rtcheck.events.survival`), and render or plot it
(:mod:`rtcheck.events.report`, :mod:`rtcheck.events.plots`).

Everything takes an explicit data cut-off date; there is no hidden "today".
"""

from rtcheck.events.cohort import (
    AnalysisConfig,
    CohortResult,
    PatientResult,
    analyse,
    analyse_file,
    load_cohort,
)
from rtcheck.events.eligibility import EligibilityResult, screen
from rtcheck.events.endpoints import ENDPOINTS, EndpointResult, follow_up, survival_endpoints
from rtcheck.events.psa import PsaSummary, psa_summary
from rtcheck.events.reader import read_event_file
from rtcheck.events.report import render
from rtcheck.events.schema import DAYS_PER_MONTH, EventType, PatientEvents
from rtcheck.events.start import TreatmentStart, treatment_start
from rtcheck.events.survival import HazardRatio, KmSummary, cox_models, kaplan_meier
from rtcheck.events.toxicity import ToxicitySummary, add_months, toxicity_summary
from rtcheck.events.validate import Cohort, build_cohort

__all__ = [
    "DAYS_PER_MONTH",
    "ENDPOINTS",
    "AnalysisConfig",
    "Cohort",
    "CohortResult",
    "EligibilityResult",
    "EndpointResult",
    "EventType",
    "HazardRatio",
    "KmSummary",
    "PatientEvents",
    "PatientResult",
    "PsaSummary",
    "ToxicitySummary",
    "TreatmentStart",
    "add_months",
    "analyse",
    "analyse_file",
    "build_cohort",
    "cox_models",
    "follow_up",
    "kaplan_meier",
    "load_cohort",
    "psa_summary",
    "read_event_file",
    "render",
    "screen",
    "survival_endpoints",
    "toxicity_summary",
    "treatment_start",
]
