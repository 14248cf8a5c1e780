"""The choices of one plan check (picklable: the audit ships it to worker processes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rtcheck.dose.settings import DvhSettings
from rtcheck.rules.matching import AliasTable
from rtcheck.rules.schedule import FractionTime


@dataclass(frozen=True)
class CheckOptions:
    """Arm, site, aliases, prescription override, schedule and DVH settings.

    ``rx_gy``/``fractions`` replace the plan's prescription (``--rx 30Gy/3fx``);
    ``schedule`` adds planned fraction times for fractions without a treatment record.
    """

    arm: str | None = None
    site: str | None = None
    alias_table: AliasTable | None = None
    rx_gy: float | None = None
    fractions: int | None = None
    schedule: tuple[FractionTime, ...] = ()
    settings: DvhSettings = field(default_factory=DvhSettings)

    def __post_init__(self) -> None:
        if self.rx_gy is not None and not (self.rx_gy > 0 and math.isfinite(self.rx_gy)):
            raise ValueError(f"the prescription must be a positive dose, got {self.rx_gy}")
        if self.fractions is not None and self.fractions < 1:
            raise ValueError(f"the number of fractions must be >= 1, got {self.fractions}")
