"""The limit of a constraint for a plan's number of fractions.

A library tabulates limits for some fraction counts (TG-101: 1, 3 and 5). Another
count is NOT EVALUATED unless the protocol names a conversion. The one supported
conversion keeps the biologically effective dose of the tabulated limit
(linear-quadratic model, Fowler JF, Br J Radiol 1989;62:679-694):

    BED = D_ref (1 + D_ref / (n_ref · α/β)),
    D_n = (n · α/β / 2) · (√(1 + 4 · BED / (n · α/β)) − 1),

converted from the tabulated counts on either side of ``n`` (or the nearest one),
keeping the lower (more conservative) result for an upper limit and the higher for a
lower limit. Only dose limits (Gy/cGy) convert; volume limits do not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rtcheck.rules.protocol import Constraint
from rtcheck.rules.quantity import Quantity


@dataclass(frozen=True)
class ResolvedLimit:
    """The limit that applies, or why none does (``limit`` is ``None``)."""

    limit: Quantity | None
    minor: Quantity | None = None
    reason: str = ""
    note: str = ""


def _lookup(table: tuple[tuple[int | None, Quantity], ...], n: int | None) -> Quantity | None:
    for k, q in table:
        if k is None or k == n:
            return q
    return None


def equivalent_dose_gy(dose_gy: float, n_ref: int, n: int, alpha_beta_gy: float) -> float:
    """Total dose in ``n`` fractions with the BED of ``dose_gy`` in ``n_ref`` fractions."""
    bed = dose_gy * (1.0 + dose_gy / (n_ref * alpha_beta_gy))
    a = n * alpha_beta_gy
    return a / 2.0 * (math.sqrt(1.0 + 4.0 * bed / a) - 1.0)


def resolve_limit(c: Constraint, n: int | None) -> ResolvedLimit:
    """The limit of ``c`` for ``n`` fractions (see the module docstring)."""
    exact = _lookup(c.limits, n)
    if exact is not None:
        return ResolvedLimit(exact, _lookup(c.minor_limits, n))
    if n is None:
        return ResolvedLimit(None, reason="the number of fractions is unknown (give --rx "
                                          "DOSE/Nfx or a plan with FractionGroupSequence)")
    tab = c.tabulated_fractions
    if c.convert is None:
        return ResolvedLimit(None, reason=(
            f"no limit for {n} fractions (tabulated: {', '.join(map(str, tab))}) and the "
            "protocol gives no conversion"))
    lower = [k for k in tab if k < n]
    higher = [k for k in tab if k > n]
    refs = ([lower[-1]] if lower else []) + ([higher[0]] if higher else [])
    quantities = [(k, _lookup(c.limits, k)) for k in refs]
    if any(q is None or q.unit not in ("Gy", "cGy") for _, q in quantities):
        return ResolvedLimit(None, reason=f"no limit for {n} fractions and only dose limits "
                                          "can be converted by BED")
    ab = c.convert.alpha_beta_gy
    converted = []
    for k, q in quantities:
        assert q is not None
        scale = 100.0 if q.unit == "cGy" else 1.0
        converted.append((k, equivalent_dose_gy(q.value / scale, k, n, ab) * scale, q))
    pick = min if c.comparison.is_upper_limit else max
    k, value, q = pick(converted, key=lambda t: t[1])
    note = (f"limit converted from {q.value:g} {q.unit} in {k} fractions to {n} fractions by "
            f"equal BED (alpha/beta {ab:g} Gy): {value:.4g} {q.unit}")
    return ResolvedLimit(Quantity(round(value, 4), q.unit, f"{value:.4g} {q.unit}"), note=note)
