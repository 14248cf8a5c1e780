"""Cross-row checks: turn parsed events into a usable cohort, or stop with every problem.

Errors (stop, exit 3, listed per patient, row and field):
several registrations, clinical events before registration, events after death,
several deaths, NEST before the start, two different PSA values on one day,
conflicting covariates (plus every row error of :mod:`rtcheck.events.reader`), and a
file in which no patient can be analysed (a one-line message, the exclusions listed).

Patients that cannot enter the analysis are *excluded with a reason* and the run goes
on (``PATIENT_EXCLUDED``, see :mod:`rtcheck.events.exclusions`): registered but not
treated, withdrawn or lost to follow-up before the start, registered or started after
the cut-off (interim analysis).

Warnings/info (kept in the output as :class:`~rtcheck.findings.Finding`):
``DUPLICATE_ROW``, ``UNKNOWN_COLUMN``, ``PROGRESSION_BEFORE_START``,
``NO_LAST_FOLLOWUP``, ``NO_REGISTRATION``, ``EVENTS_AFTER_CUTOFF``,
``EVENTS_AFTER_OFF_STUDY``, ``NEST_WITHOUT_PROGRESSION``,
``IMAGING_PROGRESSION_NOT_RECORDED``, ``PATIENT_EXCLUDED``, the reader's
``PSA_BELOW_LOD``, ``DATE_IMPUTED``, ``NEST_NOT_SYSTEMIC`` and the ``RECORDS_*`` codes of
:mod:`rtcheck.events.records`.

Rows after the cut-off: consistency warnings are evaluated on the rows up to the cut-off
only (later rows are reported once, as ``EVENTS_AFTER_CUTOFF``); the reader's row notes
(``DATE_IMPUTED``, ``NEST_NOT_SYSTEMIC``, ``PSA_BELOW_LOD``) are data-quality notes the
data manager fixes anyway and stay, ending "(after the cut-off, not used)".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from rtcheck.errors import EventDataError
from rtcheck.events.exclusions import Exclusion, consistency_findings, exclusion, off_study
from rtcheck.events.reader import ParsedEvents, problem
from rtcheck.events.schema import (
    ClinicalProgression,
    Covariate,
    Death,
    Event,
    LastFollowUp,
    NestStart,
    OffStudy,
    PatientEvents,
    PsaValue,
    Registration,
    TestosteroneValue,
)
from rtcheck.events.start import treatment_start
from rtcheck.findings import Finding, Severity

#: Warnings listed with the errors of a refused file (besides the reader's own).
_SHOWN_WITH_ERRORS = frozenset({"PATIENT_EXCLUDED", "NO_REGISTRATION"})
#: the patient of a problem line (:func:`rtcheck.events.reader.problem`)
_PROBLEM_PATIENT = re.compile(r"patient (\S+?)(?:, row \d+)?, field ")
#: after the exclusion of a patient who also has a refused row (the row may be the cause)
_CONSEQUENCE = " (this patient also has a refused row above: fix it first, it may be the cause)"
#: Laboratory values may precede registration (screening labs, protocol "Trial procedures").
_MAY_PRECEDE_REGISTRATION = (PsaValue, TestosteroneValue, Registration)


@dataclass(frozen=True)
class Cohort:
    """Validated patients (all their events, including those after the cut-off)."""

    path: str
    cutoff: date
    patients: tuple[PatientEvents, ...]
    findings: tuple[Finding, ...] = ()
    excluded: tuple[Exclusion, ...] = ()  #: patients not analysed, with the reason


def _where(e: Event) -> str:
    return f"row {e.row}" if e.source == "events" else "RT record"


def _registration_problems(p: PatientEvents) -> list[str]:
    """At most one registration, and no clinical event before it (none: ``NO_REGISTRATION``)."""
    pid, regs = p.patient_id, p.of(Registration)
    if not regs:
        return []
    out = []
    if len(regs) > 1:
        rows = ", ".join(str(r.row) for r in regs)
        out.append(problem(pid, regs[1].row, "event_type",
                           f"{len(regs)} registration rows (rows {rows}); keep one"))
    reg = regs[0].event_date
    for e in p.events:
        if e.event_date < reg and not isinstance(e, _MAY_PRECEDE_REGISTRATION):
            out.append(problem(pid, e.row, "date",
                               f"{e.label} on {e.event_date} is before registration "
                               f"({reg}); correct the date or the registration"))
    return out


def _death_problems(p: PatientEvents) -> list[str]:
    """At most one death, and no event after it."""
    pid, deaths = p.patient_id, p.of(Death)
    out = []
    if len(deaths) > 1:
        out.append(problem(pid, deaths[1].row, "event_type",
                           f"{len(deaths)} death rows; keep one"))
    if deaths:
        death = deaths[0]
        for e in p.events:
            if e.event_date > death.event_date:
                out.append(problem(pid, e.row, "date",
                                   f"death on {death.event_date} (row {death.row}) is "
                                   f"followed by a {e.label} on {e.event_date} "
                                   f"({_where(e)}); correct the dates"))
    return out


def _start_checks(p: PatientEvents, path: str) -> tuple[list[str], list[Finding]]:
    """No NEST before the start; progressions at or before it (an analysed patient)."""
    pid, start = p.patient_id, treatment_start(p)
    assert start is not None  # excluded patients are not checked here
    problems, findings = [], []
    for nest in p.of(NestStart):
        if nest.event_date < start.start_date:
            problems.append(problem(pid, nest.row, "date",
                                    f"NEST on {nest.event_date} is before the start of "
                                    f"follow-up {start.start_date}; correct the date"))
    for prog in p.of(ClinicalProgression):
        if prog.event_date <= start.start_date:
            findings.append(Finding(
                "PROGRESSION_BEFORE_START", Severity.WARNING,
                f"progression on {prog.event_date} (row {prog.row}) is on or before the "
                f"start {start.start_date}: taken as the qualifying progression, "
                "not a cPFS event", path=path, subject=pid))
    return problems, findings


def _value_conflicts(p: PatientEvents) -> list[str]:
    """Two different PSA values on one day, or one covariate with different values."""
    pid, out = p.patient_id, []
    by_day: dict[date, list[PsaValue]] = defaultdict(list)
    for psa in p.of(PsaValue):
        by_day[psa.event_date].append(psa)
    for day, values in by_day.items():
        if len({(v.psa_ng_ml, v.below_lod) for v in values}) > 1:
            shown = ", ".join(f"{v.shown} (row {v.row})" for v in values)
            out.append(problem(pid, values[1].row, "value",
                               f"different PSA values on {day}: {shown}; keep one"))
    names: dict[str, list[Covariate]] = defaultdict(list)
    for cov in p.covariates:
        names[cov.name].append(cov)
    for name, covs in names.items():
        if len({c.value for c in covs}) > 1:
            rows = ", ".join(str(c.row) for c in covs)
            out.append(problem(pid, covs[1].row, "value",
                               f"covariate {name} given {len(covs)} times with different "
                               f"values (rows {rows}); keep one"))
    return out


def _follow_up_findings(p: PatientEvents, cutoff: date, path: str) -> list[Finding]:
    """``NO_LAST_FOLLOWUP`` and ``EVENTS_AFTER_CUTOFF`` notes."""
    pid, out = p.patient_id, []
    if not p.of(Registration):
        out.append(Finding(
            "NO_REGISTRATION", Severity.WARNING,
            "no 'registration' row: the first course-1 treatment day stands in for it and "
            "events are not checked against registration; add the registration/consent date "
            "if the CRF has it", path=path, subject=pid))
    if not p.of(LastFollowUp) and not p.of(Death) and not p.of(OffStudy):
        out.append(Finding(
            "NO_LAST_FOLLOWUP", Severity.WARNING,
            "no 'last_followup' row: censoring uses the latest dated event of the patient",
            path=path, subject=pid))
    later = [e for e in p.events if e.event_date > cutoff]
    off = off_study(p)
    if later:
        ended = (f"follow-up ended at the {off.label} on {off.event_date}"
                 if off is not None and off.event_date <= cutoff
                 else "the patient is censored at the cut-off")
        out.append(Finding(
            "EVENTS_AFTER_CUTOFF", Severity.INFO,
            f"{len(later)} event(s) after the cut-off {cutoff} were not used for endpoints "
            f"({ended})", path=path, subject=pid))
    return out


def _check_patient(p: PatientEvents, cutoff: date, path: str,
                   problems: list[str], findings: list[Finding]) -> Exclusion | None:
    """Append the problems (errors) and findings of one patient's events, in row-check order;
    return the patient's exclusion (``None``: analysed).

    Parameters
    ----------
    p
        The patient's events.
    cutoff
        The analysis cut-off.
    path
        The event file, for the findings.
    problems, findings
        Lists to extend.
    """
    problems += _registration_problems(p)
    problems += _death_problems(p)
    excluded = exclusion(p, cutoff)
    if excluded is None:
        start_problems, start_findings = _start_checks(p, path)
        problems += start_problems
        findings += start_findings
    problems += _value_conflicts(p)
    if excluded is not None:
        findings.append(Finding("PATIENT_EXCLUDED", Severity.WARNING, excluded.detail,
                                path=path, subject=p.patient_id))
        return excluded
    findings += _follow_up_findings(p, cutoff, path)
    findings += consistency_findings(p, cutoff, path)
    return None


def build_cohort(parsed: ParsedEvents, cutoff: date, extra_events: Iterable[Event] = (),
                 extra_findings: Iterable[Finding] = ()) -> Cohort:
    """Group events per patient and run every cross-row check.

    Parameters
    ----------
    parsed
        The output of :func:`rtcheck.events.reader.read_event_file`.
    cutoff
        The data cut-off date (explicit; there is no hidden "today").
    extra_events
        Events from other sources (RT Beams Treatment Records), already mapped to patients.
    extra_findings
        Findings from those sources.

    Raises
    ------
    EventDataError
        With every problem found (row problems first), and the warnings appended.
    """
    problems = list(parsed.problems)
    row_notes = parsed.findings_at(cutoff)
    findings = row_notes + list(extra_findings)
    events: dict[str, list[Event]] = defaultdict(list)
    covariates: dict[str, list[Covariate]] = defaultdict(list)
    for e in [*parsed.events, *extra_events]:
        events[e.patient_id].append(e)
    for c in parsed.covariates:
        covariates[c.patient_id].append(c)
    patients, excluded = [], []
    for pid in sorted(set(events) | set(covariates)):
        patient = PatientEvents(pid, tuple(events[pid]), tuple(covariates[pid]))
        out = _check_patient(patient, cutoff, parsed.path, problems, findings)
        if out is None:
            patients.append(patient)
        else:
            excluded.append(out)
    shown = [*row_notes, *(f for f in findings if f.code in _SHOWN_WITH_ERRORS)]
    with_problems = {m.group(1) for p in problems if (m := _PROBLEM_PATIENT.match(p))}
    warnings = [f"(warning) {f.subject or '?'}: {f.code}: {f.message}"
                + (_CONSEQUENCE if f.code == "PATIENT_EXCLUDED" and f.subject in with_problems
                   else "")
                for f in shown if f.severity is not Severity.INFO]
    if problems:
        raise EventDataError(f"{len(problems)} problem(s) in the event data; nothing was "
                             "computed — fix them and rerun", problems=problems + warnings,
                             path=parsed.path)
    if not patients:
        raise EventDataError(
            "the file holds no patient rows; see fixtures/cohort/README.md" if not excluded
            else f"no patient can be analysed: all {len(excluded)} registered patient(s) are "
                 f"excluded (listed below); nothing was computed — check the cut-off {cutoff} "
                 "and the treatment rows", problems=warnings, path=parsed.path)
    return Cohort(parsed.path, cutoff, tuple(patients), tuple(findings), tuple(excluded))
