"""Contour geometry, sampling and engine behaviour of rtcheck.dose (unit tests)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.path import Path as MplPath
from scipy.interpolate import RegularGridInterpolator

from rtcheck.dicom.model import Contour, DoseGrid, DoseSummationType, Structure, StructureSet
from rtcheck.dose.engine import compute_dvh, compute_dvhs
from rtcheck.dose.geom_scanline import lattice_inside, points_inside, strip_samples
from rtcheck.dose.geometry import even_odd_area_mm2, stack_geometry
from rtcheck.dose.sample_grid import GridSampler
from rtcheck.dose.sampling import sample_structure
from rtcheck.dose.settings import DvhSettings, EndCap
from rtcheck.findings import Severity


def square(x0: float, y0: float, side: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]])


def box(x0: float, y0: float, side: float, zs: list[float], name: str = "box") -> Structure:
    return Structure(1, name, contours=tuple(Contour(z, square(x0, y0, side)) for z in zs))


def grid(dose: object = None, spacing: float = 2.0, origin: float = -30.0, n: int = 31,
         z: np.ndarray | None = None) -> DoseGrid:
    axis = np.asarray(origin + spacing * np.arange(n), dtype=np.float64)
    zz = axis if z is None else np.asarray(z, dtype=np.float64)
    Z, Y, X = np.meshgrid(zz, axis, axis, indexing="ij")
    values = np.full(Z.shape, 10.0) if dose is None else dose(X, Y, Z)  # type: ignore[operator]
    return DoseGrid(axis, axis, zz, values, "PHYSICAL", DoseSummationType.PLAN, "1.2", "1.2.3")


# ----------------------------------------------------------------- polygons
def test_lattice_inside_matches_even_odd_reference() -> None:
    rng = np.random.default_rng(3)
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    r = 10 + 3 * rng.random(40)
    outer = np.column_stack((r * np.cos(t), r * np.sin(t)))
    hole = square(-3.1, -2.7, 5.3)
    island = square(-1.05, -0.95, 1.9)  # inside the hole: filled again (even-odd)
    polys = [outer, hole, island]
    ix, iy = lattice_inside(polys, -15.03, -14.97, 0.37, 0.41, 90, 80)
    xs, ys = np.meshgrid(-15.03 + 0.37 * np.arange(90), -14.97 + 0.41 * np.arange(80))
    ref = np.zeros(xs.shape, dtype=bool)
    for p in polys:
        hit = MplPath(p).contains_points(np.column_stack((xs.ravel(), ys.ravel())))
        ref ^= hit.reshape(xs.shape)
    got = np.zeros_like(ref)
    got[iy, ix] = True
    assert np.array_equal(got, ref)
    inside = points_inside(xs.ravel(), ys.ravel(), polys).reshape(xs.shape)
    assert np.array_equal(inside, ref)


def test_strip_samples_integrate_area_exactly_along_x() -> None:
    from rtcheck.dose.geom_scanline import Edges

    tri = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    one = np.ones(1)
    plane, x, y, a = strip_samples(Edges.of_planes([[tri]]), 0.1 * one, 0.05 * one, 2.0 * one,
                                   0.1 * one, np.array([100]), 0.618)
    assert np.all(plane == 0) and np.all(a > 0)
    assert a.sum() == pytest.approx(50.0, rel=1e-3)  # mid-point rule in y only
    assert np.all(points_inside(x, y, [tri]))


def test_even_odd_area_with_holes_and_islands() -> None:
    outer, hole, island = square(0, 0, 10), square(2, 2, 6), square(4, 4, 2)
    far = square(20, 0, 3)
    assert even_odd_area_mm2((outer,)) == pytest.approx(100)
    assert even_odd_area_mm2((outer, hole)) == pytest.approx(64)
    assert even_odd_area_mm2((hole, outer, island)) == pytest.approx(68)
    assert even_odd_area_mm2((outer, far)) == pytest.approx(109)


# ------------------------------------------------------------------- slabs
def test_half_slice_and_no_end_caps() -> None:
    s = box(0, 0, 10, [0.0, 2.0, 4.0])
    half = stack_geometry(s, EndCap.HALF_SLICE, 1.5, 9.9)
    assert [(sl.lo_mm, sl.hi_mm) for sl in half.slabs] == [(-1, 1), (1, 3), (3, 5)]
    assert half.volume_cc == pytest.approx(0.6)
    none = stack_geometry(s, EndCap.NONE, 1.5, 9.9)
    assert none.volume_cc == pytest.approx(0.4)
    assert half.extent_mm == (0, 10, 0, 10, -1, 5)


def test_non_uniform_spacing_owns_mid_points() -> None:
    s = box(0, 0, 10, [0.0, 1.0, 3.0, 4.0])
    g = stack_geometry(s, EndCap.HALF_SLICE, 2.5, 3.0)
    assert [(sl.lo_mm, sl.hi_mm) for sl in g.slabs] == [(-0.5, 0.5), (0.5, 2), (2, 3.5), (3.5, 4.5)]
    assert not g.findings


def test_gap_splits_the_stack_with_a_finding() -> None:
    s = box(0, 0, 10, [0.0, 2.0, 4.0, 12.0, 14.0])
    g = stack_geometry(s, EndCap.HALF_SLICE, 1.5, 3.0)
    bounds = [(sl.lo_mm, sl.hi_mm) for sl in g.slabs]
    assert bounds == [(-1, 1), (1, 3), (3, 5), (11, 13), (13, 15)]
    assert [f.code for f in g.findings] == ["STRUCTURE_CONTOUR_GAP"]
    assert g.volume_cc == pytest.approx(1.0)


def test_single_plane_uses_the_default_spacing() -> None:
    g = stack_geometry(box(0, 0, 10, [5.0]), EndCap.HALF_SLICE, 1.5, 2.5)
    assert g.volume_cc == pytest.approx(0.25)
    assert g.findings[0].code == "STRUCTURE_SINGLE_PLANE"


# ---------------------------------------------------------------- settings
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_samples": 10}, "min_samples must be >= 1000, got 10"),
    ({"min_samples": 50_000, "max_samples": 20_000}, "max_samples must be >= min_samples"),
    ({"max_step_mm": 0}, "max_step_mm must be a positive length, got 0"),
    ({"gap_factor": 1.0}, "gap_factor must be > 1, got 1.0"),
    ({"default_plane_spacing_mm": -1.0}, "default_plane_spacing_mm must be positive, got -1.0"),
    ({"edge_step_fraction": 0}, r"edge_step_fraction must be within \(0, 1\]"),
    ({"end_cap": "SOMETIMES"}, "'SOMETIMES' is not a valid EndCap"),
    ({"min_plane_samples": 0}, "min_plane_samples must be >= 1"),
])
def test_settings_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DvhSettings(**kwargs)  # type: ignore[arg-type]


def test_sample_step_adapts_to_volume() -> None:
    s = DvhSettings()
    assert DvhSettings(end_cap="NONE").end_cap is EndCap.NONE  # type: ignore[arg-type]
    steps = [s.sample_step_mm(v) for v in (0.01, 0.1, 1.0, 10.0, 100.0, 10_000.0)]
    assert steps == sorted(steps)
    assert s.sample_step_mm(0.1) ** -3 * 100 >= s.min_samples * 0.999
    assert s.sample_step_mm(10_000.0) ** -3 * 1e7 == pytest.approx(s.max_samples)


# ------------------------------------------------------------ dose sampling
def test_trilinear_matches_scipy_on_non_uniform_z() -> None:
    z = np.array([-30.0, -28.0, -25.0, -24.0, -20.0, -10.0, -9.0, 0.0, 4.0, 30.0])
    g = grid(lambda x, y, zz: np.sin(x / 7) + np.cos(y / 5) * zz / 10 + 0.01 * zz**2, z=z)
    ref = RegularGridInterpolator((g.z_mm, g.y_mm, g.x_mm), g.dose_gy)
    rng = np.random.default_rng(1)
    pts = rng.uniform([-29, -29, -29], [29, 29, 29], size=(500, 3))
    got = GridSampler(g).trilinear(pts[:, 0], pts[:, 1], pts[:, 2])
    assert np.allclose(got, ref(pts[:, ::-1]), atol=1e-12)


def test_contours_between_dose_planes_linear_dose_is_exact() -> None:
    g = grid(lambda x, y, z: 20 + 0.5 * z + 0.1 * x, spacing=3.0, origin=-30.0, n=21)
    s = box(-4.3, -3.1, 8.0, [-2.2, -0.7, 0.8, 2.3])  # planes between the 3 mm dose frames
    r = compute_dvh(s, g)
    assert r.complete and r.dvh is not None
    assert r.dvh.mean_gy == pytest.approx(20 + 0.5 * 0.05 + 0.1 * (-0.3), abs=1e-3)
    assert r.dvh.max_gy == pytest.approx(20 + 0.5 * 3.05 + 0.1 * 3.7, abs=1e-9)
    assert r.dvh.min_gy == pytest.approx(20 + 0.5 * -2.95 + 0.1 * -4.3, abs=1e-9)


def test_ring_structure_has_its_hole_excluded() -> None:
    t = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    ring = [Contour(z, np.column_stack((r * np.cos(t), r * np.sin(t))))
            for z in (-1.0, 0.0, 1.0) for r in (8.0, 4.0)]
    r = compute_dvh(Structure(2, "ring", contours=tuple(ring)),
                    grid(lambda x, y, z: np.hypot(x, y)))
    area = 128 * (64 - 16) * math.sin(2 * math.pi / 256)
    assert r.volume_cc == pytest.approx(area * 3 / 1000, rel=1e-9)
    assert r.dvh is not None and r.dvh.min_gy > 3.9  # no dose from the hole


def test_samples_api_for_voxel_by_voxel_recomputation() -> None:
    r = compute_dvh(box(-5, -5, 10, [-2.0, 0.0, 2.0]), grid(lambda x, y, z: 5 + x))
    s = r.samples
    assert s is not None
    assert s.dose_gy.shape == s.weight_cc.shape and s.dose_gy.ndim == 1
    assert not s.dose_gy.flags.writeable
    assert s.weight_cc.sum() == pytest.approx(r.in_grid_volume_cc, rel=1e-12)
    assert np.all(s.weight_cc > 0)
    dc = r.to_dicompyler()
    assert dc.volume == pytest.approx(r.volume_cc, rel=1e-6)
    assert dc.max == pytest.approx(10.0, abs=0.011)


# ------------------------------------------------------------- grid edges
def test_partly_outside_is_reported_and_flagged() -> None:
    g = grid(spacing=2.0, origin=-30.0, n=31)  # nodes -30..30, covered to ±31 mm
    s = box(21.0, -5.0, 20.0, [-1.0, 0.0, 1.0])  # x from 21 to 41: half beyond 31
    r = compute_dvh(s, g)
    assert r.evaluable and not r.complete
    codes = {f.code: f for f in r.findings}
    finding = codes["STRUCTURE_OUTSIDE_DOSE_GRID"]
    assert finding.severity is Severity.ERROR and "50.00 %" in finding.message
    assert r.outside_fraction == pytest.approx(0.5, abs=0.01)
    assert r.in_grid_volume_cc == pytest.approx(0.6, rel=0.02)
    assert r.dvh is not None and r.dvh.total_volume_cc == pytest.approx(r.in_grid_volume_cc)


def test_half_voxel_margin_is_inside() -> None:
    r = compute_dvh(box(20.0, -5.0, 10.9, [-1.0, 0.0, 1.0]), grid(n=31))  # up to 30.9 < 31
    assert r.complete and not r.findings


def test_wholly_outside_gives_no_dvh() -> None:
    r = compute_dvh(box(100.0, 100.0, 5.0, [0.0, 1.0]), grid())
    assert r.dvh is None and not r.evaluable
    assert "entirely" in r.findings[0].message
    with pytest.raises(ValueError, match="structure 'box' has no DVH"):
        r.to_dicompyler()


# ---------------------------------------------------------------- engine
def test_empty_and_point_rois_are_not_evaluable() -> None:
    empty = compute_dvh(Structure(3, "Areola"), grid())
    point = compute_dvh(Structure(4, "Marker", points_mm=np.array([[1.0, 2.0, 3.0]])), grid())
    assert [f.code for f in empty.findings] == ["STRUCTURE_EMPTY"]
    assert [f.code for f in point.findings] == ["STRUCTURE_IS_POINT"]
    for r in (empty, point):
        assert r.dvh is None and r.samples is None and not r.evaluable and not r.complete
    with pytest.raises(ValueError, match="structure 'Areola' has no contours to sample"):
        sample_structure(Structure(3, "Areola"), grid())


def test_compute_dvhs_filters_by_name_and_uses_the_set_spacing() -> None:
    single = Structure(2, "Single", contours=(Contour(0.0, square(0, 0, 10)),))
    multi = Structure(1, "Multi", contours=tuple(Contour(z, square(0, 0, 4)) for z in (0, 2.5, 5)))
    ss = StructureSet("1.2.3", "SS", "1.2", (multi, single))
    out = compute_dvhs(ss, grid(), names=["single", "absent"])
    assert [d.name for d in out] == ["Single"]
    assert out[0].volume_cc == pytest.approx(0.25)  # 2.5 mm from the other structure
    assert [d.name for d in compute_dvhs(ss, grid())] == ["Multi", "Single"]


def test_gap_finding_reaches_the_dvh() -> None:
    r = compute_dvh(box(-5, -5, 10, [-9.0, -7.0, 7.0, 9.0]), grid())
    assert [f.code for f in r.findings] == ["STRUCTURE_CONTOUR_GAP"]
    assert r.volume_cc == pytest.approx(0.8)  # two 2-plane stacks, 4 mm thick each
    assert r.dvh is not None and r.complete  # a WARNING does not stop the evaluation
    assert r.findings[0].severity is Severity.WARNING


def heart_reference(folder: Path, step_mm: float = 0.5, sub_planes: int = 6
                    ) -> tuple[float, float, float]:
    """Volume (cc), mean and maximum dose (Gy) of the breast export's Heart, computed here
    from the files with pydicom, matplotlib and scipy only (none of rtcheck's code).

    The Heart is one contour on each of 33 planes 3 mm apart; each plane owns the slab
    ±1.5 mm about it (half-slice end caps). Volume: shoelace area × 3 mm per plane (exact).
    Mean: the trilinear interpolant (``RegularGridInterpolator``) averaged over cell centres
    ``step_mm`` apart in x/y and ``sub_planes`` per slab. Maximum: the trilinear interpolant
    is largest at a dose-grid node or on the surface, so the larger of the node values
    inside the stack and of the contour vertices on the slab faces and the dose frames.
    """
    import pydicom

    rd = pydicom.dcmread(folder / "rtdose.dcm")
    rs = pydicom.dcmread(folder / "rtss.dcm")
    assert [float(v) for v in rd.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    dose = rd.pixel_array * float(rd.DoseGridScaling)
    x0, y0, z0 = (float(v) for v in rd.ImagePositionPatient)
    x = x0 + float(rd.PixelSpacing[1]) * np.arange(rd.Columns)
    y = y0 + float(rd.PixelSpacing[0]) * np.arange(rd.Rows)
    z = z0 + np.asarray(rd.GridFrameOffsetVector, dtype=np.float64)
    (number,) = [r.ROINumber for r in rs.StructureSetROISequence if r.ROIName == "Heart"]
    (roi,) = [r for r in rs.ROIContourSequence if r.ReferencedROINumber == number]
    planes = {}
    for c in roi.ContourSequence:
        pts = np.asarray(c.ContourData, dtype=np.float64).reshape(-1, 3)
        planes[float(pts[0, 2])] = pts[:, :2]
    assert len(planes) == len(roi.ContourSequence) == 33  # one contour per plane
    assert np.allclose(np.diff(sorted(planes)), 3.0)
    half = 1.5
    interp = RegularGridInterpolator((z, y, x), dose)
    gx, gy = np.meshgrid(x, y)
    nodes_xy = np.column_stack((gx.ravel(), gy.ravel()))
    volume = total = 0.0
    count, dmax = 0, -math.inf
    for zk, poly in planes.items():
        px, py = poly[:, 0], poly[:, 1]
        volume += abs(np.dot(px, np.roll(py, -1)) - np.dot(py, np.roll(px, -1))) / 2 * 2 * half
        path = MplPath(poly)
        cx = np.arange(math.floor(px.min() / step_mm) * step_mm + step_mm / 2, px.max(), step_mm)
        cy = np.arange(math.floor(py.min() / step_mm) * step_mm + step_mm / 2, py.max(), step_mm)
        cxx, cyy = np.meshgrid(cx, cy)
        cells = np.column_stack((cxx.ravel(), cyy.ravel()))
        cells = cells[path.contains_points(cells)]
        for dz in ((np.arange(sub_planes) + 0.5) / sub_planes * 2 - 1) * half:
            d = interp(np.column_stack((np.full(len(cells), zk + dz), cells[:, 1], cells[:, 0])))
            total, count = total + d.sum(), count + d.size
        frames = np.nonzero((z >= zk - half) & (z <= zk + half))[0]
        inside = path.contains_points(nodes_xy).reshape(gx.shape)
        for k in frames:
            if inside.any():
                dmax = max(dmax, float(dose[k][inside].max()))
        for zf in (zk - half, zk + half, *z[frames]):
            d = interp(np.column_stack((np.full(len(poly), zf), poly[:, 1], poly[:, 0])))
            dmax = max(dmax, float(d.max()))
    return volume / 1000.0, total / count, dmax


def test_real_eclipse_plan(breast_dir: Path) -> None:
    """The shared Eclipse export: small-structure and surface-maximum behaviour."""
    from rtcheck.dicom import load

    case = load([breast_dir]).cases[0]
    assert case.dose is not None and case.structure_set is not None
    out = {d.name: d for d in compute_dvhs(case.structure_set, case.dose)}
    assert not out["Areola"].evaluable
    heart = out["Heart"]
    assert heart.complete and heart.dvh is not None
    volume, mean, dmax = heart_reference(breast_dir)  # 439.699 cc, 0.6465 Gy, 3.0953 Gy
    assert 434.0 < volume < 441.0  # Eclipse 437.46 cc, no caps 434.09 cc
    assert heart.volume_cc == pytest.approx(volume, rel=1e-9)
    assert heart.dvh.max_gy == pytest.approx(dmax, abs=1e-6)  # a node inside the Heart
    # the reference's own sampling error: 0.6467 / 0.6465 / 0.6466 Gy with 1 / 0.5 / 0.25 mm
    # cells; rtcheck 0.6464 (Eclipse 0.643 Gy)
    assert heart.dvh.mean_gy == pytest.approx(mean, abs=1e-3)
    for name in ("Nodes", "Borders", "Scar"):  # dicompyler-core returns D99 = 0 Gy here
        dvh = out[name].dvh
        assert dvh is not None and dvh.dose_at_percent_gy(99) > 0.03


def test_dmax_on_the_end_cap_face_interior() -> None:
    """Hot spot entering through the top face: the maximum lies inside the face."""
    g = grid(lambda x, y, z: 10 + z - 0.2 * (x * x + y * y), spacing=2.0, origin=-31.0, n=32)
    r = compute_dvh(box(-5, -5, 10, [-1.0, 0.0, 1.0]), g)  # top face z = 1.5
    # frames z = -1 and 1 hold 9.6 - 1 + ... ; column (±1, ±1): 10 + z - 0.4, at z = 1.5
    assert r.dvh is not None and r.dvh.max_gy == pytest.approx(10 + 1.5 - 0.4, abs=1e-9)


def test_crossing_contours_use_the_even_odd_area_with_a_finding() -> None:
    bowtie = np.array([[0.0, 0.0], [4.0, 4.0], [4.0, 0.0], [0.0, 4.0]])  # shoelace area 0
    a = square(0, 0, 4)
    planes = (0.0, 1.0)
    r1 = compute_dvh(Structure(1, "bowtie", contours=tuple(Contour(z, bowtie) for z in planes)),
                     grid())
    r2 = compute_dvh(Structure(2, "overlap", contours=tuple(
        Contour(z, p) for z in planes for p in (a, a + 2.0))), grid())  # even-odd: 16+16-2*4
    assert r1.volume_cc == pytest.approx(8 * 2 / 1000, rel=0.02)
    assert r2.volume_cc == pytest.approx(24 * 2 / 1000, rel=0.02)
    for r in (r1, r2):
        assert [f.code for f in r.findings] == ["STRUCTURE_CONTOURS_CROSS"]
        assert r.dvh is not None and r.in_grid_volume_cc == pytest.approx(r.volume_cc)
