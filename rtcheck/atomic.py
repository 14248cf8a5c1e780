"""Atomic, non-clobbering file output: a reader never sees half a report.

The text goes to a temporary file in the destination folder, is flushed and
fsync'ed, then renamed over the destination (``os.replace`` is atomic on POSIX and
Windows within one file system).

A destination that is a symbolic link is written through: the file it points to is
replaced (atomically, beside it) and the link stays. A destination that is a stream — a
character device such as ``/dev/null`` or ``/dev/full``, or a named pipe — is written
into, as any program would: renaming a file over it would replace the device itself
(as root, ``--junit /dev/full --overwrite`` turned ``/dev/full`` into an XML file). A
stream needs no ``--overwrite``: nothing is replaced. Block devices and folders are
refused.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from rtcheck.errors import OutputError, UsageError


def _kind(path: Path) -> str:
    """``missing``, ``file``, ``stream`` (character device, FIFO, socket), ``block`` or
    ``folder``: what ``path`` is once symbolic links are followed."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "missing"  # also a dangling link: writing creates its target
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISBLK(mode):
        return "block"
    if stat.S_ISREG(mode):
        return "file"
    return "stream"


def refuse_existing(targets: list[str], overwrite: bool) -> None:
    """Before any work: a report file that exists needs ``overwrite``; a folder or a block
    device is never a report file. Streams (``/dev/null``, a named pipe) are accepted.

    Raises
    ------
    UsageError
        Naming the first target refused and what to do.
    """
    for target in targets:
        _writable_kind(Path(target), overwrite)


def _writable_kind(target: Path, overwrite: bool) -> str:
    """What ``target`` is (:func:`_kind`), once checked that a report may be written there."""
    kind = _kind(target)
    if kind in ("folder", "block"):
        raise UsageError(f"{target} is a {'folder' if kind == 'folder' else 'block device'}"
                         "; give a file name for the report")
    if kind == "file" and not overwrite:
        raise UsageError(f"{target} exists; give --overwrite to replace it")
    return kind


def write_text_atomic(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (a stream: into it; see the module
    docstring).

    Raises :class:`~rtcheck.errors.UsageError` when ``path`` is an existing file and
    ``overwrite`` is false, a folder or a block device, or when its folder does not exist;
    :class:`~rtcheck.errors.OutputError` when the system refuses the write (a read-only or
    full file system); the destination is then untouched and no temporary file is left.
    """
    dest = Path(path)
    if _writable_kind(dest, overwrite) == "stream":
        return _write_stream(dest, text)
    if dest.is_symlink():
        dest = Path(os.path.realpath(dest))  # replace the file the link points to
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
    return Path(path)


def _write_stream(dest: Path, text: str) -> Path:
    """Write ``text`` into a character device or named pipe (nothing to rename over)."""
    try:
        with dest.open("w", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as exc:
        raise _unwritable(dest, exc) from exc
    return dest


def _unwritable(dest: Path, exc: OSError) -> OutputError:
    """The one-line error of a report file the system would not let us write."""
    return OutputError(f"{dest}: cannot be written ({exc.strerror or exc}); choose a folder "
                       "you can write to, with room for the file")
