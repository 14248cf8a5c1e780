"""``rtcheck audit``: check every case folder under ROOT, file one result each, summarise.

Order of work: discover the case folders (:mod:`rtcheck.audit.discover`) and check the
alias files against them (:mod:`rtcheck.audit.sites`); take the lock of ``--out``
(:mod:`rtcheck.audit.lock`); check ``--resume`` against the folder's manifest
(:mod:`rtcheck.audit.manifest`) and its results; hash each folder's files and the
configuration (:mod:`rtcheck.audit.task`); with ``--resume``, keep the results whose
hashes match (an internal-error result is redone) and move aside the results of folders
no longer found; run the rest (:mod:`rtcheck.audit.backends`); write each result
atomically as it arrives (:mod:`rtcheck.audit.result_file`), anonymised first with
``--anonymize`` (:mod:`rtcheck.audit.anonymize`); build the summary from the result
files (:mod:`rtcheck.audit.summary`).

Never lose work: a result is renamed into place only when complete (a temporary file in
the same folder, fsync'ed); a killed audit leaves at most temporary files, which the next
run removes; ``--resume`` then redoes only the cases without a valid result, and never
deletes a result (see :func:`rtcheck.audit.result_file.move_orphans`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rtcheck import __version__
from rtcheck.audit.anonymize import Scrubber, keyed_hash
from rtcheck.audit.backends import Runner, check_scheduler_address, runner
from rtcheck.audit.discover import CaseFolder, discover, stray_file_warnings
from rtcheck.audit.geometry import ModelChoice, audit_model
from rtcheck.audit.lock import AuditLock
from rtcheck.audit.manifest import (
    MANIFEST_FILE,
    Manifest,
    key_fingerprint,
    read_manifest,
    resume_refusal,
    update_geometry,
    utc_now,
    write_manifest,
)
from rtcheck.audit.progress import VERDICTS, Progress
from rtcheck.audit.result_file import (
    ORPHANS_DIR,
    RESULTS_DIR,
    AuditRecord,
    move_orphans,
    read_record,
    restore_orphans,
    result_name,
    write_record,
)
from rtcheck.audit.sites import preflight
from rtcheck.audit.task import AuditConfig, AuditTask, config_sha256, input_sha256
from rtcheck.errors import InputError, RtcheckError, UsageError

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


def _check_run(config: AuditConfig, run: AuditRun) -> None:
    """Usage errors of the options themselves, before anything is read or written."""
    if config.anonymize and run.anon_key is None:
        raise UsageError("--anonymize needs a key (see rtcheck audit --help)")
    if run.scheduler is not None:
        check_scheduler_address(run.scheduler)
    elif run.workers < 1:
        raise UsageError(f"--workers {run.workers}: give 1 or more")


def _out_folder(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _manifest(root: str | os.PathLike[str], config: AuditConfig, run: AuditRun,
              model: ModelChoice) -> Manifest:
    return Manifest(__version__, os.path.abspath(root), config.protocol_path,
                    config.protocol_sha256, run.site_level, config.anonymize,
                    key_fingerprint(run.anon_key), str(model.geometry), str(model.source),
                    utc_now())


def _existing(out: Path, run: AuditRun) -> list[Path]:
    """The results already in ``out``; a usage error unless ``--resume`` or ``--overwrite``."""
    results = out / RESULTS_DIR
    existing = sorted(results.glob("*.json")) if results.is_dir() else []
    if existing and not (run.resume or run.overwrite):
        raise UsageError(f"--out {out} already holds {len(existing)} audit result(s); give "
                         "--resume to continue that audit or --overwrite to start again")
    return existing


def _refuse_foreign(out: Path) -> None:
    """A usage error when ``out/results`` holds JSON files that are not audit results and
    ``out`` has no manifest: not an audit folder, so nothing in it is ours to replace."""
    results = out / RESULTS_DIR
    if (out / MANIFEST_FILE).exists() or not results.is_dir():
        return
    foreign = [p.name for p in sorted(results.glob("*.json")) if read_record(p) is None]
    if foreign:
        raise UsageError(f"--out {out}: {results} holds {len(foreign)} file(s) that are not "
                         f"rtcheck audit results ({', '.join(foreign[:3])}) and there is no "
                         f"{MANIFEST_FILE}: it is not an audit folder; give a new or empty "
                         "--out")


def _resume_check(out: Path, manifest: Manifest, existing: list[Path],
                  names: set[str]) -> str | None:
    """Refuse a ``--resume`` that would mix or orphan every result (a usage error); the
    warning to log when ``out`` has results but no manifest (an older rtcheck)."""
    old = read_manifest(out)
    if old is not None and (refusal := resume_refusal(out, old, manifest)):
        raise UsageError(refusal)
    orphaned = out / ORPHANS_DIR
    found = names & {p.name for p in existing} or \
        names & {p.name for p in orphaned.glob("*.json")}
    if existing and not found:
        raise UsageError(f"--resume: ROOT {manifest.root} matches none of the "
                         f"{len(existing)} result(s) in --out {out}; check ROOT (a share "
                         "not mounted, a typo) or use --overwrite to start again")
    if old is None and existing:
        return (f"warning: --out {out} has no {MANIFEST_FILE} (an audit of an older "
                "rtcheck): resuming without checking that ROOT and --anonymize are the same")
    return None


def _clean(out: Path, run: AuditRun, existing: list[Path]) -> None:
    """Remove temporary files of a killed audit; with ``--overwrite``, the old results."""
    for stale in [*(out / RESULTS_DIR).glob(".*.tmp"), *out.glob(".*.tmp")]:
        stale.unlink()  # left by a killed audit: never a finished result
    if run.overwrite and not run.resume:  # start again: the old audit's results go
        for old in [*existing, *(out / ORPHANS_DIR).glob("*.json")]:
            old.unlink()
        if (out / ORPHANS_DIR).is_dir() and not any((out / ORPHANS_DIR).iterdir()):
            (out / ORPHANS_DIR).rmdir()
    (out / RESULTS_DIR).mkdir(exist_ok=True)


def _result_name(case: CaseFolder, run: AuditRun) -> str:
    anon = keyed_hash(run.anon_key, case.key) if run.anon_key else None
    return result_name(case.key, anonymized_key=anon)


def _tasks(cases: tuple[CaseFolder, ...], config: AuditConfig, run: AuditRun
           ) -> list[AuditTask]:
    out = []
    for case in cases:
        aliases = config.aliases_for(case.site)
        out.append(AuditTask(case, config, aliases, _result_name(case, run),
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


def _set_orphans_aside(out: Path, names: set[str]) -> list[str]:
    """``--resume``: results of folders found again come back; those of folders no longer
    found go to ``results-orphaned/`` (never deleted). The lines to log."""
    lines = []
    if restored := restore_orphans(out, names):
        lines.append(f"restored {len(restored)} result(s) from {out / ORPHANS_DIR}: their "
                     "case folders are under ROOT again")
    if moved := move_orphans(out, names):
        lines.append(f"moved {len(moved)} result(s) to {out / ORPHANS_DIR}: their case "
                     "folders are no longer found under ROOT; they are left out of the "
                     "summary (move them back to results/ if they belong to this audit)")
    return lines


def settings_line(root: str | os.PathLike[str], out: Path, config: AuditConfig,
                  run: AuditRun, model: ModelChoice) -> str:
    """The first log line of a run: rtcheck version and settings (the key never; its
    fingerprint with ``--anonymize``); the DVH geometry ``model`` as ``--geometry smooth``
    only when the option chose it (:meth:`ModelChoice.log_text`)."""
    parts = [f"ROOT {os.path.abspath(root)}", f"--protocol {config.protocol_path}",
             f"--out {os.path.abspath(out)}",
             f"--scheduler {run.scheduler}" if run.scheduler else f"--workers {run.workers}",
             f"--site-level {run.site_level}", f"--end-cap {config.end_cap}",
             model.log_text()]
    parts += [f"{opt} {value}" for opt, value in (
        ("--arm", config.arm), ("--aliases", config.aliases),
        ("--site-aliases", config.site_aliases_dir)) if value]
    if config.anonymize:
        parts.append(f"--anonymize (key fingerprint {key_fingerprint(run.anon_key)})")
    parts += [flag for flag, on in (("--resume", run.resume), ("--overwrite", run.overwrite))
              if on]
    return f"rtcheck {__version__} audit: " + ", ".join(parts)


def _scrubbed(outcomes: Iterator[tuple[AuditTask, AuditRecord, frozenset[str]]],
              key: bytes | None) -> Iterator[tuple[AuditTask, AuditRecord]]:
    for task, record, identifiers in outcomes:
        if key is None:
            yield task, record
            continue
        scrub = Scrubber(key, identifiers)
        yield task, AuditRecord(scrub.data(record.audit), scrub.data(record.report))


def _check_all(out: Path, todo: list[AuditTask], execute: Runner, key: bytes | None,
               progress: Progress, notices: list[str]) -> None:
    from rtcheck.audit.summary import write_summary

    for task, record in _scrubbed(execute(todo), key):
        write_record(out / RESULTS_DIR, task.result_name, record)
        progress.finished(record)
        while notices:  # a worker that died, a case retried alone (the local pool)
            progress.log(f"warning: {notices.pop(0)}")
    write_summary(out)
    progress.log(f"done: {progress.count_text()}")


def run_audit(root: str | os.PathLike[str], out: str | os.PathLike[str],
              config: AuditConfig, run: AuditRun, stream: IO[str] | None = None,
              bar: bool | None = None) -> AuditOutcome:
    """Audit every case folder under ``root`` into ``out``; see the module docstring."""
    _check_run(config, run)
    cases = discover(root, run.site_level)
    if not cases:
        raise InputError("no DICOM files found in it or below it; give the folder that "
                         "holds the site (or case) folders", path=os.fspath(root))
    warnings = [f"warning: {line}" for line in (*stray_file_warnings(cases),
                                                *preflight(cases, config, run.site_level))]
    notices: list[str] = []
    with runner(run.workers, run.scheduler, notices) as execute:
        out_dir = _out_folder(Path(out))
        _refuse_foreign(out_dir)  # before the lock file: never write into a foreign folder
        with AuditLock(out_dir):
            return _audit(_Audit(root, out_dir, cases, config, run, notices), execute, warnings,
                          stream, bar)


@dataclass(frozen=True)
class _Audit:
    root: str | os.PathLike[str]
    out: Path
    cases: tuple[CaseFolder, ...]
    config: AuditConfig
    run: AuditRun
    notices: list[str] = field(default_factory=list)


def _audit(job: _Audit, execute: Runner, lines: list[str], stream: IO[str] | None,
           bar: bool | None) -> AuditOutcome:
    """The audit proper, holding the lock of ``--out``."""
    out, run = job.out, job.run
    model = audit_model(job.config)
    lines = [*lines, *_start(job.root, out, job.cases, job.config, run, model)]
    tasks = _tasks(job.cases, job.config, run)
    kept: dict[str, AuditRecord] = {}
    if run.resume:
        lines += _set_orphans_aside(out, {t.result_name for t in tasks})
        kept = {t.result_name: r for t in tasks if (r := _kept(t, out / RESULTS_DIR))}
    todo = [t for t in tasks if t.result_name not in kept]
    progress = Progress(len(tasks), len(kept), out / LOG_FILE, stream, bar,
                        new_log=not run.resume)
    try:
        progress.note(settings_line(job.root, out, job.config, run, model))
        for line in lines:
            progress.log(line)
        for record in kept.values():
            progress.count_existing(record)
        progress.log(f"audit of {job.root}: {len(tasks)} case folder(s), "
                     + (f"{len(kept)} kept from an earlier run, " if run.resume else "")
                     + f"{len(todo)} to check")
        _check_all(out, todo, execute, run.anon_key, progress, job.notices)
    except KeyboardInterrupt:
        progress.log(f"interrupted after {progress.done} of {len(tasks)} case(s); every "
                     "finished result is kept: rerun with --resume to finish the audit")
        raise
    except RtcheckError as exc:
        progress.note(f"stopped: {exc}")
        raise
    finally:
        progress.close()
    return AuditOutcome(out, len(tasks), len(kept), dict(progress.counts))


def _start(root: str | os.PathLike[str], out: Path, cases: tuple[CaseFolder, ...],
           config: AuditConfig, run: AuditRun, model: ModelChoice) -> list[str]:
    """Check ``out`` for this run (refusals are usage errors), clean it, write its manifest
    (a ``--resume`` updates only its DVH geometry model); the warning to log, if any."""
    existing = _existing(out, run)
    manifest = _manifest(root, config, run, model)
    names = {_result_name(case, run) for case in cases}
    warning = _resume_check(out, manifest, existing, names) if run.resume else None
    _clean(out, run, existing)
    old = read_manifest(out) if run.resume else None
    if old is None:
        write_manifest(out, manifest)
    else:
        update_geometry(out, old, manifest)
    return [warning] if warning else []


__all__ = ["VERDICTS", "AuditOutcome", "AuditRun", "run_audit"]
