"""The one line the text reports of ``rtcheck check`` and ``rtcheck dvh`` give the DVH
geometry model (issue #12), so that a reader knows which shape the numbers describe."""

from __future__ import annotations

#: what each model of :class:`rtcheck.dose.settings.Geometry` is, in a few words
GEOMETRY_TEXT = {
    "stacked": "contours extruded slab by slab, the staircase planning systems use",
    "smooth": "surface interpolated between contour planes; planning systems use the "
              "staircase: --geometry stacked is the model to compare with their numbers",
}


def geometry_line(geometry: object) -> str | None:
    """``DVH geometry: stacked (...)``; ``None`` when the model is not known (a result
    written before the setting existed)."""
    if geometry is None:
        return None
    name = str(getattr(geometry, "value", geometry))
    about = GEOMETRY_TEXT.get(name)
    return f"DVH geometry: {name} ({about})" if about else f"DVH geometry: {name}"
