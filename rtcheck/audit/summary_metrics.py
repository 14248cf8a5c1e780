"""What the audit summary takes from one plan case, and the per-site statistics.

Key metrics are picked by a check's kind, structure and metric — never by a protocol's
check id — so any protocol gives them. In each plan case (``report.cases[]``):

``cord``
    the first ``dvh`` check on the structure ``SpinalCord`` (TG-263 name) with the metric
    ``D0.035cc[Gy]`` and a value.
``coverage``
    the first ``dvh`` check with a lower limit (``>=``/``>``) and a value on a target:
    a structure flagged ``target`` in the case's structure table (by protocol name or
    ROI), or a name starting with ``PTV``. MEDCARE: ``sbrt.ptv_coverage``, PTV D90%.
``bed``
    the first ``prescription_bed`` check with a value (the plan's prescription BED).
``gap``
    every fraction gap (``fraction_gaps[].gap_hours``); the window drawn is read from
    the ``fraction_spacing`` check's metric text (``48 h ≤ gap < 72 h``).

A check partly outside the dose grid has no value (only bounds) and gives no point.
Each point keeps its own limit(s) from the check's ``comparison`` and ``limit``; it is
*beyond the limit* when a limit does not hold (for a gap without a parsed window: when
the gap's status is ``fail``). Points of different metric texts (D90% and D95%, BED at
another alpha/beta) form separate distributions.

A site's distribution has quartiles (linear interpolation between order statistics,
Hyndman & Fan 1996 type 7, numpy's default); *IQR outliers* lie beyond Tukey's fences
``q1 - 1.5 IQR`` or ``q3 + 1.5 IQR`` (Tukey JW, *Exploratory Data Analysis*,
Addison-Wesley 1977), with the IQR floored (:func:`iqr_floor`) so that values that are
all nearly equal never give "outliers"; computed only when the site has at least
:data:`MIN_IQR_POINTS` values.

*Unmatched structures*: a ``not_evaluated`` check naming a structure with no matched ROI
(``required.X``, or a DVH limit whose structure is missing, ambiguous, or a derived
structure not supplied), and any ``STRUCTURE_NOT_FOUND`` finding.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from rtcheck.evaluate.structure import DECIMALS
from rtcheck.rules.vocabulary import CheckKind, CheckStatus, Comparison

MIN_IQR_POINTS = 4
IQR_FACTOR = 1.5
#: the smallest IQR used for the fences, per unit (see :func:`iqr_floor`)
IQR_ABS_FLOOR = {"Gy": 0.1, "%": 0.5, "h": 0.5, "cc": 0.1}
#: ... and as a share of the site's median absolute value
IQR_REL_FLOOR = 0.01
#: (comparison, limit): ``value <comparison> limit`` must hold
Limit = tuple[str, float]
_WINDOW = re.compile(r"(\d+(?:\.\d+)?) h (≤|<) gap (≤|<) (\d+(?:\.\d+)?|inf) h")
_LOWER = {"≤": ">=", "<": ">"}
_UNIT = re.compile(r"\[([^\]]+)\]\s*$")
_UPPER = {"≤": "<=", "<": "<"}


@dataclass(frozen=True)
class KeyMetric:
    """One key metric of the summary: its key, title, unit and selection rule."""

    key: str
    title: str
    unit: str
    rule: str


KEY_METRICS = (
    KeyMetric("cord", "Spinal cord D0.035cc", "Gy",
              "first dvh check on SpinalCord with metric D0.035cc[Gy] and a value"),
    KeyMetric("coverage", "PTV coverage", "Gy",
              "first dvh check with a lower limit (>= or >) and a value on a target "
              "structure (flagged target, or named PTV*)"),
    KeyMetric("bed", "Prescription BED", "Gy", "first prescription_bed check with a value"),
    KeyMetric("gap", "Fraction gaps", "h",
              "every fraction gap; window from the fraction_spacing check's metric"),
)
METRIC_BY_KEY = {m.key: m for m in KEY_METRICS}


@dataclass(frozen=True)
class CasePoint:
    """A key-metric value of one plan case, before it joins its site's distribution."""

    key: str
    label: str
    value: float
    status: str
    limits: tuple[Limit, ...]
    note: str = ""


def holds(value: float, limit: Limit) -> bool:
    return Comparison(limit[0]).holds(value, limit[1])


