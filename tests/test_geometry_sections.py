"""``--geometry smooth`` in the DVH engine (rtcheck.dose.geom_sections): thin prisms of the
smooth model, sampled like the staircase, against closed forms and the staircase itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rtcheck.dicom.model import Contour, DoseGrid, DoseSummationType, Structure
from rtcheck.dose.engine import compute_dvh
from rtcheck.dose.settings import DvhSettings, EndCap, Geometry
from tests.ideal_shapes import IDEAL_SHAPES, IdealCase, ideal_dose, ideal_grid

SMOOTH = DvhSettings(geometry=Geometry.SMOOTH)


def circle(cx: float, cy: float, r: float, n: int = 720, reverse: bool = False) -> np.ndarray:
    t = np.arange(n) * 2 * np.pi / n
    p = np.column_stack((cx + r * np.cos(t), cy + r * np.sin(t)))
    return p[::-1] if reverse else p


def polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def structure(planes: list[tuple[float, list[np.ndarray]]]) -> Structure:
    return Structure(roi_number=1, name="s",
                     contours=tuple(Contour(z, p) for z, polys in planes for p in polys))


def uniform_grid(dose_gy: float = 10.0) -> DoseGrid:
    axis = np.arange(-40.0, 40.1, 2.0)
    return DoseGrid(axis, axis, axis, np.full((axis.size,) * 3, dose_gy), "PHYSICAL",
                    DoseSummationType.PLAN, "1.2.3", "1.2.3.4")


def ring() -> np.ndarray:
    """A C-shaped contour: not star-shaped about its centroid."""
    t = np.linspace(0.3, 2 * np.pi - 0.3, 200)
    return np.concatenate((np.column_stack((10 * np.cos(t), 10 * np.sin(t))),
                           np.column_stack((6 * np.cos(t[::-1]), 6 * np.sin(t[::-1])))))


@pytest.mark.parametrize(("end_cap", "length_mm"), [(EndCap.HALF_SLICE, 21.0), (EndCap.NONE, 18.0)])
def test_annular_tube_flat_ends_follow_the_end_cap_setting(end_cap: EndCap,
                                                           length_mm: float) -> None:
    """A tube with a hole (two chains, even-odd), flat ends: the cap is the setting's."""
    outer, inner = circle(0, 0, 10), circle(0, 0, 4, reverse=True)
    s = structure([(float(z), [outer, inner]) for z in np.arange(0.0, 19.0, 3.0)])
    got = compute_dvh(s, uniform_grid(), DvhSettings(geometry=Geometry.SMOOTH, end_cap=end_cap))
    stacked = compute_dvh(s, uniform_grid(), DvhSettings(end_cap=end_cap))
    section_mm2 = polygon_area(outer) - polygon_area(inner)
    # the radial table (1024 rays) of a 720-gon: area within 1e-5 of the polygon's
    assert got.volume_cc == pytest.approx(section_mm2 * length_mm / 1000, rel=1e-4)
    assert stacked.volume_cc == pytest.approx(section_mm2 * length_mm / 1000, rel=1e-9)
    assert got.dvh is not None and got.dvh.mean_gy == pytest.approx(10.0, rel=1e-12)
    assert not any(f.code == "STRUCTURE_GEOMETRY_FALLBACK" for f in got.findings)


def test_sphere_is_reconstructed_where_the_staircase_errs() -> None:
    """Sphere R = 12 mm contoured every 3 mm: closed-form volume 7.238 cc."""
    zs = np.arange(-10.5, 11.0, 3.0)  # planes at ±1.5, ±4.5, ±7.5, ±10.5 mm
    s = structure([(float(z), [circle(0, 0, math.sqrt(144 - z * z))]) for z in zs])
    truth_cc = 4 / 3 * math.pi * 12**3 / 1000
    smooth = compute_dvh(s, uniform_grid(), SMOOTH).volume_cc
    stacked = compute_dvh(s, uniform_grid()).volume_cc
    # staircase: trapezoid sections + half-slice caps, by hand
    by_hand = sum(polygon_area(circle(0, 0, math.sqrt(144 - z * z))) * 3.0 for z in zs) / 1000
    assert stacked == pytest.approx(by_hand, rel=1e-9)
    assert abs(stacked / truth_cc - 1) > 0.003  # +0.44 %: the staircase's error
    assert smooth == pytest.approx(truth_cc, rel=1e-3)


