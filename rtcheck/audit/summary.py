"""The cross-site summary of an audit, built from its result files (``OUT/results/``).

``write_summary(OUT)`` writes ``OUT/summary.json`` (:meth:`AuditSummary.to_dict`),
``OUT/summary.csv`` (one row per plan case, :mod:`rtcheck.audit.summary_csv`) and
``OUT/summary.html`` (:func:`rtcheck.audit.summary_html.render_summary_html`), each
atomically. Each names the DVH geometry model of the results
(:mod:`rtcheck.audit.geometry`); ``summary.json`` schema 1.1 added it (``dvh_geometry``:
one entry per model and source with its number of case folders).

Streaming: the result files are read one at a time (:func:`~.result_file.iter_records`);
only small aggregates are kept — counts, a few floats per plan case for the key metrics
(:mod:`rtcheck.audit.summary_metrics`), case keys and messages, and for each plan case
that is not PASS the few fields saying why (:mod:`rtcheck.audit.summary_cases`).

Deterministic: the same set of result files gives byte-identical files whatever the
order and timing of the run. The files are read in name order and every output is
sorted; the run's times (``created_utc``, ``duration_s``) and the report's provenance
(input paths) are never read. Cases are named by their key as stored in the result (the
folder below ROOT, already anonymised with ``--anonymize``) and patients by the key in
``audit.patients`` (a keyed hash with ``--anonymize``).

Counting: each result file is a *case folder*; each of its plan cases
(``report.cases[]``) counts one verdict PASS / FAIL / INCOMPLETE; an error result counts
one ERROR and a folder whose check found no plan case one INCOMPLETE (as the progress
counts, :func:`~.progress.record_verdicts`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtcheck.atomic import write_text_atomic
from rtcheck.audit.geometry import ModelChoice, ModelCount, model_counts, report_model
from rtcheck.audit.progress import VERDICTS
from rtcheck.audit.result_file import RESULTS_DIR, AuditRecord, iter_records
from rtcheck.audit.summary_cases import AttentionCase, attention_case, error_case, no_case
from rtcheck.audit.summary_csv import (  # noqa: F401 (CSV_FIXED, write_summary_csv re-exported)
    CSV_FIXED,
    summary_csv,
    write_summary_csv,
)
from rtcheck.audit.summary_metrics import (
    KEY_METRICS,
    CasePoint,
    Limit,
    MetricDistribution,
    case_points,
    metric_unit,
    site_distribution,
    unmatched_structures,
)
from rtcheck.rules.vocabulary import CheckStatus

SUMMARY_SCHEMA_VERSION = "1.1"
STATUSES = tuple(s.value for s in CheckStatus)
_METRIC_ORDER = {m.key: i for i, m in enumerate(KEY_METRICS)}


def _rate(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


@dataclass(frozen=True)
class SiteCounts:
    """A site (or every site): case folders, distinct patients, verdicts of its plan cases."""

    site: str
    folders: int
    patients: int
    verdicts: dict[str, int]

    @property
    def plan_cases(self) -> int:
        return sum(self.verdicts.values())

    def rate(self, verdict: str) -> float:
        return _rate(self.verdicts[verdict], self.plan_cases)

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "folders": self.folders, "patients": self.patients,
                "plan_cases": self.plan_cases, "verdicts": dict(self.verdicts),
                "rates": {v: self.rate(v) for v in VERDICTS}}


@dataclass(frozen=True)
class ConstraintCounts:
    """One check id: what it is (as first seen) and its statuses per site."""

    id: str
    kind: str
    title: str
    structure: str | None
    metric: str | None
    sites: dict[str, dict[str, int]]

    def total(self, site: str) -> int:
        return sum(self.sites.get(site, {}).values())

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title,
                "structure": self.structure, "metric": self.metric,
                "sites": {s: dict(c) for s, c in self.sites.items()}}


@dataclass(frozen=True)
class Outlier:
    """A key-metric value beyond its limit and/or beyond its site's 1.5 IQR fences."""

    key: str
    label: str
    site: str
    case: str
    note: str
    value: float
    unit: str
    limits: tuple[Limit, ...]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "site": self.site, "case": self.case,
                "note": self.note, "value": self.value, "unit": self.unit,
                "limits": [list(lim) for lim in self.limits], "reasons": list(self.reasons)}


