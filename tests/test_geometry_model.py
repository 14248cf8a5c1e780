"""The smooth geometry model (rtcheck.dose.geom_smooth): point membership on real-world stacks.

Holes, several contours per plane, contours that appear or vanish, gaps,
non-uniform spacing and contours that are not star-shaped (staircase fallback).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rtcheck.dicom.model import Contour, Structure
from rtcheck.dose.geom_chains import build_chains, describe
from rtcheck.dose.geom_radial import radial_table
from rtcheck.dose.geom_smooth import lagrange_weights, smooth_models
from tests.smooth_membership import fallback_share, inside


def circle(cx: float, cy: float, r: float, n: int = 360, reverse: bool = False) -> np.ndarray:
    t = np.arange(n) * 2 * np.pi / n
    p = np.column_stack((cx + r * np.cos(t), cy + r * np.sin(t)))
    return p[::-1] if reverse else p


def structure(planes: list[tuple[float, list[np.ndarray]]]) -> Structure:
    contours = tuple(Contour(z, p) for z, polys in planes for p in polys)
    return Structure(roi_number=1, name="s", contours=contours)


def volume_cc(s: Structure, box: tuple[float, ...], n: int = 300_000) -> float:
    models = smooth_models(s)
    rng = np.random.default_rng(3)
    lo, hi = np.array(box[0::2]), np.array(box[1::2])
    pts = rng.uniform(lo, hi, size=(n, 3))
    got = inside(models, pts[:, 0], pts[:, 1], pts[:, 2])
    return float(got.mean() * np.prod(hi - lo) / 1000.0)


def test_lagrange_weights_reproduce_cubics() -> None:
    nodes = np.array([[0.0, 1.0, 3.0, 3.5]])
    z = np.array([2.2])
    w = lagrange_weights(nodes, z)
    f = lambda t: 2 - t + 0.5 * t**2 - 0.1 * t**3  # noqa: E731
    assert float((w @ f(nodes[0]))[0]) == pytest.approx(float(f(z[0])), rel=1e-12)


def test_descriptor_of_disc_and_rectangle() -> None:
    d = describe(0.0, circle(1.0, 2.0, 5.0), hole=False)
    assert (d.cx, d.cy) == pytest.approx((1.0, 2.0), abs=1e-9)
    assert d.sx2 == pytest.approx(25 / 4, rel=1e-3) and d.star
    # the normalised radius of a disc is 2 in every direction
    assert np.sqrt(d.r2) == pytest.approx(2.0, rel=1e-3)
    rect = np.array([[0, 0], [4, 0], [4, 1], [0, 1]], dtype=float)
    r = describe(0.0, rect, hole=False)
    assert r.sx2 == pytest.approx(16 / 12) and r.sy2 == pytest.approx(1 / 12)
    assert describe(0.0, rect[::-1], hole=False).r2 == pytest.approx(r.r2)


def test_non_star_contour_is_flagged() -> None:
    t = np.linspace(0.3, 2 * np.pi - 0.3, 200)
    outer = np.column_stack((10 * np.cos(t), 10 * np.sin(t)))
    inner = np.column_stack((6 * np.cos(t[::-1]), 6 * np.sin(t[::-1])))
    c_shape = np.concatenate((outer, inner)) + np.array([20.0, 0.0])
    assert np.isnan(radial_table(c_shape - c_shape.mean(axis=0))).all()


def test_cylinder_with_hole_is_an_annular_tube() -> None:
    """Outer and inner circles on every plane: even-odd of two chains; flat ends."""
    planes = [(z, [circle(0, 0, 10), circle(0, 0, 4, reverse=True)])
              for z in np.arange(0.0, 21.0, 3.0)]
    s = structure(planes)
    chains, _ = build_chains(s)
    assert len(chains) == 2 and sorted(c.shapes[0].hole for c in chains) == [False, True]
    expected = math.pi * (100 - 16) * 21.0 / 1000  # 18 mm + half-slice caps on flat ends
    assert volume_cc(s, (-12, 12, -12, 12, -3, 23)) == pytest.approx(expected, rel=0.01)


def test_two_spheres_on_shared_planes() -> None:
    """Two disjoint contours per plane: two chains, each reconstructed as a sphere."""
    planes = []
    for z in np.arange(-4.5, 5.0, 3.0):
        r = math.sqrt(36 - z * z)
        planes.append((float(z), [circle(-10, 0, r), circle(10, 0, r)]))
    s = structure(planes)
    assert len(smooth_models(s)) == 2
    expected = 2 * 4 / 3 * math.pi * 216 / 1000
    assert volume_cc(s, (-17, 17, -7, 7, -7, 7)) == pytest.approx(expected, rel=0.01)


def test_branch_that_vanishes_and_gap() -> None:
    """A branch ending between planes closes before the next plane; a gap splits chains."""
    planes = [(z, [circle(0, 0, 8)] + ([circle(20, 0, 3)] if z < 4 else []))
              for z in (0.0, 2.0, 4.0, 6.0)]
    planes += [(z, [circle(0, 0, 8)]) for z in (16.0, 18.0)]  # gap 6 → 16
    models = smooth_models(structure(planes))
    assert len(models) == 3
    ends = sorted((m.z_lo, m.z_hi) for m in models)
    # flat ends: half-slice caps; the branch (flat too) keeps its cap below the empty plane
    assert np.array(ends) == pytest.approx(np.array([(-1.0, 3.0), (-1.0, 7.0), (15.0, 19.0)]))


def test_non_uniform_spacing_sphere() -> None:
    zs = np.array([-10.6, -9.1, -7.1, -4.6, -3.1, -1.1, 1.4, 2.9, 4.9, 7.4, 8.9, 10.9])
    planes = [(float(z), [circle(0, 0, math.sqrt(144 - z * z))]) for z in zs]
    expected = 4 / 3 * math.pi * 12**3 / 1000
    assert volume_cc(structure(planes), (-13, 13, -13, 13, -13, 13)) == pytest.approx(
        expected, rel=0.005)


def test_non_star_chain_falls_back_to_staircase() -> None:
    t = np.linspace(0.3, 2 * np.pi - 0.3, 200)
    ring = np.concatenate((np.column_stack((10 * np.cos(t), 10 * np.sin(t))),
                           np.column_stack((6 * np.cos(t[::-1]), 6 * np.sin(t[::-1])))))
    s = structure([(z, [ring]) for z in (0.0, 2.0, 4.0)])
    (model,) = smooth_models(s)
    assert not model.star.any() and fallback_share(model) == 1.0
    area = describe(0.0, ring, hole=False).area
    assert volume_cc(s, (-11, 11, -11, 11, -2, 6)) == pytest.approx(area * 6 / 1000, rel=0.02)


def test_fallback_is_local_to_the_non_star_contour() -> None:
    """One crescent among discs: only the intervals whose stencil uses it are staircase."""
    t = np.linspace(0.3, 2 * np.pi - 0.3, 200)
    ring = np.concatenate((np.column_stack((10 * np.cos(t), 10 * np.sin(t))),
                           np.column_stack((6 * np.cos(t[::-1]), 6 * np.sin(t[::-1])))))
    planes = [(float(z), [circle(0, 0, 10)]) for z in np.arange(0.0, 30.0, 2.0)]
    planes[7] = (planes[7][0], [ring])
    (model,) = smooth_models(structure(planes))
    assert model.star.sum() == 14
    assert 0 < fallback_share(model) < 0.5
    # far from the crescent the smooth model holds (a cylinder: same as the staircase)
    x = np.array([9.9, 10.1, 9.9, 10.1])
    z = np.array([3.0, 3.0, 25.0, 25.0])
    assert inside([model], x, np.zeros(4), z).tolist() == [True, False, True, False]
    # at the crescent's plane, its gap is outside
    assert not inside([model], np.array([9.0]), np.array([0.0]), np.array([14.0]))[0]
