"""``rtcheck endpoints --format csv``: one row per registered patient and endpoint.

For a data manager, nothing is left out: every registered patient (analysed or
excluded) has one row per item of :data:`CSV_ENDPOINTS` — the six time-to-event endpoints,
then ``psa_response`` and ``psa_week12_change`` — with a ``status``:

* ``analysed``: the time-to-event columns are filled (``psa_response``: ``end_date`` is
  the day of the confirmed decline for ``yes``; ``psa_week12_change``: ``end_date`` is the
  day of the value used); ``value`` holds the response (``yes`` / ``no``) or the week-12
  change in % (one decimal; ``<=x`` an upper bound for a value below the limit of
  detection, rounded up so that it never claims more decline than is known).
* ``not_evaluable``: the patient is left out of that endpoint; ``reason`` says why
  (``value`` is ``not evaluable`` for ``psa_response``).
* ``excluded``: the patient is not analysed at all; ``reason`` is the exclusion key and its
  detail (``PATIENT_EXCLUDED``).

``warnings`` (warning codes, not info): on each row only the codes that concern that
endpoint (:data:`ENDPOINT_WARNINGS`; ``PATIENT_NOT_EVALUABLE`` on the rows of the
endpoints it names); every other code of the patient is patient-level (``DUPLICATE_ROW``,
``NO_REGISTRATION``, ``NO_LAST_FOLLOWUP``, ``DATE_IMPUTED``, ``EVENTS_AFTER_OFF_STUDY``,
``RT_END_MISMATCH``, ``PATIENT_EXCLUDED``...) and is put on every row of the patient.
"""

from __future__ import annotations

import csv
import io

from rtcheck.events.cohort import CohortResult, PatientResult
from rtcheck.events.endpoints import ENDPOINTS
from rtcheck.events.exclusions import Exclusion
from rtcheck.events.psa import NOT_EVALUABLE, YES, week12_text
from rtcheck.findings import Finding, Severity

#: the documented columns first (order kept), then the columns added for completeness
CSV_COLUMNS = ("patient_id", "endpoint", "start_date", "start_basis", "end_date",
               "duration_days", "duration_months", "event_observed", "deciding_event",
               "warnings", "status", "reason", "value")
CSV_ENDPOINTS = (*ENDPOINTS, "psa_response", "psa_week12_change")
#: warning codes that concern one endpoint only; every other code is patient-level
ENDPOINT_WARNINGS = {
    "PROGRESSION_BEFORE_START": "cpfs",
    "CPFS_NO_IMAGING": "cpfs",
    "IMAGING_PROGRESSION_NOT_RECORDED": "cpfs",
    "NEST_WITHOUT_PROGRESSION": "nest_fs",
    "NEST_NOT_SYSTEMIC": "nest_fs",
    "DEATH_CAUSE_UNKNOWN": "css",
}
_NOT_EVALUABLE_CODE = "PATIENT_NOT_EVALUABLE"


def _codes(findings: list[Finding], endpoint: str, not_evaluable: set[str]) -> str:
    codes = set()
    for f in findings:
        if f.code == _NOT_EVALUABLE_CODE:
            if endpoint in not_evaluable:
                codes.add(f.code)
        elif ENDPOINT_WARNINGS.get(f.code, endpoint) == endpoint:
            codes.add(f.code)
    return ";".join(sorted(codes))


def _psa_rows(p: PatientResult) -> list[list[str]]:
    """The ``psa_response`` and ``psa_week12_change`` rows (from ``end_date`` on)."""
    s = p.psa
    if s.response_outcome == NOT_EVALUABLE:
        response = ["", "", "", "", "", "not_evaluable", s.not_evaluable_reason or "",
                    NOT_EVALUABLE]
    elif s.response_outcome == YES:
        assert s.response_date is not None
        response = [s.response_date.isoformat(), "", "", "",
                    f"decline >= 50 % on {s.response_date} confirmed on "
                    f"{s.response_confirm_date}", "analysed", "", YES]
    else:
        response = ["", "", "", "", "no confirmed decline >= 50 %", "analysed", "", "no"]
    change = week12_text(s.week12_change_pct, s.week12_below_lod, decimals=1)
    if change is None or s.week12_date is None or s.week12_psa_ng_ml is None:
        week12 = ["", "", "", "", "", "not_evaluable", s.week12_not_evaluable_reason or "", ""]
    else:
        day = (s.week12_date - p.start.start_date).days
        shown = f"{'<' if s.week12_below_lod else ''}{s.week12_psa_ng_ml:g}"
        week12 = [s.week12_date.isoformat(), "", "", "",
                  f"PSA {shown} ng/mL on {s.week12_date} (day {day}) vs baseline "
                  f"{s.baseline_psa_ng_ml:g} ng/mL on {s.baseline_date}", "analysed", "",
                  change]
    return [response, week12]


def _patient_rows(p: PatientResult, findings: list[Finding]) -> list[list[str]]:
    start = [p.start.start_date.isoformat(), p.start.basis]
    reasons = dict(p.not_evaluable)
    out = []
    for name in ENDPOINTS:
        e = p.endpoint(name)
        if e is None:
            tail = ["", "", "", "", "", "not_evaluable", reasons.get(name, ""), ""]
        else:
            tail = [e.end_date.isoformat(), str(e.duration_days), f"{e.duration_months:.2f}",
                    str(int(e.event_observed)), e.deciding_event, "analysed", "", ""]
        out.append([p.patient_id, name, *start, *tail])
    for name, tail in zip(("psa_response", "psa_week12_change"), _psa_rows(p), strict=True):
        out.append([p.patient_id, name, *start, *tail])
    for r in out:  # warnings go before status (column 10)
        r.insert(9, _codes(findings, r[1], set(reasons)))
    return out


def _excluded_rows(e: Exclusion, findings: list[Finding]) -> list[list[str]]:
    codes = ";".join(sorted({f.code for f in findings}))
    return [[e.patient_id, name, "", "", "", "", "", "", "", codes, "excluded",
             f"{e.reason}: {e.detail}", ""] for name in CSV_ENDPOINTS]


def to_csv(result: CohortResult) -> str:
    """Every registered patient, one row per item of :data:`CSV_ENDPOINTS` (module docstring)."""
    by_patient: dict[str, list[Finding]] = {}
    for f in result.findings:
        if f.subject and f.severity is not Severity.INFO:
            by_patient.setdefault(f.subject, []).append(f)
    rows = [(p.patient_id, _patient_rows(p, by_patient.get(p.patient_id, [])))
            for p in result.patients]
    rows += [(e.patient_id, _excluded_rows(e, by_patient.get(e.patient_id, [])))
             for e in result.excluded]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for _, patient_rows in sorted(rows, key=lambda r: r[0]):
        writer.writerows(patient_rows)
    return buf.getvalue()