@dataclass(frozen=True)
class UnmatchedStructure:
    """A protocol structure left unmatched in some plan cases of a site."""

    site: str
    structure: str
    reasons: tuple[str, ...]
    cases: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "structure": self.structure, "count": len(self.cases),
                "reasons": list(self.reasons), "cases": list(self.cases)}


@dataclass(frozen=True)
class ErrorCase:
    """A case folder that could not be checked (its one-line message)."""

    site: str
    case: str
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "case": self.case, "kind": self.kind,
                "message": self.message}


@dataclass(frozen=True)
class AuditSummary:
    """Everything ``summary.json`` holds; see the module docstring."""

    sites: tuple[SiteCounts, ...]
    constraints: tuple[ConstraintCounts, ...]
    metrics: tuple[MetricDistribution, ...]
    outliers: tuple[Outlier, ...]
    unmatched: tuple[UnmatchedStructure, ...]
    errors: tuple[ErrorCase, ...]
    protocols: tuple[str, ...]
    patients: int = 0
    unreadable: int = 0
    attention: tuple[AttentionCase, ...] = ()
    geometry: tuple[ModelCount, ...] = ()

    @property
    def totals(self) -> SiteCounts:
        """Every site together (``patients``: distinct patient keys over all sites)."""
        verdicts = {v: sum(s.verdicts[v] for s in self.sites) for v in VERDICTS}
        return SiteCounts("all sites", sum(s.folders for s in self.sites), self.patients,
                          verdicts)

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SUMMARY_SCHEMA_VERSION, "protocols": list(self.protocols),
                "dvh_geometry": [g.to_dict() for g in self.geometry],
                "unreadable_results": self.unreadable, "totals": self.totals.to_dict(),
                "sites": [s.to_dict() for s in self.sites],
                "cases_needing_attention": [c.to_dict() for c in self.attention],
                "constraints": [c.to_dict() for c in self.constraints],
                "key_metrics": [m.to_dict() for m in self.metrics],
                "outliers": [o.to_dict() for o in self.outliers],
                "unmatched_structures": [u.to_dict() for u in self.unmatched],
                "errors": [e.to_dict() for e in self.errors]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"


def case_name(record: AuditRecord, case: dict[str, Any], n_cases: int) -> str:
    """A plan case by its folder's key; when the folder holds several, the plan's
    subfolder (when it has one) and its label: ``site/case/b [T9_SBRT]``."""
    if n_cases == 1:
        return record.case
    folder = str(case.get("folder") or "").replace("\\", "/")
    marker = f"/{record.case}/"
    sub = folder.rsplit(marker, 1)[1].strip("/") if record.case != "." and marker in folder \
        else ""
    where = f"{record.case}/{sub}" if sub else record.case
    return f"{where} [{case.get('label')}]"


