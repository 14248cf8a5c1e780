"""The versioned result model of the plan check (``schema_version``).

Renderers (text, JSON, CSV, HTML, JUnit in :mod:`rtcheck.report`) are pure functions
of a :class:`CheckReport`. Every object has one ``to_dict`` and one ``from_dict``;
numbers are rounded once, by :func:`rtcheck.evaluate.structure.rounded` (4 decimals),
when written, so ``from_dict(d).to_dict() == d`` for every written ``d`` (a check is
judged on full-precision values before that). The result
holds no dose arrays: DVH curves are kept at most :data:`CURVE_POINTS` points for plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rtcheck.evaluate.structure import DvhCurve, rounded
from rtcheck.findings import Finding, Severity
from rtcheck.rules.vocabulary import CheckKind, CheckStatus, Comparison, Tier, Verdict

#: major: a reader of another major refuses the result; minor: keys added, still readable.
#: 1.1 (issue #12): ``provenance.dvh_settings.geometry``, the DVH geometry model
SCHEMA_VERSION = "1.1"
CURVE_POINTS = 201


def _finding(d: dict[str, Any]) -> Finding:
    return Finding(d["code"], Severity(d["severity"]), d["message"], d.get("path"),
                   d.get("subject"))


@dataclass(frozen=True)
class CheckResult:
    """One check of one case.

    Attributes
    ----------
    id
        Stable id, e.g. ``sbrt.ptv_coverage`` or ``tg101.row4.D0.35cc[Gy]``.
    kind, title
        :class:`CheckKind` and a one-line description.
    structure, roi, match
        Protocol (TG-263) structure name, the matched ROI name and how it was matched.
    metric
        The metric as written (``D0.35cc[Gy]``), or the quantity (``BED``).
    value, unit
        The evaluated value (``None`` unless evaluated) and its unit.
    comparison, limit, minor_limit
        ``value <comparison> limit``; the minor-deviation band ends at ``minor_limit``.
    margin
        Room to the limit in the limit's unit: ``limit - value`` for upper limits,
        ``value - limit`` for lower limits (negative = violated).
    status, tier, priority
        :class:`CheckStatus`, :class:`Tier`, priority (1 = highest; the protocol gives
        OAR limits priority over PTV coverage).
    source
        Document, table and row the limit comes from.
    message
        One line: why this status (the reason when not evaluated).
    notes
        Caveats that stay visible (TG-101 3-fraction note, grid-boundary assumption...).
    lower_bound, upper_bound
        For a structure partly outside the dose grid: what the in-grid part proves.
    """

    id: str
    kind: CheckKind
    title: str
    status: CheckStatus
    tier: Tier
    priority: int
    source: str
    message: str = ""
    structure: str | None = None
    roi: str | None = None
    match: str | None = None
    metric: str | None = None
    value: float | None = None
    unit: str | None = None
    comparison: Comparison | None = None
    limit: float | None = None
    minor_limit: float | None = None
    margin: float | None = None
    notes: tuple[str, ...] = ()
    lower_bound: float | None = None
    upper_bound: float | None = None

    def __post_init__(self) -> None:
        for name, enum in (("kind", CheckKind), ("status", CheckStatus), ("tier", Tier)):
            value = getattr(self, name)
            if not isinstance(value, enum):
                object.__setattr__(self, name, enum(value))
        if self.comparison is not None and not isinstance(self.comparison, Comparison):
            object.__setattr__(self, "comparison", Comparison(self.comparison))
        if self.status is CheckStatus.NOT_EVALUATED and self.value is not None:
            raise ValueError(f"{self.id}: a NOT_EVALUATED check has no value")

    @property
    def mandatory(self) -> bool:
        return self.tier is Tier.MANDATORY

    @property
    def limit_text(self) -> str:
        if self.comparison is None or self.limit is None:
            return ""
        return f"{self.comparison.value} {self.limit:g} {self.unit or ''}".rstrip()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind.value, "title": self.title,
            "structure": self.structure, "roi": self.roi, "match": self.match,
            "metric": self.metric, "value": rounded(self.value), "unit": self.unit,
            "comparison": self.comparison.value if self.comparison else None,
            "limit": self.limit, "minor_limit": self.minor_limit,
            "margin": rounded(self.margin), "status": self.status.value,
            "tier": self.tier.value, "priority": self.priority, "source": self.source,
            "message": self.message, "notes": list(self.notes),
            "lower_bound": rounded(self.lower_bound), "upper_bound": rounded(self.upper_bound),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        return cls(
            id=d["id"], kind=CheckKind(d["kind"]), title=d["title"],
            status=CheckStatus(d["status"]), tier=Tier(d["tier"]), priority=d["priority"],
            source=d["source"], message=d["message"], structure=d["structure"], roi=d["roi"],
            match=d["match"], metric=d["metric"], value=d["value"], unit=d["unit"],
            comparison=Comparison(d["comparison"]) if d["comparison"] else None,
            limit=d["limit"], minor_limit=d["minor_limit"], margin=d["margin"],
            notes=tuple(d["notes"]), lower_bound=d["lower_bound"],
            upper_bound=d["upper_bound"])


@dataclass(frozen=True)
class StructureSummary:
    """A structure as the check saw it (for the report's structure table and DVH plots)."""

    name: str
    roi_number: int | None
    state: str
    volume_cc: float | None
    in_grid_volume_cc: float | None
    min_gy: float | None
    mean_gy: float | None
    max_gy: float | None
    constrained: bool = False
    target: bool = False
    grid_boundary_gy: float | None = None
    curve: DvhCurve | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "roi_number": self.roi_number, "state": self.state,
                "volume_cc": rounded(self.volume_cc),
                "in_grid_volume_cc": rounded(self.in_grid_volume_cc),
                "min_gy": rounded(self.min_gy), "mean_gy": rounded(self.mean_gy),
                "max_gy": rounded(self.max_gy), "constrained": self.constrained,
                "target": self.target, "grid_boundary_gy": rounded(self.grid_boundary_gy),
                "curve": self.curve.to_dict() if self.curve else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StructureSummary:
        return cls(d["name"], d["roi_number"], d["state"], d["volume_cc"],
                   d["in_grid_volume_cc"], d["min_gy"], d["mean_gy"], d["max_gy"],
                   d["constrained"], d["target"], d["grid_boundary_gy"],
                   DvhCurve.from_dict(d["curve"]) if d["curve"] else None)


@dataclass(frozen=True)
class FractionGapResult:
    """One gap between consecutive fractions (hours, UTC-based when timezones are known)."""

    from_fraction: int
    to_fraction: int
    gap_hours: float
    status: CheckStatus
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"from_fraction": self.from_fraction, "to_fraction": self.to_fraction,
                "gap_hours": rounded(self.gap_hours), "status": self.status.value,
                "message": self.message}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FractionGapResult:
        return cls(d["from_fraction"], d["to_fraction"], d["gap_hours"],
                   CheckStatus(d["status"]), d["message"])


