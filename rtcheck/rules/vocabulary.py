"""The words of the plan check: statuses, tiers, comparisons, verdicts.

One vocabulary everywhere (YAML, results, reports). A check's status says what was
found; its tier says whether it decides the verdict (see :func:`rtcheck.rules.verdict`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from enum import StrEnum


class CheckStatus(StrEnum):
    """The outcome of one check.

    ``PASS``/``FAIL``
        evaluated, within / outside the limit.
    ``MINOR_DEVIATION``
        outside the limit but within the protocol's minor-deviation band (or a coverage
        shortfall caused by a binding higher-priority OAR limit): acceptable per protocol.
    ``NOT_EVALUATED``
        could not be evaluated (missing structure, dose grid, unit, prescription...):
        never a pass.
    ``PENDING``
        cannot be known yet (fraction spacing before delivery): shown, never a pass,
        and does not make the verdict INCOMPLETE.
    ``INFO``
        a reported number without a limit (isodose level, dose summation).
    ``NOT_APPLICABLE``
        a library row whose organ is not contoured and not required: listed, never a pass.
    """

    PASS = "pass"
    MINOR_DEVIATION = "minor_deviation"
    FAIL = "fail"
    NOT_EVALUATED = "not_evaluated"
    PENDING = "pending"
    INFO = "info"
    NOT_APPLICABLE = "not_applicable"


class Tier(StrEnum):
    """``MANDATORY`` checks decide the verdict; ``OPTIONAL`` ones are reported only."""

    MANDATORY = "mandatory"
    OPTIONAL = "optional"


class Verdict(StrEnum):
    """PASS only if every mandatory check passed (or is pending, informative, not
    applicable or a minor deviation); FAIL on any mandatory failure; INCOMPLETE when
    no mandatory check failed but one was not evaluated."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCOMPLETE = "INCOMPLETE"


class Comparison(StrEnum):
    """How a value is compared with its limit (always explicit in the YAML)."""

    LE = "<="
    GE = ">="
    LT = "<"
    GT = ">"

    @property
    def is_upper_limit(self) -> bool:
        return self in (Comparison.LE, Comparison.LT)

    def holds(self, value: float, limit: float) -> bool:
        """True when ``value <op> limit``."""
        ops: dict[Comparison, Callable[[float, float], bool]] = {
            Comparison.LE: operator.le, Comparison.GE: operator.ge,
            Comparison.LT: operator.lt, Comparison.GT: operator.gt}
        return ops[self](value, limit)


class CheckKind(StrEnum):
    """What a check evaluates (the ``kind`` key of a protocol check)."""

    DVH = "dvh"
    PRESCRIPTION = "prescription"
    PRESCRIPTION_BED = "prescription_bed"
    ISODOSE_LEVEL = "isodose_level"
    MAX_DOSE = "max_dose"
    FRACTION_SPACING = "fraction_spacing"
    APPROVAL = "approval"
    DOSE_SUMMATION = "dose_summation"
    REQUIRED_STRUCTURE = "required_structure"
    SITE = "site"
