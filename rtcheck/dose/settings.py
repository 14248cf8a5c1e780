"""Settings of the DVH engine (:mod:`rtcheck.dose.engine`).

All lengths are in mm, volumes in cc (cm³), doses in Gy. The defaults reproduce
the convention of Nelms et al. 2015 and of most commercial planning systems:
the structure is the stack of its contours, each contour plane owning the slab
between the mid-points to its neighbouring planes, and the first and last plane
of every contour stack extended by half a plane spacing ("half-slice end caps").

References
----------
Nelms BE, Stambaugh C, Hunt D, Tonner B, Zhang G, Feygelman V. Methods, software
and datasets to verify DVH calculations against analytical values: twenty years
of computational dose verification. Med Phys 2015;42(8):4435-4448.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class EndCap(StrEnum):
    """How far a contour stack extends beyond its first and last plane.

    ``HALF_SLICE``
        Each end plane owns half a plane spacing beyond itself (the slab is
        centred on the plane). This is the convention of Nelms et al. 2015 and
        of most commercial systems; it is the default.
    ``NONE``
        The stack ends exactly at its first and last plane: the end planes own
        only the half slab towards their inner neighbour. A single-plane stack
        then has no volume.
    """

    HALF_SLICE = "HALF_SLICE"
    NONE = "NONE"


class Geometry(StrEnum):
    """The shape a structure is given between and beyond its contour planes (issue #12).

    ``STACKED``
        Each contour extruded over its slab (the staircase of Nelms et al. 2015,
        :mod:`rtcheck.dose.geometry`), the end caps set by :class:`EndCap`. What
        treatment planning systems do; the default, and the model to use to
        reproduce a TPS's numbers.
    ``SMOOTH``
        Moment-normalised radial interpolation (``docs/geometry-research.md``): the
        sections' centroid, second moments and normalised radial function are
        interpolated by cubics through four planes, and a shrinking end is closed
        by the trend of its last three planes (a flat end keeps the :class:`EndCap`
        cap). Near a contour that is not star-shaped about its centroid the
        section falls back to the staircase's (reported per structure).
    """

    STACKED = "stacked"
    SMOOTH = "smooth"


@dataclass(frozen=True)
class DvhSettings:
    """Frozen, validated settings of the DVH computation.

    Attributes
    ----------
    end_cap
        End-cap policy, see :class:`EndCap` (default ``HALF_SLICE``).
    min_samples
        Minimum number of volume samples per structure. The sub-voxel sample
        step is chosen as ``h = (V / n)^(1/3)`` with ``n`` between
        ``min_samples`` and ``max_samples`` so that small structures get at
        least ``min_samples`` points (a 0.1 cc structure is sampled at
        ~0.22 mm with the default). The samples are stratified (see
        :mod:`rtcheck.dose.sampling`), so that 10 000 of them resolve the
        analytical benchmarks' D1 %..D99 % to better than 0.1 %.
    max_samples
        Upper bound of the number of samples of one structure (bounded memory
        and time for BODY-sized structures, whose step then grows beyond
        ``max_step_mm``). Dmin and Dmax do not depend on it: they are found on
        the dose-grid nodes inside the structure and on its surface (see
        :mod:`rtcheck.dose.sample_extremes`).
    max_step_mm
        Largest sample step (in-plane and between planes) used while the sample
        count stays below ``max_samples``.
    min_plane_samples
        Minimum number of samples of one sub-slab section; small sections (tips
        of a stack) get a finer in-plane step of their own.
    gap_factor
        A spacing between consecutive contour planes larger than ``gap_factor``
        times the structure's median plane spacing is a gap: the stack is split
        there and each part gets its own end caps (and a ``STRUCTURE_CONTOUR_GAP``
        finding). Spacings up to that factor are non-uniform spacing: each plane
        owns the slab between the mid-points to its neighbours.
    default_plane_spacing_mm
        Plane spacing assumed for a structure contoured on a single plane (no
        spacing of its own). ``None``: the median plane spacing of the other
        structures of the structure set (``compute_dvhs``), else the dose grid's
        z spacing; a ``STRUCTURE_SINGLE_PLANE`` finding records the choice.
    edge_step_fraction
        Surface points used for Dmin/Dmax are placed along every contour edge
        at most ``edge_step_fraction`` × the in-plane dose spacing apart (see
        :mod:`rtcheck.dose.sample_extremes`).
    geometry
        The model between and beyond contour planes, see :class:`Geometry`
        (default ``STACKED``).
    """

    end_cap: EndCap = EndCap.HALF_SLICE
    min_samples: int = 10_000
    max_samples: int = 50_000
    max_step_mm: float = 1.0
    min_plane_samples: int = 200
    gap_factor: float = 1.5
    default_plane_spacing_mm: float | None = None
    edge_step_fraction: float = 0.25
    geometry: Geometry = Geometry.STACKED

    def __post_init__(self) -> None:
        if not isinstance(self.end_cap, EndCap):
            object.__setattr__(self, "end_cap", EndCap(self.end_cap))
        if not isinstance(self.geometry, Geometry):
            object.__setattr__(self, "geometry", Geometry(self.geometry))
        if self.min_samples < 1000:
            raise ValueError(f"min_samples must be >= 1000, got {self.min_samples}")
        if self.max_samples < self.min_samples:
            raise ValueError("max_samples must be >= min_samples")
        if not (math.isfinite(self.max_step_mm) and self.max_step_mm > 0):
            raise ValueError(f"max_step_mm must be a positive length, got {self.max_step_mm}")
        if self.min_plane_samples < 1:
            raise ValueError("min_plane_samples must be >= 1")
        if not (math.isfinite(self.gap_factor) and self.gap_factor > 1.0):
            raise ValueError(f"gap_factor must be > 1, got {self.gap_factor}")
        spacing = self.default_plane_spacing_mm
        if spacing is not None and not (math.isfinite(spacing) and spacing > 0):
            raise ValueError(f"default_plane_spacing_mm must be positive, got {spacing}")
        if not (0 < self.edge_step_fraction <= 1):
            raise ValueError("edge_step_fraction must be within (0, 1]")

    def sample_step_mm(self, volume_cc: float) -> float:
        """Isotropic sample step (mm) for a structure of ``volume_cc``.

        ``h = (V / n)^(1/3)`` with ``n = clip(V / max_step³, min_samples,
        max_samples)``: at least ``min_samples`` points, at most
        ``max_samples``, and no coarser than ``max_step_mm`` in between.
        """
        volume_mm3 = max(volume_cc, 0.0) * 1000.0
        if volume_mm3 <= 0:
            return self.max_step_mm
        n = min(max(volume_mm3 / self.max_step_mm**3, self.min_samples), self.max_samples)
        return float((volume_mm3 / n) ** (1.0 / 3.0))
