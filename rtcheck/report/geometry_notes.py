"""The DVH geometry notes of a plan check's text and HTML reports (issue #12).

With ``--geometry smooth`` a structure whose contours are not star-shaped about their
centroid is partly modelled as the staircase; its evaluation then carries the INFO
finding ``STRUCTURE_GEOMETRY_FALLBACK`` with the share of the volume. The JSON has every
finding; the text report lists no INFO finding, so these get a short section of their
own — one line per structure that a check of the case used — and only when there are
any: a ``stacked`` report is unchanged.
"""

from __future__ import annotations

from rtcheck.codes import Code
from rtcheck.findings import Finding
from rtcheck.report.html_common import e as _e
from rtcheck.rules.result import CaseResult

#: the heading of the section in both reports
NOTES_TITLE = "DVH geometry notes"


def fallback_findings(case: CaseResult) -> list[Finding]:
    """The ``STRUCTURE_GEOMETRY_FALLBACK`` findings of the structures the checks used.

    Parameters
    ----------
    case
        The plan check of one case.

    Returns
    -------
    list of Finding
        One per ROI that a check of the case evaluated (the finding's subject is the ROI
        name), in the order of the case's findings; empty with the ``stacked`` model.
    """
    rois = {c.roi for c in case.checks if c.roi}
    found: dict[str, Finding] = {}
    for f in case.findings:
        if f.code == Code.STRUCTURE_GEOMETRY_FALLBACK.value and f.subject in rois:
            found.setdefault(f.subject, f)
    return list(found.values())


def notes_text(case: CaseResult) -> list[str]:
    """The text report's section: a blank line, the heading and ``  ROI: message`` per
    structure of :func:`fallback_findings`; no line at all when there is none."""
    found = fallback_findings(case)
    if not found:
        return []
    return ["", NOTES_TITLE, *(f"  {f.subject}: {f.message}" for f in found)]


def notes_html(case: CaseResult) -> list[str]:
    """The HTML report's section (a heading and a list, every string escaped) for the
    structures of :func:`fallback_findings`; nothing when there is none."""
    found = fallback_findings(case)
    if not found:
        return []
    items = "".join(f'<li data-roi="{_e(f.subject or "")}"><b>{_e(f.subject or "")}</b>: '
                    f"{_e(f.message)}</li>" for f in found)
    return [f"<h3>{_e(NOTES_TITLE)}</h3>", f'<ul class="notes geometry-notes">{items}</ul>']