def test_non_star_stack_is_the_staircase_and_says_so() -> None:
    s = structure([(z, [ring()]) for z in (0.0, 2.0, 4.0)])
    got = compute_dvh(s, uniform_grid(), SMOOTH)
    stacked = compute_dvh(s, uniform_grid())
    assert got.volume_cc == pytest.approx(stacked.volume_cc, rel=1e-12)
    (finding,) = [f for f in got.findings if f.code == "STRUCTURE_GEOMETRY_FALLBACK"]
    assert finding.message.startswith("100 % of the volume is modelled as the staircase")
    # all staircase, ends included (the volume is the stacked one): no word of other ends
    assert finding.message.endswith("where the smooth model cannot interpolate")
    assert finding.severity.name == "INFO"


def test_fallback_share_is_local_to_the_crescent() -> None:
    """One crescent among 15 discs: only the slabs whose stencil uses it are staircase."""
    planes = [(float(z), [circle(0, 0, 10)]) for z in np.arange(0.0, 30.0, 2.0)]
    planes[7] = (planes[7][0], [ring()])
    got = compute_dvh(structure(planes), uniform_grid(), SMOOTH)
    (finding,) = [f for f in got.findings if f.code == "STRUCTURE_GEOMETRY_FALLBACK"]
    share = float(finding.message.split(" %")[0])
    assert finding.message.endswith("(its trend-closed ends still differ from the stacked caps)")
    # the four-plane stencils of the plane intervals 5-6 .. 8-9 use the crescent (plane 7,
    # z = 14): z 10..18 is the staircase, 6 mm of disc and 2 mm of crescent, of a stack
    # of 28 mm of disc (caps included) and 2 mm of crescent
    disc, crescent = polygon_area(circle(0, 0, 10)), polygon_area(ring())
    assert share == round(100 * (6 * disc + 2 * crescent) / (28 * disc + 2 * crescent))  # 25


def test_smooth_dmax_is_on_the_model_surface() -> None:
    """Linear SI dose on the 7.2 cc sphere: Dmax/Dmin are at the poles of the model, which
    the smooth model closes at the true poles (the staircase stops at its caps)."""
    case = IdealCase(IDEAL_SHAPES["sphere_7.2cc"], 3.0, 0.37)
    dose = ideal_dose("lin_z", case)
    truth = case.truth(dose)
    got = compute_dvh(case.structure(), ideal_grid(dose, case, 2.0), SMOOTH)
    assert got.dvh is not None
    assert got.dvh.max_gy == pytest.approx(truth["Dmax"], rel=2e-3)
    assert got.dvh.min_gy == pytest.approx(truth["Dmin"], rel=2e-3)


def test_geometry_setting_is_validated() -> None:
    assert DvhSettings(geometry="smooth").geometry is Geometry.SMOOTH  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'round' is not a valid Geometry"):
        DvhSettings(geometry="round")  # type: ignore[arg-type]


@pytest.mark.parametrize(("share", "shown"), [(1.0, "100"), (0.99906, ">99"), (0.245, "24"),
                                              (0.004, "<1")])
def test_fallback_share_is_never_rounded_to_all_or_nothing(share: float, shown: str) -> None:
    """A share of 99.9 % is not "100 %": its trend-closed ends still differ (new-user trial)."""
    from rtcheck.dose.geom_sections import fallback_finding

    message = fallback_finding("Scar", share).message
    assert message.startswith(f"{shown} % of the volume is modelled as the staircase")
    # only an all-staircase structure has the stacked caps at its ends too
    assert message.endswith("(its trend-closed ends still differ from the stacked caps)") == (
        share < 1)


