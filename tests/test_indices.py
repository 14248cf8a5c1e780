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

import json
import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner
from matplotlib.path import Path as MplPath

from rtcheck.cli import cli
from rtcheck.dicom.model import Contour, DoseGrid, DoseSummationType, Structure
from rtcheck.dose.engine import compute_dvh
from rtcheck.dose.index_results import DEFINITIONS
from rtcheck.dose.indices import compute_indices, grid_adequacy_findings
from rtcheck.dose.metrics import MetricStatus
from tests.conftest import FIXTURES

SPINE = FIXTURES / "spine_sbrt"
MISSES = FIXTURES / "spine_grid_misses_oar"

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
    with pytest.raises(ValueError, match="the prescription dose must be positive"):
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


# ------------------------------------------------------------ the spine_sbrt fixture
def dvh_indices(path: Path, exit_code: int) -> tuple[dict, list[str]]:
    res = CliRunner().invoke(cli, ["dvh", str(path), "--structure", "PTV", "--structure",
                                   "Body", "--format", "json"])
    assert res.exit_code == exit_code, res.output
    case = json.loads(res.stdout)["cases"][0]
    (ind,) = case["indices"]
    return {i["key"]: i for i in ind["indices"]}, [f["code"] for f in ind["findings"]]


def _interpolation_matrix(fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Linear interpolation from the ``coarse`` axis onto ``fine`` as a matrix."""
    i = np.clip(np.searchsorted(coarse, fine) - 1, 0, coarse.size - 2)
    t = (fine - coarse[i]) / (coarse[i + 1] - coarse[i])
    w = np.zeros((fine.size, coarse.size))
    w[np.arange(fine.size), i], w[np.arange(fine.size), i + 1] = 1 - t, t
    return w


def spine_reference(step_mm: float = 0.5) -> dict[str, float]:
    """PIV, PIV50, Paddick GI and D2cm of spine_sbrt, computed here from RD.dcm and RS.dcm with
    pydicom and numpy (none of rtcheck's code).

    PIV / PIV50: cells ``step_mm`` wide over the box of the dose nodes >= 50 % Rx (plus one
    voxel), dose = the trilinear interpolant of the stored grid (separable: linear along x,
    then y, then z), counted at >= 30 Gy / >= 15 Gy. That box lies inside the Body, so the
    Body restriction changes nothing. D2cm (RTOG 0915): the largest stored node dose at least
    20 mm from the PTV, the distance being the exact one of the fixture's own PTV (GTV
    ellipsoid + 3 mm, ``fixtures/synth``; 1e-6 mm allowed for its bisection).
    """
    from fixtures.synth.cases import SPINE_PTV

    rd = pydicom.dcmread(SPINE / "RD.dcm")
    dose = rd.pixel_array * float(rd.DoseGridScaling)
    x0, y0, z0 = (float(v) for v in rd.ImagePositionPatient)
    x = x0 + float(rd.PixelSpacing[1]) * np.arange(rd.Columns)
    y = y0 + float(rd.PixelSpacing[0]) * np.arange(rd.Rows)
    z = z0 + np.asarray(rd.GridFrameOffsetVector, dtype=np.float64)
    rx = 30.0
    idx = np.argwhere(dose >= 0.5 * rx)
    lo = np.maximum(idx.min(axis=0) - 1, 0)
    hi = np.minimum(idx.max(axis=0) + 1, np.array(dose.shape) - 1)
    assert lo[0] > 0 and hi[0] < dose.shape[0] - 1  # the 50 % isodose ends inside the grid
    rs = pydicom.dcmread(SPINE / "RS.dcm")
    (body_number,) = [r.ROINumber for r in rs.StructureSetROISequence if r.ROIName == "Body"]
    (body,) = [r for r in rs.ROIContourSequence if r.ReferencedROINumber == body_number]
    outline = np.asarray(body.ContourSequence[0].ContourData, dtype=np.float64).reshape(-1, 3)
    corners = [(x[i], y[j]) for i in (lo[2], hi[2]) for j in (lo[1], hi[1])]
    assert MplPath(outline[:, :2]).contains_points(corners).all()  # a convex outline

    def cells(axis: np.ndarray, a: int, b: int) -> np.ndarray:
        return np.arange(axis[a] + step_mm / 2, axis[b], step_mm)

    fz, fy, fx = cells(z, lo[0], hi[0]), cells(y, lo[1], hi[1]), cells(x, lo[2], hi[2])
    in_xy = np.einsum("gx,zfx->zfg", _interpolation_matrix(fx, x),
                      np.einsum("fy,zyx->zfx", _interpolation_matrix(fy, y), dose))
    fine = np.einsum("kz,zfg->kfg", _interpolation_matrix(fz, z), in_xy)
    cell_cc = step_mm**3 / 1000.0
    piv = np.count_nonzero(fine >= rx) * cell_cc
    piv50 = np.count_nonzero(fine >= 0.5 * rx) * cell_cc
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    far = SPINE_PTV.signed_distance(xx, yy, zz) >= 20.0 - 1e-6
    return {"piv_cc": piv, "piv50_cc": piv50, "paddick_gi": piv50 / piv,
            "d2cm_gy": float(dose[far].max())}


def test_gradient_indices_are_not_evaluated_when_the_50pct_isodose_leaves_the_grid() -> None:
    """The cropped grid cuts the 50 % isodose (22 Gy on its end faces, Body continues):
    PIV50 was 55.9 cc instead of 60.6 cc, GI 2.98 instead of 3.24, without any flag."""
    idx, codes = dvh_indices(MISSES, exit_code=1)  # the Body's numbers are NOT EVALUATED
    for key in ("paddick_gi", "r50", "piv50_cc"):
        assert idx[key]["value"] is None and idx[key]["status"] == "NOT_EVALUATED", key
        assert "the 50 % isodose reaches the edge of the dose grid" in idx[key]["message"]
    assert "INDEX_ISODOSE_OUTSIDE_GRID" in codes
    # the 100 % isodose stays inside the grid: PIV-based indices are still evaluated; PIV as
    # on the full grid (spine_reference: 18.74 cc)
    assert idx["piv_cc"]["value"] == pytest.approx(spine_reference()["piv_cc"], rel=1e-3)
    assert idx["rtog_ci"]["value"] == pytest.approx(
        idx["piv_cc"]["value"] / idx["tv_cc"]["value"], abs=1e-4)
    # D2cm: the Body continues beyond the grid where the dose (22 Gy) exceeds the
    # in-grid D2cm (8.3 Gy): the true D2cm may lie outside the grid
    assert idx["d2cm_gy"]["value"] is None
    assert "the maximum 2 cm away may lie outside the grid" in idx["d2cm_gy"]["message"]


def test_gradient_indices_stay_evaluated_when_the_grid_covers_the_body() -> None:
    """GI and D2cm of spine_sbrt against :func:`spine_reference` (GI 3.2354 with 0.5 mm
    cells, 3.2349 with 0.25 mm; D2cm 8.2775 Gy, the node (0, -10, 0) 20 mm anterior of the
    PTV)."""
    idx, codes = dvh_indices(SPINE, exit_code=0)
    ref = spine_reference()
    assert idx["piv_cc"]["value"] == pytest.approx(ref["piv_cc"], rel=1e-3)  # 18.74 cc
    assert idx["piv50_cc"]["value"] == pytest.approx(ref["piv50_cc"], rel=1e-3)  # 60.64 cc
    # the reference's own cell error is 5e-4 (0.5 vs 0.25 mm cells)
    assert idx["paddick_gi"]["value"] == pytest.approx(ref["paddick_gi"], abs=2e-3)
    assert idx["d2cm_gy"]["value"] == pytest.approx(ref["d2cm_gy"], abs=1e-4)
    assert idx["d2cm_gy"]["message"] == "voxel 20.0 mm from the PTV"
    assert "INDEX_ISODOSE_OUTSIDE_GRID" not in codes


def test_indices_of_a_target_partly_outside_the_grid_are_not_evaluated() -> None:
    """A PTV crossing the grid edge got indices of its in-grid part (only a WARNING > 5 %)."""
    ax = np.arange(0.0, 40.1, 2.0)
    zz, yy, xx = np.meshgrid(ax, ax, ax, indexing="ij")
    dose = 30.0 * np.exp(-((xx - 20) ** 2 + (yy - 20) ** 2 + (zz - 20) ** 2) / 200.0)
    grid = DoseGrid(ax, ax, ax, dose, "PHYSICAL", DoseSummationType.PLAN, "1.2", "1.2.3")
    square = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0]])
    # planes 36..44 mm: the stack (end cap 45 mm) runs 4 mm beyond the grid (41 mm)
    ptv = Structure(1, "PTV", "PTV", contours=tuple(
        Contour(z, square) for z in np.arange(36.0, 44.1, 2.0)))
    ind = compute_indices(grid, ptv, 20.0)
    assert all(r.value is None for r in ind.results if r.key != "rx_isodose")
    assert any(f.code == "INDEX_TARGET_OUTSIDE_GRID" for f in ind.findings)


def test_target_coverage_does_not_depend_on_the_reported_structures() -> None:
    """README: coverage and HI use the target's DVH from the engine. With the target not in
    --structure, the lattice was used instead: coverage 93.73 % vs 94.16 % for the same PTV."""
    def coverage(*structures: str) -> tuple[float, float]:
        args = [a for s in structures for a in ("--structure", s)]
        res = CliRunner().invoke(cli, ["dvh", str(SPINE), *args, "--target", "PTV",
                                       "--format", "json"])
        assert res.exit_code == 0, res.output
        doc = json.loads(res.stdout)
        (ind,) = doc["cases"][0]["indices"]
        by_key = {i["key"]: i["value"] for i in ind["indices"]}
        return by_key["coverage_100"], by_key["hi_icru83"]

    by_target = coverage("GTV")
    assert by_target == coverage("PTV")
    ptv = CliRunner().invoke(cli, ["dvh", str(SPINE), "--structure", "PTV", "--metric",
                                   "V100%[%]", "--no-indices", "--format", "json"])
    assert by_target[0] == json.loads(ptv.stdout)["structures"][0]["metrics"]["V100%[%]"]


def coarse_sphere(radius: float, spacing: float, x0: float = 0.0) -> list[Contour]:
    """A sphere contoured every ``spacing`` mm, planes symmetric about its centre."""
    t = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    zs = np.arange(-radius + spacing / 2, radius, spacing)
    return [Contour(float(z), np.column_stack((x0 + math.sqrt(radius**2 - z**2) * np.cos(t),
                                               math.sqrt(radius**2 - z**2) * np.sin(t))))
            for z in zs]


def test_indices_count_on_the_dvh_geometry_model(grid):
    """TV follows the DVH's geometry model and end caps: R = 9 mm contoured every 3 mm —
    the staircase with half-slice caps (+1.2 % over the sphere, by its own volume), no caps
    (a slab less), the smooth model (the sphere)."""
    from rtcheck.dose.settings import DvhSettings, EndCap, Geometry

    ptv = Structure(1, "PTV", "PTV", contours=tuple(coarse_sphere(R, 3.0)))
    got = {}
    for key, settings in (("stacked", DvhSettings()), ("none", DvhSettings(end_cap=EndCap.NONE)),
                          ("smooth", DvhSettings(geometry=Geometry.SMOOTH))):
        dvh_cc = compute_dvh(ptv, grid, settings).volume_cc
        got[key] = compute_indices(grid, ptv, RX, settings=settings).value("tv_cc")
        assert got[key] == pytest.approx(dvh_cc, rel=0.005)  # the lattice counts the same shape
    assert got["smooth"] == pytest.approx(vol(R), rel=0.005)
    assert abs(got["stacked"] / vol(R) - 1) > 0.01
    assert got["none"] < got["stacked"] - 0.05


def test_smooth_indices_count_every_run_of_slabs(grid):
    """Two disjoint spheres (the smooth model stacks them apart): TV is their sum."""
    from rtcheck.dose.settings import DvhSettings, Geometry

    smooth = DvhSettings(geometry=Geometry.SMOOTH)
    two = Structure(1, "PTV", "PTV", contours=(*coarse_sphere(6.0, 2.0, -8.0),
                                               *coarse_sphere(6.0, 2.0, 8.0)))
    one = Structure(1, "PTV", "PTV", contours=tuple(coarse_sphere(6.0, 2.0, -8.0)))
    tv_two = compute_indices(grid, two, RX, settings=smooth).value("tv_cc")
    tv_one = compute_indices(grid, one, RX, settings=smooth).value("tv_cc")
    assert tv_two == pytest.approx(2 * tv_one, rel=0.002)
    assert tv_one == pytest.approx(vol(6.0), rel=0.01)
