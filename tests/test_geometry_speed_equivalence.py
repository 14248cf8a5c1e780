"""The vectorised smooth-geometry code gives, bit for bit, what one contour at a time gives.

The descriptors, radial tables, areas and weights of ``--geometry smooth`` are computed for
all contours (sections, rays) of a structure at once (rtcheck.dose.geom_chains,
geom_smooth, geom_sections). Each test compares them with a plain per-item reference: the
per-contour formulas the batched code replaced, or the engine's own functions.
"""

from __future__ import annotations

import numpy as np
import pytest

from rtcheck.dicom.model import Contour, Structure
from rtcheck.dose.geom_chains import _moments, build_chains, describe
from rtcheck.dose.geom_radial import THETA, RadialTables, Ragged, inside_polygons, radial_table
from rtcheck.dose.geom_scanline import points_inside
from rtcheck.dose.geom_sections import _Sections, _slab_areas
from rtcheck.dose.geom_smooth import lagrange_weights
from rtcheck.dose.geometry import even_odd_area_mm2, polygon_area_mm2


def blob(rng: np.random.Generator, n: int, star: bool = True) -> np.ndarray:
    """A random polygon of ``n`` vertices about a random centre (a crescent if not star)."""
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    if rng.random() < 0.3 and n < 1024:  # vertices exactly on table angles: ties
        t = THETA[np.sort(rng.choice(1024, n, replace=False))]
    r = rng.uniform(2, 6, n) * (1 + 0.4 * np.sin(3 * t))
    if not star:
        r = np.where(np.cos(t) > 0.3, r * 0.2, r)
    p = np.column_stack((rng.uniform(-9, 9) + r * np.cos(t), rng.uniform(-9, 9) + r * np.sin(t)))
    p = p[::-1] if rng.random() < 0.5 else p
    return np.roll(p, int(rng.integers(0, n)), axis=0)


def reference_moments(p: np.ndarray) -> tuple[float, ...]:
    """Signed area, centroid and σx², σy² of one polygon (the per-contour formulas)."""
    x, y = p[:, 0], p[:, 1]
    xn, yn = np.concatenate((x[1:], x[:1])), np.concatenate((y[1:], y[:1]))
    cross = x * yn - xn * y
    a = cross.sum() / 2.0
    cx = float(np.sum((x + xn) * cross) / (6 * a))
    cy = float(np.sum((y + yn) * cross) / (6 * a))
    ixx = float(np.sum((x * x + x * xn + xn * xn) * cross) / (12 * a))
    iyy = float(np.sum((y * y + y * yn + yn * yn) * cross) / (12 * a))
    return float(a), cx, cy, ixx - cx * cx, iyy - cy * cy


def reference_table(q: np.ndarray) -> np.ndarray:
    """``r(θ)²`` of one polygon about the origin, one ray at a time (searchsorted)."""
    phi = np.arctan2(q[:, 1], q[:, 0])
    step = np.diff(np.concatenate((phi, phi[:1])))
    step = (step + np.pi) % (2 * np.pi) - np.pi
    if np.any(step <= 0) or abs(step.sum() - 2 * np.pi) > 1e-6:
        return np.full(THETA.size, np.nan)
    start = int(np.argmin(np.mod(phi, 2 * np.pi)))
    q = np.concatenate((q[start:], q[:start]))
    ang = np.mod(np.arctan2(q[0, 1], q[0, 0]), 2 * np.pi) + np.concatenate(
        ([0.0], np.cumsum(np.concatenate((step[start:], step[:start]))[:-1])))
    theta = np.where(ang[0] > THETA, THETA + 2 * np.pi, THETA)
    i = np.searchsorted(ang, theta, side="right") - 1
    a, b = q[i], q[(i + 1) % q.shape[0]]
    e = b - a
    cross = a[:, 0] * e[:, 1] - a[:, 1] * e[:, 0]
    t = cross / (np.cos(theta) * e[:, 1] - np.sin(theta) * e[:, 0])
    return np.asarray(t * t)


@pytest.fixture(scope="module")
def polygons() -> list[np.ndarray]:
    rng = np.random.default_rng(12)
    return [blob(rng, int(rng.integers(3, 700)), star=rng.random() < 0.7) for _ in range(120)]


def test_batched_moments_equal_per_contour_moments(polygons: list[np.ndarray]) -> None:
    got = np.column_stack(_moments(Ragged.of(polygons)))
    assert np.array_equal(got, np.array([reference_moments(p) for p in polygons]))


