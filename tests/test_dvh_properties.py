"""Property-based tests of the DVH engine (hypothesis).

* The cumulative DVH's queries never increase, whatever the structure (several
  contours per plane, holes, irregular spacing) and the dose (random grids); its
  volume and mean are those of the dose samples and its extremes lie within the
  range of the grid nodes.
* In a uniform dose, shifting a structure anywhere inside the grid changes
  neither its volume nor its in-grid volume nor any dose statistic.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcheck.dicom.model import Contour, DoseGrid, DoseSummationType, Structure
from rtcheck.dose.engine import compute_dvh
from rtcheck.dose.settings import DvhSettings

FAST = DvhSettings(min_samples=5_000, max_samples=20_000)


def _ellipse(cx: float, cy: float, a: float, b: float, n: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack((cx + a * np.cos(t), cy + b * np.sin(t)))


@st.composite
def structures(draw: st.DrawFn) -> Structure:
    """1-8 planes with irregular spacing; per plane an ellipse, maybe a hole and an island."""
    n_planes = draw(st.integers(1, 8))
    gaps = draw(st.lists(st.floats(0.5, 4.0), min_size=n_planes, max_size=n_planes))
    z = -6.0 + np.cumsum(gaps)
    contours = []
    for zk in z:
        cx, cy = draw(st.floats(-4, 4)), draw(st.floats(-4, 4))
        a, b = draw(st.floats(1.0, 8.0)), draw(st.floats(1.0, 8.0))
        contours.append(Contour(float(zk), _ellipse(cx, cy, a, b)))
        if draw(st.booleans()):
            contours.append(Contour(float(zk), _ellipse(cx, cy, a / 3, b / 3)))
        if draw(st.booleans()):
            contours.append(Contour(float(zk), _ellipse(cx + a + 4, cy, 1.5, 1.0)))
    return Structure(roi_number=1, name="random", contours=tuple(contours))


def _grid(dose: np.ndarray, spacing: float, origin: tuple[float, float, float]) -> DoseGrid:
    nz, ny, nx = dose.shape
    axes = [origin[i] + spacing * np.arange(n) for i, n in enumerate((nx, ny, nz))]
    return DoseGrid(axes[0], axes[1], axes[2], dose, "PHYSICAL", DoseSummationType.PLAN,
                    "1.2", "1.2.3")


@settings(max_examples=30, deadline=None)
@given(structure=structures(), seed=st.integers(0, 2**32 - 1), spacing=st.floats(1.0, 3.0),
       smooth=st.booleans())
def test_cumulative_dvh_never_increases(structure: Structure, seed: int, spacing: float,
                                        smooth: bool) -> None:
    rng = np.random.default_rng(seed)
    n = math.ceil(40 / spacing)
    dose = rng.uniform(0, 60, size=(n, n, n))
    if smooth:
        k = np.arange(n)
        dose = 10 + np.add.outer(np.add.outer(k, 0.5 * k), 0.2 * k) * spacing + dose / 30
    grid = _grid(dose, spacing, (-20.0, -20.0, -20.0))
    result = compute_dvh(structure, grid, FAST)
    dvh, samples = result.dvh, result.samples
    assert dvh is not None and samples is not None
    # (a non-increasing dose_gy array is CumulativeDVH's own invariant: its constructor
    # refuses anything else, so asserting it here could not fail.) What can fail: the curve
    # must be that of the samples, and stay within what trilinear interpolation can give.
    assert math.isclose(dvh.total_volume_cc, float(samples.weight_cc.sum()), rel_tol=1e-12)
    assert math.isclose(dvh.mean_gy, float(np.average(samples.dose_gy, weights=samples.weight_cc)),
                        rel_tol=1e-12)
    # Dmin/Dmax are searched beyond the samples (surface and nodes), never beyond the nodes
    # (1e-9 Gy for the rounding of the interpolation weights)
    assert dose.min() - 1e-9 <= dvh.min_gy <= samples.dose_gy.min()
    assert samples.dose_gy.max() <= dvh.max_gy <= dose.max() + 1e-9
    volumes = [dvh.volume_at_dose_cc(d) for d in np.linspace(dvh.min_gy - 1, dvh.max_gy + 1, 60)]
    assert np.all(np.diff(volumes) <= 1e-12)
    doses = [dvh.dose_at_percent_gy(p) for p in np.linspace(0, 100, 41)]
    assert np.all(np.diff(doses) <= 1e-12)
    assert dvh.min_gy <= dvh.mean_gy <= dvh.max_gy


@settings(max_examples=30, deadline=None)
@given(structure=structures(), dx=st.floats(-5, 5), dy=st.floats(-5, 5), dz=st.floats(-5, 5),
       level=st.floats(0.5, 80.0))
def test_volume_invariant_to_shift_in_uniform_dose(structure: Structure, dx: float, dy: float,
                                                   dz: float, level: float) -> None:
    grid = _grid(np.full((30, 30, 30), level), 2.0, (-30.0, -30.0, -30.0))
    shifted = Structure(
        roi_number=1, name="shifted",
        contours=tuple(Contour(c.z_mm + dz, c.points_xy_mm + np.array([dx, dy]))
                       for c in structure.contours))
    a = compute_dvh(structure, grid, FAST)
    b = compute_dvh(shifted, grid, FAST)
    assert a.dvh is not None and b.dvh is not None
    assert math.isclose(a.volume_cc, b.volume_cc, rel_tol=1e-9)
    assert math.isclose(a.in_grid_volume_cc, b.in_grid_volume_cc, rel_tol=1e-9)
    assert math.isclose(a.dvh.total_volume_cc, b.dvh.total_volume_cc, rel_tol=1e-9)
    for r in (a, b):
        assert r.complete
        assert r.dvh is not None
        assert np.allclose(r.dvh.dose_gy, level, rtol=1e-12)
        assert math.isclose(r.dvh.volume_at_dose_cc(level), r.volume_cc, rel_tol=1e-9)
