"""Acute and late toxicity, worst grades, and time to the first late grade >= 2 event.

Sources: MEDCARE protocol, "Secondary endpoints" e.; CTCAE v4.0 (radiotherapy);
Clavien-Dindo classification of surgical complications (Dindo D et al., Ann Surg
2004;240:205-213).

Definitions
-----------
* Reference day: the start of follow-up (last day of treatment / day of
  metastasectomy, :mod:`rtcheck.events.start`).
* Boundary: the same calendar day 3 months later (``add_months(start, 3)``; the
  day is clipped to the month's end, e.g. 30 Nov -> 28/29 Feb).
* Acute: onset before the boundary ("events occurring < 3 months following
  treatment"); onsets during treatment are acute too.
* Late: onset on or after the boundary ("> 3 months"; the protocol leaves the
  boundary day itself unassigned and rtcheck counts it as late), or an acute event
  still present after the boundary ("lasting > 3 months after treatment"):
  resolution after the boundary, or no resolution date and follow-up beyond it. A
  resolution dated after the cut-off is not known yet: the event counts as ongoing.
  Such a persisting event is both acute and late; its late date is the boundary.
* Worst grade: per patient, category (acute/late) and system (CTCAE 1-5,
  Clavien-Dindo I...V, ranked in that order).
* Late grade >= 2 (for the actuarial estimate): CTCAE grade >= 2 or Clavien-Dindo
  grade >= II; the event date is the onset (or the boundary for a persisting event).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from rtcheck.events.schema import (
    CLAVIEN_DINDO_GRADES,
    CTCAE_GRADES,
    GradeSystem,
    PatientEvents,
    Toxicity,
)

ACUTE_LATE_MONTHS = 3  #: protocol e.: acute < 3 months, late > 3 months
LATE_GRADE_MIN_RANK = 2  #: CTCAE grade 2 / Clavien-Dindo II


def add_months(day: date, months: int) -> date:
    """The same calendar day ``months`` later, clipped to the end of the month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ClassifiedToxicity:
    """One toxicity with its category: ``acute``, ``late`` or both (persisting)."""

    event: Toxicity
    onset_day: int
    acute: bool
    late: bool
    late_date: date | None


@dataclass(frozen=True)
class ToxicitySummary:
    """Toxicity of one patient: classified events and worst grades (``None``: none)."""

    patient_id: str
    boundary_date: date
    events: tuple[ClassifiedToxicity, ...]
    worst_acute_ctcae: str | None
    worst_late_ctcae: str | None
    worst_acute_clavien_dindo: str | None
    worst_late_clavien_dindo: str | None
    first_late_grade2_date: date | None


def _worst(events: list[ClassifiedToxicity], system: GradeSystem, late: bool) -> str | None:
    grades = [c.event for c in events
              if c.event.grade_system is system and (c.late if late else c.acute)]
    if not grades:
        return None
    scale = CTCAE_GRADES if system is GradeSystem.CTCAE else CLAVIEN_DINDO_GRADES
    return scale[max(g.rank for g in grades) - 1]


def classify(tox: Toxicity, start: date, followup_end: date,
             known_until: date | None = None) -> ClassifiedToxicity:
    """Classify one event as acute and/or late (see the module docstring).

    ``known_until`` (the cut-off; default ``followup_end``): a resolution dated later
    is not known yet and the event counts as ongoing.
    """
    boundary = add_months(start, ACUTE_LATE_MONTHS)
    onset = tox.event_date
    if onset >= boundary:
        return ClassifiedToxicity(tox, (onset - start).days, False, True, onset)
    resolved = tox.resolution_date
    if resolved is not None and resolved > (known_until or followup_end):
        resolved = None  # dated after the cut-off: not known at the analysis, ongoing
    persists = (resolved > boundary) if resolved is not None else followup_end > boundary
    return ClassifiedToxicity(tox, (onset - start).days, True, persists,
                              boundary if persists else None)


def toxicity_summary(patient: PatientEvents, start: date, followup_end: date,
                     known_until: date | None = None) -> ToxicitySummary:
    """Classify the patient's toxicities up to ``followup_end`` (death, last contact or cut-off);
    ``known_until`` is the cut-off (see :func:`classify`)."""
    events = [classify(t, start, followup_end, known_until)
              for t in patient.of(Toxicity) if t.event_date <= followup_end]
    late2 = [c.late_date for c in events
             if c.late and c.late_date is not None and c.event.rank >= LATE_GRADE_MIN_RANK
             and c.late_date <= followup_end]
    return ToxicitySummary(
        patient_id=patient.patient_id,
        boundary_date=add_months(start, ACUTE_LATE_MONTHS),
        events=tuple(events),
        worst_acute_ctcae=_worst(events, GradeSystem.CTCAE, late=False),
        worst_late_ctcae=_worst(events, GradeSystem.CTCAE, late=True),
        worst_acute_clavien_dindo=_worst(events, GradeSystem.CLAVIEN_DINDO, late=False),
        worst_late_clavien_dindo=_worst(events, GradeSystem.CLAVIEN_DINDO, late=True),
        first_late_grade2_date=min(late2, default=None),
    )
