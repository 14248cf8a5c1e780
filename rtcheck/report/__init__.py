"""Rendering of results: ``info_report`` (what was loaded), ``dvh_report`` (DVH results)
and ``dvh_render`` (their text / JSON / CSV forms). Events have their own report module
(:mod:`rtcheck.events.report`)."""