def beyond_limit(point: CasePoint) -> bool:
    """True when a limit of the point does not hold (no limit: its status is ``fail``)."""
    if point.limits:
        return not all(holds(point.value, lim) for lim in point.limits)
    return point.status == CheckStatus.FAIL.value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _limits(check: dict[str, Any]) -> tuple[Limit, ...]:
    limit, comparison = _number(check.get("limit")), check.get("comparison")
    if limit is None or comparison not in {c.value for c in Comparison}:
        return ()
    return ((str(comparison), limit),)


def _point(key: str, label: str, check: dict[str, Any]) -> CasePoint:
    value = _number(check.get("value"))
    assert value is not None
    return CasePoint(key, label, value, str(check.get("status")), _limits(check))


def _targets(case: dict[str, Any]) -> set[str]:
    return {str(s.get("name")) for s in case.get("structures") or () if s.get("target")}


def _is_coverage(check: dict[str, Any], targets: set[str]) -> bool:
    if check.get("comparison") not in (Comparison.GE.value, Comparison.GT.value):
        return False
    names = {str(check.get("structure") or ""), str(check.get("roi") or "")} - {""}
    return bool(names & targets) or any(n.upper().startswith("PTV") for n in names)


def _first_checks(case: dict[str, Any]) -> list[CasePoint]:
    found: dict[str, CasePoint] = {}
    targets = _targets(case)
    for check in case.get("checks") or ():
        if _number(check.get("value")) is None:
            continue
        kind, metric = check.get("kind"), str(check.get("metric") or "")
        if kind == CheckKind.PRESCRIPTION_BED.value and "bed" not in found:
            found["bed"] = _point("bed", metric or "BED", check)
        elif kind != CheckKind.DVH.value:
            continue
        elif (check.get("structure") == "SpinalCord" and metric == "D0.035cc[Gy]"
              and "cord" not in found):
            found["cord"] = _point("cord", f"SpinalCord {metric}", check)
        elif "coverage" not in found and _is_coverage(check, targets):
            found["coverage"] = _point("coverage", f"{check.get('structure')} {metric}", check)
    return list(found.values())


def gap_window(case: dict[str, Any]) -> tuple[Limit, ...]:
    """The allowed fraction-gap window of a case, from its ``fraction_spacing`` check."""
    for check in case.get("checks") or ():
        if check.get("kind") != CheckKind.FRACTION_SPACING.value:
            continue
        m = _WINDOW.search(str(check.get("metric") or ""))
        if m is None:
            return ()
        out: list[Limit] = [(_LOWER[m.group(2)], float(m.group(1)))]
        if m.group(4) != "inf":
            out.append((_UPPER[m.group(3)], float(m.group(4))))
        return tuple(out)
    return ()


def case_points(case: dict[str, Any]) -> list[CasePoint]:
    """Every key-metric value of one plan case (``report.cases[]``), by the rules above."""
    out = _first_checks(case)
    window = gap_window(case)
    for gap in case.get("fraction_gaps") or ():
        hours = _number(gap.get("gap_hours"))
        if hours is not None:
            out.append(CasePoint("gap", "fraction gap", hours, str(gap.get("status")), window,
                                 f"{gap.get('from_fraction')}→{gap.get('to_fraction')}"))
    return out


def _reason(check: dict[str, Any]) -> str:
    match = check.get("match")
    if match and "ambiguous" in str(match):
        return "ambiguous"
    if match is None and str(check.get("message", "")).startswith("needs the derived"):
        return "derived structure not supplied"
    return "not found"


def unmatched_structures(case: dict[str, Any]) -> dict[str, set[str]]:
    """Protocol structure name -> reasons, for the structures of a plan case left unmatched."""
    out: dict[str, set[str]] = {}
    for check in case.get("checks") or ():
        if (check.get("status") == CheckStatus.NOT_EVALUATED.value and check.get("structure")
                and check.get("roi") is None):
            out.setdefault(str(check["structure"]), set()).add(_reason(check))
    for finding in case.get("findings") or ():
        if finding.get("code") == "STRUCTURE_NOT_FOUND" and finding.get("subject"):
            out.setdefault(str(finding["subject"]), set()).add("not found")
    return out


# --------------------------------------------------------------------------- statistics

def quantile(values: list[float], p: float) -> float:
    """The ``p`` quantile of sorted ``values`` by linear interpolation (numpy's default)."""
    pos = (len(values) - 1) * p
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


