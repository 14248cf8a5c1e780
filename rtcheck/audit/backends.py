"""Where the audit's tasks run: this process, a local process pool, or a Dask cluster.

Each backend yields ``(task, record, identifiers)`` as cases finish, in completion order,
with at most a small window of tasks in flight (twice the workers), so memory stays
bounded and a killed audit loses only the cases in flight.

* ``workers == 1``: in this process, one case after another.
* ``workers > 1``: a :class:`concurrent.futures.ProcessPoolExecutor` with the
  ``forkserver`` start method: a clean server process imports the checking modules once
  (numpy, pydicom, the loader and the rules: about a second) and each worker is forked
  from it, so workers start at once and inherit nothing from this process (no threads,
  no open files); each worker then sets itself up (:mod:`rtcheck.audit.worker`). A
  worker process that dies (killed, out of memory) breaks the pool: the cases in flight
  are then retried one by one, each in a fresh one-worker pool, and one that kills its
  worker again gets an internal-error result; the audit goes on with a new pool.
* ``scheduler``: ``distributed.Client(address)`` submits the same function to an existing
  ``dask.distributed`` cluster (the workers must have rtcheck installed and read the
  case folders at the same paths). The address must be ``tcp://``, ``tls://``,
  ``ucx://`` or ``inproc://`` followed by the host (and port), or ``HOST:PORT``
  (:func:`check_scheduler_address`, a usage error otherwise); a scheduler that cannot be
  reached within :data:`CONNECT_TIMEOUT_S` is unusable input (exit 3).
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from rtcheck.audit.result_file import AUDIT_SCHEMA_VERSION, AuditRecord
from rtcheck.audit.task import AuditTask
from rtcheck.audit.worker import run_case
from rtcheck.errors import InputError, UsageError

Outcome = tuple[AuditTask, AuditRecord, frozenset[str]]

#: seconds to wait for the Dask scheduler before giving up (exit 3)
CONNECT_TIMEOUT_S = 20.0
_SCHEMES = ("tcp", "tls", "ucx", "inproc")
_SCHEME_ADDRESS = re.compile(rf"({'|'.join(_SCHEMES)})://[^\s/]\S*")
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}")


def check_scheduler_address(address: str) -> str:
    """``address`` when it has the form of a Dask scheduler address, else a usage error."""
    if _SCHEME_ADDRESS.fullmatch(address) or _HOST_PORT.fullmatch(address):
        return address
    raise UsageError(f"--scheduler {address!r}: not a Dask scheduler address; give "
                     "tcp://HOST:PORT (or tls://, ucx://, inproc://) or HOST:PORT, such as "
                     "tcp://scheduler-host:8786")


def serial(tasks: Iterable[AuditTask]) -> Iterator[Outcome]:
    for task in tasks:
        record, identifiers = run_case(task)
        yield task, record, identifiers


def _died(task: AuditTask) -> AuditRecord:
    audit: dict[str, Any] = {"schema_version": AUDIT_SCHEMA_VERSION, "case": task.case.key,
             "site": task.case.site, "status": "error", "input_sha256": task.input_sha256,
             "config_sha256": task.config_sha256, "patients": {},
             "error": "internal error: the worker process died while checking this case "
                      "(killed or out of memory); check it alone with rtcheck check",
             "error_kind": "internal", "traceback": None, "duration_s": None}
    return AuditRecord(audit, None)


_PRELOAD = ["rtcheck.audit.worker", "rtcheck.dicom.loader", "rtcheck.rules.engine",
            "rtcheck.rules.setup"]


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group; only the audit process
    handles it (it cancels what has not started and keeps every finished result)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=_context(), initializer=_ignore_sigint)


CaseFunction = Callable[[AuditTask], tuple[AuditRecord, frozenset[str]]]


def _alone(task: AuditTask, check: CaseFunction, notices: list[str]) -> Outcome:
    """Retry one case in a fresh one-worker pool (after a pool broke)."""
    with _pool(1) as pool:
        try:
            record, identifiers = pool.submit(check, task).result()
        except BrokenProcessPool:
            notices.append(f"case {task.case.key} killed its worker process again: recorded "
                           "as an internal error (check it alone with rtcheck check)")
            return task, _died(task), frozenset()
    return task, record, identifiers


def local_pool(tasks: Iterable[AuditTask], workers: int, notices: list[str] | None = None,
               check: CaseFunction = run_case) -> Iterator[Outcome]:
    """Run ``tasks`` in a pool of ``workers`` processes (module docstring). What happened to
    the pool (a worker that died, a case retried alone) is appended to ``notices`` for the
    audit log; ``check`` is the function run per case (a picklable module-level one)."""
    notes: list[str] = [] if notices is None else notices
    pending = iter(tasks)
    while True:
        retry: list[AuditTask] = []
        with _pool(workers) as pool:
            in_flight: dict[Future[Any], AuditTask] = {}
            try:
                yield from _drain(pool, pending, in_flight, 2 * workers, check)
                return
            except BrokenProcessPool:
                retry = sorted(in_flight.values(), key=lambda t: t.case.key)
                notes.append(f"a worker process died (killed or out of memory); the "
                             f"{len(retry)} case(s) in flight are retried one by one, each in "
                             "a fresh process: " + ", ".join(t.case.key for t in retry))
            except BaseException:  # Ctrl-C, or the caller stopped: drop what has not started
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        for task in retry:
            yield _alone(task, check, notes)


def _drain(pool: ProcessPoolExecutor, pending: Iterator[AuditTask],
           in_flight: dict[Future[Any], AuditTask], window: int,
           check: CaseFunction) -> Iterator[Outcome]:
    def fill() -> None:
        while len(in_flight) < window:
            task = next(pending, None)
            if task is None:
                return
            in_flight[pool.submit(check, task)] = task

    fill()
    while in_flight:
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            record, identifiers = future.result()  # BrokenProcessPool: caller retries
            task = in_flight.pop(future)
            yield task, record, identifiers
        fill()


def connect(address: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address`` (a context manager).

    Raises :class:`UsageError` for a malformed address or without dask.distributed, and
    :class:`InputError` (exit 3) when the scheduler cannot be reached within
    :data:`CONNECT_TIMEOUT_S`.
    """
    check_scheduler_address(address)
    try:
        from distributed import Client
    except ImportError as exc:
        raise UsageError("--scheduler needs dask.distributed: install it with pip install -e "
                         "'.[dask]' in the rtcheck checkout (or pip install 'rtcheck[dask]')") \
            from exc
    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
    except ValueError as exc:  # a form dask rejects (unknown scheme, no port)
        raise UsageError(f"--scheduler {address!r}: {exc}") from exc
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address} within "
                         f"{CONNECT_TIMEOUT_S:g} s; start it or check the address") from exc


