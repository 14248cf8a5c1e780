"""Run every per-patient derivation and the cohort statistics: the library entry point.

>>> from datetime import date
>>> from rtcheck.events import analyse_file
>>> result = analyse_file("fixtures/cohort/medcare_cohort.csv", cutoff=date(2023, 6, 30))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rtcheck.events.eligibility import WHO_PS_MAX_PAPER, EligibilityResult, screen
from rtcheck.events.endpoints import (
    CPFS_CENSORING,
    ENDPOINTS,
    UNKNOWN_DEATH_CAUSE,
    EndpointResult,
    dated_endpoint,
    follow_up,
    survival_endpoints,
)
from rtcheck.events.exclusions import Exclusion, off_study
from rtcheck.events.psa import NOT_EVALUABLE, YES, PsaSummary, psa_summary
from rtcheck.events.reader import read_event_file
from rtcheck.events.records import compare_with_rows, load_records, record_events
from rtcheck.events.schema import Death, DeathCause, PatientEvents, Radiotherapy
from rtcheck.events.start import TreatmentStart, treatment_start
from rtcheck.events.survival import (
    MEDIAN_RULES,
    HazardRatio,
    KmSummary,
    cox_models,
    kaplan_meier,
)
from rtcheck.events.toxicity import ToxicitySummary, toxicity_summary
from rtcheck.events.validate import Cohort, build_cohort
from rtcheck.findings import Finding, Severity

#: Covariates that describe eligibility rather than prognosis are not modelled by default.
NOT_MODELLED = frozenset({"who_ps", "local_recurrence"})
#: Protocol "Statistical analysis": Cox regression for NEST-FS, and "overall survival,
#: cancer-specific survival and progression-free survival will be evaluated in the same way".
COX_ENDPOINTS = ("nest_fs", "cpfs", "css", "os")


@dataclass(frozen=True)
class AnalysisConfig:
    """Choices the protocol leaves open.

    Attributes
    ----------
    who_ps_max
        Highest WHO performance status allowed: 2 (protocol paper, default) or 1 (registry).
    cox_covariates
        Covariates for the Cox models; ``None``: every numeric covariate that all
        patients have, except ``who_ps`` and ``local_recurrence``.
    cpfs_censoring
        ``"last-imaging"`` (default: the last conventional imaging without progression)
        or ``"last-contact"`` (the end of follow-up); :mod:`rtcheck.events.endpoints`.
    unknown_death_cause
        A death of unknown cause for CSS: ``"event"`` (default, conservative) or ``"censor"``.
    km_median
        Kaplan–Meier median where S(t) = 0.5 over an interval: ``"first"`` (default,
        lifelines: the first time S <= 0.5) or ``"midpoint"`` (R survival: the middle of
        the flat); :mod:`rtcheck.events.survival`.
    """

    who_ps_max: int = WHO_PS_MAX_PAPER
    cox_covariates: tuple[str, ...] | None = None
    cpfs_censoring: str = "last-imaging"
    unknown_death_cause: str = "event"
    km_median: str = "first"

    def __post_init__(self) -> None:
        for name, allowed in (("cpfs_censoring", CPFS_CENSORING),
                              ("unknown_death_cause", UNKNOWN_DEATH_CAUSE),
                              ("km_median", MEDIAN_RULES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")


@dataclass(frozen=True)
class PatientResult:
    """Everything derived for one patient."""

    patient_id: str
    start: TreatmentStart
    endpoints: tuple[EndpointResult, ...]
    psa: PsaSummary
    toxicity: ToxicitySummary
    eligibility: EligibilityResult
    covariates: tuple[tuple[str, float], ...]
    #: (endpoint, reason) of the endpoints this patient is not evaluable for (left out of them)
    not_evaluable: tuple[tuple[str, str], ...] = ()

    def endpoint(self, name: str) -> EndpointResult | None:
        return next((e for e in self.endpoints if e.endpoint == name), None)


@dataclass(frozen=True)
class CohortResult:
    """The whole analysis: per-patient results, KM summaries, Cox models and findings."""

    source: str
    cutoff: date
    config: AnalysisConfig
    patients: tuple[PatientResult, ...]
    km: tuple[KmSummary, ...]
    cox: tuple[HazardRatio, ...]
    findings: tuple[Finding, ...] = field(default=())
    excluded: tuple[Exclusion, ...] = field(default=())

    def endpoint_results(self, name: str) -> list[EndpointResult]:
        return [e for p in self.patients for e in p.endpoints if e.endpoint == name]

    def psa_response_rate(self) -> tuple[int, int, list[tuple[str, str]]]:
        """(responders, evaluable patients, [(patient, reason)] not evaluable)."""
        evaluable = [p for p in self.patients if p.psa.response_outcome != NOT_EVALUABLE]
        return (sum(p.psa.response_outcome == YES for p in evaluable), len(evaluable),
                [(p.patient_id, p.psa.not_evaluable_reason or "")
                 for p in self.patients if p.psa.response_outcome == NOT_EVALUABLE])


def analyse_patient(p: PatientEvents, cutoff: date, config: AnalysisConfig) -> PatientResult:
    """Derive every endpoint of one validated patient."""
    start = treatment_start(p)
    if start is None:  # build_cohort excludes such patients
        raise ValueError(f"patient {p.patient_id} has no start of follow-up")
    s = start.start_date
    off = off_study(p)
    cutoff = min(cutoff, off.event_date) if off else cutoff  # nothing after leaving the study
    fu = follow_up(p, cutoff)
    eps = survival_endpoints(p, s, cutoff, config.cpfs_censoring, config.unknown_death_cause)
    psa = psa_summary(p, s, cutoff)
    not_evaluable: list[tuple[str, str]] = []
    if psa.progression_evaluable and psa.last_value_date is not None:
        eps.append(dated_endpoint(p.patient_id, "psa_progression", s, psa.progression_date,
                                  f"PSA progression ({psa.progression_rule})",
                                  psa.last_value_date, "censored: last PSA value"))
    else:
        not_evaluable.append(("psa_progression", psa.not_evaluable_reason
                              or "no PSA value after the start"))
    tox = toxicity_summary(p, s, fu.end_date, known_until=cutoff)
    eps.append(dated_endpoint(p.patient_id, "late_toxicity_g2", s, tox.first_late_grade2_date,
                              "late grade >= 2 toxicity", fu.end_date, fu.reason))
    return PatientResult(p.patient_id, start, tuple(eps), psa, tox,
                         screen(p, s, config.who_ps_max),
                         tuple((c.name, c.value) for c in p.covariates), tuple(not_evaluable))


def _cox_names(patients: Sequence[PatientResult], config: AnalysisConfig) -> list[str]:
    if config.cox_covariates is not None:
        return list(config.cox_covariates)
    sets = [{n for n, _ in p.covariates} for p in patients]
    common = set.intersection(*sets) if sets else set()
    return sorted(common - NOT_MODELLED)


def _patient_findings(pr: PatientResult, events: PatientEvents, path: str, cutoff: date,
                      config: AnalysisConfig) -> list[Finding]:
    """PSA notes, not-evaluable endpoints, cPFS without imaging, unknown cause of death (only
    a death that is used: on or before the cut-off and the end of the study)."""
    pid = pr.patient_id
    out = [Finding("PSA_NOTE", Severity.INFO, n, path=path, subject=pid) for n in pr.psa.notes]
    if pr.start.basis == "radiotherapy+metastasectomy":
        out.append(Finding("START_BOTH_TREATMENTS", Severity.INFO, pr.start.description,
                           subject=pid))
    out += [Finding("PATIENT_NOT_EVALUABLE", Severity.WARNING,
                    f"{name}: {reason}; left out of its estimate", path=path, subject=pid)
            for name, reason in pr.not_evaluable]
    cpfs = pr.endpoint("cpfs")
    if cpfs is not None and cpfs.deciding_event.startswith("censored: no conventional imaging"):
        out.append(Finding("CPFS_NO_IMAGING", Severity.WARNING,
                           "no conventional imaging without progression after the start: "
                           "cPFS censored at the start (day 0); add the imaging rows (or the "
                           "progression row an imaging progression calls for) or use "
                           "--cpfs-censoring last-contact", path=path, subject=pid))
    off = off_study(events)
    used_until = min(cutoff, off.event_date) if off else cutoff
    for death in events.of(Death):
        if death.cause is DeathCause.UNKNOWN and death.event_date <= used_until:
            how = ("counted as a CSS event" if config.unknown_death_cause == "event"
                   else "censors CSS")
            out.append(Finding("DEATH_CAUSE_UNKNOWN", Severity.WARNING,
                               f"row {death.row}: death of unknown cause on {death.event_date}: "
                               f"{how} (--unknown-death-cause)", path=path, subject=pid))
    return out


def analyse(cohort: Cohort, config: AnalysisConfig | None = None) -> CohortResult:
    """Per-patient endpoints, KM summary of every endpoint, and Cox models."""
    config = config or AnalysisConfig()
    patients = tuple(analyse_patient(p, cohort.cutoff, config) for p in cohort.patients)
    findings = list(cohort.findings)
    for pr, events in zip(patients, cohort.patients, strict=True):
        findings += _patient_findings(pr, events, cohort.path, cohort.cutoff, config)
    covs = {p.patient_id: dict(p.covariates) for p in patients}
    names = _cox_names(patients, config)
    km, cox = [], []
    for name in ENDPOINTS:
        results = [e for p in patients for e in p.endpoints if e.endpoint == name]
        if not results:
            findings.append(Finding("ENDPOINT_NOT_EVALUABLE", Severity.WARNING,
                                    "no patient can be evaluated for this endpoint", subject=name))
            continue
        n_out = sum(1 for p in patients for e, _ in p.not_evaluable if e == name)
        km.append(kaplan_meier(name, results, config.km_median, n_out))
        if names and name in COX_ENDPOINTS:
            hrs, cox_findings = cox_models(name, results, covs, names)
            cox += hrs
            findings += cox_findings
    return CohortResult(cohort.path, cohort.cutoff, config, patients, tuple(km), tuple(cox),
                        tuple(findings), cohort.excluded)


def load_cohort(path: str | Path, cutoff: date,
                record_paths: Sequence[str | Path] = ()) -> Cohort:
    """Read and validate an event file (plus optional RT treatment records).

    Raises
    ------
    rtcheck.errors.EventDataError
        With every problem per patient, row and field.
    """
    parsed = read_event_file(path)
    extra: list[Radiotherapy] = []
    extra_findings: list[Finding] = []
    if record_paths:
        known = {e.patient_id for e in parsed.events}
        extra, extra_findings = record_events(load_records(record_paths), known)
        extra_findings += compare_with_rows(extra, parsed.events)
    return build_cohort(parsed, cutoff, extra, extra_findings)


def analyse_file(path: str | Path, cutoff: date, record_paths: Sequence[str | Path] = (),
                 config: AnalysisConfig | None = None) -> CohortResult:
    """:func:`load_cohort` then :func:`analyse`."""
    return analyse(load_cohort(path, cutoff, record_paths), config)
