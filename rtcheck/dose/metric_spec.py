"""TG-263 DVH metric strings, parsed once into frozen, typed specifications.

Grammar (AAPM TG-263, "Standardizing nomenclatures in radiation oncology", 2018,
§ "DVH metrics"; case-insensitive, spaces ignored)::

    D<x>(%|cc)[Gy|cGy|%]      dose to the hottest x % / x cc          D95%[Gy], D0.035cc[Gy]
    V<d>(Gy|cGy|%)[%|cc]      volume receiving at least d              V20Gy[%], V20Gy[cc], V95%[%]
    DC<x>(%|cc)[Gy|cGy|%]     dose complement: max dose to the         DC700cc[Gy]
                              coldest x % / x cc
    CV<d>(Gy|cGy|%)[%|cc]     complement volume: volume receiving      CV12.4Gy[cc]
                              less than d
    Mean[Gy|cGy|%]  Max[Gy|cGy|%]  Min[Gy|cGy|%]

A ``%`` *dose* (query ``V95%`` or output ``[%]`` of a dose metric) is a percentage
of the prescription dose; a ``%`` *volume* (``D95%``, output ``[%]`` of a volume
metric) is a percentage of the structure volume.

Dose space (rtcheck extension, not TG-263): an optional suffix evaluates the metric
on a voxel-by-voxel linear-quadratic dose instead of the physical dose::

    D90%[Gy]@BED3      BED with alpha/beta = 3 Gy       (also @BED(3), @BED=3)
    V100Gy[%]@BED10    BED with alpha/beta = 10 Gy
    D2cc[Gy]@EQD2(3)   EQD2 with alpha/beta = 3 Gy      (also @EQD2=3; no bare number after EQD2)
    Max[Gy]@BED        BED with the structure's alpha/beta (default 3 Gy, see rtcheck.dose.bed)
    Mean[Gy]@PHYS      physical dose, whatever the command-line default

In BED/EQD2 space every dose in the spec (query and output) is BED/EQD2, and ``%``
of prescription refers to the prescription converted to the same space.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from enum import StrEnum

from rtcheck.errors import MetricSpecError


class MetricKind(StrEnum):
    DOSE_AT_VOLUME = "DOSE_AT_VOLUME"
    VOLUME_AT_DOSE = "VOLUME_AT_DOSE"
    DOSE_COMPLEMENT = "DOSE_COMPLEMENT"
    VOLUME_COMPLEMENT = "VOLUME_COMPLEMENT"
    MEAN = "MEAN"
    MAX = "MAX"
    MIN = "MIN"


class QueryUnit(StrEnum):
    """Unit of the number inside the metric (the query)."""

    CC = "cc"
    PERCENT_VOLUME = "%"  #: percent of the structure volume (D, DC)
    GY = "Gy"
    CGY = "cGy"
    PERCENT_RX = "% of Rx"  #: percent of the prescription dose (V, CV)


class OutputUnit(StrEnum):
    """Unit of the result (the bracketed part)."""

    GY = "Gy"
    CGY = "cGy"
    PERCENT_RX = "% of Rx"  #: dose metrics with [%]
    CC = "cc"
    PERCENT_VOLUME = "%"  #: volume metrics with [%]


class DoseSpace(StrEnum):
    """Which dose a metric is evaluated on."""

    PHYSICAL = "PHYSICAL"
    BED = "BED"
    EQD2 = "EQD2"


DOSE_OUTPUT_KINDS = frozenset(
    {MetricKind.DOSE_AT_VOLUME, MetricKind.DOSE_COMPLEMENT, MetricKind.MEAN, MetricKind.MAX,
     MetricKind.MIN}
)

VALID_FORMS = (
    "D<x>%[Gy|cGy|%]      e.g. D95%[Gy]   (dose to the hottest x % of the volume)",
    "D<x>cc[Gy|cGy|%]     e.g. D2cc[Gy], D0.035cc[Gy]",
    "V<d>Gy[%|cc]         e.g. V20Gy[%], V20Gy[cc] (also V<d>cGy)",
    "V<d>%[%|cc]          e.g. V95%[%]   (d in % of the prescription)",
    "DC<x>cc[Gy|cGy|%]    e.g. DC700cc[Gy] (max dose to the coldest x cc; also DC<x>%)",
    "CV<d>Gy[cc|%]        e.g. CV12.4Gy[cc] (volume receiving less than d; also cGy, %)",
    "Mean[Gy|cGy|%]  Max[Gy|cGy|%]  Min[Gy|cGy|%]",
    "optional dose-space suffix: @BED<a/b>, @BED(<a/b>), @EQD2(<a/b>), @BED, @EQD2, @PHYS"
    "   e.g. D90%[Gy]@BED3",
)

_NUM = r"(?P<num>\d+(?:\.\d*)?|\.\d+)"
_SUFFIX = (
    r"(?:@(?P<space>BED|EQD2|PHYS|PHYSICAL)"
    r"(?:\((?P<ab>\d+(?:\.\d*)?|\.\d+)\)|=(?P<ab_eq>\d+(?:\.\d*)?|\.\d+)"
    r"|(?P<ab_bare>\d+(?:\.\d*)?))?)?"
)
_PATTERNS: tuple[tuple[re.Pattern[str], MetricKind | None], ...] = (
    (re.compile(rf"^DC{_NUM}(?P<qunit>%|CC|CM3)\[(?P<out>GY|CGY|%)\]{_SUFFIX}$"),
     MetricKind.DOSE_COMPLEMENT),
    (re.compile(rf"^CV{_NUM}(?P<qunit>GY|CGY|%)\[(?P<out>%|CC|CM3)\]{_SUFFIX}$"),
     MetricKind.VOLUME_COMPLEMENT),
    (re.compile(rf"^D{_NUM}(?P<qunit>%|CC|CM3)\[(?P<out>GY|CGY|%)\]{_SUFFIX}$"),
     MetricKind.DOSE_AT_VOLUME),
    (re.compile(rf"^V{_NUM}(?P<qunit>GY|CGY|%)\[(?P<out>%|CC|CM3)\]{_SUFFIX}$"),
     MetricKind.VOLUME_AT_DOSE),
    (re.compile(rf"^(?P<stat>MEAN|MAX|MIN)\[(?P<out>GY|CGY|%)\]{_SUFFIX}$"), None),
)


@dataclass(frozen=True)
class MetricSpec:
    """One parsed DVH metric.

    Attributes
    ----------
    raw
        The text as given (outer whitespace stripped); the key in reports.
    kind
        What is asked (see :class:`MetricKind`).
    query_value, query_unit
        The number inside the metric and its unit (``None`` for Mean/Max/Min).
    output_unit
        The unit of the answer.
    dose_space
        Physical dose, BED or EQD2.
    alpha_beta_gy
        alpha/beta written in the spec (Gy); ``None`` means "the structure's value".
    space_explicit
        True when the spec carried an ``@`` suffix (a command-line default dose
        space then does not override it).
    """

    raw: str
    kind: MetricKind
    query_value: float | None
    query_unit: QueryUnit | None
    output_unit: OutputUnit
    dose_space: DoseSpace = DoseSpace.PHYSICAL
    alpha_beta_gy: float | None = None
    space_explicit: bool = False

    @property
    def outputs_dose(self) -> bool:
        return self.kind in DOSE_OUTPUT_KINDS

    @property
    def needs_prescription(self) -> bool:
        """True when the query or the output is a percentage of the prescription."""
        return self.query_unit is QueryUnit.PERCENT_RX or self.output_unit is OutputUnit.PERCENT_RX

    def with_dose_space(self, space: DoseSpace, alpha_beta_gy: float | None = None) -> MetricSpec:
        """This spec in ``space`` unless the spec chose its own space (``@`` suffix)."""
        if self.space_explicit:
            return self
        if space is DoseSpace.PHYSICAL:
            return replace(self, dose_space=space, alpha_beta_gy=None)
        return replace(self, dose_space=space, alpha_beta_gy=alpha_beta_gy)

    @property
    def label(self) -> str:
        """A column title: ``raw``, plus ``@BED``/``@EQD2`` when a default (not the spec) chose
        the dose space, so that a BED column is never titled as physical Gy."""
        if self.space_explicit or self.dose_space is DoseSpace.PHYSICAL:
            return self.raw
        ab = "" if self.alpha_beta_gy is None else f"({self.alpha_beta_gy:g})"
        return f"{self.raw}@{self.dose_space.value}{ab}"

    @property
    def canonical(self) -> str:
        """The spec in a normal spelling, e.g. ``D95%[Gy]``, ``V20Gy[cc]``, ``Max[Gy]@BED3``."""
        prefix = {MetricKind.DOSE_AT_VOLUME: "D", MetricKind.VOLUME_AT_DOSE: "V",
                  MetricKind.DOSE_COMPLEMENT: "DC", MetricKind.VOLUME_COMPLEMENT: "CV",
                  MetricKind.MEAN: "Mean", MetricKind.MAX: "Max", MetricKind.MIN: "Min"}[self.kind]
        query = ""
        if self.query_value is not None and self.query_unit is not None:
            unit = "%" if self.query_unit is QueryUnit.PERCENT_RX else self.query_unit.value
            query = f"{self.query_value:g}{unit}"
        out = "%" if self.output_unit in (OutputUnit.PERCENT_RX, OutputUnit.PERCENT_VOLUME) \
            else self.output_unit.value
        space = ""
        if self.space_explicit:
            physical = self.dose_space is DoseSpace.PHYSICAL
            space = "@PHYS" if physical else f"@{self.dose_space.value}"
            if self.alpha_beta_gy is not None:
                space += f"({self.alpha_beta_gy:g})"
        return f"{prefix}{query}[{out}]{space}"

    def describe(self) -> str:
        """A plain-words description, e.g. ``dose to the hottest 95 % (Gy)``."""
        q = ""
        if self.query_value is not None and self.query_unit is not None:
            q = f"{self.query_value:g} {self.query_unit.value}"
        text = {
            MetricKind.DOSE_AT_VOLUME: f"minimum dose to the hottest {q}",
            MetricKind.VOLUME_AT_DOSE: f"volume receiving at least {q}",
            MetricKind.DOSE_COMPLEMENT: f"maximum dose to the coldest {q}",
            MetricKind.VOLUME_COMPLEMENT: f"volume receiving less than {q}",
            MetricKind.MEAN: "mean dose",
            MetricKind.MAX: "maximum dose",
            MetricKind.MIN: "minimum dose",
        }[self.kind]
        space = ""
        if self.dose_space is not DoseSpace.PHYSICAL:
            ab = "structure" if self.alpha_beta_gy is None else f"{self.alpha_beta_gy:g} Gy"
            space = f", {self.dose_space.value} (alpha/beta {ab})"
        return f"{text} [{self.output_unit.value}]{space}"

    def __str__(self) -> str:
        return self.raw


def _error(text: str, why: str) -> MetricSpecError:
    forms = "\n  ".join(VALID_FORMS)
    return MetricSpecError(f"invalid DVH metric {text!r}: {why}. Valid forms:\n  {forms}")


def _query_unit(token: str, kind: MetricKind) -> QueryUnit:
    if kind in (MetricKind.DOSE_AT_VOLUME, MetricKind.DOSE_COMPLEMENT):
        return QueryUnit.PERCENT_VOLUME if token == "%" else QueryUnit.CC
    return {"GY": QueryUnit.GY, "CGY": QueryUnit.CGY, "%": QueryUnit.PERCENT_RX}[token]


def _output_unit(token: str, kind: MetricKind) -> OutputUnit:
    if kind in DOSE_OUTPUT_KINDS:
        return {"GY": OutputUnit.GY, "CGY": OutputUnit.CGY, "%": OutputUnit.PERCENT_RX}[token]
    return OutputUnit.PERCENT_VOLUME if token == "%" else OutputUnit.CC


def _query(raw: str, groups: dict[str, str], kind: MetricKind | None
           ) -> tuple[MetricKind, float | None, QueryUnit | None]:
    """The kind, query value and query unit of a matched metric (none for Mean/Max/Min)."""
    if kind is None:
        return MetricKind[groups["stat"]], None, None
    value = float(groups["num"])
    qunit = _query_unit(groups["qunit"], kind)
    if not math.isfinite(value):
        raise _error(raw, "the number is not finite")
    if qunit is QueryUnit.PERCENT_VOLUME and value > 100.0:
        raise _error(raw, f"a volume percentage must be within 0..100, got {value:g}")
    return kind, value, qunit


def _dose_space(raw: str, groups: dict[str, str]) -> tuple[DoseSpace, bool, float | None]:
    """The dose space of a matched metric, whether it was written, and its alpha/beta."""
    space_token = groups.get("space")
    ab_text = groups.get("ab") or groups.get("ab_eq") or groups.get("ab_bare")
    if space_token is None:
        space, explicit = DoseSpace.PHYSICAL, False
    else:
        space = DoseSpace.PHYSICAL if space_token.startswith("PHYS") else DoseSpace[space_token]
        explicit = True
    if ab_text is None:
        return space, explicit, None
    if space is DoseSpace.PHYSICAL:
        raise _error(raw, "an alpha/beta only makes sense with @BED or @EQD2")
    if space is DoseSpace.EQD2 and groups.get("ab_bare") is not None:
        raise _error(raw, "write the EQD2 alpha/beta in parentheses, e.g. @EQD2(3)")
    alpha_beta = float(ab_text)
    if not (alpha_beta > 0 and math.isfinite(alpha_beta)):
        raise _error(raw, "alpha/beta must be positive and finite (Gy)")
    return space, explicit, alpha_beta


def parse_metric(text: str) -> MetricSpec:
    """Parse one metric string; raise :class:`MetricSpecError` listing the valid forms."""
    if not isinstance(text, str):
        raise _error(str(text), "a metric must be a string")
    raw = text.strip()
    compact = "".join(raw.split())
    if not compact:
        raise _error(text, "the metric is empty")
    upper = compact.upper()
    for pattern, pattern_kind in _PATTERNS:
        m = pattern.match(upper)
        if m is None:
            continue
        groups = m.groupdict()
        kind, value, qunit = _query(raw, groups, pattern_kind)
        out = _output_unit(groups["out"], kind)
        space, explicit, alpha_beta = _dose_space(raw, groups)
        return MetricSpec(
            raw=raw, kind=kind, query_value=value, query_unit=qunit, output_unit=out,
            dose_space=space, alpha_beta_gy=alpha_beta, space_explicit=explicit,
        )
    raise _error(raw, _hint(upper))


def _hint(upper: str) -> str:
    """A best guess at what is wrong with an unrecognised metric."""
    if "[" not in upper:
        return "the output unit in brackets is missing (e.g. D95%[Gy], V20Gy[%])"
    if re.match(r"^(DC?|C?V)(\d+(\.\d*)?|\.\d+)\[", upper):
        return "the number needs a unit: % or cc after D/DC, Gy, cGy or % after V/CV"
    head, _, out = upper.partition("[")
    out = out.split("]")[0]
    if re.match(r"^C?V", head) and out in ("GY", "CGY"):
        return "a volume metric (V, CV) answers in [%] or [cc], not a dose unit"
    if re.match(r"^(DC?|MEAN|MAX|MIN)", head) and out in ("CC", "CM3"):
        return "a dose metric (D, DC, Mean, Max, Min) answers in [Gy], [cGy] or [%]"
    return "not a recognised form"


def parse_metrics(texts: list[str] | tuple[str, ...]) -> tuple[MetricSpec, ...]:
    """Parse several metrics, failing on the first invalid one."""
    return tuple(parse_metric(t) for t in texts)
