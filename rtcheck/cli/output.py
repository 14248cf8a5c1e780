"""Results on stdout, written whole.

Python's buffered stdout takes a large write in part when the reader of a pipe has gone
(``rtcheck dvh ... --curves | head -1``): the system call writes what the pipe still holds
and returns that count, the buffered layer returns it too, and the text layer above drops
the rest without an error (CPython 3.11). The command would end 0 with its output cut.
:func:`emit` writes the bytes until all are taken, so that the next write meets the closed
pipe (``BrokenPipeError``, which the command line turns into exit 141); any other failure to
write (a full disk: ``rtcheck ... > /dev/full``) is an :class:`~rtcheck.errors.OutputError`.
"""

from __future__ import annotations

import os
import sys

from rtcheck.errors import OutputError


def emit(text: str = "", nl: bool = True) -> None:
    """Write ``text`` (and a newline unless ``nl`` is false) to stdout, whole.

    Raises
    ------
    BrokenPipeError
        The reader of stdout has gone before taking everything.
    OutputError
        stdout cannot be written for another reason (the message says which).
    """
    out = sys.stdout
    data = text + "\n" if nl else text
    try:
        buffer = getattr(out, "buffer", None)
        if buffer is None:  # a text-only stream (an embedding application's)
            out.write(data)
            out.flush()
            return
        if os.linesep != "\n":  # what the text layer would do
            data = data.replace("\n", os.linesep)
        out.flush()  # what was written before, in order
        view = memoryview(data.encode(out.encoding or "utf-8", out.errors or "strict"))
        while view:
            taken = buffer.write(view)
            if not taken:
                raise OSError("stdout took no bytes")
            view = view[taken:]
        buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"stdout: the result could not be written ({exc.strerror or exc}); "
                          "write it to a file with room for it (--output or > FILE)") from exc
