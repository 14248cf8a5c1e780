"""Per-patient time-to-event endpoints (lifelines vocabulary).

Source: MEDCARE protocol, "Primary endpoint" and "Secondary endpoints". Every
endpoint starts at the start of follow-up (:mod:`rtcheck.events.start`).

* ``nest_fs``  NEST-free survival: first day of NEST or death from any cause.
* ``cpfs``     clinical PFS: first clinical progression (local, nodal or metastatic,
  conventional imaging, RECIST 1.1) after the start, or death. Censoring (setting
  ``cpfs_censoring``): ``last-imaging`` (default; trial practice and the protocol's
  imaging at months 6, 12, 18, 24, "Secondary endpoints" b.) censors at the last
  conventional imaging without progression after the start, within follow-up (none:
  censored at the start, day 0, ``CPFS_NO_IMAGING``); ``last-contact`` censors at the end
  of follow-up like the other endpoints. PSMA PET-CT never censors (investigational,
  blinded until progression).
* ``css``      cancer-specific survival: death from prostate cancer; a death from
  another cause censors at the day of death; a death of unknown cause is an event
  (setting ``unknown_death_cause="event"``, default, the conservative reading) or
  censors (``"censor"``).
* ``os``       overall survival: death from any cause.
* ``psa_progression``  PCWG3 PSA progression (:mod:`rtcheck.events.psa`); censored at
  the last PSA value used.
* ``late_toxicity_g2``  first late grade >= 2 toxicity (:mod:`rtcheck.events.toxicity`).

Censoring ("last follow-up or cut-off"): the end of follow-up of a living patient
is the latest dated event of the patient (a ``last_followup`` row, but also a PSA
drawn or a visit), or the cut-off when the patient is known alive beyond it; a
``withdrawal`` / ``lost_to_followup`` row ends follow-up on its day.

Same-day events: when several events decide an endpoint on the same day, the deciding
event names all of them, the endpoint's own event first (NEST for NEST-FS, progression
for cPFS; rows in file order) and death after it, e.g.
``nest (polyprogression), row 19; same day: death (prostate_cancer), row 25``.
Events after the cut-off are never used. Durations in months are
``duration_days / DAYS_PER_MONTH`` with ``DAYS_PER_MONTH`` = 365.25/12 = 30.4375.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rtcheck.events.schema import (
    DAYS_PER_MONTH,
    ClinicalProgression,
    Death,
    DeathCause,
    Imaging,
    ImagingModality,
    ImagingResult,
    NestStart,
    OffStudy,
    PatientEvents,
)

#: cPFS censoring rules (``cpfs_censoring``): see the module docstring.
CPFS_CENSORING = ("last-imaging", "last-contact")
#: How a death of unknown cause counts for CSS (``unknown_death_cause``).
UNKNOWN_DEATH_CAUSE = ("event", "censor")

ENDPOINTS = {
    "nest_fs": "NEST-free survival",
    "cpfs": "Clinical progression-free survival",
    "css": "Cancer-specific survival",
    "os": "Overall survival",
    "psa_progression": "Time to PSA progression (PCWG3)",
    "late_toxicity_g2": "Freedom from late grade >= 2 toxicity",
}


@dataclass(frozen=True)
class EndpointResult:
    """One endpoint of one patient.

    Attributes
    ----------
    patient_id, endpoint
        The patient and the endpoint key (see :data:`ENDPOINTS`).
    start_date
        Start of follow-up.
    end_date
        Day of the event, or of censoring.
    event_observed
        True for an event, False for censoring.
    deciding_event
        What decided ``end_date`` ("nest (polyprogression), row 12", "censored: cut-off"...).
    """

    patient_id: str
    endpoint: str
    start_date: date
    end_date: date
    event_observed: bool
    deciding_event: str

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}")
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")

    @property
    def duration_days(self) -> int:
        return (self.end_date - self.start_date).days

    @property
    def duration_months(self) -> float:
        return self.duration_days / DAYS_PER_MONTH


@dataclass(frozen=True)
class FollowUp:
    """How follow-up ended: ``end_date`` and why (death, last contact or cut-off)."""

    end_date: date
    reason: str
    death: Death | None


def follow_up(patient: PatientEvents, cutoff: date) -> FollowUp:
    """End of follow-up: death (on or before the cut-off), else last contact, capped at cut-off."""
    deaths = [d for d in patient.of(Death) if d.event_date <= cutoff]
    if deaths:
        d = deaths[0]
        return FollowUp(d.event_date, f"censored: death ({d.cause.value}), row {d.row}", d)
    offs = [o for o in patient.of(OffStudy) if o.event_date <= cutoff]
    if offs:
        o = offs[0]
        return FollowUp(o.event_date, f"censored: {o.label}, row {o.row}", None)
    last = patient.events[-1]
    if last.event_date >= cutoff:
        return FollowUp(cutoff, "censored: cut-off (patient followed beyond it)", None)
    where = f", row {last.row}" if last.source == "events" else " (RT record)"
    return FollowUp(last.event_date, f"censored: last follow-up ({last.label}{where})", None)


def _death_label(death: Death) -> str:
    return f"death ({death.cause.value}), row {death.row}"


def _first_event(pid: str, name: str, start: date, fu: FollowUp,
                 candidates: list[tuple[date, str]],
                 censor: tuple[date, str] | None = None) -> EndpointResult:
    """The first candidate within follow-up; same-day candidates are all named, in list order
    (the endpoint's own events first, death last). ``censor``: censoring other than ``fu``."""
    hits = [c for c in candidates if start <= c[0] <= fu.end_date]
    if hits:
        day = min(d for d, _ in hits)
        labels = [label for d, label in hits if d == day]
        label = labels[0] + ("; same day: " + ", ".join(labels[1:]) if labels[1:] else "")
        return EndpointResult(pid, name, start, day, True, label)
    end, reason = censor or (fu.end_date, fu.reason)
    return EndpointResult(pid, name, start, end, False, reason)


def _cpfs_censoring(patient: PatientEvents, start: date, fu: FollowUp) -> tuple[date, str]:
    """Last conventional imaging without progression after the start (else day 0)."""
    scans = [i for i in patient.of(Imaging)
             if i.modality is ImagingModality.CONVENTIONAL
             and i.result is ImagingResult.NO_PROGRESSION and start < i.event_date <= fu.end_date]
    if not scans:
        return start, ("censored: no conventional imaging without progression after the start "
                       "(day 0)")
    last = scans[-1]
    return last.event_date, f"censored: last imaging without progression, row {last.row}"


def _css(pid: str, start: date, fu: FollowUp, unknown_death_cause: str) -> EndpointResult:
    death = fu.death
    if death is not None and (death.cause is DeathCause.OTHER or (
            death.cause is DeathCause.UNKNOWN and unknown_death_cause == "censor")):
        return EndpointResult(pid, "css", start, fu.end_date, False,
                              f"censored: death from {death.cause.value} cause, row {death.row}")
    return _first_event(pid, "css", start, fu,
                        [(death.event_date, _death_label(death))] if death else [])


def survival_endpoints(patient: PatientEvents, start: date, cutoff: date,
                       cpfs_censoring: str = "last-imaging",
                       unknown_death_cause: str = "event") -> list[EndpointResult]:
    """NEST-FS, cPFS, CSS and OS of one patient (see the module docstring)."""
    if cpfs_censoring not in CPFS_CENSORING or unknown_death_cause not in UNKNOWN_DEATH_CAUSE:
        raise ValueError(f"cpfs_censoring must be one of {CPFS_CENSORING} and "
                         f"unknown_death_cause one of {UNKNOWN_DEATH_CAUSE}")
    pid = patient.patient_id
    fu = follow_up(patient, cutoff)
    death = [(fu.death.event_date, _death_label(fu.death))] if fu.death else []
    nest = [(n.event_date, f"nest ({n.reason.value}), row {n.row}")
            for n in patient.of(NestStart)]
    prog = [(p.event_date, f"progression ({p.site.value}), row {p.row}")
            for p in patient.of(ClinicalProgression) if p.event_date > start]
    cpfs_censor = (_cpfs_censoring(patient, start, fu) if cpfs_censoring == "last-imaging"
                   else None)
    return [
        _first_event(pid, "nest_fs", start, fu, nest + death),
        _first_event(pid, "cpfs", start, fu, prog + death, cpfs_censor),
        _css(pid, start, fu, unknown_death_cause),
        _first_event(pid, "os", start, fu, death),
    ]


def dated_endpoint(pid: str, name: str, start: date, event_date: date | None, label: str,
                   censor_date: date, censor_label: str) -> EndpointResult:
    """An endpoint whose event date was derived elsewhere (PSA, toxicity)."""
    if event_date is not None:
        return EndpointResult(pid, name, start, event_date, True, label)
    return EndpointResult(pid, name, start, max(start, censor_date), False, censor_label)
