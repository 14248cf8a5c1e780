"""Structured findings shared by every domain.

A finding is a coded, machine-readable statement about the input or a result:
``Finding(code="DOSE_OUTSIDE_GRID", severity=Severity.ERROR, message=..., path=...)``.
Codes are upper-case, stable and documented in the README; messages say what to do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How much a finding matters.

    ``INFO`` is context, ``WARNING`` deserves a look, ``ERROR`` means a result that
    depends on it is not evaluated (and can therefore never be a pass).
    """

    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Finding:
    """One coded observation.

    Attributes
    ----------
    code
        Stable upper-case identifier, e.g. ``"FOR_MISMATCH"``.
    severity
        See :class:`Severity`.
    message
        One line for a person: what was found and what to do.
    path
        The file concerned, if any.
    subject
        What the finding is about beyond the file (a structure name, a plan label...).
    """

    code: str
    severity: Severity
    message: str
    path: str | None = None
    subject: str | None = None

    def __post_init__(self) -> None:
        if not self.code or not self.code.replace("_", "").isalnum() or not self.code.isupper():
            raise ValueError(f"finding code must be UPPER_SNAKE_CASE, got {self.code!r}")
        if not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity(self.severity))

    def to_dict(self) -> dict[str, str | None]:
        """Plain JSON-serialisable form."""
        out = asdict(self)
        out["severity"] = self.severity.value
        return out

    def __str__(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        subject = f" ({self.subject})" if self.subject else ""
        return f"{self.severity.value} {self.code}{subject}: {self.message}{where}"


def worst_severity(findings: list[Finding] | tuple[Finding, ...]) -> Severity | None:
    """Return the most severe level among ``findings`` (``None`` when empty)."""
    order = [Severity.INFO, Severity.WARNING, Severity.ERROR]
    if not findings:
        return None
    return max((f.severity for f in findings), key=order.index)
