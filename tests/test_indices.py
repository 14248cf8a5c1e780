"""Plan-quality indices on an analytic case.

A spherical PTV (radius R = 9 mm, contoured on 1 mm planes at z = -8.5 … 8.5, so
the half-slice end caps close the stack at ±9 mm) sits at the centre of a
spherically symmetric dose on a 1 mm grid:

    D(r) = 40 - 2 r            (r <= 10 mm; Rx = 20 Gy at r = 10 mm)
    D(r) = 20 exp(-(r-10)/10)  (r > 10 mm; continuous slope, 10 Gy at r50 = 10 + 10 ln 2)

Closed form: TV = 4/3 π 9³, PIV = 4/3 π 10³, TV_PIV = TV, PIV50 = 4/3 π r50³, so
RTOG CI = (10/9)³, Paddick CI = (9/10)³, GI = (r50/10)³, R50 = (r50/9)³;
D2cm = D(29 mm) = 20 e^-1.9 Gy; HI from D(r) and the volume fraction (r/9)³.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rtcheck.dicom.model import Contour, DoseGrid, DoseSummationType, Structure
from rtcheck.dose.engine import compute_dvh
from rtcheck.dose.indices import (
    DEFINITIONS,
    compute_indices,
    grid_adequacy_findings,
)
from rtcheck.dose.metrics import MetricStatus

RX = 20.0
R = 9.0
R50 = 10.0 + 10.0 * math.log(2.0)


def sphere(name: str, radius: float, roi: int, kind: str = "PTV", n: int = 360) -> Structure:
    zs = np.arange(-radius + 0.5, radius, 1.0)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    contours = []
    for z in zs:
        r = math.sqrt(radius**2 - z**2)
        contours.append(Contour(float(z), np.column_stack((r * np.cos(t), r * np.sin(t)))))
    return Structure(roi, name, kind, contours=tuple(contours))


def dose_of_r(r):
    return np.where(r <= 10.0, 40.0 - 2.0 * r, 20.0 * np.exp(-(r - 10.0) / 10.0))


@pytest.fixture(scope="module")
def grid() -> DoseGrid:
    ax = np.arange(-35.0, 35.01, 1.0)
    z, y, x = np.meshgrid(ax, ax, ax, indexing="ij")
    dose = dose_of_r(np.sqrt(x**2 + y**2 + z**2))
    return DoseGrid(ax, ax, ax, dose, "PHYSICAL", DoseSummationType.PLAN, "1.2.3", "1.2.3.4")


def vol(r: float) -> float:
    return 4 / 3 * math.pi * r**3 / 1000.0


def hi_closed_form() -> float:
    def d_at(frac: float) -> float:  # dose to the hottest fraction of the sphere
        return 40.0 - 2.0 * R * frac ** (1 / 3)

    return (d_at(0.02) - d_at(0.98)) / d_at(0.50)


def test_indices_match_closed_form(grid):
    ptv = sphere("PTV", R, 1)
    res = compute_indices(grid, ptv, RX)
    assert res.value("tv_cc") == pytest.approx(vol(R), rel=0.01)
    assert res.value("piv_cc") == pytest.approx(vol(10.0), rel=0.01)
    assert res.value("tv_piv_cc") == pytest.approx(res.value("tv_cc"))
    assert res.value("piv50_cc") == pytest.approx(vol(R50), rel=0.01)
    assert res.value("rtog_ci") == pytest.approx((10 / 9) ** 3, rel=0.015)
    assert res.value("paddick_ci") == pytest.approx((9 / 10) ** 3, rel=0.015)
    assert res.value("paddick_gi") == pytest.approx((R50 / 10) ** 3, rel=0.015)
    assert res.value("r50") == pytest.approx((R50 / 9) ** 3, rel=0.015)
    assert res.value("coverage_100") == pytest.approx(100.0)
    assert res.value("rx_isodose") == pytest.approx(50.0)  # Rx 20 Gy of Dmax 40 Gy
    d2cm = 20.0 * math.exp(-1.9)
    assert res.value("d2cm_gy") == pytest.approx(d2cm, rel=0.03)
    assert res.value("d2cm") == pytest.approx(100 * d2cm / RX, rel=0.03)
    assert res.value("hi_icru83") == pytest.approx(hi_closed_form(), rel=0.02)
    assert res.lattice_step_mm <= 1.0
    assert res.restricted_to is None
    # every index names its definition and source
    for d in res.to_dict()["indices"]:
        assert d["definition"] and d["source"] and d["name"]
    assert res.to_dict()["indices"][0]["key"] == "coverage_100"
    assert DEFINITIONS["paddick_ci"][1] == "TV_PIV² / (TV · PIV)"


def test_paddick_with_partial_coverage(grid):
    # a PTV larger than the Rx isodose: radius 12 -> TV_PIV = PIV = 4/3 pi 10^3
    ptv = sphere("PTV big", 12.0, 2)
    res = compute_indices(grid, ptv, RX, coverage_levels_percent=(100.0, 50.0))
    assert res.value("tv_piv_cc") == pytest.approx(vol(10.0), rel=0.01)
    assert res.value("paddick_ci") == pytest.approx(vol(10.0) / vol(12.0), rel=0.02)
    assert res.value("coverage_100") == pytest.approx(100 * (10 / 12) ** 3, rel=0.02)
    assert res.value("coverage_50") == pytest.approx(100.0)
    paddick = res.value("paddick_ci")
    assert paddick is not None and paddick <= 1.0


def test_body_restricts_piv50(grid):
    body = sphere("BODY", 12.0, 9, kind="EXTERNAL")
    res = compute_indices(grid, sphere("PTV", R, 1), RX, body=body)
    assert res.restricted_to == "BODY"
    assert res.value("piv50_cc") == pytest.approx(vol(12.0), rel=0.015)
    assert res.value("piv_cc") == pytest.approx(vol(10.0), rel=0.01)
    # no voxel of the body is 2 cm from the PTV: D2cm cannot be evaluated
    assert res.get("d2cm").status is MetricStatus.NOT_EVALUATED
    assert res.value("d2cm") is None
    assert "2 cm" in res.get("d2cm").message


def test_engine_dvh_gives_the_same_hi(grid):
    ptv = sphere("PTV", R, 1)
    sdvh = compute_dvh(ptv, grid)
    assert sdvh.dvh is not None
    res = compute_indices(grid, ptv, RX, ptv_dvh=sdvh.dvh)
    assert res.value("hi_icru83") == pytest.approx(hi_closed_form(), rel=0.02)
    assert res.value("coverage_100") == pytest.approx(100.0)


def test_no_prescription_isodose(grid):
    res = compute_indices(grid, sphere("PTV", R, 1), 100.0)  # Rx above Dmax
    assert res.value("piv_cc") == 0.0
    assert res.get("paddick_ci").status is MetricStatus.NOT_EVALUATED
    assert res.get("paddick_gi").status is MetricStatus.NOT_EVALUATED
    assert res.value("rtog_ci") == 0.0
    assert res.value("coverage_100") == 0.0


def test_empty_target_is_not_evaluated(grid):
    res = compute_indices(grid, Structure(3, "PTV empty", "PTV"), RX)
    assert all(r.status is MetricStatus.NOT_EVALUATED for r in res.results)
    with pytest.raises(ValueError):
        compute_indices(grid, sphere("PTV", R, 1), 0.0)


def test_grid_adequacy(grid):
    coarse = DoseGrid(np.arange(0, 30.0, 3.0), np.arange(0, 30.0, 3.0), np.arange(0, 30.0, 3.0),
                      np.zeros((10, 10, 10)), "PHYSICAL", DoseSummationType.PLAN, "1", "2")
    # 0.3 cc: equivalent-sphere diameter 8.3 mm < 3 x 3 mm
    found = grid_adequacy_findings("small", 0.3, coarse)
    assert [f.code for f in found] == ["DOSE_GRID_COARSE"]
    assert "8.3 mm" in found[0].message
    assert grid_adequacy_findings("ok", 0.5, coarse) == []  # 9.85 mm
    assert [f.code for f in grid_adequacy_findings("PTV", 0.5, coarse, is_target=True)] == [
        "DOSE_GRID_ABOVE_2MM"]
    assert grid_adequacy_findings("PTV", 3.0, grid, is_target=True) == []  # 1 mm grid