class _Collector:
    """The small aggregates of :func:`summarize`, filled one result at a time."""

    def __init__(self) -> None:
        self.folders: Counter[str] = Counter()
        self.verdicts: dict[str, Counter[str]] = {}
        self.patients: dict[str, set[str]] = {}
        self.constraints: dict[str, dict[str, Any]] = {}
        self.points: dict[tuple[str, str], dict[str, list[tuple[str, CasePoint]]]] = {}
        self.unmatched: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        self.errors: list[ErrorCase] = []
        self.attention: list[AttentionCase] = []
        self.protocols: set[str] = set()
        self.models: Counter[ModelChoice] = Counter()

    def add(self, record: AuditRecord) -> None:
        site = record.site
        self.folders[site] += 1
        verdicts = self.verdicts.setdefault(site, Counter())
        self.patients.setdefault(site, set())
        if record.report is None:
            verdicts["ERROR"] += 1
            error = ErrorCase(site, record.case, str(record.audit.get("error_kind") or ""),
                              str(record.audit.get("error") or ""))
            self.errors.append(error)
            self.attention.append(error_case(site, error.case, error.kind, error.message))
            return
        protocol = record.report.get("protocol") or {}
        self.protocols.add(f"{protocol.get('id')} {protocol.get('version')}".strip())
        self.models[report_model(record.report) or ModelChoice(None, None)] += 1
        cases = record.report.get("cases") or []
        if not cases:
            verdicts["INCOMPLETE"] += 1
            self.attention.append(no_case(site, record.case, record.report))
        for case in cases:
            verdicts[str(case.get("verdict"))] += 1
            self._add_case(site, case_name(record, case, len(cases)), case, record)

    def _add_case(self, site: str, name: str, case: dict[str, Any],
                  record: AuditRecord) -> None:
        patient = (record.audit.get("patients") or {}).get(case.get("label"))
        if patient:
            self.patients[site].add(str(patient))
        attention = attention_case(site, name, case)
        if attention is not None:
            self.attention.append(attention)
        for check in case.get("checks") or ():
            entry = self.constraints.setdefault(str(check.get("id")), {
                "kind": str(check.get("kind")), "title": str(check.get("title") or ""),
                "structure": check.get("structure"), "metric": check.get("metric"),
                "sites": {}})
            entry["sites"].setdefault(site, Counter())[str(check.get("status"))] += 1
        for point in case_points(case):
            by_site = self.points.setdefault((point.key, point.label), {})
            by_site.setdefault(site, []).append((name, point))
        for structure, reasons in unmatched_structures(case).items():
            found = self.unmatched.setdefault((site, structure), (set(), set()))
            found[0].update(reasons)
            found[1].add(name)

    def _metrics(self) -> tuple[MetricDistribution, ...]:
        out = [MetricDistribution(key, label, tuple(
            site_distribution(s, pts, metric_unit(key, label))
            for s, pts in sorted(by_site.items())))
               for (key, label), by_site in self.points.items()]
        return tuple(sorted(out, key=lambda m: (_METRIC_ORDER[m.key], m.label)))

    def finish(self, unreadable: int) -> AuditSummary:
        sites = tuple(SiteCounts(s, self.folders[s], len(self.patients[s]),
                                 {v: self.verdicts[s][v] for v in VERDICTS})
                      for s in sorted(self.folders))
        constraints = tuple(
            ConstraintCounts(cid, e["kind"], e["title"], e["structure"], e["metric"],
                             {s: {st: c[st] for st in STATUSES}
                              for s, c in sorted(e["sites"].items())})
            for cid, e in self.constraints.items())
        metrics = self._metrics()
        unmatched = tuple(UnmatchedStructure(site, structure, tuple(sorted(reasons)),
                                             tuple(sorted(cases)))
                          for (site, structure), (reasons, cases) in sorted(
                              self.unmatched.items()))
        return AuditSummary(sites, constraints, metrics, _outliers(metrics), unmatched,
                            tuple(sorted(self.errors, key=lambda e: (e.site, e.case))),
                            tuple(sorted(self.protocols)),
                            len(set().union(*self.patients.values())), unreadable,
                            tuple(sorted(self.attention, key=lambda c: c.sort_key)),
                            model_counts(self.models))


def _outliers(metrics: tuple[MetricDistribution, ...]) -> tuple[Outlier, ...]:
    out = []
    for m in metrics:
        for dist in m.sites:
            for p in dist.points:
                reasons = (("beyond the limit",) if p.beyond_limit else ()) + \
                          (("beyond 1.5 IQR",) if p.iqr_outlier else ())
                if reasons:
                    out.append(Outlier(m.key, m.label, dist.site, p.case, p.note, p.value,
                                       m.unit, p.limits, reasons))
    return tuple(sorted(out, key=lambda o: (_METRIC_ORDER[o.key], o.label, o.site, o.case,
                                            o.note)))


def _result_files(results_dir: Path) -> int:
    return sum(1 for _ in results_dir.glob("*.json")) if results_dir.is_dir() else 0


def summarize(results_dir: Path) -> AuditSummary:
    """The summary of every readable result file in ``results_dir`` (read one at a time).

    Result files that cannot be read, or of another schema, are counted as
    ``unreadable_results`` and otherwise left out.
    """
    collector = _Collector()
    read = 0
    for _, record in iter_records(results_dir):
        collector.add(record)
        read += 1
    return collector.finish(_result_files(results_dir) - read)


def write_summary(out_dir: Path) -> AuditSummary:
    """Write ``summary.csv``, ``summary.json`` and ``summary.html`` of ``out_dir/results``."""
    from rtcheck.audit.summary_html import render_summary_html

    out = Path(out_dir)
    results = out / RESULTS_DIR
    summary = summarize(results)
    ids = [c.id for c in summary.constraints]  # first-seen order, as check_ids
    write_text_atomic(out / "summary.csv", summary_csv(results, ids), overwrite=True)
    write_text_atomic(out / "summary.json", summary.to_json(), overwrite=True)
    write_text_atomic(out / "summary.html", render_summary_html(summary), overwrite=True)
    return summary

