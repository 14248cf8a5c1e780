"""Eligibility screen from the protocol's numeric inclusion/exclusion criteria.

Source: MEDCARE protocol, "Inclusion criteria" / "Exclusion criteria", and the
registry entry NCT04222634.

Criteria (each PASS, FAIL or MISSING per patient)
-------------------------------------------------
* ``testosterone``: castrate level, < 50 ng/dL or < 1.7 nmol/L (each unit against
  its own protocol threshold; the exclusion list's "> 50 ng/ml" is a unit slip for
  ng/dL). The last value on or before the start of follow-up is used.
* ``lesions``: oligoprogression, at most 3 progressive lesions in total, a local
  recurrence counting as one: covariates ``n_progressive_metastases`` +
  ``local_recurrence`` (0/1) <= 3. More is polyprogression (excluded). A count that
  is not a whole number >= 0, or a ``local_recurrence`` other than 0/1, is MISSING
  (never truncated into a PASS).
* ``age``: covariate ``age_years`` >= 18.
* ``who_ps``: covariate ``who_ps`` <= the configured maximum. The protocol paper
  says 0-2 (the default), the registry 0-1: pass ``who_ps_max=1`` for the registry.

A patient is ``eligible`` when every criterion passes, ``not eligible`` when one
fails, ``not assessable`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rtcheck.events.schema import PatientEvents, TestosteroneValue

TESTOSTERONE_MAX = {"ng/dl": 50.0, "nmol/l": 1.7}  #: castrate: strictly below
MAX_PROGRESSIVE_LESIONS = 3
MIN_AGE_YEARS = 18.0
WHO_PS_MAX_PAPER = 2  #: protocol paper, "WHO performance status 0-2"
WHO_PS_MAX_REGISTRY = 1  #: registry entry, "WHO performance status 0-1"

PASS, FAIL, MISSING = "PASS", "FAIL", "MISSING"


@dataclass(frozen=True)
class Criterion:
    """One criterion's outcome and the value it was judged on."""

    name: str
    status: str
    detail: str

    def __post_init__(self) -> None:
        if self.status not in (PASS, FAIL, MISSING):
            raise ValueError(f"status must be PASS, FAIL or MISSING, got {self.status!r}")


@dataclass(frozen=True)
class EligibilityResult:
    """Per-patient screen; ``verdict`` is eligible / not eligible / not assessable."""

    patient_id: str
    criteria: tuple[Criterion, ...]

    @property
    def verdict(self) -> str:
        statuses = {c.status for c in self.criteria}
        if FAIL in statuses:
            return "not eligible"
        return "not assessable" if MISSING in statuses else "eligible"


def _testosterone(patient: PatientEvents, start: date) -> Criterion:
    values = [t for t in patient.of(TestosteroneValue) if t.event_date <= start]
    if not values:
        return Criterion("testosterone", MISSING, "no testosterone value on or before the start")
    last = values[-1]
    limit = TESTOSTERONE_MAX[last.unit.casefold()]
    ok = last.value < limit
    return Criterion("testosterone", PASS if ok else FAIL,
                     f"{last.value:g} {last.unit} on {last.event_date} "
                     f"({'<' if ok else '>='} {limit:g} {last.unit})")


def screen(patient: PatientEvents, start: date, who_ps_max: int = WHO_PS_MAX_PAPER
           ) -> EligibilityResult:
    """Screen one patient against the numeric criteria (see the module docstring)."""
    if who_ps_max not in (0, 1, 2, 3, 4):
        raise ValueError(f"who_ps_max must be 0-4, got {who_ps_max}")
    criteria = [_testosterone(patient, start)]
    mets = patient.covariate("n_progressive_metastases")
    local = patient.covariate("local_recurrence")
    if mets is None or local is None:
        criteria.append(Criterion(
            "lesions", MISSING, "needs covariates n_progressive_metastases and local_recurrence"))
    elif not float(mets).is_integer() or mets < 0 or local not in (0, 1):
        criteria.append(Criterion(
            "lesions", MISSING, f"n_progressive_metastases {mets:g} must be a whole number >= 0 "
            f"and local_recurrence {local:g} 0 or 1; correct the covariates"))
    else:
        total = int(mets) + (1 if local else 0)
        criteria.append(Criterion(
            "lesions", PASS if total <= MAX_PROGRESSIVE_LESIONS else FAIL,
            f"{int(mets)} metastases + {1 if local else 0} local recurrence = {total} "
            f"(max {MAX_PROGRESSIVE_LESIONS})"))
    age = patient.covariate("age_years")
    criteria.append(
        Criterion("age", MISSING, "covariate age_years missing") if age is None else
        Criterion("age", PASS if age >= MIN_AGE_YEARS else FAIL,
                  f"{age:g} years (min {MIN_AGE_YEARS:g})"))
    ps = patient.covariate("who_ps")
    criteria.append(
        Criterion("who_ps", MISSING, "covariate who_ps missing") if ps is None else
        Criterion("who_ps", PASS if ps <= who_ps_max else FAIL,
                  f"WHO {ps:g} (allowed 0-{who_ps_max})"))
    return EligibilityResult(patient.patient_id, tuple(criteria))
