"""How far a value may move before a baseline comparison calls it drift.

Every evaluated value of a plan check has a *kind*, read from its unit, its metric and
its check kind (:func:`value_kind`). Each kind has a default tolerance; a protocol may
override some (``regression_tolerances:`` in its YAML, validated with file:line messages)
and the command line overrides both (``--tolerance Gy=0.05``, repeatable). A value
drifts when ``|current - baseline| > max(absolute, relative * |baseline|)``.

Defaults and why (:data:`DEFAULTS`):

========  ==============================  ===============  ==================================
kind      values                          default          rationale
========  ==============================  ===============  ==================================
``Gy``    physical dose in Gy (DVH dose   0.01 Gy          1 cGy: below clinical relevance
          metrics, Rx, Dmax in Gy)                         (limits are written to 0.1 Gy),
                                                           100x the JSON rounding (1e-4)
``cGy``   physical dose in cGy            1 cGy            the same dose as ``Gy``
``BED``   BED or EQD2 in Gy (``@BED3``,   0.1 Gy           BED amplifies dose changes
          prescription BED)                                (dBED/dD = 1 + 2d/(α/β) ≈ 7.7 at
                                                           10 Gy/fx, α/β 3 Gy): 0.1 Gy BED
                                                           ≈ 0.013 Gy physical there; 0.1 %
                                                           of a 100 Gy BED limit
``vol%``  percentage of a structure's     0.1 point        V-limits are whole percentages;
          volume (``V20Gy[%]``)                            sub-voxel sampling noise is
                                                           ~0.01 point
``Rx%``   percentage of the prescription  0.05 point       0.05 % of a 20-60 Gy Rx is
          (``D95%[%]``, Dmax % of Rx,                      0.01-0.03 Gy, like ``Gy``
          isodose level)
``cc``    volume in cc (``V20Gy[cc]``)    0.5 % relative,  volumes scale with the structure;
                                          at least         the floor is 10x the JSON
                                          0.001 cc         rounding, 1/35 of the 0.035 cc
                                                           TG-101 point volume
``h``     hours (fraction spacing)        0.01 h (36 s)    the display precision of gaps;
                                                           record times are to the second
``other`` any other unit                  0.0001           the JSON rounding: exact
========  ==============================  ===============  ==================================

Limits, comparisons, units, statuses and verdicts are never toleranced: any change is
drift. A tolerance is written ``0.05`` (absolute, in the kind's unit), ``0.5%``
(relative to the baseline value) or both, ``0.5%,0.001`` (whichever allows more).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rtcheck.errors import UsageError

#: the kinds, in display order, with what they hold
KINDS: dict[str, str] = {
    "Gy": "physical dose, Gy",
    "cGy": "physical dose, cGy",
    "BED": "BED or EQD2, Gy",
    "vol%": "percentage of a structure's volume",
    "Rx%": "percentage of the prescription dose",
    "cc": "volume, cc",
    "h": "time, hours",
    "other": "any other unit",
}

#: the unit of each kind's absolute tolerance (for display)
UNITS: dict[str, str] = {"Gy": "Gy", "cGy": "cGy", "BED": "Gy", "vol%": "points",
                         "Rx%": "points", "cc": "cc", "h": "h", "other": ""}

#: slack for binary floating point: 30.7956 - 30.7856 is 0.010000000000001563
_EPS = 1e-9
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_PART = re.compile(rf"^\s*({_NUMBER})\s*(%?)\s*$")


@dataclass(frozen=True)
class Tolerance:
    """``absolute`` in the kind's unit, ``relative`` as a fraction (0.005 = 0.5 %)."""

    absolute: float = 0.0
    relative: float = 0.0

    def __post_init__(self) -> None:
        for name in ("absolute", "relative"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"tolerance {name} must be a finite number >= 0, got {value}")

    def allowed(self, baseline: float) -> float:
        """The largest |change| that is not drift, for this baseline value."""
        return max(self.absolute, self.relative * abs(baseline))

    def exceeded(self, baseline: float, current: float) -> bool:
        return abs(current - baseline) > self.allowed(baseline) + _EPS

    def text(self) -> str:
        """``0.01``, ``0.5%`` or ``0.5%,0.001`` (what :func:`parse_tolerance` reads)."""
        parts = []
        if self.relative:
            parts.append(f"{self.relative * 100:g}%")
        if self.absolute or not parts:
            parts.append(f"{self.absolute:g}")
        return ",".join(parts)


