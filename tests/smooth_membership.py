"""Point membership in the smooth geometry model (rtcheck.dose.geom_smooth), one point at a
time: an independent check of the model for the tests, beside the engine's section path
(rtcheck.dose.geom_sections), which never asks whether a point is inside.

A point at height z is inside a chain when, in the frame normalised by the interpolated
centroid and second moments, ``X² + Y² ≤ r²(θ)`` with ``r²`` interpolated in z (Lagrange,
the chain's stencil) and linearly in θ between the table's rays; next to a contour that is
not star-shaped, when it is inside the nearest plane's contour (the staircase).
"""

from __future__ import annotations

import numpy as np

from rtcheck.dose.geom_radial import N_THETA
from rtcheck.dose.geom_scanline import points_inside
from rtcheck.dose.geom_smooth import ChainModel, lagrange_weights

Array = np.ndarray


def _smooth(m: ChainModel, x: Array, y: Array, zq: Array, idx: Array) -> Array:
    """The smooth model's inside test at points whose stencil ``idx`` is star-shaped."""
    valid = idx >= 0
    nodes = np.where(valid, m.z[np.maximum(idx, 0)], 0.0)
    # padded columns: distinct dummy nodes with zero weight
    nodes = np.where(valid, nodes, zq[:, None] + 1e3 * (1 + np.arange(idx.shape[1])))
    w = np.where(valid, lagrange_weights(nodes, zq), 0.0)
    ii = np.maximum(idx, 0)
    p = np.einsum("mk,mkc->mc", w, m.params[ii])
    ok = (p[:, 2] > 0) & (p[:, 3] > 0)
    sx, sy = np.sqrt(np.maximum(p[:, 2], 1e-300)), np.sqrt(np.maximum(p[:, 3], 1e-300))
    gx, gy = (x - p[:, 0]) / sx, (y - p[:, 1]) / sy
    f = np.mod(np.arctan2(gy, gx), 2 * np.pi) * (N_THETA / (2 * np.pi))
    j0 = np.minimum(f.astype(np.intp), N_THETA - 1)
    t = f - j0
    j1 = (j0 + 1) % N_THETA
    table = m.r2
    r2 = np.einsum("mk,mk->m", w, (1 - t)[:, None] * table[ii, j0[:, None]]
                   + t[:, None] * table[ii, j1[:, None]])
    return np.asarray(ok & (gx * gx + gy * gy <= r2))


def _staircase(m: ChainModel, x: Array, y: Array, z: Array) -> Array:
    """Fallback: the plane nearest in z (slab model with this chain's caps)."""
    owner = np.searchsorted((m.z[:-1] + m.z[1:]) / 2, z)
    got = np.zeros(x.shape, dtype=bool)
    for k in np.unique(owner):
        sel = owner == k
        got[sel] = points_inside(x[sel], y[sel], [m.chain.shapes[int(k)].polygon])
    return got


def inside_chain(m: ChainModel, x: Array, y: Array, z: Array) -> Array:
    """Membership of the points in the chain's solid."""
    out = np.zeros(x.shape, dtype=bool)
    sel = np.flatnonzero((z >= m.z_lo) & (z <= m.z_hi))
    if sel.size == 0:
        return out
    idx = m.stencil(z[sel])
    fallback = np.any((idx >= 0) & ~m.star[np.maximum(idx, 0)], axis=1)
    stair, smooth = sel[fallback], sel[~fallback]
    if stair.size:
        out[stair] = _staircase(m, x[stair], y[stair], z[stair])
    if smooth.size:
        out[smooth] = _smooth(m, x[smooth], y[smooth], z[smooth], idx[~fallback])
    return out


def inside(models: list[ChainModel], x: Array, y: Array, z: Array) -> Array:
    """Even-odd membership of points in the union of the chains."""
    parity = np.zeros(x.shape, dtype=bool)
    for m in models:
        parity ^= inside_chain(m, x, y, z)
    return parity


def fallback_share(m: ChainModel) -> float:
    """Share of the chain's plane intervals evaluated as staircase (non-star contours)."""
    if m.star.all():
        return 0.0
    mids = (m.z[:-1] + m.z[1:]) / 2 if m.z.size > 1 else m.z
    idx = m.stencil(mids)
    return float(np.any((idx >= 0) & ~m.star[np.maximum(idx, 0)], axis=1).mean())
