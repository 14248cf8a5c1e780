"""The choices of one plan check (picklable: the audit ships it to worker processes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rtcheck.dose.settings import DvhSettings
from rtcheck.rules.matching import AliasTable
from rtcheck.rules.schedule import FractionTime

#: where the DVH geometry model of a check came from (issue #12): ``--geometry``, the
#: protocol's ``dvh.geometry``, or neither (``stacked``, the default)
GEOMETRY_SOURCES = ("option", "protocol", "default")


@dataclass(frozen=True)
class CheckOptions:
    """Arm, site, aliases, prescription override, schedule and DVH settings.

    ``rx_gy``/``fractions`` replace the plan's prescription (``--rx 30Gy/3fx``);
    ``schedule`` adds planned fraction times for fractions without a treatment record.
    ``geometry_source`` says where ``settings.geometry`` came from: one of
    :data:`GEOMETRY_SOURCES` (recorded in the result's provenance, named in its text).
    """

    arm: str | None = None
    site: str | None = None
    alias_table: AliasTable | None = None
    rx_gy: float | None = None
    fractions: int | None = None
    schedule: tuple[FractionTime, ...] = ()
    settings: DvhSettings = field(default_factory=DvhSettings)
    geometry_source: str = "default"

    def __post_init__(self) -> None:
        if self.rx_gy is not None and not (self.rx_gy > 0 and math.isfinite(self.rx_gy)):
            raise ValueError(f"the prescription must be a positive dose, got {self.rx_gy}")
        if self.fractions is not None and self.fractions < 1:
            raise ValueError(f"the number of fractions must be >= 1, got {self.fractions}")
        if self.geometry_source not in GEOMETRY_SOURCES:
            raise ValueError(f"geometry_source {self.geometry_source!r}: give one of "
                             + ", ".join(map(repr, GEOMETRY_SOURCES)))
