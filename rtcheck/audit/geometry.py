"""The DVH geometry model of an audit (issue #12) in its own files.

Which model checked the cases and where it came from — ``--geometry``, the protocol's
``dvh.geometry`` or neither (``stacked``, the default) — named in ``audit.json``, the
first line of ``audit.log``, ``summary.json``, ``summary.html`` and, per plan case,
``summary.csv``. The summary takes it from each result's provenance
(``dvh_settings.geometry``, ``options.geometry_source``), never from the run: a folder
whose results come from several models (results are checked again when the model
changes, since the configuration hash covers it, but a folder may have been assembled by
hand) says so instead of naming one model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rtcheck.report.geometry_text import SOURCE_TEXT, geometry_line
from rtcheck.report.html_common import e as _e

if TYPE_CHECKING:
    from rtcheck.audit.task import AuditConfig


@dataclass(frozen=True)
class ModelChoice:
    """A DVH geometry model and where it came from.

    ``geometry`` is ``stacked`` or ``smooth``; ``source`` is ``option``, ``protocol`` or
    ``default``. Either is ``None`` in a result written before rtcheck recorded it.
    """

    geometry: str | None
    source: str | None

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.geometry or "", self.source or "")

    def log_text(self) -> str:
        """The setting as the first line of ``audit.log`` gives it: ``--geometry smooth``
        when the option chose it, else ``geometry smooth (from the protocol's
        dvh.geometry)`` or ``geometry stacked (the default)``."""
        if self.source == "option":
            return f"--geometry {self.geometry}"
        where = SOURCE_TEXT.get(self.source or "")
        return f"geometry {self.geometry}" + (f" ({where})" if where else "")

    def phrase(self) -> str:
        """``smooth, from --geometry``, ``stacked, the default``...; ``not recorded`` for
        a result of an rtcheck before the setting."""
        if self.geometry is None:
            return "not recorded (a result of an older rtcheck)"
        where = SOURCE_TEXT.get(self.source or "")
        return self.geometry + (f", {where}" if where else "")


def audit_model(config: AuditConfig) -> ModelChoice:
    """The model every case of an audit is checked with, as each of its results records it.

    Parameters
    ----------
    config
        The audit's configuration (its protocol is loaded, pinned by its sha256).

    Returns
    -------
    ModelChoice
        The model and source of :func:`rtcheck.audit.worker.case_geometry`: for the
        command line, its ``geometry`` and ``geometry_source``; for an API caller's
        ``AuditConfig(geometry=None)``, the protocol's model.
    """
    from rtcheck.audit.worker import case_geometry

    return ModelChoice(*case_geometry(config))


def report_model(report: dict[str, Any] | None) -> ModelChoice | None:
    """The model recorded in a plan check's result (``None`` for an error result)."""
    if report is None:
        return None
    prov = report.get("provenance") or {}
    geometry = (prov.get("dvh_settings") or {}).get("geometry")
    source = (prov.get("options") or {}).get("geometry_source")
    return ModelChoice(None if geometry is None else str(geometry),
                       None if source is None else str(source))


@dataclass(frozen=True)
class ModelCount:
    """A model and source of the summary, and how many case folders' results have it."""

    model: ModelChoice
    case_folders: int

    def to_dict(self) -> dict[str, Any]:
        return {"geometry": self.model.geometry, "source": self.model.source,
                "case_folders": self.case_folders}


def model_counts(counts: Counter[ModelChoice]) -> tuple[ModelCount, ...]:
    """The summary's ``dvh_geometry``: one entry per model and source, in name order."""
    return tuple(ModelCount(m, n) for m, n in sorted(counts.items(),
                                                     key=lambda mn: mn[0].sort_key))


def several_models(counts: tuple[ModelCount, ...]) -> bool:
    """Whether the results come from more than one model (their numbers differ by it)."""
    return len({c.model.geometry for c in counts}) > 1


def summary_line(counts: tuple[ModelCount, ...]) -> str | None:
    """The line of ``summary.html`` naming the model (``None`` without a checked case).

    One model: the line of the check's text report (``DVH geometry: smooth, from the
    protocol's dvh.geometry (...)``); one model from several sources: each source with
    its number of case folders. Several models: each
    with its number of case folders, and what to do, since their numbers are not
    comparable.
    """
    if not counts:
        return None
    if len(counts) == 1:
        model = counts[0].model
        return (geometry_line(model.geometry, model.source)
                or f"DVH geometry: {model.phrase()}")
    if not several_models(counts):
        wheres = "; ".join(f"{SOURCE_TEXT.get(c.model.source or '', 'source not recorded')}"
                           f" in {c.case_folders} case folder(s)" for c in counts)
        return f"DVH geometry: {counts[0].model.geometry or 'not recorded'} ({wheres})"
    parts = "; ".join(f"{c.model.phrase()} in {c.case_folders} case folder(s)"
                      for c in counts)
    return (f"DVH geometry: SEVERAL MODELS — {parts}: values of different models are not "
            "comparable; rerun the audit with --resume and one --geometry (the results "
            "of the other model are checked again)")


def summary_html(counts: tuple[ModelCount, ...]) -> list[str]:
    """The paragraph of :func:`summary_line` (nothing without a checked case); with
    several models it is in bold red (class ``geometry-mixed``)."""
    line = summary_line(counts)
    if line is None:
        return []
    mixed = " geometry-mixed" if several_models(counts) else ""
    return [f'<p class="geometry{mixed}">{_e(line)}</p>']
