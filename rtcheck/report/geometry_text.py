"""The one line the text reports of ``rtcheck check`` and ``rtcheck dvh`` give the DVH
geometry model (issue #12), so that a reader knows which shape the numbers describe and,
for a plan check, which setting chose it."""

from __future__ import annotations

#: what each model of :class:`rtcheck.dose.settings.Geometry` is, in a few words
GEOMETRY_TEXT = {
    "stacked": "contours extruded slab by slab, the staircase planning systems use",
    "smooth": "surface interpolated between contour planes; planning systems use the "
              "staircase: --geometry stacked is the model to compare with their numbers",
}

#: where the model came from (:data:`rtcheck.rules.options.GEOMETRY_SOURCES`), in words
SOURCE_TEXT = {
    "option": "from --geometry",
    "protocol": "from the protocol's dvh.geometry",
    "default": "the default",
}


def geometry_line(geometry: object, source: object = None) -> str | None:
    """The text report's line naming the DVH geometry model.

    Parameters
    ----------
    geometry
        The model (a :class:`~rtcheck.dose.settings.Geometry` or its value); ``None``
        when not known (a result written before the setting existed).
    source
        Where it came from (``option``, ``protocol`` or ``default``); ``None`` or
        anything else when not known (an older result, or ``rtcheck dvh``, which has
        no protocol): the line then names the model only.

    Returns
    -------
    str or None
        ``DVH geometry: stacked, the default (...)``, ``DVH geometry: smooth, from
        --geometry (...)``..., ``DVH geometry: stacked (...)`` without a known source;
        ``None`` without a model.
    """
    if geometry is None:
        return None
    name = str(getattr(geometry, "value", geometry))
    where = SOURCE_TEXT.get(source) if isinstance(source, str) else None
    head = f"DVH geometry: {name}" + (f", {where}" if where else "")
    about = GEOMETRY_TEXT.get(name)
    return f"{head} ({about})" if about else head