def square(cx: float, cy: float, side: float, turn_deg: float = 0.0) -> np.ndarray:
    """A square turned by ``turn_deg`` about its centre (its corners then fall between the
    model's rays)."""
    t = np.radians(turn_deg + np.array([45.0, 135.0, 225.0, 315.0]))
    r = side / math.sqrt(2)
    return np.column_stack((cx + r * np.cos(t), cy + r * np.sin(t)))


def test_section_area_is_the_models_whatever_the_polygons_vertex_count(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Concentric squares (corners between the rays): every contour has the same
    normalised shape, so the model's section is that shape scaled by σ(z)² — the
    Lagrange cubic through σ² = side²/12 — and its area is the cubic through the
    squares' areas. The section polygon (one vertex per ray) cuts the corners; the
    area the engine weights the samples with is the model's, for any vertex count."""
    from rtcheck.dose import geom_smooth
    from rtcheck.dose.geom_smooth import smooth_models

    zs, sides = np.array([0.0, 2.0, 4.0, 6.0]), np.array([4.0, 6.0, 8.0, 6.0])
    s = structure([(float(z), [square(1.0, -2.0, a, 10.0)])
                   for z, a in zip(zs, sides, strict=True)])
    zq = np.array([1.0, 2.5, 3.0, 5.0])
    lagrange = np.polynomial.polynomial.Polynomial.fit(zs, sides**2, 3)
    got = {}
    for vertices in (64, 1024):
        monkeypatch.setattr(geom_smooth, "MIN_SECTION_VERTICES", vertices)
        (model,) = smooth_models(s)
        found = model.sections(zq)
        got[vertices] = np.array(found.area)
        assert model.ray_stride == 1024 // vertices
        # the 64-ray polygon of the square falls short of the model's area
        shortfall = 1 - np.array([polygon_area(p) for p in found.polygons]) / got[vertices]
        assert np.all(shortfall > (0.003 if vertices == 64 else 0.0))
    np.testing.assert_allclose(got[64], lagrange(zq), rtol=1e-12)
    np.testing.assert_array_equal(got[64], got[1024])


def test_one_contour_chain_is_its_contour_and_cuts_no_thin_slabs() -> None:
    """A one-contour island beside a stack of discs: its section is its contour (exact),
    in one slab capped half a plane spacing either side of its plane, and the discs'
    slabs are not cut by it (before: both its ends were put below its plane, and the
    island was lost)."""
    from rtcheck.dose.geom_sections import smooth_geometry
    from rtcheck.dose.geometry import stack_geometry

    planes = [(float(z), [circle(0, 0, 8)]) for z in np.arange(0.0, 21.0, 3.0)]
    planes[3] = (planes[3][0], [circle(0, 0, 8), square(20.0, 0.0, 2.0)])
    s = structure(planes)
    discs = structure([(z, polys[:1]) for z, polys in planes])

    def smooth(x: Structure):  # type: ignore[no-untyped-def]
        return smooth_geometry(x, stack_geometry(x, EndCap.HALF_SLICE, 1.5, 3.0),
                               EndCap.HALF_SLICE, 1.5, 0.5)

    got, alone = smooth(s), smooth(discs)
    island = [slab for slab in got.geometry.slabs
              if any(p.shape[0] == 4 for p in slab.polygons)]
    assert [(slab.lo_mm, slab.hi_mm) for slab in island] == [(7.5, 10.5)]
    for slab in island:
        (poly,) = slab.polygons
        assert polygon_area(poly) == pytest.approx(4.0, rel=1e-12)
        assert slab.area_mm2 == pytest.approx(4.0, rel=1e-12)
    assert len(got.geometry.slabs) == len(alone.geometry.slabs) + 1
    assert got.geometry.volume_cc == pytest.approx(alone.geometry.volume_cc + 3 * 4.0 / 1000,
                                                   rel=1e-12)
    # the island is the staircase's own section (nothing to interpolate with): its 12 mm³
    # are the share of the volume modelled as the staircase (the discs are all smooth)
    assert alone.fallback_share == 0.0
    assert got.fallback_share == pytest.approx(12.0 / (1000 * got.geometry.volume_cc),
                                               rel=1e-12)


def test_disjoint_chains_are_stacked_apart_and_their_hot_nodes_found() -> None:
    """Two spheres far apart (no box overlap): two runs of slabs, each ascending in z, the
    volumes add, and Dmax/Dmin are found at grid nodes inside either one."""
    def ball(cx: float, z0: float) -> list[tuple[float, list[np.ndarray]]]:
        return [(z0 + z, [circle(cx, 0, math.sqrt(64 - z * z))]) for z in np.arange(-7.0, 7.5, 2.0)]

    a, b = ball(-20.0, 0.0), ball(20.0, 4.0)  # on the same planes, b 4 mm higher
    # nodes at even + 0.25 mm: off every slab face (planes odd, mid-planes even, thin
    # slabs 0.5 mm), so only the search of nodes inside the slabs can find them
    axis = np.arange(-39.75, 40.0, 2.0)
    dose = np.full((axis.size,) * 3, 10.0)
    at = {float(v): k for k, v in enumerate(axis)}
    dose[at[2.25], at[0.25], at[20.25]] = 30.0  # inside ball b, in a thin slab of run 2
    dose[at[-1.75], at[0.25], at[-19.75]] = 1.0  # inside ball a
    hot_grid = DoseGrid(axis, axis, axis, dose, "PHYSICAL", DoseSummationType.PLAN,
                        "1.2.3", "1.2.3.4")
    planes: dict[float, list[np.ndarray]] = {}
    for z, polys in a + b:
        planes.setdefault(z, []).extend(polys)
    both = compute_dvh(structure(sorted(planes.items())), hot_grid, SMOOTH)
    alone = [compute_dvh(structure(x), uniform_grid(), SMOOTH) for x in (a, b)]
    assert both.volume_cc == pytest.approx(sum(x.volume_cc for x in alone), rel=1e-12)
    assert both.dvh is not None
    assert both.dvh.max_gy == 30.0 and both.dvh.min_gy == 1.0


def test_sides_join_a_polygon_repeated_in_touching_slabs_only() -> None:
    from rtcheck.dose.sample_extremes import Sides

    p, q = circle(0, 0, 5, n=8), circle(0, 0, 3, n=6)
    # slabs [0,1] [1,2] [2,3] then a gap, [4,5]: p in the first three and the last, q in
    # the second, a copy of p (another array) in the third
    planes = [[p], [p, q], [p, p.copy()], [p]]
    lo, hi = np.array([0.0, 1.0, 2.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0])
    sides = Sides.of(planes, lo, hi)
    assert sides.lo.tolist() == [0.0, 1.0, 2.0, 4.0]
    assert sides.hi.tolist() == [3.0, 2.0, 3.0, 5.0]
    assert np.bincount(sides.edges.plane).tolist() == [8, 6, 8, 8]


@pytest.mark.parametrize("shape", ["sphere_7.2cc", "cyly_0.40cc", "coney_0.45cc"])
def test_joined_sides_give_the_same_extremes(shape: str, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    """The thin slabs' repeated sections (a crescent's staircase, one-contour islands) are
    searched as one side each: the extremes are those of the slab-by-slab search."""
    from rtcheck.dose import sampling

    case = IdealCase(IDEAL_SHAPES[shape], 3.0, 0.37)
    grid = ideal_grid(ideal_dose("lin_y", case), case, 2.0)
    planes = [(z, [poly, ring() + 30.0]) for z, poly in case.planes]  # a crescent aside
    s = structure(planes)
    joined = compute_dvh(s, grid, SMOOTH)
    monkeypatch.setattr(sampling.Sides, "of", lambda *a: None)
    by_slab = compute_dvh(s, grid, SMOOTH)
    assert joined.dvh is not None and by_slab.dvh is not None
    assert (joined.dvh.min_gy, joined.dvh.max_gy) == (by_slab.dvh.min_gy, by_slab.dvh.max_gy)
