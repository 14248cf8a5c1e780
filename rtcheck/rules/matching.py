"""Match a protocol's standard structure names to the ROI names of a structure set.

A protocol names each structure by its AAPM TG-263 standard name (``SpinalCord``,
``Femur_Head_L``, ``PTV``...), optionally with protocol aliases; clinics name the
same ROI in many ways (``"Spinal Cord"``, ``"CORD"``, ``"Lt Femoral Head"``,
``"PTV_30Gy"``). :func:`match_structure` applies three rules in order and the first
rule that yields any candidate wins:

1. ``exact`` -- the ROI name equals the standard name or one of the protocol
   aliases (case-sensitive).
2. ``alias_file`` -- the ROI name matches a pattern of the user's alias table
   (:class:`AliasTable`) or a protocol alias, as a shell wildcard (:mod:`fnmatch`),
   case-insensitively.
3. ``tg263_normalised`` -- both names have the same :func:`normalise_name` form.
   ROIs that are derived helpers (:func:`is_helper_name`: PRVs, optimisation and
   ring structures...) are never matched to an organ by this rule. For the standard
   names ``PTV``, ``GTV`` and ``CTV`` the rule also accepts ROI names that start with
   that prefix followed by a separator or a digit (``PTV_30Gy``, ``PTV1``, ``PTV 30``).

More than one candidate at the winning rule (including two ROIs with the same name)
is :attr:`MatchStatus.AMBIGUOUS`: rtcheck never guesses between them. There is no
fuzzy or edit-distance matching, because a wrong match silently checks the wrong
organ; a name that no rule matches is :attr:`MatchStatus.MISSING` and the user adds
an alias.

References
----------
Mayo CS, Moran JM, Bosch W, et al. American Association of Physicists in Medicine
Task Group 263: Standardizing Nomenclatures in Radiation Oncology. Int J Radiat Oncol
Biol Phys 2018;100(4):1057-1066 (the TG-263 report).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rtcheck.rules.aliases import AliasTable

__all__ = [
    "BRITISH_SPELLINGS",
    "SYNONYMS",
    "AliasTable",
    "MatchRule",
    "MatchStatus",
    "StructureMatch",
    "is_helper_name",
    "match_structure",
    "normalise_name",
]

#: British -> American spelling of whole words (TG-263 uses American spelling).
BRITISH_SPELLINGS: Mapping[str, str] = {
    "oesophagus": "esophagus",
    "caecum": "cecum",
    "tumour": "tumor",
}

#: Common clinical names -> TG-263 normal form, keyed by the normal form of the body
#: (casefolded, separators removed, laterality removed). Kept small and conservative:
#: only names that denote one organ unambiguously. Names such as "Heart", "Lungs",
#: "Brain Stem" or "Spinal Cord" need no entry: casefolding and removing separators
#: already give the TG-263 form. Both spellings of the plexuses map to the TG-263
#: abbreviation so that protocols may use either.
SYNONYMS: Mapping[str, str] = {
    "cord": "spinalcord",
    "femoralhead": "femurhead",
    "smallbowel": "bowelsmall",
    "largebowel": "bowellarge",
    "lungtotal": "lungs",
    "lungstotal": "lungs",
    "totallung": "lungs",
    "bothlungs": "lungs",
    "chiasm": "opticchiasm",
    "opticnerve": "opticnrv",
    "cauda": "caudaequina",
    "brachialplexus": "brachialplex",
    "sacralplexus": "sacralplex",
}

_SEPARATORS = re.compile(r"[\s_\-.()]+")
_SIDES: Mapping[str, str] = {
    "l": "l", "lt": "l", "left": "l",
    "r": "r", "rt": "r", "right": "r",
}
_HELPER_MARKERS = ("prv", "ring", "avoid", "z_", "-ptv", "minus", "_exp", "+")
_OPT = re.compile(r"opt(?!ic)")  # "PTV_opt", "optPTV", but not "OpticChiasm"
_TARGETS = ("ptv", "gtv", "ctv")


class MatchRule(StrEnum):
    """The rule that produced a match, in the order the rules are tried."""

    EXACT = "exact"
    ALIAS_FILE = "alias_file"
    TG263 = "tg263_normalised"


class MatchStatus(StrEnum):
    """Outcome of matching one standard name."""

    MATCHED = "matched"
    MISSING = "missing"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class StructureMatch:
    """The ROI (if any) that stands for one standard structure name.

    Attributes
    ----------
    standard_name
        The protocol's TG-263 name, e.g. ``"SpinalCord"``.
    status
        ``MATCHED`` (exactly one candidate), ``AMBIGUOUS`` (several) or ``MISSING``.
    roi_name
        The matched ROI name; ``None`` unless ``MATCHED``.
    rule
        The rule that produced the candidates; ``None`` when ``MISSING``.
    candidates
        Every ROI name that matched at the winning rule, in input order (a name
        appears twice when two ROIs share it); empty when ``MISSING``.
    """

    standard_name: str
    status: MatchStatus
    roi_name: str | None
    rule: MatchRule | None
    candidates: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", MatchStatus(self.status))
        if self.rule is not None:
            object.__setattr__(self, "rule", MatchRule(self.rule))
        object.__setattr__(self, "candidates", tuple(self.candidates))
        if not self.standard_name.strip():
            raise ValueError("standard_name is empty")
        problem = _inconsistency(self)
        if problem:
            raise ValueError(f"inconsistent {self.status.value} match for "
                             f"{self.standard_name!r}: {problem}")

    def describe(self) -> str:
        """One line for reports, e.g. ``SpinalCord ← 'Spinal Cord' (tg263_normalised)``."""
        if self.status is MatchStatus.MISSING:
            return (f"{self.standard_name}: no ROI matched "
                    "(tried exact, alias file, TG-263 normalisation)")
        rule = self.rule.value if self.rule else ""
        if self.status is MatchStatus.MATCHED:
            return f"{self.standard_name} ← {self.roi_name!r} ({rule})"
        names = ", ".join(repr(c) for c in self.candidates)
        shared = len(set(self.candidates)) < len(self.candidates)
        duplicate = "; duplicate ROI names" if shared else ""
        return f"{self.standard_name}: ambiguous: {names} ({rule}{duplicate})"


def _inconsistency(m: StructureMatch) -> str:
    """Why the fields of ``m`` contradict its status ('' when they do not)."""
    if m.status is MatchStatus.MATCHED:
        ok = m.rule is not None and m.roi_name is not None and m.candidates == (m.roi_name,)
        return "" if ok else "needs a rule, a roi_name and candidates == (roi_name,)"
    if m.status is MatchStatus.AMBIGUOUS:
        ok = m.rule is not None and m.roi_name is None and len(m.candidates) > 1
        return "" if ok else "needs a rule, no roi_name and at least two candidates"
    ok = m.rule is None and m.roi_name is None and not m.candidates
    return "" if ok else "needs no rule, no roi_name and no candidates"




def normalise_name(name: str) -> str:
    """The TG-263 normal form of a structure name, used by the ``tg263_normalised`` rule.

    Steps: casefold; split at separators (space, ``_``, ``-``, ``.``, parentheses);
    replace British spellings of whole words (:data:`BRITISH_SPELLINGS`); take a
    leading or trailing laterality word (``L``/``Lt``/``Left``, ``R``/``Rt``/``Right``)
    off as a trailing ``_l``/``_r`` marker, as TG-263 writes laterality with ``_L``/``_R``
    suffixes; join the rest without separators and map common clinical names to their
    TG-263 form (:data:`SYNONYMS`).

    Examples
    --------
    >>> normalise_name("Lt Femoral Head"), normalise_name("Femur_Head_L")
    ('femurhead_l', 'femurhead_l')
    >>> normalise_name("Oesophagus"), normalise_name("CORD")
    ('esophagus', 'spinalcord')
    """
    words = [BRITISH_SPELLINGS.get(w, w) for w in _SEPARATORS.split(name.casefold()) if w]
    side, words = _split_side(words)
    body = "".join(words)
    body = SYNONYMS.get(body, body)
    return f"{body}_{side}" if side and body else body


def _split_side(words: list[str]) -> tuple[str, list[str]]:
    """``(side, remaining words)``; side is ``'l'``, ``'r'`` or ``''``.

    A laterality word counts only as the first or last of at least two words; when
    both ends carry laterality they must agree (contradictory names keep no side).
    """
    if len(words) < 2:
        return "", words
    first, last = _SIDES.get(words[0], ""), _SIDES.get(words[-1], "")
    if first and last:
        return (first, words[1:-1]) if first == last and len(words) > 2 else ("", words)
    if last:
        return last, words[:-1]
    if first:
        return first, words[1:]
    return "", words


def is_helper_name(name: str) -> bool:
    """True when ``name`` looks like a derived helper structure, not an organ.

    Helpers contain ``PRV``, ``opt`` (not ``Optic``), ``ring``, ``avoid``, ``z_``,
    ``-PTV``, ``minus``, ``_exp`` or ``+``, or start with ``z`` or ``_`` (TG-263 marks
    structures that are not evaluated with a leading ``z`` or ``_``). Case-insensitive.
    """
    folded = name.strip().casefold()
    return (folded.startswith(("z", "_"))
            or any(marker in folded for marker in _HELPER_MARKERS)
            or _OPT.search(folded) is not None)


def _exact_rule(standard_name: str, aliases: Sequence[str]) -> Callable[[str], bool]:
    wanted = {standard_name, *aliases}
    return lambda roi: roi in wanted


def _alias_rule(patterns: Sequence[str]) -> Callable[[str], bool]:
    folded = [p.casefold() for p in patterns]
    return lambda roi: any(fnmatch.fnmatchcase(roi.casefold(), p) for p in folded)


def _tg263_rule(standard_name: str) -> Callable[[str], bool]:
    wanted = normalise_name(standard_name)
    exclude_helpers = not is_helper_name(standard_name)
    target = (re.compile(rf"{wanted}(?:$|[\s_\-.()]|\d)") if wanted in _TARGETS else None)

    def test(roi: str) -> bool:
        if not wanted or (exclude_helpers and is_helper_name(roi)):
            return False
        if normalise_name(roi) == wanted:
            return True
        return target is not None and target.match(roi.strip().casefold()) is not None

    return test


def _rules(
    standard_name: str, aliases: Sequence[str], alias_table: AliasTable | None
) -> tuple[tuple[MatchRule, Callable[[str], bool]], ...]:
    table_patterns = alias_table.patterns_for(standard_name) if alias_table else ()
    return (
        (MatchRule.EXACT, _exact_rule(standard_name, aliases)),
        (MatchRule.ALIAS_FILE, _alias_rule((*table_patterns, *aliases))),
        (MatchRule.TG263, _tg263_rule(standard_name)),
    )


def match_structure(
    standard_name: str,
    roi_names: Sequence[str],
    *,
    aliases: Sequence[str] = (),
    alias_table: AliasTable | None = None,
) -> StructureMatch:
    """Find the ROI that stands for ``standard_name`` (see the module docstring).

    Parameters
    ----------
    standard_name
        The protocol's TG-263 name, e.g. ``"SpinalCord"``.
    roi_names
        The ROI names of the structure set, in order (duplicates allowed).
    aliases
        The protocol's aliases for this structure: exact names for the ``exact``
        rule, and case-insensitive wildcards for the ``alias_file`` rule.
    alias_table
        The user's alias table, if any.

    Returns
    -------
    StructureMatch
        ``MATCHED`` with the ROI name and rule, ``AMBIGUOUS`` with every candidate
        of the first rule that had several, or ``MISSING``.
    """
    if isinstance(roi_names, str) or isinstance(aliases, str):
        raise TypeError("roi_names and aliases must be sequences of names, not one string")
    names = tuple(roi_names)
    for rule, test in _rules(standard_name, aliases, alias_table):
        candidates = tuple(n for n in names if test(n))
        if len(candidates) == 1:
            return StructureMatch(standard_name, MatchStatus.MATCHED, candidates[0], rule,
                                  candidates)
        if candidates:
            return StructureMatch(standard_name, MatchStatus.AMBIGUOUS, None, rule, candidates)
    return StructureMatch(standard_name, MatchStatus.MISSING, None, None, ())
