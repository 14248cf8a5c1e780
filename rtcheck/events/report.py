"""Render a :class:`~rtcheck.events.cohort.CohortResult` as text, JSON or CSV.

* text: per-patient table, endpoint details (start, end, days, months, event,
  deciding event), Kaplan–Meier summary, Cox models, toxicity, eligibility, findings.
* json: the same, machine-readable (dates ISO, ``null`` for not reached).
* csv: one row per registered patient and endpoint (lifelines long format), with
  status, reason and value columns (:mod:`rtcheck.events.csv_report`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date
from typing import Any

from rtcheck.events.cohort import CohortResult, PatientResult
from rtcheck.events.csv_report import CSV_COLUMNS, to_csv  # noqa: F401 (re-exported)
from rtcheck.events.endpoints import ENDPOINTS
from rtcheck.events.psa import WEEK12_TARGET_DAY, WEEK12_WINDOW_DAYS, week12_text
from rtcheck.events.schema import DAYS_PER_MONTH
from rtcheck.findings import Finding, Severity

_SHORT = {"nest_fs": "NEST-FS", "cpfs": "cPFS", "css": "CSS", "os": "OS",
          "psa_progression": "PSA-prog", "late_toxicity_g2": "LateTox>=2"}


def finding_lines(findings: Iterable[Finding], min_severity: Severity = Severity.INFO
                  ) -> list[str]:
    """One line per distinct finding at or above ``min_severity``, in first-seen order.

    Findings with the same severity, code, message and file are one line: their subjects
    are listed together and the count is appended, e.g. ``WARNING COX_NOT_ESTIMABLE
    (nest_fs, cpfs, css, os): covariate age_years does not vary (4×)``.
    """
    order = [Severity.INFO, Severity.WARNING, Severity.ERROR]
    groups: dict[tuple[Severity, str, str, str | None], list[str | None]] = {}
    for f in findings:
        if order.index(f.severity) >= order.index(min_severity):
            groups.setdefault((f.severity, f.code, f.message, f.path), []).append(f.subject)
    lines = []
    for (severity, code, message, path), subjects in groups.items():
        named = ", ".join(dict.fromkeys(s for s in subjects if s))
        line = str(Finding(code, severity, message, path, named or None))
        lines.append(line if len(subjects) == 1 else f"{line} ({len(subjects)}×)")
    return lines


def _plain(obj: Any) -> Any:
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else round(obj, 6)
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if hasattr(obj, "value") and not isinstance(obj, int | str):
        return obj.value
    return obj


def _patient_dict(p: PatientResult) -> dict[str, Any]:
    tox = asdict(p.toxicity)
    tox["events"] = [
        {"term": c.event.term, "grade": c.event.grade, "grade_system": c.event.grade_system.value,
         "onset_date": c.event.event_date, "resolution_date": c.event.resolution_date,
         "onset_day": c.onset_day, "acute": c.acute, "late": c.late, "late_date": c.late_date,
         "row": c.event.row}
        for c in p.toxicity.events]
    return {
        "patient_id": p.patient_id,
        "start": asdict(p.start),
        "endpoints": [{**asdict(e), "duration_days": e.duration_days,
                       "duration_months": e.duration_months} for e in p.endpoints],
        "psa": asdict(p.psa),
        "toxicity": tox,
        "eligibility": {"verdict": p.eligibility.verdict,
                        "criteria": [asdict(c) for c in p.eligibility.criteria]},
        "covariates": dict(p.covariates),
    }


def _response_dict(result: CohortResult) -> dict[str, Any]:
    yes, evaluable, out = result.psa_response_rate()
    return {"responders": yes, "evaluable": evaluable,
            "not_evaluable": [{"patient_id": pid, "reason": why} for pid, why in out]}


def conventions(result: CohortResult) -> list[str]:
    """The settings that change the numbers, stated in the text report."""
    cfg = result.config
    cpfs = ("cPFS censored at the last conventional imaging without progression"
            if cfg.cpfs_censoring == "last-imaging" else
            "cPFS censored at the last contact")
    median = ("KM median = first time S(t) <= 0.5 (lifelines)" if cfg.km_median == "first"
              else "KM median = midpoint of a flat at S(t) = 0.5 (R survival)")
    return [f"Settings: {cpfs} (--cpfs-censoring {cfg.cpfs_censoring}); {median} "
            f"(--km-median {cfg.km_median}); death of unknown cause for CSS: "
            f"{cfg.unknown_death_cause} (--unknown-death-cause)."]


def to_json(result: CohortResult) -> str:
    """The whole result as an indented JSON document."""
    doc = {
        "source": result.source,
        "cutoff": result.cutoff,
        "constants": {"days_per_month": DAYS_PER_MONTH,
                      "psa_week12_target_day": WEEK12_TARGET_DAY,
                      "psa_week12_window_days": list(WEEK12_WINDOW_DAYS),
                      "who_ps_max": result.config.who_ps_max},
        "settings": {"cpfs_censoring": result.config.cpfs_censoring,
                     "km_median": result.config.km_median,
                     "unknown_death_cause": result.config.unknown_death_cause},
        "endpoints": ENDPOINTS,
        "patients": [_patient_dict(p) for p in result.patients],
        "kaplan_meier": [asdict(k) for k in result.km],
        "cox": [asdict(h) for h in result.cox],
        "psa_response": _response_dict(result),
        "excluded": [asdict(e) for e in result.excluded],
        "findings": [f.to_dict() for f in result.findings],
    }
    return json.dumps(_plain(doc), indent=2, ensure_ascii=False) + "\n"


def _m(x: float | None) -> str:
    return "NR" if x is None else f"{x:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip(),
            *(fmt.format(*r).rstrip() for r in rows)]


def _wk12(p: PatientResult) -> str:
    """``-53``; ``<=-87.5`` an upper bound (below the limit of detection); ``n/e``."""
    return week12_text(p.psa.week12_change_pct, p.psa.week12_below_lod) or "n/e"


_OUTCOME = {"yes": "yes", "no": "no", "not evaluable": "n/e"}


def _evaluability_lines(result: CohortResult) -> list[str]:
    yes, evaluable, out = result.psa_response_rate()
    pct = f" ({100.0 * yes / evaluable:.0f} %)" if evaluable else ""
    lines = [f"PSA response (confirmed decline >= 50 %): {yes}/{evaluable} evaluable "
             f"patients{pct}; {len(out)} not evaluable"
             + (": " + "; ".join(f"{pid} ({why})" for pid, why in out) if out else "")]
    no_w12 = [(p.patient_id, p.psa.week12_not_evaluable_reason) for p in result.patients
              if p.psa.week12_change_pct is None]
    lo, hi = WEEK12_WINDOW_DAYS
    lines.append(f"Week-12 PSA change (value in days {lo}-{hi}): "
                 f"{len(result.patients) - len(no_w12)}/{len(result.patients)} patients; "
                 f"{len(no_w12)} not evaluable"
                 + (": " + "; ".join(f"{pid} ({why})" for pid, why in no_w12) if no_w12 else ""))
    for km in result.km:
        if km.n_not_evaluable:
            names = "; ".join(f"{p.patient_id} ({why})" for p in result.patients
                              for e, why in p.not_evaluable if e == km.endpoint)
            lines.append(f"{km.endpoint}: {km.n_not_evaluable} patient(s) not evaluable, "
                         f"left out of the estimate: {names}")
    return lines


def _excluded_lines(result: CohortResult) -> list[str]:
    if not result.excluded:
        return []
    return ["", f"Excluded from the analysis ({len(result.excluded)} patient(s))",
            *_table(["patient", "reason", "detail"],
                    [[e.patient_id, e.reason, e.detail] for e in result.excluded])]


def to_text(result: CohortResult) -> str:
    """A human-readable report."""
    excluded = f" ({len(result.excluded)} excluded)" if result.excluded else ""
    lines = [f"MEDCARE endpoints: {result.source}, cut-off {result.cutoff}, "
             f"{len(result.patients)} patients{excluded}",
             f"Durations in months of {DAYS_PER_MONTH} days (365.25/12); "
             "'+' marks censored values; n/e = not evaluable (reasons under the "
             "Kaplan–Meier summary); '<=' = upper bound (PSA below the limit of detection).",
             *conventions(result), "",
             "Per patient (months)"]
    header = ["patient", "start", "basis", *(_SHORT[k] for k in ENDPOINTS),
              "PSA resp", "wk12 %", "eligibility"]
    rows = []
    for p in result.patients:
        cells = []
        for k in ENDPOINTS:
            e = p.endpoint(k)
            cells.append("n/e" if e is None else
                         f"{e.duration_months:.1f}{'' if e.event_observed else '+'}")
        rows.append([p.patient_id, p.start.start_date.isoformat(),
                     p.start.basis.replace("radiotherapy", "RT").replace("metastasectomy", "surg"),
                     *cells, _OUTCOME[p.psa.response_outcome], _wk12(p),
                     p.eligibility.verdict])
    lines += _table(header, rows)
    lines += ["", "Endpoint details"]
    lines += _table(["patient", "endpoint", "start_date", "end_date", "days", "months",
                     "event", "decided by"],
                    [[e.patient_id, e.endpoint, e.start_date.isoformat(), e.end_date.isoformat(),
                      str(e.duration_days), f"{e.duration_months:.2f}",
                      str(int(e.event_observed)), e.deciding_event]
                     for p in result.patients for e in p.endpoints])
    lines += ["", "Kaplan–Meier summary (months; 95 % CI, exponential Greenwood; NR = not "
              "reached; n/a = no patient followed that long)"]
    km_rows = []
    for km in result.km:
        land = {t: f"{s:.2f} ({lo:.2f}-{hi:.2f})" for t, s, lo, hi in km.survival_at}
        km_rows.append([km.endpoint, str(km.n), str(km.n_events),
                        f"{_m(km.median_months)} ({_m(km.median_ci_lower_months)}-"
                        f"{_m(km.median_ci_upper_months)})",
                        land.get(12.0, "n/a"), land.get(24.0, "n/a"),
                        " ".join(str(n) for _, n in km.at_risk)])
    at_risk_hdr = "at risk " + "/".join(f"{t:g}" for t, _ in result.km[0].at_risk) \
        if result.km else "at risk"
    lines += _table(["endpoint", "n", "events", "median (95% CI)", "S(12 mo)", "S(24 mo)",
                     at_risk_hdr], km_rows)
    lines += _evaluability_lines(result)
    if result.cox:
        lines += ["", "Cox proportional hazards (hazard ratio per unit of the covariate)"]
        lines += _table(["endpoint", "model", "covariate", "HR", "95% CI", "p", "n", "events"],
                        [[h.endpoint, h.model, h.covariate, f"{h.hazard_ratio:.2f}",
                          f"{h.ci_lower:.2f}-{h.ci_upper:.2f}", f"{h.p_value:.3f}", str(h.n),
                          str(h.n_events)] for h in result.cox])
    lines += ["", "Toxicity (worst grade; acute < 3 months, late from 3 months or persisting)"]
    lines += _table(["patient", "acute CTCAE", "late CTCAE", "acute C-D", "late C-D",
                     "first late >=2"],
                    [[p.patient_id, p.toxicity.worst_acute_ctcae or "-",
                      p.toxicity.worst_late_ctcae or "-",
                      p.toxicity.worst_acute_clavien_dindo or "-",
                      p.toxicity.worst_late_clavien_dindo or "-",
                      str(p.toxicity.first_late_grade2_date or "-")] for p in result.patients])
    lines += ["", f"Eligibility (WHO PS 0-{result.config.who_ps_max})"]
    lines += _table(["patient", "verdict", "criteria"],
                    [[p.patient_id, p.eligibility.verdict,
                      "; ".join(f"{c.name} {c.status}: {c.detail}"
                                for c in p.eligibility.criteria)] for p in result.patients])
    lines += _excluded_lines(result)
    if result.findings:
        lines += ["", "Findings"] + [f"  {line}" for line in finding_lines(result.findings)]
    return "\n".join(lines) + "\n"


def render(result: CohortResult, output_format: str) -> str:
    """``text``, ``json`` or ``csv``."""
    renderers = {"text": to_text, "json": to_json, "csv": to_csv}
    if output_format not in renderers:
        raise ValueError(f"unknown format {output_format!r}")
    return renderers[output_format](result)

