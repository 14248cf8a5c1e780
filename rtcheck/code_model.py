"""The vocabulary of finding codes: severities, domains and what a code's entry holds.

Kept apart from the registry (:mod:`rtcheck.codes`, which re-exports every name here) so
that the long table of codes is one role and this small model another; neither imports
anything else from rtcheck.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

__all__ = ["DOMAINS", "CodeInfo", "Domain", "Severity", "severity_text"]


class Severity(StrEnum):
    """How much a finding matters.

    ``INFO`` is context, ``WARNING`` deserves a look, ``ERROR`` means a result that
    depends on it is not evaluated (and can therefore never be a pass).
    """

    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


#: The part of rtcheck that emits a code: ``loader`` (:mod:`rtcheck.dicom`, every
#: command), ``dose`` (DVH engine, indices, TPS comparison and ``rtcheck dvh``),
#: ``events`` (``rtcheck endpoints``), ``check`` (the protocol plan check).
Domain = Literal["loader", "dose", "events", "check"]
DOMAINS: tuple[Domain, ...] = ("loader", "dose", "events", "check")

_SEVERITY_ORDER = (Severity.INFO, Severity.WARNING, Severity.ERROR)


@dataclass(frozen=True)
class CodeInfo:
    """What one code means and which severities it may carry."""

    severities: tuple[Severity, ...]
    domain: str
    meaning: str

    def __post_init__(self) -> None:
        if not self.severities or len(set(self.severities)) != len(self.severities):
            raise ValueError(f"severities must be non-empty and distinct: {self.severities}")
        object.__setattr__(self, "severities", tuple(Severity(s) for s in self.severities))
        if self.domain not in DOMAINS:
            raise ValueError(f"domain must be one of {DOMAINS}, got {self.domain!r}")
        if not self.meaning.strip() or "\n" in self.meaning or "|" in self.meaning:
            raise ValueError(f"meaning must be one non-empty line without '|': {self.meaning!r}")


def severity_text(severities: tuple[Severity, ...]) -> str:
    """``"INFO / WARNING"``: the severities in increasing order."""
    return " / ".join(s.value for s in _SEVERITY_ORDER if s in severities)
