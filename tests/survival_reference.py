"""Independent Kaplan–Meier reference for the rtcheck.events survival tests (no tests here).

Product-limit estimate, Greenwood variance and the log(-log) ("exponential Greenwood")
95 % interval; median = first time S <= 0.5, its CI = first times where the lower/upper
bounds reach 0.5. Shared by tests/test_events_survival.py and tests/test_events_properties.py.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

Z = norm.ppf(0.975)


def product_limit(durations, events):
    """Independent KM: list of (t, S, lower, upper) at each distinct event time."""
    d = np.asarray(durations, float)
    e = np.asarray(events, bool)
    s, greenwood, out = 1.0, 0.0, []
    for t in np.unique(d[e]):
        n = int((d >= t).sum())
        deaths = int(((d == t) & e).sum())
        s *= 1 - deaths / n
        if n > deaths:
            greenwood += deaths / (n * (n - deaths))
        if 0 < s < 1:
            se = math.sqrt(greenwood) / abs(math.log(s))
            lo, hi = s ** math.exp(Z * se), s ** math.exp(-Z * se)
        else:
            lo = hi = s
        out.append((float(t), s, lo, hi))
    return out


def not_reached(value):
    """``None`` (not reached) as infinity."""
    return math.inf if value is None else value


def first_at_or_below(curve, column, level=0.5):
    # the documented 1e-9 tolerance: a product such as 0.8 * 0.75 * 5/6 is 0.5 exactly but
    # 0.5000000000000001 in floating point (README, "Kaplan–Meier")
    return next((row[0] for row in curve if row[column] <= level + 1e-9), math.inf)
