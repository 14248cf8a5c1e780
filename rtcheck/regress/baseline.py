"""Stored baselines: a plan-check JSON file, an audit result file, or a folder of either.

* ``FILE.json`` written by ``rtcheck check PLAN --json FILE`` (a schema-1.x
  :class:`~rtcheck.rules.result.CheckReport` dict), or one ``results/<case>.json`` of
  ``rtcheck audit`` (the report inside an audit envelope, keyed by its case folder).
* ``DIR``: the ``--out`` folder of ``rtcheck audit`` (its ``results/*.json``), or a
  folder of such JSON files.

Every file must be readable and of a known schema: a baseline that cannot be used is an
:class:`~rtcheck.errors.InputError` (exit 3) naming the file and what to do — a baseline
is never silently skipped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtcheck.audit.result_file import AUDIT_SCHEMA_VERSION, RESULTS_DIR
from rtcheck.errors import InputError
from rtcheck.regress.compare import Side, compare_sides, pair_cases, schema_problem
from rtcheck.regress.model import Comparison
from rtcheck.regress.tolerances import Tolerances

_STORE = ("store one with `rtcheck check PLAN --json FILE` or "
          "`rtcheck audit ROOT --protocol P --out DIR`")


@dataclass(frozen=True)
class BaselineEntry:
    """One stored result: a report (or an audit error), and the audit case key if any."""

    source: str
    key: str | None
    side: Side


@dataclass(frozen=True)
class Baseline:
    path: str
    entries: tuple[BaselineEntry, ...]

    def by_key(self) -> dict[str, BaselineEntry]:
        """Audit results by case key (``rtcheck regress``)."""
        return {e.key: e for e in self.entries if e.key is not None}


def read_entry(path: Path) -> BaselineEntry:
    """One baseline file; :class:`InputError` when it is not a usable result."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the baseline ({exc}); {_STORE}", path=path) from None
    if isinstance(doc, dict) and isinstance(doc.get("audit"), dict):
        return _audit_entry(path, doc)
    why = schema_problem(doc)
    if why:
        raise InputError(f"baseline: {why}", path=path)
    return BaselineEntry(str(path), None, Side(doc, source=str(path)))


def _audit_entry(path: Path, doc: dict[str, Any]) -> BaselineEntry:
    audit = doc["audit"]
    if str(audit.get("schema_version", "")).split(".")[0] != AUDIT_SCHEMA_VERSION.split(".")[0]:
        raise InputError(f"audit result schema_version {audit.get('schema_version')!r} cannot "
                         f"be compared by this rtcheck (reads {AUDIT_SCHEMA_VERSION}); run "
                         "the audit again with this rtcheck", path=path)
    if not isinstance(audit.get("case"), str):
        raise InputError("audit result without a case key; run the audit again", path=path)
    report = doc.get("report")
    if report is None:
        error = str(audit.get("error") or "could not be checked")
        return BaselineEntry(str(path), audit["case"], Side(None, error, str(path)))
    why = schema_problem(report)
    if why:
        raise InputError(f"baseline: {why}", path=path)
    return BaselineEntry(str(path), audit["case"], Side(report, source=str(path)))


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """A baseline file or folder (see the module docstring)."""
    base = Path(path)
    if base.is_file():
        return Baseline(str(base), (read_entry(base),))
    if not base.is_dir():
        raise InputError(f"no such baseline file or folder; {_STORE}", path=base)
    folder = base / RESULTS_DIR if (base / RESULTS_DIR).is_dir() else base
    files = sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))
    if not files:
        raise InputError(f"no baseline result (*.json) in {folder}; {_STORE}", path=base)
    return Baseline(str(base), tuple(read_entry(p) for p in files))


def _restricted(report: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    return {**report, "cases": cases}


def pairs_for_check(current: dict[str, Any], baseline: Baseline
                    ) -> list[tuple[str, Side | None, Side]]:
    """(key, baseline side, current side) for ``rtcheck check PLAN --baseline``.

    One baseline file: the whole result is compared (a plan missing on either side is
    drift). A folder: each plan checked now is paired (by plan UID, else label) with the
    stored result that holds it; baseline plans that were not checked now are ignored,
    and a plan no stored result holds is drift.
    """
    if len(baseline.entries) == 1:
        entry = baseline.entries[0]
        return [(entry.key or entry.source, entry.side, Side(current))]
    found: dict[int, list[dict[str, Any]]] = {}
    missing = []
    for case in current["cases"]:
        index = _holding(baseline, case)
        if index is None:
            missing.append(case)
        else:
            found.setdefault(index, []).append(case)
    out: list[tuple[str, Side | None, Side]] = []
    for index, cases in found.items():
        entry = baseline.entries[index]
        stored = entry.side.report or {}
        wanted = [b for b, c in pair_cases(stored.get("cases", []), cases)
                  if b is not None and c is not None]
        out.append((entry.key or entry.source,
                    Side(_restricted(stored, wanted), source=entry.source),
                    Side(_restricted(current, cases))))
    if missing:
        out.append(("(not in the baseline)", None, Side(_restricted(current, missing))))
    return out


def _holding(baseline: Baseline, case: dict[str, Any]) -> int | None:
    """The index of the stored result holding ``case``: by plan UID, else by label."""
    for field in ("plan_uid", "label"):
        value = case.get(field)
        if not value:
            continue
        for i, entry in enumerate(baseline.entries):
            stored = (entry.side.report or {}).get("cases", [])
            if any(c.get(field) == value for c in stored):
                return i
    return None


def compare_with_baseline(current: dict[str, Any], baseline: Baseline,
                          tolerances: Tolerances, *, structures: bool = False) -> Comparison:
    """``rtcheck check PLAN --baseline FILE|DIR``: the current result against the stored
    one(s), paired as :func:`pairs_for_check` says."""
    reports = tuple(compare_sides(key, base, cur, tolerances, structures=structures)
                    for key, base, cur in pairs_for_check(current, baseline))
    return Comparison(reports, tolerances, structures, baseline.path)
