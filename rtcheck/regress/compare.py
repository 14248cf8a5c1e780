"""Compare a plan-check result with a stored one (the baseline).

Both sides are the versioned JSON of the plan check
(:meth:`rtcheck.rules.result.CheckReport.to_dict`, schema 1.x): what ``rtcheck check
PLAN --json FILE`` writes and what ``rtcheck audit`` stores in each result file.

* **Plans** are paired by plan UID, else by case label; a plan on one side only is drift.
* **Verdict**: any change is drift.
* **Checks** are paired by id and structure; a check on one side only is drift. For each:
  a status change, a changed limit, minor-deviation limit, comparison, unit, tier,
  priority, metric or matched ROI is drift; the value (and the bounds of a partial
  structure) drifts only beyond the tolerance of its kind
  (:mod:`rtcheck.regress.tolerances`); a change within it is listed, not counted.
* **Structures** (optional): state, volume and min/mean/max dose of each structure.
* **Provenance** (rtcheck and Python version, protocol and library hashes, input file
  hashes by file name, DVH settings, options) is listed as information, never drift: a
  changed protocol matters through the checks it changes. A changed DVH geometry model
  carries a note: the DVH numbers then differ by the model, not only by the plan.

A result of another major schema version cannot be compared:
:class:`~rtcheck.errors.InputError` says so (exit 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

from rtcheck.errors import InputError
from rtcheck.regress.model import (
    CaseComparison,
    CheckComparison,
    Comparison,
    Difference,
    ReportComparison,
)
from rtcheck.regress.tolerances import Tolerances, value_kind
from rtcheck.rules.result import SCHEMA_VERSION

_EPS = 1e-9
#: check fields that drift on any change, in display order after status and value
_EXACT = ("comparison", "unit", "tier", "priority", "metric", "roi")
_LIMITS = ("limit", "minor_limit")
_BOUNDS = ("lower_bound", "upper_bound")
#: structure summary fields and their tolerance kind (None: exact)
_STRUCTURE_FIELDS = (("state", None), ("volume_cc", "cc"), ("in_grid_volume_cc", "cc"),
                     ("min_gy", "Gy"), ("mean_gy", "Gy"), ("max_gy", "Gy"),
                     ("grid_boundary_gy", "Gy"))


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a report, or the one-line error of a case that could not
    be checked (an audit error result); ``source`` names where it came from."""

    report: dict[str, Any] | None
    error: str | None = None
    source: str = ""


