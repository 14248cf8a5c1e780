"""The result of a baseline comparison: frozen dataclasses, JSON-ready (``to_dict``).

A :class:`Comparison` holds one :class:`ReportComparison` per pair of plan-check reports
(one for ``rtcheck check --baseline FILE``, one per case folder for ``rtcheck regress``);
each holds one :class:`CaseComparison` per plan, and each of those one
:class:`CheckComparison` per check (every check, changed or not: the JUnit report has a
test case for each). A :class:`Difference` is one field that differs, with both values;
``drift`` says whether it counts (beyond tolerance, or a change that is never
toleranced) — provenance differences are information only and never drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rtcheck.regress.tolerances import Tolerances

REGRESS_SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Difference:
    """One field that differs between the baseline and the current result.

    ``what`` names the field (``verdict``, ``status``, ``value``, ``limit``, ``check``,
    ``case``, ``result``, ``provenance.rtcheck_version``, ``structure.volume_cc``...);
    ``kind``, ``delta`` and ``allowed`` are set for numbers compared with a tolerance.
    """

    what: str
    baseline: Any
    current: Any
    drift: bool = True
    kind: str | None = None
    delta: float | None = None
    allowed: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "baseline": self.baseline, "current": self.current,
                "drift": self.drift, "kind": self.kind,
                "delta": None if self.delta is None else round(self.delta, 6),
                "allowed": None if self.allowed is None else round(self.allowed, 6),
                "note": self.note}


@dataclass(frozen=True)
class CheckComparison:
    """One check (or, with ``--compare-structures``, one structure's summary numbers)."""

    check_id: str
    structure: str | None
    unit: str | None = None
    differences: tuple[Difference, ...] = ()

    @property
    def drift(self) -> bool:
        return any(d.drift for d in self.differences)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.check_id, "structure": self.structure, "unit": self.unit,
                "drift": self.drift, "differences": [d.to_dict() for d in self.differences]}


@dataclass(frozen=True)
class CaseComparison:
    """One plan: its verdict on both sides and every check compared.

    ``baseline_verdict``/``current_verdict`` is ``None`` when the plan is missing on that
    side (then ``differences`` says so and ``checks`` is empty).
    """

    name: str
    plan_uid: str | None
    folder: str
    baseline_verdict: str | None
    current_verdict: str | None
    differences: tuple[Difference, ...] = ()
    checks: tuple[CheckComparison, ...] = ()
    structures: tuple[CheckComparison, ...] = ()

    @property
    def drift(self) -> bool:
        return any(d.drift for d in self.differences) or any(
            c.drift for c in (*self.checks, *self.structures))

    def drifted_checks(self) -> list[CheckComparison]:
        return [c for c in (*self.checks, *self.structures) if c.drift]

    def to_dict(self) -> dict[str, Any]:
        changed = [c for c in (*self.checks, *self.structures) if c.differences]
        return {"name": self.name, "plan_uid": self.plan_uid, "folder": self.folder,
                "baseline_verdict": self.baseline_verdict,
                "current_verdict": self.current_verdict, "drift": self.drift,
                "checks_compared": len(self.checks),
                "structures_compared": len(self.structures),
                "differences": [d.to_dict() for d in self.differences],
                "checks": [c.to_dict() for c in changed]}


@dataclass(frozen=True)
class ReportComparison:
    """One pair of reports: a case folder (``regress``) or the checked paths (``check``).

    ``differences`` holds what concerns the whole result (missing on one side, a case
    that could not be checked); ``provenance`` what changed in versions, hashes and
    settings (never drift: a changed protocol matters through the checks it changes).
    """

    key: str
    baseline_source: str
    cases: tuple[CaseComparison, ...] = ()
    differences: tuple[Difference, ...] = ()
    provenance: tuple[Difference, ...] = ()

    @property
    def drift(self) -> bool:
        return any(d.drift for d in self.differences) or any(c.drift for c in self.cases)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "baseline": self.baseline_source, "drift": self.drift,
                "differences": [d.to_dict() for d in self.differences],
                "provenance": [d.to_dict() for d in self.provenance],
                "cases": [c.to_dict() for c in self.cases]}


@dataclass(frozen=True)
class Comparison:
    """Everything compared, with the tolerances used."""

    reports: tuple[ReportComparison, ...]
    tolerances: Tolerances
    structures: bool = False
    baseline: str = ""

    @property
    def drift(self) -> bool:
        return any(r.drift for r in self.reports)

    @property
    def exit_code(self) -> int:
        """0 nothing drifted beyond tolerance, 1 otherwise."""
        return 1 if self.drift else 0

    def counts(self) -> dict[str, int]:
        cases = [c for r in self.reports for c in r.cases]
        return {
            "results": len(self.reports),
            "results_drifted": sum(r.drift for r in self.reports),
            "results_missing_or_unchecked": sum(any(d.drift for d in r.differences)
                                                for r in self.reports),
            "plans": len(cases),
            "plans_drifted": sum(c.drift for c in cases),
            "checks": sum(len(c.checks) for c in cases),
            "checks_drifted": sum(len(c.drifted_checks()) for c in cases),
            "verdict_changes": sum(1 for c in cases for d in c.differences
                                   if d.what == "verdict"),
            "within_tolerance": sum(1 for c in cases for k in (*c.checks, *c.structures)
                                    for d in k.differences if not d.drift),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"regress_schema_version": REGRESS_SCHEMA_VERSION,
                "drift": self.drift, "baseline": self.baseline, "counts": self.counts(),
                "tolerances": self.tolerances.to_dict(),
                "compare_structures": self.structures,
                "reports": [r.to_dict() for r in self.reports]}
