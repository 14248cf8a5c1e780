"""The cumulative dose-volume histogram as a typed, interpolating object.

A DVH is built from volume-weighted dose samples (``dose_gy[k]`` representing
``weight_cc[k]`` of the structure). Sorting the samples by descending dose, sample
``k`` occupies the volume interval ``[c_{k-1}, c_k]`` of the cumulative volume; its
dose is placed at the interval mid-point and the curve is linear between
mid-points, with the exact end points ``D(0) = Dmax`` and ``D(V) = Dmin``. This is
the volume-weighted quantile with linear interpolation (Hyndman & Fan 1996,
definition 5, generalised to weights), so D0% = Dmax and D100% = Dmin exactly and
no metric is a nearest-bin value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rtcheck.dicom.model import FloatArray

#: Curves longer than this are resampled at evenly spaced volumes (bounded memory).
MAX_CURVE_POINTS = 20_001


@dataclass(frozen=True)
class CumulativeDVH:
    """A cumulative DVH: dose (Gy) as a non-increasing function of volume (cc).

    Attributes
    ----------
    volume_cc
        Ascending volumes, from 0 to ``total_volume_cc``.
    dose_gy
        Non-increasing doses: ``dose_gy[i]`` is the minimum dose received by the
        hottest ``volume_cc[i]`` of the structure.
    total_volume_cc
        The volume the curve describes (the sampled, in-grid volume).
    mean_gy
        Exact volume-weighted mean of the samples.
    partial_reason
        Empty for a curve of the whole structure. The DVH engine sets it (with the
        reason) when the curve describes only part of the structure, e.g. the part
        inside the dose grid: :func:`rtcheck.dose.metrics.evaluate_metric` then
        answers NOT_EVALUATED for every metric, so that no public function turns a
        partial curve into an evaluated number.
    """

    volume_cc: FloatArray
    dose_gy: FloatArray
    total_volume_cc: float
    mean_gy: float
    partial_reason: str = ""

    @property
    def is_partial(self) -> bool:
        """True when the curve covers only part of its structure (see ``partial_reason``)."""
        return bool(self.partial_reason)

    def __post_init__(self) -> None:
        v = np.asarray(self.volume_cc, dtype=np.float64)
        d = np.asarray(self.dose_gy, dtype=np.float64)
        if v.ndim != 1 or v.shape != d.shape or v.size < 2:
            raise ValueError("volume_cc and dose_gy must be 1-D arrays of equal length >= 2")
        if np.any(np.diff(v) < 0) or np.any(np.diff(d) > 1e-12):
            raise ValueError("volume must ascend and dose must not increase along a DVH")
        if not np.isclose(v[0], 0.0) or not np.isclose(v[-1], self.total_volume_cc):
            raise ValueError("a DVH curve must span 0 .. total_volume_cc")
        v.setflags(write=False)
        d.setflags(write=False)
        object.__setattr__(self, "volume_cc", v)
        object.__setattr__(self, "dose_gy", d)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_samples(cls, dose_gy: FloatArray, weight_cc: FloatArray) -> CumulativeDVH:
        """Build the curve from volume-weighted dose samples.

        Parameters
        ----------
        dose_gy
            Dose at each sample point (Gy), any order.
        weight_cc
            Volume represented by each sample (cc), positive.
        """
        dose = np.asarray(dose_gy, dtype=np.float64).ravel()
        weight = np.asarray(weight_cc, dtype=np.float64).ravel()
        if dose.size == 0 or dose.shape != weight.shape:
            raise ValueError("need at least one sample, with one weight per dose")
        if np.any(weight <= 0) or not np.all(np.isfinite(dose)):
            raise ValueError("sample weights must be positive and doses finite")
        order = np.argsort(-dose, kind="stable")
        d_sorted = dose[order]
        w_sorted = weight[order]
        cum = np.cumsum(w_sorted)
        total = float(cum[-1])
        mid = cum - w_sorted / 2.0
        volume = np.concatenate(([0.0], mid, [total]))
        curve = np.concatenate(([d_sorted[0]], d_sorted, [d_sorted[-1]]))
        mean = float(np.dot(dose, weight) / total)
        if volume.size > MAX_CURVE_POINTS:
            grid = np.linspace(0.0, total, MAX_CURVE_POINTS)
            curve = np.interp(grid, volume, curve)
            volume = grid
        return cls(volume_cc=volume, dose_gy=curve, total_volume_cc=total, mean_gy=mean)

    # ---------------------------------------------------------------- queries
    @property
    def max_gy(self) -> float:
        return float(self.dose_gy[0])

    @property
    def min_gy(self) -> float:
        return float(self.dose_gy[-1])

    def dose_at_volume_gy(self, volume_cc: float) -> float:
        """Minimum dose to the hottest ``volume_cc`` (D_v), linearly interpolated.

        ``volume_cc`` ≤ 0 gives Dmax; a volume larger than the structure has no
        defined answer and raises ``ValueError`` (callers report it as NOT EVALUATED).
        """
        if volume_cc > self.total_volume_cc * (1 + 1e-9):
            raise ValueError(
                f"volume {volume_cc:g} cc exceeds the structure volume {self.total_volume_cc:g} cc"
            )
        v = min(max(volume_cc, 0.0), self.total_volume_cc)
        return float(np.interp(v, self.volume_cc, self.dose_gy))

    def dose_at_percent_gy(self, percent: float) -> float:
        """D_x% : minimum dose to the hottest ``percent`` % of the volume."""
        if not 0.0 <= percent <= 100.0:
            raise ValueError(f"volume percentage must be within 0..100, got {percent:g}")
        return self.dose_at_volume_gy(self.total_volume_cc * percent / 100.0)

    def volume_at_dose_cc(self, dose_gy: float) -> float:
        """V_d : volume receiving at least ``dose_gy`` (cc), linearly interpolated.

        Below Dmin the whole volume; above Dmax zero.
        """
        d = self.dose_gy
        if dose_gy <= d[-1]:
            return self.total_volume_cc
        if dose_gy > d[0]:
            return 0.0
        # last index whose dose is still >= dose_gy (d is non-increasing)
        i = int(np.searchsorted(-d, -dose_gy, side="right")) - 1
        if i >= d.size - 1:
            return self.total_volume_cc
        d0, d1 = d[i], d[i + 1]
        v0, v1 = self.volume_cc[i], self.volume_cc[i + 1]
        if d0 == d1:
            return float(v1)
        return float(v0 + (d0 - dose_gy) / (d0 - d1) * (v1 - v0))

    def volume_at_dose_percent(self, dose_gy: float) -> float:
        """V_d as a percentage of the structure volume."""
        return 100.0 * self.volume_at_dose_cc(dose_gy) / self.total_volume_cc

    def complement_dose_gy(self, volume_cc: float) -> float:
        """DC_v : maximum dose to the coldest ``volume_cc`` (= D at V - v)."""
        if volume_cc > self.total_volume_cc * (1 + 1e-9):
            raise ValueError(
                f"volume {volume_cc:g} cc exceeds the structure volume {self.total_volume_cc:g} cc"
            )
        return self.dose_at_volume_gy(max(self.total_volume_cc - volume_cc, 0.0))

    def complement_volume_cc(self, dose_gy: float) -> float:
        """CV_d : volume receiving less than ``dose_gy`` (cc)."""
        return self.total_volume_cc - self.volume_at_dose_cc(dose_gy)

    # ------------------------------------------------------------- exporting
    def binned(self, bin_width_gy: float = 0.01) -> tuple[FloatArray, FloatArray]:
        """The curve on uniform dose bins: ``(edges_gy, volume_cc_at_edge)``.

        ``volume[i]`` is V(edges[i]); the last edge is above Dmax.
        """
        if bin_width_gy <= 0:
            raise ValueError("bin width must be positive")
        n = int(np.floor(self.max_gy / bin_width_gy)) + 2
        edges = np.arange(n, dtype=np.float64) * bin_width_gy
        volumes = np.array([self.volume_at_dose_cc(float(e)) for e in edges])
        return edges, volumes

    def to_dicompyler(self, name: str = "", bin_width_gy: float = 0.01) -> Any:
        """Convert to a :class:`dicompylercore.dvh.DVH` (cumulative, Gy, cm3)."""
        from dicompylercore import dvh as dcdvh

        edges, volumes = self.binned(bin_width_gy)
        return dcdvh.DVH(
            counts=volumes[:-1],
            bins=edges,
            dvh_type="cumulative",
            dose_units="Gy",
            volume_units="cm3",
            name=name,
        )
