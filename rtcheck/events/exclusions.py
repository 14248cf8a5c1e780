"""Who enters the analysis, and consistency warnings that do not stop it.

Exclusions (``PATIENT_EXCLUDED``, one warning per patient naming the reason; the run
goes on with the others, ICH E9 §5.2 "all randomised/registered patients are accounted
for"):

* ``registered_after_cutoff``: registered after the data cut-off (interim analysis).
* ``not_treated``: no course-1 ``rt_end``/``rt_fraction``/``metastasectomy`` row
  (registered but not treated) — the start of follow-up (protocol "Primary endpoint")
  does not exist, so no time-to-event endpoint can be computed.
* ``off_study_before_start``: a ``withdrawal`` or ``lost_to_followup`` row before the
  start of follow-up.
* ``started_after_cutoff``: the start of follow-up is after the cut-off (interim analysis:
  the patient has no follow-up yet).

Consistency warnings for analysed patients:

* ``NEST_WITHOUT_PROGRESSION``: NEST for ``polyprogression`` or
  ``treated_lesion_progression`` without a ``progression`` row after the start and on or
  before the NEST day (protocol "Primary endpoint": NEST is initiated for
  polyprogression or progression of a treated lesion "as depicted on standard imaging";
  "Polyprogression is diagnosed on conventional imaging with CT and bone scan").
* ``IMAGING_PROGRESSION_NOT_RECORDED``: a conventional imaging row with result
  ``progression`` and no ``progression`` row that day.
* ``EVENTS_AFTER_OFF_STUDY``: rows after a withdrawal / loss to follow-up (not used).

All three look only at rows dated on or before the cut-off: rows after it are not used
and are reported once, as ``EVENTS_AFTER_CUTOFF`` (:mod:`rtcheck.events.validate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rtcheck.events.schema import (
    ClinicalProgression,
    Imaging,
    ImagingModality,
    ImagingResult,
    NestReason,
    NestStart,
    OffStudy,
    PatientEvents,
    Registration,
)
from rtcheck.events.start import treatment_start
from rtcheck.findings import Finding, Severity

#: NEST reasons that presuppose a progression on conventional imaging (protocol "Primary endpoint").
PROGRESSION_REASONS = (NestReason.POLYPROGRESSION, NestReason.TREATED_LESION_PROGRESSION)


@dataclass(frozen=True)
class Exclusion:
    """A patient left out of the analysis: ``reason`` (a key) and ``detail`` (a sentence)."""

    patient_id: str
    reason: str
    detail: str


def off_study(p: PatientEvents) -> OffStudy | None:
    """The first withdrawal / loss to follow-up of the patient, if any."""
    return next(iter(p.of(OffStudy)), None)


def exclusion(p: PatientEvents, cutoff: date) -> Exclusion | None:
    """Why the patient cannot be analysed at ``cutoff`` (``None``: analysed)."""
    pid, start, off = p.patient_id, treatment_start(p), off_study(p)
    regs = p.of(Registration)
    if regs and regs[0].event_date > cutoff:  # treated or not: the registration decides
        return Exclusion(pid, "registered_after_cutoff",
                         f"registered on {regs[0].event_date}, after the cut-off {cutoff} "
                         "(interim analysis): not analysed")
    if start is None and off is not None:
        return Exclusion(pid, "off_study_before_start",
                         f"{off.label} on {off.event_date} (row {off.row}) before any course-1 "
                         "treatment: not treated, excluded from every endpoint")
    if start is None:
        return Exclusion(pid, "not_treated",
                         "start date missing: no course-1 'rt_end'/'rt_fraction' or "
                         "'metastasectomy' row, so the patient counts as registered but not "
                         "treated and is excluded from every endpoint; if treated, add the "
                         "last day of treatment")
    if off is not None and off.event_date < start.start_date:
        return Exclusion(pid, "off_study_before_start",
                         f"{off.label} on {off.event_date} (row {off.row}) before the start of "
                         f"follow-up {start.start_date}: excluded from every endpoint")
    if start.start_date > cutoff:
        return Exclusion(pid, "started_after_cutoff",
                         f"start of follow-up {start.start_date} is after the cut-off {cutoff} "
                         "(interim analysis): not analysed")
    return None


def _nest_findings(p: PatientEvents, start: date, cutoff: date, path: str) -> list[Finding]:
    progressions = [q.event_date for q in p.of(ClinicalProgression) if q.event_date > start]
    out = []
    for nest in p.of(NestStart):
        if nest.event_date <= cutoff and nest.reason in PROGRESSION_REASONS and not any(
                d <= nest.event_date for d in progressions):
            out.append(Finding(
                "NEST_WITHOUT_PROGRESSION", Severity.WARNING,
                f"row {nest.row}: NEST on {nest.event_date} for {nest.reason.value} but no "
                f"progression after the start {start} on or before that day (protocol: "
                "diagnosed on conventional imaging); add the 'progression' row (date of the "
                "imaging) or correct the reason", path=path, subject=p.patient_id))
    return out


def _imaging_findings(p: PatientEvents, cutoff: date, path: str) -> list[Finding]:
    recorded = {q.event_date for q in p.of(ClinicalProgression)}
    return [Finding(
        "IMAGING_PROGRESSION_NOT_RECORDED", Severity.WARNING,
        f"row {im.row}: conventional imaging on {im.event_date} shows progression but no "
        "'progression' row has that date: not a cPFS event; add the 'progression' row with "
        "its site", path=path, subject=p.patient_id)
        for im in p.of(Imaging)
        if im.modality is ImagingModality.CONVENTIONAL and im.event_date <= cutoff
        and im.result is ImagingResult.PROGRESSION and im.event_date not in recorded]


def consistency_findings(p: PatientEvents, cutoff: date, path: str) -> list[Finding]:
    """The consistency warnings of an analysed patient, on its rows up to ``cutoff``
    (later rows are only reported as ``EVENTS_AFTER_CUTOFF``; module docstring)."""
    start = treatment_start(p)
    assert start is not None
    out = (_nest_findings(p, start.start_date, cutoff, path)
           + _imaging_findings(p, cutoff, path))
    off = off_study(p)
    if off is not None and off.event_date <= cutoff:
        later = [e for e in p.events if off.event_date < e.event_date <= cutoff]
        if later:
            rows = ", ".join(str(e.row) if e.source == "events" else "RT record" for e in later)
            out.append(Finding(
                "EVENTS_AFTER_OFF_STUDY", Severity.WARNING,
                f"{len(later)} row(s) after the {off.label} on {off.event_date} (row {off.row}) "
                f"are not used (rows {rows})", path=path, subject=p.patient_id))
    return out