@dataclass(frozen=True)
class CaseResult:
    """The plan check of one case: verdict, checks, structures, fraction gaps, findings."""

    label: str
    folder: str
    plan_label: str | None
    plan_uid: str | None
    arm: str | None
    site: str | None
    prescription: dict[str, Any]
    dose: dict[str, Any] | None
    verdict: Verdict
    checks: tuple[CheckResult, ...]
    structures: tuple[StructureSummary, ...] = ()
    fraction_gaps: tuple[FractionGapResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    input_blocked: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.verdict, Verdict):
            object.__setattr__(self, "verdict", Verdict(self.verdict))

    def counts(self) -> dict[str, int]:
        """Number of checks per status (every status present, zero included)."""
        out = {s.value: 0 for s in CheckStatus}
        for c in self.checks:
            out[c.status.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "folder": self.folder, "plan_label": self.plan_label,
                "plan_uid": self.plan_uid, "arm": self.arm, "site": self.site,
                "prescription": self.prescription, "dose": self.dose,
                "verdict": self.verdict.value, "counts": self.counts(),
                "input_blocked": self.input_blocked,
                "checks": [c.to_dict() for c in self.checks],
                "structures": [s.to_dict() for s in self.structures],
                "fraction_gaps": [g.to_dict() for g in self.fraction_gaps],
                "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseResult:
        return cls(d["label"], d["folder"], d["plan_label"], d["plan_uid"], d["arm"],
                   d["site"], d["prescription"], d["dose"], Verdict(d["verdict"]),
                   tuple(CheckResult.from_dict(c) for c in d["checks"]),
                   tuple(StructureSummary.from_dict(s) for s in d["structures"]),
                   tuple(FractionGapResult.from_dict(g) for g in d["fraction_gaps"]),
                   tuple(_finding(f) for f in d["findings"]), d["input_blocked"])


@dataclass(frozen=True)
class Provenance:
    """Where a result came from: versions, input and protocol hashes, settings, time."""

    rtcheck_version: str
    python_version: str
    created_utc: str
    inputs: tuple[tuple[str, str], ...]
    protocol_path: str
    protocol_sha256: str
    libraries: tuple[tuple[str, str], ...] = ()
    dvh_settings: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rtcheck_version": self.rtcheck_version, "python_version": self.python_version,
                "created_utc": self.created_utc,
                "inputs": [{"path": p, "sha256": h} for p, h in self.inputs],
                "protocol": {"path": self.protocol_path, "sha256": self.protocol_sha256},
                "libraries": [{"path": p, "sha256": h} for p, h in self.libraries],
                "dvh_settings": self.dvh_settings, "options": self.options}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Provenance:
        return cls(d["rtcheck_version"], d["python_version"], d["created_utc"],
                   tuple((i["path"], i["sha256"]) for i in d["inputs"]),
                   d["protocol"]["path"], d["protocol"]["sha256"],
                   tuple((i["path"], i["sha256"]) for i in d["libraries"]),
                   dict(d["dvh_settings"]), dict(d["options"]))


@dataclass(frozen=True)
class CheckReport:
    """Everything ``rtcheck check`` found, for every case of the input."""

    protocol_id: str
    protocol_title: str
    protocol_version: str
    cases: tuple[CaseResult, ...]
    provenance: Provenance
    findings: tuple[Finding, ...] = ()
    schema_version: str = SCHEMA_VERSION

    @property
    def verdict(self) -> Verdict:
        """The worst case verdict: FAIL > INCOMPLETE > PASS (INCOMPLETE when no case)."""
        verdicts = {c.verdict for c in self.cases}
        if Verdict.FAIL in verdicts:
            return Verdict.FAIL
        if Verdict.INCOMPLETE in verdicts or not verdicts:
            return Verdict.INCOMPLETE
        return Verdict.PASS

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version, "verdict": self.verdict.value,
                "protocol": {"id": self.protocol_id, "title": self.protocol_title,
                             "version": self.protocol_version},
                "provenance": self.provenance.to_dict(),
                "cases": [c.to_dict() for c in self.cases],
                "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckReport:
        major = str(d.get("schema_version", "")).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(f"result schema_version {d.get('schema_version')!r} is not "
                             f"readable by this rtcheck (reads {SCHEMA_VERSION})")
        p = d["protocol"]
        return cls(p["id"], p["title"], p["version"],
                   tuple(CaseResult.from_dict(c) for c in d["cases"]),
                   Provenance.from_dict(d["provenance"]),
                   tuple(_finding(f) for f in d["findings"]), d["schema_version"])
