"""``rtcheck audit``: check every case folder under ROOT, file one result each, summarise.

Order of work: discover the case folders (:mod:`rtcheck.audit.discover`); hash each
folder's files and the configuration (:mod:`rtcheck.audit.task`); with ``--resume``,
keep the results whose hashes match (an internal-error result is redone); run the rest
(:mod:`rtcheck.audit.backends`); write each result atomically as it arrives
(:mod:`rtcheck.audit.result_file`), anonymised first with ``--anonymize``
(:mod:`rtcheck.audit.anonymize`); build the summary from the result files
(:mod:`rtcheck.audit.summary`).

Never lose work: a result is renamed into place only when complete (a temporary file in
the same folder, fsync'ed); a killed audit leaves at most temporary files, which the next
run removes; ``--resume`` then redoes only the cases without a valid result.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rtcheck.audit.anonymize import Scrubber, keyed_hash
from rtcheck.audit.backends import backend
from rtcheck.audit.discover import CaseFolder, discover
from rtcheck.audit.progress import VERDICTS, Progress
from rtcheck.audit.result_file import (
    RESULTS_DIR,
    AuditRecord,
    read_record,
    result_name,
    write_record,
)
from rtcheck.audit.task import AuditConfig, AuditTask, config_sha256, input_sha256
from rtcheck.errors import UsageError

SUMMARY_FILES = ("summary.csv", "summary.json", "summary.html")
LOG_FILE = "audit.log"


@dataclass(frozen=True)
class AuditRun:
    """How to run an audit (besides the shared :class:`AuditConfig`)."""

    workers: int = 1
    scheduler: str | None = None
    site_level: int = 1
    resume: bool = False
    overwrite: bool = False
    anon_key: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AuditOutcome:
    """What an audit did: cases found, kept by ``--resume``, run; verdict counts."""

    out_dir: Path
    cases: int
    kept: int
    counts: dict[str, int]

    @property
    def exit_code(self) -> int:
        """3 when a case could not be checked, 1 when a plan fails or is incomplete, 0 when
        every plan passes."""
        if self.counts["ERROR"]:
            return 3
        return 1 if self.counts["FAIL"] or self.counts["INCOMPLETE"] else 0


def _prepare_out(out: Path, run: AuditRun) -> Path:
    results = out / RESULTS_DIR
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    existing = list(results.glob("*.json")) if results.is_dir() else []
    if existing and not (run.resume or run.overwrite):
        raise UsageError(f"--out {out} already holds {len(existing)} audit result(s); give "
                         "--resume to continue that audit or --overwrite to start again")
    results.mkdir(parents=True, exist_ok=True)
    for stale in results.glob(".*.tmp"):  # left by a killed audit: never a finished result
        stale.unlink()
    for stale in out.glob(".*.tmp"):
        stale.unlink()
    if run.overwrite and not run.resume:
        for old in existing:
            old.unlink()
    return results


def _tasks(cases: tuple[CaseFolder, ...], config: AuditConfig, run: AuditRun
           ) -> list[AuditTask]:
    out = []
    for case in cases:
        aliases = config.aliases_for(case.site)
        anon = keyed_hash(run.anon_key, case.key) if run.anon_key else None
        out.append(AuditTask(case, config, aliases, result_name(case.key, anonymized_key=anon),
                             input_sha256(case.folder), config_sha256(config, aliases)))
    return out


def _kept(task: AuditTask, results: Path) -> AuditRecord | None:
    """The existing result of a task when ``--resume`` may keep it."""
    record = read_record(results / task.result_name)
    if record is None or record.audit.get("error_kind") == "internal":
        return None
    same = (record.audit.get("input_sha256") == task.input_sha256
            and record.audit.get("config_sha256") == task.config_sha256)
    return record if same else None


def _remove_orphans(results: Path, names: set[str], progress: Progress) -> None:
    orphans = [p for p in results.glob("*.json") if p.name not in names]
    for path in orphans:
        path.unlink()
    if orphans:
        progress.log(f"removed {len(orphans)} result(s) of folders no longer under ROOT")


def _scrubbed(outcomes: Iterator[tuple[AuditTask, AuditRecord, frozenset[str]]],
              key: bytes | None) -> Iterator[tuple[AuditTask, AuditRecord]]:
    for task, record, identifiers in outcomes:
        if key is None:
            yield task, record
            continue
        scrub = Scrubber(key, identifiers)
        yield task, AuditRecord(scrub.data(record.audit), scrub.data(record.report))


def run_audit(root: str | os.PathLike[str], out: str | os.PathLike[str],
              config: AuditConfig, run: AuditRun, stream: IO[str] | None = None,
              bar: bool | None = None) -> AuditOutcome:
    """Audit every case folder under ``root`` into ``out``; see the module docstring."""
    from rtcheck.audit.summary import write_summary

    if config.anonymize and run.anon_key is None:
        raise UsageError("--anonymize needs a key (see rtcheck audit --help)")
    cases = discover(root, run.site_level)
    if not cases:
        raise UsageError(f"{root}: no DICOM files found in it or below it")
    out_dir = Path(out)
    results = _prepare_out(out_dir, run)
    tasks = _tasks(cases, config, run)
    kept = {t.result_name: r for t in tasks if run.resume and (r := _kept(t, results))}
    todo = [t for t in tasks if t.result_name not in kept]
    progress = Progress(len(tasks), len(kept), out_dir / LOG_FILE, stream, bar)
    try:
        progress.log(f"audit of {root}: {len(tasks)} case folder(s), {len(kept)} kept from "
                     f"an earlier run, {len(todo)} to check")
        _remove_orphans(results, {t.result_name for t in tasks}, progress)
        for record in kept.values():
            progress.count_existing(record)
        for task, record in _scrubbed(backend(run.workers, run.scheduler)(todo), run.anon_key):
            write_record(results, task.result_name, record)
            progress.finished(record)
        write_summary(out_dir)
        progress.log(f"done: {progress.count_text()}")
    except KeyboardInterrupt:
        progress.log(f"interrupted after {progress.done} of {len(tasks)} case(s); every "
                     "finished result is kept: rerun with --resume to finish the audit")
        raise
    finally:
        progress.close()
    return AuditOutcome(out_dir, len(tasks), len(kept), dict(progress.counts))


__all__ = ["VERDICTS", "AuditOutcome", "AuditRun", "run_audit"]
