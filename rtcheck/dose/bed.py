"""Linear-quadratic biologically effective dose (BED) and EQD2, voxel by voxel.

Formulas (linear-quadratic model, complete repair between fractions, no time factor):

* BED = D · (1 + d / (α/β)) with d = D / n the dose per fraction — Barendsen,
  Int J Radiat Oncol Biol Phys 8:1981–1997 (1982) ("extrapolated tolerance dose");
  Fowler, Br J Radiol 62:679–694 (1989).
* EQD2 = BED / (1 + 2 / (α/β)) — the total dose in 2 Gy fractions with the same
  BED; Withers, Thames & Peters, Radiother Oncol 1:187–191 (1983).

Applied voxel by voxel: every dose sample ``D_i`` (total over ``n`` fractions, in
Gy) becomes ``BED_i = D_i (1 + D_i / (n · α/β))`` *before* the DVH is built, so a
BED DVH is not the physical DVH with its axis relabelled (BED is not linear in D,
but it is monotonic, so D_x% of BED equals BED of D_x% — a property the tests
check). The number of fractions is the plan's; every voxel is assumed to receive
the same fraction of its total dose in each fraction (homogeneous fractionation).

α/β defaults to 3 Gy (late-responding tissue; the MEDCARE protocol prescribes
BED ≥ 100 Gy with α/β = 3 Gy) and can be set per structure with
:class:`AlphaBetaTable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import overload

import numpy as np

from rtcheck.dicom.model import FloatArray, Prescription
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.metric_spec import DoseSpace

#: Default α/β (Gy).
DEFAULT_ALPHA_BETA_GY = 3.0


def _check(n_fractions: int, alpha_beta_gy: float) -> None:
    if int(n_fractions) != n_fractions or n_fractions < 1:
        raise ValueError(f"number of fractions must be a positive integer, got {n_fractions}")
    if not (alpha_beta_gy > 0 and np.isfinite(alpha_beta_gy)):
        raise ValueError(f"alpha/beta must be a positive number of Gy, got {alpha_beta_gy}")


@overload
def bed_gy(total_dose_gy: float, n_fractions: int, alpha_beta_gy: float) -> float: ...
@overload
def bed_gy(total_dose_gy: FloatArray, n_fractions: int, alpha_beta_gy: float) -> FloatArray: ...
def bed_gy(
    total_dose_gy: float | FloatArray, n_fractions: int, alpha_beta_gy: float
) -> float | FloatArray:
    """BED = D (1 + D / (n α/β)) of a total dose ``D`` given in ``n`` equal fractions."""
    _check(n_fractions, alpha_beta_gy)
    d = np.asarray(total_dose_gy, dtype=np.float64)
    out = d * (1.0 + d / (n_fractions * alpha_beta_gy))
    return float(out) if out.ndim == 0 else out


@overload
def eqd2_gy(total_dose_gy: float, n_fractions: int, alpha_beta_gy: float) -> float: ...
@overload
def eqd2_gy(total_dose_gy: FloatArray, n_fractions: int, alpha_beta_gy: float) -> FloatArray: ...
def eqd2_gy(
    total_dose_gy: float | FloatArray, n_fractions: int, alpha_beta_gy: float
) -> float | FloatArray:
    """EQD2 = BED / (1 + 2 / (α/β))."""
    return bed_gy(total_dose_gy, n_fractions, alpha_beta_gy) / (1.0 + 2.0 / alpha_beta_gy)


def convert_dose(
    total_dose_gy: float | FloatArray,
    space: DoseSpace,
    n_fractions: int | None,
    alpha_beta_gy: float | None,
) -> FloatArray:
    """``total_dose_gy`` in ``space`` (physical doses are returned unchanged).

    Raises ``ValueError`` when the result is not finite (a denormal α/β makes BED
    overflow): no infinite dose ever reaches a DVH.
    """
    d = np.asarray(total_dose_gy, dtype=np.float64)
    if space is DoseSpace.PHYSICAL:
        return d
    if n_fractions is None or alpha_beta_gy is None:
        raise ValueError(f"{space.value} needs the number of fractions and alpha/beta")
    fn = bed_gy if space is DoseSpace.BED else eqd2_gy
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        out = np.asarray(fn(d, n_fractions, alpha_beta_gy), dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{space.value} with alpha/beta {alpha_beta_gy:g} Gy is not a finite "
                         "number (alpha/beta far too small?); check the alpha/beta")
    return out


def prescription_in_space_gy(
    total_dose_gy: float, space: DoseSpace, n_fractions: int | None, alpha_beta_gy: float
) -> float | None:
    """A prescription converted to ``space`` (LQ, as :func:`convert_dose`).

    ``None`` when the number of fractions is unknown or the result is not finite,
    so a report shows "not evaluated" instead of a made-up number.
    """
    if not n_fractions:
        return None
    try:
        return float(convert_dose(total_dose_gy, space, n_fractions, alpha_beta_gy))
    except ValueError:
        return None


def prescription_bed_gy(
    prescription: Prescription, alpha_beta_gy: float = DEFAULT_ALPHA_BETA_GY
) -> float:
    """BED of a plan's prescription: n d (1 + d/(α/β)).

    30 Gy / 3 fx, α/β 3 → 130 Gy; 56 Gy / 16 fx → 121.3 Gy; 70 Gy / 35 fx → 116.7 Gy.
    """
    return bed_gy(prescription.total_dose_gy, prescription.fractions, alpha_beta_gy)


def prescription_eqd2_gy(
    prescription: Prescription, alpha_beta_gy: float = DEFAULT_ALPHA_BETA_GY
) -> float:
    """EQD2 of a plan's prescription."""
    return eqd2_gy(prescription.total_dose_gy, prescription.fractions, alpha_beta_gy)


