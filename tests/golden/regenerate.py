#!/usr/bin/env python
"""Regenerate (or compare) the golden plan-check reports in ``tests/golden/check/``.

Usage, from the repository root::

    .venv/bin/python tests/golden/regenerate.py               # rewrite every golden file
    .venv/bin/python tests/golden/regenerate.py spine_sbrt    # only the cases named
    .venv/bin/python tests/golden/regenerate.py --check       # compare only (exit 1 on a diff)

For every synthetic case ``fixtures/<case>/`` (see ``fixtures/README.md``) it does what
``rtcheck check fixtures/<case>`` does — load the folder, read the ``rtcheck.yaml`` beside
the plan (protocol, arm, site, aliases), run :func:`rtcheck.rules.engine.check_load` —
and writes ``report.to_dict()`` as ``tests/golden/check/<case>.json``, normalised so
that the file does not depend on the machine, the time or the checkout:

* ``provenance.created_utc``, ``provenance.rtcheck_version`` and
  ``provenance.python_version`` are replaced by fixed placeholders;
* absolute paths below the repository root are made relative to it (``fixtures/...``,
  ``constraints/medcare.yaml``), with ``/`` separators;
* DVH curves (``cases[].structures[].curve``) are dropped, to keep the files small: the
  key stays, as ``null``, so that a golden file is still a valid schema-1.1 report
  (``CheckReport.from_dict`` reads it).

Everything else is kept as the result model writes it (numbers already rounded to 4
decimals). ``tests/test_check_golden.py`` recomputes every report and compares it field
by field with these files (floats within 1e-3, everything else exactly).

When to regenerate: after an *intended* change of the result (engine, evaluation, DVH
settings, ``constraints/*.yaml`` — the protocol's sha256 is part of the golden — or the
fixtures). Review ``git diff tests/golden/check`` before committing it: every changed
number there is a changed plan-check result.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
GOLDEN_DIR = Path(__file__).resolve().parent / "check"

#: every synthetic case folder, in the order of fixtures/README.md
CASES = ("spine_sbrt", "pelvic_node_sbrt", "spine_cord_overdose", "spine_ptv_undercoverage",
         "spine_consecutive_days", "spine_grid_misses_oar", "spine_beam_doses")

PLACEHOLDERS = {"created_utc": "<created_utc>", "rtcheck_version": "<rtcheck_version>",
                "python_version": "<python_version>"}

#: absolute tolerance for floats when comparing with a golden file
FLOAT_TOL = 1e-3


def golden_path(case: str) -> Path:
    return GOLDEN_DIR / f"{case}.json"


def report_for(folder: str | Path) -> Any:
    """The :class:`~rtcheck.rules.result.CheckReport` of ``folder`` with the options of its
    ``rtcheck.yaml``, as ``rtcheck check FOLDER`` (no other option) computes it."""
    from rtcheck.dicom.loader import load
    from rtcheck.rules.engine import check_load
    from rtcheck.rules.matching import AliasTable
    from rtcheck.rules.options import CheckOptions
    from rtcheck.rules.plan_config import find_plan_config
    from rtcheck.rules.protocol import DEFAULT_PROTOCOL, load_protocol

    paths = [str(folder)]
    cfg = find_plan_config(paths)
    protocol = load_protocol(cfg.protocol or DEFAULT_PROTOCOL)
    options = CheckOptions(arm=cfg.arm, site=cfg.site,
                           alias_table=AliasTable.load(cfg.aliases) if cfg.aliases else None)
    extra = tuple(p for p in (cfg.aliases, cfg.path or None) if p)
    return check_load(load(paths), protocol, options, extra)


def _relative(text: str) -> str:
    root = str(REPO)
    if text == root:
        return "."
    if root + os.sep in text:
        text = text.replace(root + os.sep, "")
        if os.sep != "/":
            text = text.replace(os.sep, "/")
    return text


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v) for v in value]
    if isinstance(value, str):
        return _relative(value)
    return value


def normalise(report_dict: dict[str, Any]) -> dict[str, Any]:
    """A report dict (``CheckReport.to_dict()`` or the CLI's JSON) in golden form."""
    d = _walk(json.loads(json.dumps(report_dict)))  # deep copy, JSON types only
    prov = d.get("provenance", {})
    for key, placeholder in PLACEHOLDERS.items():
        if key in prov:
            prov[key] = placeholder
    for case in d.get("cases", []):
        for s in case.get("structures", []):
            if "curve" in s:
                s["curve"] = None
    return d


def golden_dict(case: str) -> dict[str, Any]:
    """The normalised report of ``fixtures/<case>`` as computed now."""
    return normalise(report_for(FIXTURES / case).to_dict())


def _label(i: int, item: Any) -> str:
    if isinstance(item, dict):
        for key in ("id", "name", "path", "code"):
            if isinstance(item.get(key), str):
                return f"[{i} {key}={item[key]}]"
    return f"[{i}]"


def differences(expected: Any, actual: Any, path: str = "$",
                tol: float = FLOAT_TOL) -> list[str]:
    """Every difference between two JSON values, one line each: the JSON path, the
    expected and the actual value. Floats (either side a non-integral number) within
    ``tol``; everything else (strings, ints, bools, nulls, keys, lengths) exactly."""
    out: list[str] = []
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in expected:
            if k not in actual:
                out.append(f"{path}.{k}: expected {expected[k]!r}, missing in actual")
        for k in actual:
            if k not in expected:
                out.append(f"{path}.{k}: not in the golden file, actual {actual[k]!r}")
        for k in expected:
            if k in actual:
                out += differences(expected[k], actual[k], f"{path}.{k}", tol)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            out.append(f"{path}: expected {len(expected)} items, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out += differences(e, a, f"{path}{_label(i, e)}", tol)
        return out
    numbers = (int, float)
    if (isinstance(expected, numbers) and isinstance(actual, numbers)
            and not isinstance(expected, bool) and not isinstance(actual, bool)
            and (isinstance(expected, float) or isinstance(actual, float))):
        if not math.isclose(expected, actual, rel_tol=0.0, abs_tol=tol):
            out.append(f"{path}: expected {expected!r}, got {actual!r} (tolerance {tol})")
        return out
    if type(expected) is not type(actual) or expected != actual:
        out.append(f"{path}: expected {expected!r}, got {actual!r}")
    return out


def dump(d: dict[str, Any]) -> str:
    return json.dumps(d, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help=f"cases to do (default: all of {CASES})")
    parser.add_argument("--check", action="store_true",
                        help="compare with the golden files instead of writing them")
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; cases: {', '.join(CASES)}")
    status = 0
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for case in args.cases or CASES:
        d = golden_dict(case)
        target = golden_path(case)
        if args.check:
            if not target.is_file():
                print(f"{target.relative_to(REPO)}: missing")
                status = 1
                continue
            diff = differences(json.loads(target.read_text(encoding="utf-8")), d)
            print(f"{case}: {'OK' if not diff else f'{len(diff)} difference(s)'}")
            for line in diff:
                print(f"  {line}")
            status |= bool(diff)
        else:
            target.write_text(dump(d), encoding="utf-8", newline="\n")
            print(f"{target.relative_to(REPO)}: {d['verdict']} "
                  f"({len(target.read_bytes())} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main())
