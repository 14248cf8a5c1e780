"""The rtcheck exception tree.

Every error that reaches a user is an :class:`RtcheckError` whose message is one
line naming the file (or input), the field and what to do. The CLI maps the
classes to exit codes (see :mod:`rtcheck.cli.exitcodes`).
"""

from __future__ import annotations

from pathlib import Path


class RtcheckError(Exception):
    """Base class of every error rtcheck raises on purpose."""


class InputError(RtcheckError):
    """Input that cannot be used at all (exit code 3).

    Parameters
    ----------
    message
        What is wrong and what to do about it.
    path
        The file concerned, if any; it is prefixed to the message.
    field
        The DICOM attribute, column or key concerned, if any.
    """

    def __init__(self, message: str, path: str | Path | None = None, field: str | None = None):
        self.path = None if path is None else str(path)
        self.field = field
        prefix = f"{self.path}: " if self.path else ""
        where = f"{field}: " if field else ""
        super().__init__(f"{prefix}{where}{message}")


class DicomInputError(InputError):
    """A DICOM file that cannot be used (corrupt, truncated, unsupported, wrong units)."""


class LinkError(InputError):
    """The DICOM objects cannot be linked into a usable case."""


class EventDataError(InputError):
    """Patient-event data that cannot be used; ``problems`` lists every problem found."""

    def __init__(
        self, message: str, problems: list[str] | None = None, path: str | Path | None = None
    ):
        super().__init__(message, path=path)
        self.problems = list(problems or [])


class ConfigError(InputError):
    """A constraint/protocol YAML file or a metric specification that cannot be used.

    ``problems`` lists every problem found when there are several (as in
    :class:`EventDataError`); it is empty unless the raiser fills it.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        field: str | None = None,
        *,
        problems: list[str] | None = None,
    ):
        super().__init__(message, path=path, field=field)
        self.problems = list(problems or [])


class MetricSpecError(ConfigError):
    """A DVH metric string that does not follow the accepted grammar."""


class UsageError(RtcheckError):
    """The command was called wrongly (exit code 2)."""


class OutputError(RtcheckError):
    """A result could not be written (stdout or a report file: a read-only or full file
    system); the message names the destination and the system's reason (exit code 2, as
    for a destination folder that does not exist)."""
