"""Which ROI stands for each structure the protocol names (see :mod:`.matching`)."""

from __future__ import annotations

from dataclasses import dataclass

from rtcheck.dicom.model import StructureSet
from rtcheck.rules.matching import MatchStatus, StructureMatch, match_structure
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.protocol import Arm, Protocol


@dataclass(frozen=True)
class StructureMatches:
    """Matches of every protocol structure name of one arm (and site)."""

    matches: tuple[StructureMatch, ...]
    required: tuple[str, ...]

    def get(self, name: str) -> StructureMatch:
        for m in self.matches:
            if m.standard_name == name:
                return m
        raise KeyError(name)

    def roi_names(self) -> tuple[str, ...]:
        """Matched ROI names, each once, in protocol order."""
        return tuple(dict.fromkeys(m.roi_name for m in self.matches
                                   if m.status is MatchStatus.MATCHED and m.roi_name))


def protocol_names(arm: Arm, required: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Every structure name the arm uses, with the aliases written beside it."""
    out: dict[str, list[str]] = {n: [] for n in required}
    for c in arm.constraints:
        for s in c.structures:
            out.setdefault(s, []).extend(c.aliases)
    for pc in arm.checks:
        if pc.structure:
            out.setdefault(pc.structure, []).extend(pc.aliases)
    return {k: tuple(dict.fromkeys(v)) for k, v in out.items()}


def match_all(ss: StructureSet | None, protocol: Protocol, arm: Arm,
              required: tuple[str, ...], options: CheckOptions) -> StructureMatches:
    """Match every name of the arm against the ROIs of ``ss`` (none when absent)."""
    rois = [s.name for s in ss.structures] if ss is not None else []
    matches = []
    for name, aliases in protocol_names(arm, required).items():
        all_aliases = (*protocol.aliases_for(name), *aliases)
        matches.append(match_structure(name, rois, aliases=all_aliases,
                                       alias_table=options.alias_table))
    return StructureMatches(tuple(matches), required)
