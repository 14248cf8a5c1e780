"""The task a worker runs: check one case folder exactly as ``rtcheck check FOLDER``.

Runs in a local worker process, in a ``dask.distributed`` worker or in the calling
process. Each process sets itself up on first use (warning filters, pydicom's logger)
and caches the validated protocol. The loader's ``warnings.catch_warnings`` is not
thread-safe, so checks in one process are serialised by a lock: a threaded scheduler
(dask workers with several threads) is safe, though only processes add speed.

Never raises: an unusable case becomes an ``error`` result with its one-line message
(``error_kind`` "input"); an unexpected exception becomes an ``error`` result with the
traceback stored in the result (``error_kind`` "internal"), so one case never stops an
audit.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import warnings
from functools import lru_cache
from typing import Any

from rtcheck.audit.result_file import AUDIT_SCHEMA_VERSION, AuditRecord
from rtcheck.audit.task import AuditConfig, AuditTask, folder_files
from rtcheck.errors import RtcheckError
from rtcheck.rules.protocol import Protocol

_LOCK = threading.Lock()
_READY = False


def _set_up_process() -> None:
    """Per-process set-up, once: quiet pydicom's logger (the findings carry what matters),
    Agg backend should anything import matplotlib, and one BLAS/OpenMP thread.

    The check's numpy work is many small operations: OpenBLAS's own threads only spin
    (measured: a 40-case serial audit used 13.7 s of CPU in 8.2 s, pinned 7.2 s in
    7.6 s) and steal the cores the other workers need; parallelism is one process per
    core. ``threadpoolctl`` limits the pools already loaded (numpy is imported by then).
    """
    global _READY
    if _READY:
        return
    import os

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    os.environ.setdefault("MPLBACKEND", "Agg")
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    _READY = True


@lru_cache(maxsize=4)
def _protocol(path: str, sha256: str) -> Protocol:
    """The validated protocol (``sha256`` is part of the cache key: a changed file reloads)."""
    from rtcheck.rules.protocol import load_protocol

    protocol = load_protocol(path)
    if protocol.sha256 != sha256:
        raise RtcheckError(f"{path} changed during the audit; rerun it")
    return protocol


def _geometry_option(cfg: AuditConfig, protocol: Protocol) -> str | None:
    """The ``geometry`` argument of :func:`~rtcheck.rules.setup.prepare_check` for a case.

    Parameters
    ----------
    cfg
        The audit's configuration: its model and where the command line found it.
    protocol
        The audit's protocol (pinned by its sha256).

    Returns
    -------
    str or None
        The model when ``--geometry`` chose it; else ``None``, so that ``prepare_check``
        resolves the same model from the protocol and records its source (``protocol``
        or ``default``). A model the protocol would not give (an API caller's
        ``AuditConfig(geometry=...)`` without ``geometry_source="option"``) is passed
        on: the case is checked with the configured model, the one hashed.
    """
    from rtcheck.rules.setup import effective_geometry

    if cfg.geometry_source == "option" or cfg.geometry is None:
        return cfg.geometry
    return None if cfg.geometry == effective_geometry(None, protocol).value else cfg.geometry


def case_geometry(cfg: AuditConfig) -> tuple[str, str]:
    """The DVH geometry model the cases of an audit are checked with and its source
    (``option``, ``protocol`` or ``default``), as :func:`_check` resolves them and each
    result records them (``provenance.dvh_settings.geometry``,
    ``provenance.options.geometry_source``).

    Raises :class:`~rtcheck.errors.RtcheckError` when the protocol file changed since
    the command line read it.
    """
    from rtcheck.rules.setup import effective_geometry, geometry_source

    protocol = _protocol(cfg.protocol_path, cfg.protocol_sha256)
    option = _geometry_option(cfg, protocol)
    return effective_geometry(option, protocol).value, geometry_source(option, protocol)


def _check(task: AuditTask) -> tuple[dict[str, Any], dict[str, str]]:
    from rtcheck.dicom.loader import load
    from rtcheck.rules.engine import check_load
    from rtcheck.rules.setup import prepare_check

    cfg = task.config
    folder = [task.case.folder]
    protocol = _protocol(cfg.protocol_path, cfg.protocol_sha256)
    setup = prepare_check(folder, protocol=protocol, arm=cfg.arm, aliases=task.aliases,
                          end_cap=cfg.end_cap, geometry=_geometry_option(cfg, protocol))
    result = load(folder)
    report = check_load(result, setup.protocol, setup.options, setup.extra_inputs)
    patients = {c.label: c.plan.patient_id if c.plan else "" for c in result.cases}
    return report.to_dict(), patients


def _audit_block(task: AuditTask, status: str, started: float, **fields: Any) -> dict[str, Any]:
    block: dict[str, Any] = {"schema_version": AUDIT_SCHEMA_VERSION, "case": task.case.key,
             "site": task.case.site, "status": status, "input_sha256": task.input_sha256,
             "config_sha256": task.config_sha256, "patients": {}, "error": None,
             "error_kind": None, "traceback": None}
    block.update(fields)
    block["duration_s"] = round(time.perf_counter() - started, 3)
    return block


def run_case(task: AuditTask) -> tuple[AuditRecord, frozenset[str]]:
    """Check one case; the record and, with ``--anonymize``, the patient identifiers
    read from its files (the caller scrubs them: the key never leaves the caller)."""
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _set_up_process()
        started = time.perf_counter()
        identifiers: frozenset[str] = frozenset()
        if task.config.anonymize:
            from rtcheck.audit.anonymize import patient_identifiers

            identifiers = patient_identifiers(folder_files(task.case.folder, hidden=True))
        try:
            report, patients = _check(task)
        except RtcheckError as exc:
            message = " ".join(str(exc).split())  # one line
            audit = _audit_block(task, "error", started, error=message, error_kind="input")
            return AuditRecord(audit, None), identifiers
        except Exception as exc:
            message = f"internal error ({type(exc).__name__}: {' '.join(str(exc).split())})"
            audit = _audit_block(task, "error", started, error=message, error_kind="internal",
                                 traceback=traceback.format_exc())
            return AuditRecord(audit, None), identifiers
        audit = _audit_block(task, "checked", started, patients=patients)
        return AuditRecord(audit, report), identifiers