def parse_tolerance(text: object) -> Tolerance:
    """A tolerance from ``0.05``, ``"0.5%"``, ``"0.5%,0.001"`` (or a YAML number).

    Raises ``ValueError`` with a message saying what to write.
    """
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a tolerance")
    if isinstance(text, int | float):
        text = repr(float(text))
    absolute = relative = None
    for part in str(text).split(","):
        m = _PART.match(part)
        if not m:
            raise ValueError(f"tolerance {str(text)!r}: write a number (absolute, in the "
                             "kind's unit), N% (relative to the baseline) or both, e.g. "
                             "0.5%,0.001")
        if m.group(2):
            if relative is not None:
                raise ValueError(f"tolerance {str(text)!r}: two relative parts")
            relative = float(m.group(1)) / 100.0
        else:
            if absolute is not None:
                raise ValueError(f"tolerance {str(text)!r}: two absolute parts")
            absolute = float(m.group(1))
    try:
        return Tolerance(absolute or 0.0, relative or 0.0)
    except ValueError as exc:
        raise ValueError(f"tolerance {str(text)!r}: {exc}") from None


def check_kind_name(kind: object) -> str:
    """``kind`` when it is a known kind; ``ValueError`` listing the kinds otherwise."""
    if kind not in KINDS:
        raise ValueError(f"unknown tolerance kind {kind!r}; kinds: {', '.join(KINDS)}")
    return str(kind)


DEFAULTS: dict[str, Tolerance] = {
    "Gy": Tolerance(0.01), "cGy": Tolerance(1.0), "BED": Tolerance(0.1),
    "vol%": Tolerance(0.1), "Rx%": Tolerance(0.05), "cc": Tolerance(0.001, 0.005),
    "h": Tolerance(0.01), "other": Tolerance(0.0001),
}


@dataclass(frozen=True)
class Tolerances:
    """A tolerance for every kind, and where each came from (default, protocol, option)."""

    by_kind: tuple[tuple[str, Tolerance, str], ...] = tuple(
        (k, t, "default") for k, t in DEFAULTS.items())

    def __getitem__(self, kind: str) -> Tolerance:
        for k, tol, _ in self.by_kind:
            if k == kind:
                return tol
        return DEFAULTS["other"]

    def source(self, kind: str) -> str:
        return next((s for k, _, s in self.by_kind if k == kind), "default")

    def replaced(self, items: Iterable[tuple[str, Tolerance]], source: str) -> Tolerances:
        """These tolerances with ``items`` (kind, tolerance) replacing theirs."""
        new = dict(items)
        return Tolerances(tuple((k, new.get(k, t), source if k in new else s)
                                for k, t, s in self.by_kind))

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {k: {"absolute": t.absolute, "relative": t.relative, "text": t.text(),
                    "source": s} for k, t, s in self.by_kind}

    def text(self) -> str:
        """``Gy ±0.01 Gy; ...; cc ±0.5%,0.001 cc; ...`` (the source when not a default)."""
        return "; ".join(f"{k} ±{t.text()}" + (f" {UNITS[k]}" if UNITS.get(k) else "")
                         + (f" ({s})" if s != "default" else "") for k, t, s in self.by_kind)


def parse_assignment(text: str) -> tuple[str, Tolerance]:
    """``"Gy=0.05"`` → ("Gy", Tolerance(0.05)); ``ValueError`` otherwise."""
    kind, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: write KIND=VALUE, e.g. Gy=0.05 (kinds: "
                         f"{', '.join(KINDS)})")
    return check_kind_name(kind.strip()), parse_tolerance(value)


def resolve_tolerances(protocol: Iterable[tuple[str, str]] = (),
                       options: Iterable[str] = ()) -> Tolerances:
    """Defaults, then the protocol's ``regression_tolerances`` (already validated), then the
    ``--tolerance KIND=VALUE`` options (a malformed one is a :class:`UsageError`)."""
    tol = Tolerances().replaced(((k, parse_tolerance(v)) for k, v in protocol), "protocol")
    given = []
    for text in options:
        try:
            given.append(parse_assignment(text))
        except ValueError as exc:
            raise UsageError(f"--tolerance {exc}") from None
    return tol.replaced(given, "--tolerance")


def value_kind(unit: str | None, metric: str | None = None,
               check_kind: str | None = None) -> str:
    """The tolerance kind of a check's value (see the module docstring)."""
    lq = check_kind == "prescription_bed" or (
        metric is not None and ("@BED" in metric.upper() or "@EQD2" in metric.upper()))
    if unit == "Gy":
        return "BED" if lq else "Gy"
    if unit == "% of Rx":
        return "Rx%"
    if unit == "%":
        return "Rx%" if check_kind in ("max_dose", "isodose_level") else "vol%"
    if unit in ("cGy", "cc", "h"):
        return unit
    return "other"

