"""Results of the plan-quality indices: one :class:`IndexResult` per index, with its
definition and source (:data:`DEFINITIONS`), collected per target in :class:`PlanIndices`.
Computed by :mod:`rtcheck.dose.indices`; kept apart so a report can read them without
importing the computation (and scipy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rtcheck.dose.metrics import MetricStatus
from rtcheck.findings import Finding

_DEC = 4


DEFINITIONS: dict[str, tuple[str, str, str]] = {
    "rx_isodose": ("prescription isodose level", "100 · Rx / Dmax (global maximum)",
                   "RTOG 0236/0813/0915 convention: Rx isodose typically 60-90 % of Dmax"),
    "rtog_ci": ("RTOG conformity index", "PIV / TV",
                "Shaw E et al., Int J Radiat Oncol Biol Phys 1993;27:1231-1239"),
    "paddick_ci": ("Paddick conformity index", "TV_PIV² / (TV · PIV)",
                   "Paddick I, J Neurosurg 2000;93 Suppl 3:219-222"),
    "paddick_gi": ("Paddick gradient index", "PIV50% / PIV100%",
                   "Paddick I, Lippitz B, J Neurosurg 2006;105 Suppl:194-201"),
    "r50": ("R50%", "PIV50% / TV", "RTOG 0813 / 0915 conformality table"),
    "d2cm": ("D2cm", "maximum dose ≥ 2 cm from the PTV, % of Rx",
             "RTOG 0813 / 0915 conformality table"),
    "d2cm_gy": ("D2cm (Gy)", "maximum dose ≥ 2 cm from the PTV", "RTOG 0813 / 0915"),
    "hi_icru83": ("homogeneity index (ICRU 83)", "(D2% − D98%) / D50% of the target",
                  "ICRU Report 83, J ICRU 2010;10(1) §3.7.1"),
    "tv_cc": ("target volume TV", "lattice volume of the target", "—"),
    "piv_cc": ("prescription isodose volume PIV", "volume receiving ≥ Rx", "—"),
    "piv50_cc": ("50 % isodose volume PIV50%", "volume receiving ≥ 50 % Rx", "—"),
    "tv_piv_cc": ("TV_PIV", "target volume receiving ≥ Rx", "—"),
}


@dataclass(frozen=True)
class IndexResult:
    key: str
    value: float | None
    unit: str
    status: MetricStatus = MetricStatus.EVALUATED
    message: str = ""

    @property
    def name(self) -> str:
        return DEFINITIONS[self.key][0] if self.key in DEFINITIONS else self.key

    def to_dict(self) -> dict[str, Any]:
        level = self.key.removeprefix("coverage_")
        name, definition, source = DEFINITIONS.get(
            self.key, (f"coverage by the {level} % isodose",
                       f"volume of the target receiving ≥ {level} % of Rx, % of TV",
                       "isodose coverage (e.g. RTOG 0813: Rx isodose covers 95 % of the PTV)"))
        return {"key": self.key, "name": name,
                "value": None if self.value is None else round(self.value, _DEC),
                "unit": self.unit, "status": self.status.value, "message": self.message,
                "definition": definition, "source": source}


@dataclass(frozen=True)
class PlanIndices:
    """All indices of one target."""

    target: str
    prescription_gy: float
    lattice_step_mm: float
    restricted_to: str | None
    results: tuple[IndexResult, ...]
    findings: tuple[Finding, ...] = ()

    def get(self, key: str) -> IndexResult:
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(key)

    def value(self, key: str) -> float | None:
        return self.get(key).value

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "prescription_gy": self.prescription_gy,
                "lattice_step_mm": round(self.lattice_step_mm, _DEC),
                "piv_restricted_to": self.restricted_to,
                "indices": [r.to_dict() for r in self.results],
                "findings": [f.to_dict() for f in self.findings]}