@dataclass(frozen=True)
class MetricPoint:
    """One value of a site's distribution, with its case and the limit(s) it is held to."""

    case: str
    note: str
    value: float
    status: str
    limits: tuple[Limit, ...]
    beyond_limit: bool
    iqr_outlier: bool

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case, "note": self.note, "value": self.value,
                "status": self.status, "limits": [list(lim) for lim in self.limits],
                "beyond_limit": self.beyond_limit, "iqr_outlier": self.iqr_outlier}


@dataclass(frozen=True)
class SiteDistribution:
    """A key metric at one site: its points (sorted by value, case) and quartiles."""

    site: str
    points: tuple[MetricPoint, ...]
    quartiles: tuple[float, float, float]
    fences: tuple[float, float] | None
    iqr_floor: float = 0.0

    @property
    def limits(self) -> tuple[Limit, ...]:
        """Every distinct limit of the site's points (the lines to draw)."""
        return tuple(sorted({lim for p in self.points for lim in p.limits},
                            key=lambda lim: (lim[1], lim[0])))

    def to_dict(self) -> dict[str, Any]:
        values = [p.value for p in self.points]
        q1, median, q3 = self.quartiles
        return {"site": self.site, "n": len(values), "min": min(values), "q1": q1,
                "median": median, "q3": q3, "max": max(values),
                "iqr_fences": list(self.fences) if self.fences else None,
                "iqr_floor": self.iqr_floor,
                "limits": [list(lim) for lim in self.limits],
                "points": [p.to_dict() for p in self.points]}


def metric_unit(key: str, label: str) -> str:
    """The unit of a distribution: the ``[unit]`` ending its metric text (``PTV
    V100%[%]``), else the key metric's unit."""
    m = _UNIT.search(label)
    return m.group(1) if m else METRIC_BY_KEY[key].unit


def iqr_floor(unit: str, median: float) -> float:
    """The smallest IQR the fences are built on: the larger of an absolute floor for the
    unit (:data:`IQR_ABS_FLOOR`: 0.1 Gy, 0.5 %, 0.5 h, 0.1 cc; 0 for another unit) and
    1 % of the median's absolute value (:data:`IQR_REL_FLOOR`).

    Tukey's fences scale with the IQR, so when a site's values are (nearly) all equal —
    every plan prescribed 130 Gy BED, every gap 48.15 h — the IQR is ≈ 0 and any tiny
    difference (a rounding, a DVH interpolation) would be "an outlier". Differences
    below these floors carry no clinical meaning: 0.1 Gy and 1 % are below the dose
    reporting resolution of a TPS and the agreement expected between DVH calculations
    (a few per cent near steep gradients), 0.5 % of a volume below the resolution of a
    percentage DVH point, and 0.5 h below that of a treatment schedule. So a value is
    flagged only when it lies more than ``1.5 × floor`` beyond a quartile.
    """
    return max(IQR_ABS_FLOOR.get(unit, 0.0), IQR_REL_FLOOR * abs(median))


def site_distribution(site: str, points: list[tuple[str, CasePoint]],
                      unit: str = "") -> SiteDistribution:
    """The distribution of ``(case, point)`` pairs of one site (at least one); ``unit``
    chooses the IQR floor (:func:`iqr_floor`)."""
    ordered = sorted(points, key=lambda cp: (cp[1].value, cp[0], cp[1].note))
    values = [p.value for _, p in ordered]
    q1, median, q3 = (round(quantile(values, q), DECIMALS) for q in (0.25, 0.5, 0.75))
    fences, floor = None, round(iqr_floor(unit, median), DECIMALS)
    if len(values) >= MIN_IQR_POINTS:
        iqr = max(q3 - q1, floor)
        fences = (round(q1 - IQR_FACTOR * iqr, DECIMALS), round(q3 + IQR_FACTOR * iqr, DECIMALS))
    out = tuple(MetricPoint(case, p.note, p.value, p.status, p.limits, beyond_limit(p),
                            fences is not None and not fences[0] <= p.value <= fences[1])
                for case, p in ordered)
    return SiteDistribution(site, out, (q1, median, q3), fences, floor)


@dataclass(frozen=True)
class MetricDistribution:
    """One key metric (one metric text) across sites."""

    key: str
    label: str
    sites: tuple[SiteDistribution, ...]

    @property
    def metric(self) -> KeyMetric:
        return METRIC_BY_KEY[self.key]

    @property
    def unit(self) -> str:
        return metric_unit(self.key, self.label)

    def to_dict(self) -> dict[str, Any]:
        m = self.metric
        return {"key": self.key, "title": m.title, "label": self.label, "unit": self.unit,
                "rule": m.rule, "sites": [s.to_dict() for s in self.sites]}