def dask_cluster(tasks: Iterable[AuditTask], client: Any) -> Iterator[Outcome]:
    """Run ``tasks`` through ``client``, a connected ``distributed.Client`` (:func:`connect`;
    left open)."""
    from distributed import as_completed

    window = 2 * max(1, sum(client.nthreads().values()))
    pending = iter(tasks)
    owner: dict[Any, AuditTask] = {}

    def submit() -> Any:
        task = next(pending, None)
        if task is None:
            return None
        future = client.submit(run_case, task, pure=False)
        owner[future.key] = task
        return future

    futures = [f for f in (submit() for _ in range(window)) if f is not None]
    queue = as_completed(futures)
    for future in queue:
        record, identifiers = future.result()
        yield owner.pop(future.key), record, identifiers
        nxt = submit()
        if nxt is not None:
            queue.add(nxt)


Runner = Callable[[Iterable[AuditTask]], Iterator[Outcome]]


@contextmanager
def runner(workers: int, scheduler: str | None, notices: list[str] | None = None
           ) -> Iterator[Runner]:
    """The runner for the options given, connected first with ``scheduler`` (so a
    scheduler that cannot be reached stops the audit before it writes anything); the
    local pool appends what happened to its workers to ``notices``."""
    if not scheduler:
        yield backend(workers, notices)
        return
    with connect(scheduler) as client:
        yield lambda tasks: dask_cluster(tasks, client)


def backend(workers: int, notices: list[str] | None = None) -> Runner:
    """The local runner: this process for one worker, else a process pool (a Dask
    cluster is reached through :func:`runner`)."""
    if workers < 1:
        raise UsageError(f"--workers {workers}: give 1 or more")
    if workers == 1:
        return serial
    return lambda tasks: local_pool(tasks, workers, notices)
