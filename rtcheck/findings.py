"""Structured findings shared by every domain.

A finding is a coded, machine-readable statement about the input or a result:
``Finding(code="FOR_MISMATCH", severity=Severity.ERROR, message=..., path=...)``.
Codes are upper-case and stable; every code, with the severities it may carry and its
meaning, is registered in :mod:`rtcheck.codes` (and listed in the README, "Finding
codes"). Messages say what to do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rtcheck.codes import CODE_INFO, Code, Severity, severity_text

__all__ = ["Code", "Finding", "Severity", "worst_severity"]


@dataclass(frozen=True)
class Finding:
    """One coded observation.

    Attributes
    ----------
    code
        Stable upper-case identifier registered in :class:`~rtcheck.codes.Code`, e.g.
        ``"FOR_MISMATCH"`` or ``Code.FOR_MISMATCH``; stored as the plain string.
    severity
        See :class:`Severity`; must be one the code allows
        (:data:`~rtcheck.codes.CODE_INFO`).
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
        try:
            code = Code(self.code)
        except ValueError:
            raise ValueError(
                f"unknown finding code {self.code!r}: register it in rtcheck/codes.py "
                "(Code and CODE_INFO) with its severities and meaning"
            ) from None
        object.__setattr__(self, "code", code.value)
        if not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity(self.severity))
        allowed = CODE_INFO[code].severities
        if self.severity not in allowed:
            raise ValueError(
                f"finding code {code.value} does not allow severity {self.severity.value} "
                f"(allowed: {severity_text(allowed)}); use an allowed severity or register "
                "it in rtcheck/codes.py"
            )

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
