"""``OUT/.audit.lock``: one audit at a time in an output folder.

Two audits writing the same ``results/`` would redo each other's cases, remove each
other's temporary files and write the summary twice. The audit holds an exclusive
``flock`` on ``OUT/.audit.lock`` for its whole run; the kernel releases it when the
process ends, however it ends (Ctrl-C, SIGKILL, a crash), so a stale lock file never
blocks the next audit. The file holds the pid of the audit holding it, for the message.
On a system without ``fcntl`` (Windows) no lock is taken.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType

from rtcheck.errors import UsageError

LOCK_FILE = ".audit.lock"


class AuditLock:
    """Hold the lock of an audit folder (a context manager).

    Raises :class:`~rtcheck.errors.UsageError` (exit 2) on entry when another process
    holds it.
    """

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> AuditLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        if sys.platform == "win32":  # pragma: no cover - no flock there
            return
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise UsageError(f"--out {self.path.parent}: another audit is running in it "
                             f"(pid {holder}); wait for it to finish, or give another "
                             "--out") from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        """Unlock (closing the file releases the flock); the file stays, harmless."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
