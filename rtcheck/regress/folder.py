"""``rtcheck regress ROOT --baseline DIR``: a folder of sample plans against stored results.

Every case folder under ROOT is found and checked exactly as ``rtcheck audit`` checks it
(:func:`rtcheck.audit.discover.discover`, the audit's tasks and workers: the same
protocol, per-case ``rtcheck.yaml``, alias files and options), and its result is compared
with the baseline result of the same case key — the natural baseline is the ``--out``
folder of ``rtcheck audit ROOT --protocol P --out DIR``. A case on one side only is
drift; a case that cannot be checked now drifts unless it could not be checked in the
baseline either (an error result).
Nothing is written: store a new baseline by running the audit again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rtcheck.audit.discover import discover
from rtcheck.audit.result_file import result_name
from rtcheck.audit.task import AuditConfig, AuditTask, config_sha256, input_sha256
from rtcheck.errors import InputError, UsageError
from rtcheck.regress.baseline import Baseline, load_baseline
from rtcheck.regress.compare import Side, compare_sides
from rtcheck.regress.model import Comparison
from rtcheck.regress.tolerances import Tolerances


@dataclass(frozen=True)
class RegressRun:
    """How to run the current checks."""

    workers: int = 1
    site_level: int = 1
    structures: bool = False


def audit_baseline(path: str | os.PathLike[str]) -> Baseline:
    """A baseline of audit results (keyed by case folder); :class:`InputError` otherwise."""
    baseline = load_baseline(path)
    unkeyed = [e.source for e in baseline.entries if e.key is None]
    if unkeyed:
        raise InputError(f"{unkeyed[0]} is a plan-check result, not an audit result: "
                         "rtcheck regress compares case folders by their key; store the "
                         "baseline with `rtcheck audit ROOT --protocol P --out DIR` (or "
                         "compare one plan with `rtcheck check PLAN --baseline FILE`)",
                         path=str(path))
    return baseline


def _tasks(root: str, config: AuditConfig, site_level: int) -> list[AuditTask]:
    cases = discover(root, site_level)
    if not cases:
        raise UsageError(f"{root}: no DICOM files found in it or below it")
    out = []
    for case in cases:
        aliases = config.aliases_for(case.site)
        out.append(AuditTask(case, config, aliases, result_name(case.key),
                             input_sha256(case.folder), config_sha256(config, aliases)))
    return out


def current_results(root: str, config: AuditConfig, run: RegressRun) -> dict[str, Side]:
    """Check every case folder under ``root`` as the audit does; results by case key."""
    from rtcheck.audit.backends import backend

    tasks = _tasks(root, config, run.site_level)
    out = {}
    for task, record, _ in backend(run.workers)(tasks):
        error = None if record.report is not None else str(record.audit.get("error"))
        out[task.case.key] = Side(record.report, error, task.case.folder)
    return dict(sorted(out.items()))


def run_regress(root: str | os.PathLike[str], baseline_path: str | os.PathLike[str],
                config: AuditConfig, tolerances: Tolerances, run: RegressRun) -> Comparison:
    """Check ROOT's case folders and compare each with its stored result."""
    baseline = audit_baseline(baseline_path)  # an unusable baseline fails before any work
    current = current_results(os.path.abspath(root), config, run)
    stored = {k: e.side for k, e in baseline.by_key().items()}
    reports = tuple(
        compare_sides(key, stored.get(key), current.get(key), tolerances,
                      structures=run.structures, prefix=key)
        for key in sorted(set(current) | set(stored)))
    return Comparison(reports, tolerances, run.structures, str(baseline_path))
