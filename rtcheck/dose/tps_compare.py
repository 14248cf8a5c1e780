"""Compare the planning system's embedded DVHs with rtcheck's own.

An RTDOSE may carry the TPS's DVHs (DVH Sequence, PS3.3 C.8.8.4); the loader turns
each into an :class:`~rtcheck.dicom.model.EmbeddedDVH` (cumulative, Gy, cc). Here
the TPS curve is read as a piecewise-linear cumulative DVH through the points
``(dose_edge_i, V_i)`` — the same interpolation rtcheck uses for its own curves —
and volume, mean, D95 % and D2 % are computed from it and from rtcheck's DVH of
the same ROI (matched by ROI number).

* Tiny negative volumes written by some systems (≈ -1e-13 cc) are clipped to 0
  and the curve is made non-increasing.
* D100 % of the TPS curve is the highest dose edge at which the full volume is
  still reached; Dmax the first edge with zero volume (one bin width beyond the
  last edge when the last bin still holds volume).
* The mean is the exact integral of the piecewise-linear curve,
  ``mean = (1/V) ∫ V(d) dd``, which equals the bin-centre mean of the
  differential histogram for uniform bins.
* The declared DVHMinimumDose / DVHMeanDose / DVHMaximumDose fields are only
  compared with the curve, never trusted: in some Eclipse exports they are in %
  of the prescription although DoseUnits is GY. A mismatch gives the finding
  ``TPS_DVH_DECLARED_INCONSISTENT``.
* Differences larger than rtcheck's review thresholds (volume: 5 % of the TPS
  volume and at least 0.1 cc; doses: 3 % of the TPS value and at least 0.1 Gy —
  a heuristic, not a standard) give ``TPS_DVH_DIFFERENCE`` (WARNING).
* Every comparison names the geometry model of rtcheck's DVH
  (:class:`~rtcheck.dose.settings.Geometry`). Planning systems compute the staircase
  (``stacked``); with ``smooth`` the ``TPS_DVH_DIFFERENCE`` message says that the model
  may explain part of the difference and to compare with ``--geometry stacked``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtcheck.dicom.model import EmbeddedDVH
from rtcheck.dose.dvh import CumulativeDVH
from rtcheck.dose.settings import Geometry
from rtcheck.findings import Finding, Severity

VOLUME_TOL_FRACTION = 0.05
VOLUME_TOL_CC = 0.1
DOSE_TOL_FRACTION = 0.03
DOSE_TOL_GY = 0.1
_DECIMALS = 4


def tps_curve(embedded: EmbeddedDVH) -> CumulativeDVH | None:
    """The embedded DVH as a :class:`CumulativeDVH`; ``None`` when it holds no volume."""
    edges = np.asarray(embedded.dose_edges_gy, dtype=np.float64)
    vol = np.minimum.accumulate(np.clip(np.asarray(embedded.volume_cc, dtype=np.float64), 0, None))
    if edges.size == 0 or vol[0] <= 0:
        return None
    total = float(vol[0])
    eps = 1e-9 * total
    full = np.nonzero(vol >= total - eps)[0]
    first = int(full[-1])  # last edge still reaching the whole volume: D100%
    zero = np.nonzero(vol <= eps)[0]
    if zero.size:
        last = int(zero[0])
        e, v = edges[first : last + 1], vol[first : last + 1].copy()
        v[-1] = 0.0
    else:
        width = float(edges[-1] - edges[-2]) if edges.size > 1 else 0.01
        e = np.append(edges[first:], edges[-1] + width)
        v = np.append(vol[first:], 0.0)
    if e.size < 2:  # every volume at a single dose
        e, v = np.array([e[0], e[0]]), np.array([total, 0.0])
    # volume-ascending, dose non-increasing
    v_asc, d_desc = v[::-1], e[::-1]
    v_asc[-1] = total
    mean = float(np.sum(np.diff(v_asc) * (d_desc[1:] + d_desc[:-1]) / 2.0) / total)
    return CumulativeDVH(volume_cc=v_asc, dose_gy=d_desc, total_volume_cc=total, mean_gy=mean)


@dataclass(frozen=True)
class TpsComparison:
    """TPS versus rtcheck values for one ROI (``delta = rtcheck - TPS``); ``geometry`` is
    the model of rtcheck's DVH (``stacked``, as planning systems, or ``smooth``)."""

    roi_number: int
    name: str
    tps: dict[str, float | None]
    rtcheck: dict[str, float | None]
    findings: tuple[Finding, ...] = ()
    geometry: str = Geometry.STACKED.value

    QUANTITIES = ("volume_cc", "mean_gy", "d95_gy", "d2_gy", "min_gy", "max_gy")

    @property
    def delta(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for key in self.QUANTITIES:
            a, b = self.rtcheck.get(key), self.tps.get(key)
            out[key] = None if a is None or b is None else a - b
        return out

    def to_dict(self) -> dict[str, Any]:
        def rounded(d: dict[str, float | None]) -> dict[str, float | None]:
            return {k: None if v is None else round(v, _DECIMALS) for k, v in d.items()}

        return {
            "roi_number": self.roi_number,
            "name": self.name,
            "geometry": self.geometry,
            "tps": rounded(self.tps),
            "rtcheck": rounded(self.rtcheck),
            "delta": rounded(self.delta),
            "findings": [f.to_dict() for f in self.findings],
        }


def curve_values(dvh: CumulativeDVH | None) -> dict[str, float | None]:
    """The compared quantities of one curve (all ``None`` without a curve)."""
    if dvh is None:
        return dict.fromkeys(TpsComparison.QUANTITIES)
    return {
        "volume_cc": dvh.total_volume_cc,
        "mean_gy": dvh.mean_gy,
        "d95_gy": dvh.dose_at_percent_gy(95.0),
        "d2_gy": dvh.dose_at_percent_gy(2.0),
        "min_gy": dvh.min_gy,
        "max_gy": dvh.max_gy,
    }


def _declared_findings(
    embedded: EmbeddedDVH, curve: CumulativeDVH, name: str, prescription_gy: float | None
) -> list[Finding]:
    pairs = [
        ("DVHMinimumDose", embedded.declared_min_gy, curve.min_gy),
        ("DVHMeanDose", embedded.declared_mean_gy, curve.mean_gy),
        ("DVHMaximumDose", embedded.declared_max_gy, curve.max_gy),
    ]
    tol_gy = 0.02 + 0.01 * curve.max_gy  # one 0.01 Gy bin plus 1 %
    bad = [(k, d, c) for k, d, c in pairs if d is not None and abs(d - c) > tol_gy]
    if not bad:
        return []
    text = ", ".join(f"{k} {d:.4g} vs curve {c:.4g} Gy" for k, d, c in bad)
    hint = ""
    if prescription_gy and all(abs(d * prescription_gy / 100.0 - c) <= tol_gy for _, d, c in bad):
        hint = f"; they match the curve as % of the {prescription_gy:g} Gy prescription"
    return [Finding(
        "TPS_DVH_DECLARED_INCONSISTENT", Severity.INFO,
        f"declared TPS DVH fields do not match the TPS curve ({text}){hint}; the curve is used",
        subject=name)]


def _difference_findings(cmp: TpsComparison) -> list[Finding]:
    out: list[str] = []
    for key, value in cmp.delta.items():
        ref = cmp.tps.get(key)
        if value is None or ref is None or key in ("min_gy", "max_gy"):
            continue
        if key == "volume_cc":
            tol = max(VOLUME_TOL_CC, VOLUME_TOL_FRACTION * abs(ref))
            unit = "cc"
        else:
            tol = max(DOSE_TOL_GY, DOSE_TOL_FRACTION * abs(ref))
            unit = "Gy"
        if abs(value) > tol:
            out.append(f"{key.removesuffix('_gy').removesuffix('_cc')} {value:+.3g} {unit}")
    if not out:
        return []
    if cmp.geometry == Geometry.STACKED:
        advice = "check the structure sampling and dose grid"
    else:  # planning systems compute the staircase: the model itself differs
        advice = (f"planning systems use the stacked (staircase) geometry: where the "
                  f"{cmp.geometry} model departs from it, part of the difference may come "
                  "from the model; "
                  "compare with --geometry stacked")
    return [Finding(
        "TPS_DVH_DIFFERENCE", Severity.WARNING,
        f"rtcheck ({cmp.geometry} geometry) and the TPS DVH differ beyond review thresholds "
        f"({'; '.join(out)}); {advice}", subject=cmp.name)]


def compare_one(
    embedded: EmbeddedDVH,
    name: str,
    rtcheck_dvh: CumulativeDVH | None,
    prescription_gy: float | None = None,
    geometry: Geometry | str = Geometry.STACKED,
) -> TpsComparison:
    """Compare one TPS DVH with rtcheck's curve of the same ROI (computed with the
    ``geometry`` model)."""
    model = Geometry(geometry).value
    curve = tps_curve(embedded)
    findings: list[Finding] = []
    if curve is None:
        findings.append(Finding("TPS_DVH_EMPTY", Severity.INFO,
                                "the TPS DVH holds no volume; nothing to compare", subject=name))
    else:
        findings.extend(_declared_findings(embedded, curve, name, prescription_gy))
    if rtcheck_dvh is None:
        findings.append(Finding("TPS_DVH_NOT_COMPARED", Severity.INFO,
                                "rtcheck has no DVH for this structure", subject=name))
    cmp = TpsComparison(embedded.roi_number, name, curve_values(curve), curve_values(rtcheck_dvh),
                        geometry=model)
    findings.extend(_difference_findings(cmp))
    return TpsComparison(cmp.roi_number, name, cmp.tps, cmp.rtcheck, tuple(findings), model)


def compare_embedded(
    embedded: Iterable[EmbeddedDVH],
    rtcheck: dict[int, tuple[str, CumulativeDVH | None]],
    prescription_gy: float | None = None,
    geometry: Geometry | str = Geometry.STACKED,
) -> tuple[TpsComparison, ...]:
    """Compare every embedded DVH whose ROI number is in ``rtcheck``.

    ``rtcheck`` maps ROI number → (structure name, rtcheck's DVH or ``None``), the DVHs
    computed with the ``geometry`` model; TPS DVHs of ROIs not in the mapping
    (structures not asked for) are skipped.
    """
    return tuple(
        compare_one(e, rtcheck[e.roi_number][0], rtcheck[e.roi_number][1], prescription_gy,
                    geometry)
        for e in embedded
        if e.roi_number in rtcheck
    )