def dvh_in_space(
    dose_gy: FloatArray,
    weight_cc: FloatArray,
    space: DoseSpace,
    n_fractions: int | None = None,
    alpha_beta_gy: float | None = None,
    dmin_gy: float | None = None,
    dmax_gy: float | None = None,
) -> CumulativeDVH:
    """The cumulative DVH of volume-weighted samples after a voxel-wise dose transform.

    ``dmin_gy``/``dmax_gy`` are the structure's exact physical extremes when known
    (the DVH engine finds them on grid nodes and the surface); since BED and EQD2
    increase with dose, their transforms are the extremes of the new curve.
    """
    dvh = CumulativeDVH.from_samples(
        convert_dose(dose_gy, space, n_fractions, alpha_beta_gy), np.asarray(weight_cc)
    )
    if dmin_gy is None and dmax_gy is None:
        return dvh
    curve = dvh.dose_gy.copy()
    if dmax_gy is not None:
        curve[0] = max(curve[0], float(convert_dose(dmax_gy, space, n_fractions, alpha_beta_gy)))
    if dmin_gy is not None:
        curve[-1] = min(curve[-1], float(convert_dose(dmin_gy, space, n_fractions, alpha_beta_gy)))
    return CumulativeDVH(volume_cc=dvh.volume_cc, dose_gy=curve,
                         total_volume_cc=dvh.total_volume_cc, mean_gy=dvh.mean_gy)


@dataclass(frozen=True)
class AlphaBetaTable:
    """α/β per structure name (case-insensitive), with a default.

    >>> AlphaBetaTable(default_gy=3.0, by_structure={"PTV": 10.0}).for_structure("ptv")
    10.0
    """

    default_gy: float = DEFAULT_ALPHA_BETA_GY
    by_structure: Mapping[str, float] = field(default_factory=dict)
    #: the structure names as given (case-folded name → name), for messages
    given_names: Mapping[str, str] = field(init=False, repr=False, compare=False,
                                           default_factory=dict)

    def __post_init__(self) -> None:
        values = [self.default_gy, *self.by_structure.values()]
        for v in values:
            if not (v > 0 and np.isfinite(v)):
                raise ValueError(f"alpha/beta must be a positive number of Gy, got {v}")
        folded = {k.casefold(): float(v) for k, v in self.by_structure.items()}
        object.__setattr__(self, "given_names", {k.casefold(): k for k in self.by_structure})
        object.__setattr__(self, "by_structure", folded)

    def for_structure(self, name: str) -> float:
        return self.by_structure.get(name.casefold(), self.default_gy)

    @classmethod
    def parse(cls, default_gy: float, items: list[str] | tuple[str, ...]) -> AlphaBetaTable:
        """From ``NAME=VALUE`` strings (as given on the command line)."""
        table: dict[str, float] = {}
        for item in items:
            name, sep, value = item.rpartition("=")
            try:
                number = float(value)
            except ValueError:
                number = float("nan")
            if not sep or not name.strip() or not (number > 0 and np.isfinite(number)):
                raise ValueError(
                    f"expected NAME=ALPHA_BETA_GY with a positive number, got {item!r}")
            table[name.strip()] = number
        return cls(default_gy=default_gy, by_structure=table)

    def to_dict(self) -> dict[str, object]:
        return {"default_gy": self.default_gy, "by_structure": dict(self.by_structure)}
