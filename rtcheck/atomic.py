"""Atomic, non-clobbering file output: a reader never sees half a report.

The text goes to a temporary file in the destination folder, is flushed and
fsync'ed, then renamed over the destination (``os.replace`` is atomic on POSIX and
Windows within one file system).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rtcheck.errors import OutputError, UsageError


def write_text_atomic(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Raises :class:`~rtcheck.errors.UsageError` when ``path`` exists and ``overwrite`` is
    false, or when its folder does not exist; :class:`~rtcheck.errors.OutputError` when the
    system refuses the write (a read-only or full file system); the destination is then
    untouched and no temporary file is left.
    """
    dest = Path(path)
    if dest.exists() and not overwrite:
        raise UsageError(f"{dest} exists; give --overwrite to replace it")
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{dest}: the folder {folder} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _unwritable(dest, exc) from exc
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600: a report is for colleagues too
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _unwritable(dest, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _unwritable(dest: Path, exc: OSError) -> OutputError:
    """The one-line error of a report file the system would not let us write."""
    return OutputError(f"{dest}: cannot be written ({exc.strerror or exc}); choose a folder "
                       "you can write to, with room for the file")
