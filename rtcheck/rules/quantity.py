"""Quantities with units as protocol files write them: ``"30 Gy"``, ``"90 %"``, ``"48 h"``.

Units are mandatory. A limit must be in the unit its metric gives (``D0.35cc[Gy]``
→ Gy, ``V20Gy[%]`` → %): Gy/cGy or cc/% are never mixed or converted silently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rtcheck.dose.metric_spec import MetricSpec, OutputUnit

UNITS = ("Gy", "cGy", "%", "cc", "h")
_RE = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([A-Za-z%]*)\s*$")

#: The unit a limit must have for each metric output unit.
LIMIT_UNIT = {OutputUnit.GY: "Gy", OutputUnit.CGY: "cGy", OutputUnit.PERCENT_RX: "%",
              OutputUnit.CC: "cc", OutputUnit.PERCENT_VOLUME: "%"}
_KIND = {"Gy": "dose", "cGy": "dose", "%": "percentage", "cc": "volume", "h": "time"}


@dataclass(frozen=True)
class Quantity:
    """A number with its unit, and the text it was written as."""

    value: float
    unit: str
    raw: str

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}")
        if not math.isfinite(self.value):
            raise ValueError("a quantity must be finite")

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


def parse_quantity(text: object) -> Quantity:
    """Parse ``"<number> <unit>"``; ``ValueError`` with a one-line reason otherwise."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"{text!r} is not a number with a unit such as '30 Gy'")
    m = _RE.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a number with a unit such as '30 Gy'")
    value, unit = float(m.group(1)), m.group(2)
    if not unit:
        raise ValueError(f"{text!r} has no unit (write e.g. '{m.group(1)} Gy')")
    if unit not in UNITS:
        raise ValueError(f"{text!r}: unknown unit {unit!r} (use one of {', '.join(UNITS)})")
    return Quantity(value, unit, str(text))


def check_limit_unit(limit: Quantity, spec: MetricSpec) -> str | None:
    """``None`` when ``limit`` is in the unit ``spec`` gives, else the problem in one line."""
    wanted = LIMIT_UNIT[spec.output_unit]
    if limit.unit == wanted:
        return None
    kind = _KIND[wanted]
    if _KIND[limit.unit] == kind:
        return (f"limit '{limit.raw}' is in {limit.unit} but {spec.raw} gives {wanted}: write "
                f"the limit in {wanted} (units are never converted)")
    return (f"limit '{limit.raw}' has no {kind} unit ({spec.raw} gives "
            f"{spec.output_unit.value}); write the limit in {wanted}")