def schema_problem(report: object) -> str | None:
    """Why ``report`` is not a comparable plan-check result, or ``None``."""
    if not isinstance(report, dict) or not isinstance(report.get("cases"), list):
        return "not a plan-check result (rtcheck check --json FILE writes one)"
    version = str(report.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        return (f"result schema_version {report.get('schema_version')!r} cannot be compared "
                f"by this rtcheck (reads {SCHEMA_VERSION}); store the baseline again with "
                "this rtcheck")
    return None


def _require_schema(report: dict[str, Any], what: str) -> None:
    why = schema_problem(report)
    if why:
        raise InputError(f"{what}: {why}")


# ------------------------------------------------------------------ numbers
def _number(what: str, base: Any, cur: Any, kind: str | None,
            tolerances: Tolerances) -> Difference | None:
    """The difference of two numbers (either may be ``None``), or ``None`` if equal."""
    if base is None or cur is None:
        return None if base is cur else Difference(what, base, cur)
    delta = float(cur) - float(base)
    if kind is None:
        return Difference(what, base, cur, delta=delta) if abs(delta) > _EPS else None
    if delta == 0:
        return None
    tol = tolerances[kind]
    return Difference(what, base, cur, drift=tol.exceeded(float(base), float(cur)), kind=kind,
                      delta=delta, allowed=tol.allowed(float(base)))


# ------------------------------------------------------------------ checks
def check_differences(base: Mapping[str, Any], cur: Mapping[str, Any],
                      tolerances: Tolerances) -> tuple[Difference, ...]:
    """Every difference of one check (both sides ``CheckResult.to_dict()``)."""
    out: list[Difference] = []
    if base["status"] != cur["status"]:
        out.append(Difference("status", base["status"], cur["status"]))
    kind = value_kind(base.get("unit"), base.get("metric"), base.get("kind"))
    same_unit = base.get("unit") == cur.get("unit")
    for field in ("value", *_BOUNDS):
        d = _number(field, base.get(field), cur.get(field), kind, tolerances)
        if d is not None and not same_unit:
            d = Difference(field, d.baseline, d.current, note="the unit changed")
        if d is not None:
            out.append(d)
    for field in _LIMITS:
        d = _number(field, base.get(field), cur.get(field), None, tolerances)
        if d is not None:
            out.append(d)
    out += [Difference(field, base.get(field), cur.get(field)) for field in _EXACT
            if base.get(field) != cur.get(field)]
    return tuple(out)


def _keyed(items: Iterable[Mapping[str, Any]], *fields: str
           ) -> dict[tuple[Any, ...], Mapping[str, Any]]:
    """Items by ``fields`` plus an ordinal, so that repeated keys pair in order."""
    out: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    seen: dict[tuple[Any, ...], int] = {}
    for item in items:
        key = tuple(item.get(f) for f in fields)
        seen[key] = seen.get(key, 0) + 1
        out[(*key, seen[key])] = item
    return out


def compare_checks(base_checks: Iterable[Mapping[str, Any]],
                   cur_checks: Iterable[Mapping[str, Any]],
                   tolerances: Tolerances) -> tuple[CheckComparison, ...]:
    """One :class:`CheckComparison` per check of either side (current order, then the
    checks only the baseline has)."""
    base = _keyed(base_checks, "id", "structure")
    cur = _keyed(cur_checks, "id", "structure")
    out = []
    for key, c in cur.items():
        b = base.get(key)
        diffs = (check_differences(b, c, tolerances) if b is not None else
                 (Difference("check", None, c["status"], note="not in the baseline"),))
        out.append(CheckComparison(c["id"], c.get("structure"), c.get("unit"), diffs))
    for key, b in base.items():
        if key not in cur:
            out.append(CheckComparison(b["id"], b.get("structure"), b.get("unit"), (
                Difference("check", b["status"], None, note="no longer in the result"),)))
    return tuple(out)


def compare_structures(base: Iterable[Mapping[str, Any]], cur: Iterable[Mapping[str, Any]],
                       tolerances: Tolerances) -> tuple[CheckComparison, ...]:
    """The structures' summary numbers (``--compare-structures``)."""
    b_by = {s["name"]: s for s in base}
    c_by = {s["name"]: s for s in cur}
    out = []
    for name in [*c_by, *(n for n in b_by if n not in c_by)]:
        b, c = b_by.get(name), c_by.get(name)
        if b is None or c is None:
            diffs: tuple[Difference, ...] = (Difference(
                "structure", b and b["state"], c and c["state"],
                note="not in the baseline" if b is None else "no longer in the result"),)
        else:
            found: list[Difference | None] = [
                _number(f, b.get(f), c.get(f), kind, tolerances) if kind else
                Difference(f, b.get(f), c.get(f)) if b.get(f) != c.get(f) else None
                for f, kind in _STRUCTURE_FIELDS]
            diffs = tuple(d for d in found if d is not None)
        out.append(CheckComparison("structures", name, None, diffs))
    return tuple(out)


# ------------------------------------------------------------------ cases
def pair_cases(base_cases: list[dict[str, Any]], cur_cases: list[dict[str, Any]]
               ) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """(baseline, current) pairs: by plan UID, else by label; unpaired ones alone."""
    left = list(base_cases)
    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    unmatched = []
    for c in cur_cases:
        b = next((b for b in left if c.get("plan_uid") and b.get("plan_uid") == c["plan_uid"]),
                 None)
        if b is None:
            unmatched.append(c)
            continue
        left.remove(b)
        pairs.append((b, c))
    for c in unmatched:
        b = next((b for b in left if b.get("label") == c.get("label")), None)
        if b is not None:
            left.remove(b)
        pairs.append((b, c))
    return pairs + [(b, None) for b in left]


def _either(base: dict[str, Any] | None, cur: dict[str, Any] | None) -> dict[str, Any]:
    found = cur if cur is not None else base
    assert found is not None
    return found


def _case_name(prefix: str, case: Mapping[str, Any], single: bool) -> str:
    if not prefix:
        return str(case.get("label"))
    return prefix if single else f"{prefix}:{case.get('label')}"


def compare_case(name: str, base: dict[str, Any] | None, cur: dict[str, Any] | None,
                 tolerances: Tolerances, structures: bool = False) -> CaseComparison:
    """One plan on both sides (either may be missing)."""
    one = _either(base, cur)
    b_verdict = None if base is None else str(base["verdict"])
    c_verdict = None if cur is None else str(cur["verdict"])
    uid, folder = one.get("plan_uid"), str(one.get("folder", ""))
    if base is None or cur is None:
        note = "not in the baseline" if base is None else "no longer in the result"
        return CaseComparison(name, uid, folder, b_verdict, c_verdict,
                              (Difference("case", b_verdict, c_verdict, note=note),))
    diffs = () if b_verdict == c_verdict else (Difference("verdict", b_verdict, c_verdict),)
    return CaseComparison(
        name, uid, folder, b_verdict, c_verdict, diffs,
        compare_checks(base["checks"], cur["checks"], tolerances),
        compare_structures(base.get("structures", []), cur.get("structures", []),
                           tolerances) if structures else ())


# ------------------------------------------------------------------ provenance
def _files(entries: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """path → sha256 keyed by file name (by path when two files share a name)."""
    items = [(e["path"], e["sha256"]) for e in entries]
    names = [PurePath(p).name for p, _ in items]
    return {(n if names.count(n) == 1 else p): h for n, (p, h) in zip(names, items,
                                                                      strict=True)}


def _mapping_diffs(prefix: str, base: Mapping[str, Any], cur: Mapping[str, Any]
                   ) -> list[Difference]:
    return [Difference(f"{prefix}.{k}", base.get(k), cur.get(k), drift=False)
            for k in [*cur, *(k for k in base if k not in cur)] if base.get(k) != cur.get(k)]


def provenance_differences(base: Mapping[str, Any], cur: Mapping[str, Any]
                           ) -> tuple[Difference, ...]:
    """What changed in versions, hashes and settings (information, ``drift=False``)."""
    bp, cp = base.get("provenance", {}), cur.get("provenance", {})
    out = [Difference(f"provenance.{k}", bp.get(k), cp.get(k), drift=False)
           for k in ("rtcheck_version", "python_version") if bp.get(k) != cp.get(k)]
    bproto, cproto = bp.get("protocol", {}), cp.get("protocol", {})
    if bproto.get("sha256") != cproto.get("sha256"):
        out.append(Difference("provenance.protocol.sha256", bproto.get("sha256"),
                              cproto.get("sha256"), drift=False,
                              note=f"{bproto.get('path')} → {cproto.get('path')}"))
    out += _mapping_diffs("protocol", base.get("protocol", {}), cur.get("protocol", {}))
    out += _mapping_diffs("provenance.libraries", _files(bp.get("libraries", [])),
                          _files(cp.get("libraries", [])))
    out += _mapping_diffs("provenance.inputs", _files(bp.get("inputs", [])),
                          _files(cp.get("inputs", [])))
    # a result of schema 1.0 has no geometry: it was computed with the staircase
    settings = [{"geometry": "stacked", **p.get("dvh_settings", {})} if p.get("dvh_settings")
                else {} for p in (bp, cp)]
    out += [_with_geometry_note(d)
            for d in _mapping_diffs("provenance.dvh_settings", *settings)]
    out += _mapping_diffs("provenance.options", *_known_options(bp, cp))
    return tuple(out)


#: the provenance difference of the DVH geometry model (issue #12)
GEOMETRY_CHANGE = "provenance.dvh_settings.geometry"


def geometry_note(baseline: object, current: object) -> str:
    """What a change of the DVH geometry model means for the comparison, and what to do."""
    return (f"the DVH geometry model changed (baseline {baseline}, now {current}): DVH "
            "numbers differ by the model, not only by the plan; rerun with --geometry "
            f"{baseline} to compare like with like, or record a new baseline with "
            f"--geometry {current}")


def _with_geometry_note(d: Difference) -> Difference:
    """A change of the geometry model with :func:`geometry_note` (still ``drift=False``:
    provenance never drifts; the checks it moves do, beyond their tolerance)."""
    if d.what != GEOMETRY_CHANGE or d.baseline is None or d.current is None:
        return d
    return replace(d, note=geometry_note(d.baseline, d.current))


def _known_options(bp: Mapping[str, Any], cp: Mapping[str, Any]
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides' options, without ``geometry_source`` unless both record it: a result
    written before it was recorded does not say where its model came from (the model
    itself is compared in ``dvh_settings``)."""
    sides = [dict(p.get("options", {})) for p in (bp, cp)]
    if not all("geometry_source" in o for o in sides):
        for o in sides:
            o.pop("geometry_source", None)
    return sides[0], sides[1]


# ------------------------------------------------------------------ reports
def _error_differences(base: Side, cur: Side) -> tuple[Difference, ...]:
    """A case that could not be checked drifts unless it could not be checked in the
    baseline either (its message may differ: paths and wording are not compared)."""
    if base.error is not None and cur.error is not None:
        return (Difference("result", base.error, cur.error, drift=False,
                           note="could not be checked, as in the baseline"),)
    return (Difference("result", base.error or "checked", cur.error or "checked",
                       note="could not be checked"),)


def compare_sides(key: str, base: Side | None, cur: Side | None, tolerances: Tolerances,
                  *, structures: bool = False, prefix: str = "") -> ReportComparison:
    """One pair of results (either may be missing or an error result)."""
    source = base.source if base else ""
    if base is None or cur is None:
        only = cur if base is None else base
        assert only is not None
        note = "not in the baseline" if base is None else "no longer in the result"
        diff = Difference("result", None if base is None else "present",
                          None if cur is None else "present", note=note)
        cases = (only.report or {}).get("cases", [])
        return ReportComparison(key, source, tuple(
            compare_case(_case_name(prefix, c, len(cases) == 1), None if base is None else c,
                         c if base is None else None, tolerances) for c in cases), (diff,))
    if base.report is None or cur.report is None:
        return ReportComparison(key, source, (), _error_differences(base, cur))
    _require_schema(base.report, f"baseline {base.source or key}")
    _require_schema(cur.report, f"current result {key}")
    pairs = pair_cases(base.report["cases"], cur.report["cases"])
    cases = tuple(compare_case(_case_name(prefix, _either(b, c), len(pairs) == 1), b, c,
                               tolerances, structures) for b, c in pairs)
    return ReportComparison(key, source, cases, (),
                            provenance_differences(base.report, cur.report))


def compare_reports(current: dict[str, Any], baseline: dict[str, Any],
                    tolerances: Tolerances | None = None, *, structures: bool = False,
                    key: str = "", baseline_source: str = "") -> Comparison:
    """Compare one plan-check result (``CheckReport.to_dict()``) with its baseline.

    Raises :class:`~rtcheck.errors.InputError` when either is not a schema-1.x result.
    """
    tol = tolerances or Tolerances()
    report = compare_sides(key, Side(baseline, source=baseline_source), Side(current), tol,
                           structures=structures)
    return Comparison((report,), tol, structures, baseline_source)
