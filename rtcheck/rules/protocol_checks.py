"""What a protocol or library YAML must satisfy beyond its JSON Schema.

Units against metrics (a Gy metric needs a Gy limit; units are never converted), the
metric grammar, quantities with units, unique check ids and an existing default arm.
They run on data that may have failed the schema, so entries of the wrong shape are
skipped here (the schema has reported them). Used by :mod:`rtcheck.rules.protocol`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rtcheck.dose.metric_spec import parse_metric
from rtcheck.errors import MetricSpecError
from rtcheck.regress.tolerances import parse_tolerance
from rtcheck.rules.quantity import check_limit_unit, parse_quantity
from rtcheck.rules.yaml_source import SchemaProblem, YamlDocument


# ------------------------------------------------------------------ extra checks
def _metric_problems(doc: YamlDocument, path: tuple[str | int, ...], metric: object,
                     limits: Iterable[tuple[tuple[str | int, ...], object]]
                     ) -> Iterator[SchemaProblem]:
    try:
        spec = parse_metric(str(metric))
    except MetricSpecError as exc:
        yield SchemaProblem((*path, "metric"), str(exc))
        return
    for lpath, raw in limits:
        try:
            q = parse_quantity(raw)
        except ValueError as exc:
            yield SchemaProblem(lpath, str(exc))
            continue
        why = check_limit_unit(q, spec)
        if why:
            yield SchemaProblem(lpath, why)


def _limit_items(path: tuple[str | int, ...], value: object
                 ) -> list[tuple[tuple[str | int, ...], object]]:
    if isinstance(value, dict):
        return [((*path, k), v) for k, v in value.items()]
    return [(path, value)]


def _quantity_problem(path: tuple[str | int, ...], raw: object, unit: str | tuple[str, ...]
                      ) -> Iterator[SchemaProblem]:
    units = (unit,) if isinstance(unit, str) else unit
    try:
        q = parse_quantity(raw)
    except ValueError as exc:
        yield SchemaProblem(path, str(exc))
        return
    if q.unit not in units:
        yield SchemaProblem(path, f"'{raw}' must be in {' or '.join(units)}")


def protocol_problems(doc: YamlDocument) -> Iterator[SchemaProblem]:
    # Runs also on data that fails the schema: entries of the wrong shape are skipped
    # here (the schema has reported them), never indexed blindly.
    data = doc.data
    arms = data.get("arms", {})
    if not isinstance(arms, dict):
        return
    if data.get("default_arm") not in arms:
        yield SchemaProblem(("default_arm",), f"no arm {data.get('default_arm')!r}; arms: "
                            + ", ".join(map(str, arms)))
    yield from _tolerance_problems(data.get("regression_tolerances"))
    seen: dict[str, tuple[str | int, ...]] = {}
    for arm_id, arm in arms.items():
        if not isinstance(arm, dict):
            continue
        base: tuple[str | int, ...] = ("arms", arm_id)
        rx = arm.get("prescription")
        if isinstance(rx, dict) and "dose" in rx:
            yield from _quantity_problem((*base, "prescription", "dose"), rx["dose"], "Gy")
        checks = arm.get("checks", [])
        for i, check in enumerate(checks if isinstance(checks, list) else []):
            if not isinstance(check, dict):
                continue
            path = (*base, "checks", i)
            if "id" in check:
                cid = f"{arm_id}.{check['id']}"
                if cid in seen:
                    yield SchemaProblem((*path, "id"), f"duplicate check id {check['id']!r}")
                seen[cid] = path
            yield from _check_problems(doc, path, check)


def _tolerance_problems(tolerances: object) -> Iterator[SchemaProblem]:
    """Each ``regression_tolerances`` value must be a tolerance (``0.01``, ``"0.5%"``...)."""
    for kind, value in (tolerances.items() if isinstance(tolerances, dict) else ()):
        try:
            parse_tolerance(value)
        except ValueError as exc:
            yield SchemaProblem(("regression_tolerances", kind), str(exc))


def _check_problems(doc: YamlDocument, path: tuple[str | int, ...], check: dict[str, Any]
                    ) -> Iterator[SchemaProblem]:
    kind = check.get("kind")
    if kind == "dvh":
        if "metric" not in check or "limit" not in check:
            return
        items = _limit_items((*path, "limit"), check["limit"])
        if "minor_deviation" in check:
            items += _limit_items((*path, "minor_deviation"), check["minor_deviation"])
        yield from _metric_problems(doc, path, check["metric"], items)
    elif kind == "prescription_bed" and "limit" in check:
        yield from _quantity_problem((*path, "limit"), check["limit"], "Gy")
    elif kind == "max_dose":
        for key in ("min", "max"):
            if key in check:
                yield from _quantity_problem((*path, key), check[key], ("%", "Gy"))
        yield from _same_unit(path, check, "min", "max")
    elif kind == "fraction_spacing":
        for key in ("min_gap", "max_gap"):
            if key in check:
                yield from _quantity_problem((*path, key), check[key], "h")


def _same_unit(path: tuple[str | int, ...], check: dict[str, Any], low: str, high: str
               ) -> Iterator[SchemaProblem]:
    """``low`` and ``high`` in one unit: a range is never compared across units."""
    try:
        lo, hi = parse_quantity(check[low]), parse_quantity(check[high])
    except (KeyError, ValueError):
        return  # missing or unparsable: reported by the schema or _quantity_problem
    if lo.unit != hi.unit:
        yield SchemaProblem((*path, high), f"'{hi.raw}' is in {hi.unit} but {low} '{lo.raw}' "
                            f"is in {lo.unit}: write both in the same unit (units are never "
                            "converted)")


def library_problems(doc: YamlDocument) -> Iterator[SchemaProblem]:
    rows = doc.data.get("rows", [])
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        limits = row.get("limits", []) if isinstance(row, dict) else []
        for j, lim in enumerate(limits if isinstance(limits, list) else []):
            if not isinstance(lim, dict) or "metric" not in lim or "limit" not in lim:
                continue
            path: tuple[str | int, ...] = ("rows", i, "limits", j)
            yield from _metric_problems(doc, path, lim["metric"],
                                        _limit_items((*path, "limit"), lim["limit"]))
