"""The plan verdict from its checks (rules in :class:`~rtcheck.rules.vocabulary.Verdict`)."""

from __future__ import annotations

from collections.abc import Iterable

from rtcheck.rules.result import CheckResult
from rtcheck.rules.vocabulary import CheckStatus, Verdict

#: Statuses of a mandatory check that still allow a PASS. NOT_EVALUATED never does;
#: PENDING (spacing before delivery), INFO, NOT_APPLICABLE and MINOR_DEVIATION do.
PASSING = frozenset({CheckStatus.PASS, CheckStatus.MINOR_DEVIATION, CheckStatus.PENDING,
                     CheckStatus.INFO, CheckStatus.NOT_APPLICABLE})


def verdict_of(checks: Iterable[CheckResult], blocked: bool = False) -> Verdict:
    """FAIL on any mandatory failure; else INCOMPLETE when a mandatory check was not
    evaluated (or the input is blocked, or there is no mandatory check); else PASS."""
    mandatory = [c for c in checks if c.mandatory]
    if any(c.status is CheckStatus.FAIL for c in mandatory):
        return Verdict.FAIL
    if blocked or not mandatory or any(c.status not in PASSING for c in mandatory):
        return Verdict.INCOMPLETE
    return Verdict.PASS