def test_radial_tables_equal_per_contour_tables(polygons: list[np.ndarray]) -> None:
    qs = [p - p.mean(axis=0) for p in polygons]
    tables = RadialTables(np.concatenate(qs), Ragged.of(qs))
    full = tables.rays(np.arange(len(qs)))
    reference = np.array([reference_table(q) for q in qs])
    assert np.array_equal(full, reference, equal_nan=True)
    assert np.array_equal(tables.star, np.all(np.isfinite(reference), axis=1))
    assert 0 < tables.star.sum() < len(qs)
    assert np.array_equal(radial_table(qs[0]), reference[0], equal_nan=True)
    rows = np.random.default_rng(3).permutation(len(qs))[:50]
    for stride in (1, 2, 4):  # any rows, every stride-th ray: the same values
        assert np.array_equal(tables.rays(rows, stride), reference[rows][:, ::stride],
                              equal_nan=True)


def test_edge_through_the_origin_is_checked_ray_by_ray() -> None:
    """An edge passing 10⁻¹⁰ from the origin: its table is evaluated in full to decide
    whether it is finite (here it is: star-shaped, as the reference says)."""
    q = np.array([[1.0, 1e-10], [-1.0, 1e-10], [0.0, -1.0]])
    tables = RadialTables(q, Ragged.of([q]))
    reference = reference_table(q)
    assert bool(tables.star[0]) and np.isfinite(reference).all()
    assert np.array_equal(tables.rays(np.zeros(1, dtype=np.intp))[0], reference)


def test_descriptors_do_not_depend_on_the_batch(polygons: list[np.ndarray]) -> None:
    contours = tuple(Contour(2.0 * k, p) for k, p in enumerate(polygons))
    structure = Structure(roi_number=1, name="s", contours=contours)
    shapes = [s for c in build_chains(structure)[0] for s in c.shapes]
    assert len(shapes) == len(polygons)
    for s in shapes:
        alone = describe(s.z, polygons[round(s.z / 2.0)], s.hole)
        assert (s.area, s.cx, s.cy, s.sx2, s.sy2, s.star) == (
            alone.area, alone.cx, alone.cy, alone.sx2, alone.sy2, alone.star)
        assert np.array_equal(s.r2, alone.r2, equal_nan=True)
        assert np.array_equal(s.polygon, alone.polygon)


def test_crossing_tests_equal_points_inside(polygons: list[np.ndarray]) -> None:
    rng = np.random.default_rng(5)
    poly = rng.integers(0, len(polygons), 3000)
    x, y = rng.uniform(-16, 16, 3000), rng.uniform(-16, 16, 3000)
    got = inside_polygons(x, y, poly, Ragged.of(polygons), margin=1e-6)
    want = [points_inside(x[k:k + 1], y[k:k + 1], [polygons[poly[k]]])[0] for k in range(3000)]
    assert got.tolist() == want


def test_section_areas_equal_the_engine_areas(polygons: list[np.ndarray]) -> None:
    rng = np.random.default_rng(9)
    ring = [np.column_stack((r * np.cos(t), r * np.sin(t)))
            for r, t in ((8.0, THETA), (5.0, THETA[::-2]), (2.0, THETA[::4]))]
    slabs = [ring, ring[:2], [polygons[0], polygons[1], polygons[2]], [polygons[3]],
             [polygons[int(k)] for k in rng.integers(0, len(polygons), 4)]]
    areas = [[polygon_area_mm2(p) for p in s] for s in slabs]
    boxes = [[(p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max()) for p in s]
             for s in slabs]
    got = _slab_areas(_Sections(slabs, areas, boxes, 0.0, 0.0))
    assert got == [even_odd_area_mm2(tuple(s)) for s in slabs]


def test_lagrange_weights_equal_the_per_factor_products() -> None:
    rng = np.random.default_rng(4)
    for k in (1, 2, 3, 4):
        nodes = np.sort(rng.uniform(0, 10, (50, k)), axis=1)
        z = rng.uniform(-2, 12, 50)
        z[0] = nodes[0, 0]  # at a node
        want = np.ones(nodes.shape)
        for i in range(k):
            for j in range(k):
                if i != j:
                    want[:, i] *= (z - nodes[:, j]) / (nodes[:, i] - nodes[:, j])
        assert np.array_equal(lagrange_weights(nodes, z), want)
