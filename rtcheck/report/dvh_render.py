"""Render a :class:`~rtcheck.report.dvh_report.DvhReport` as text, JSON or CSV.

A value that was not evaluated is printed as ``NOT EVALUATED`` (text), ``null`` (JSON)
or an empty cell (CSV) — never 0. Statistics of an incomplete DVH are starred in text
and left empty in CSV.

Every finding of the report appears in every format: the text lists each case's findings
once (:func:`case_findings`); JSON keeps them where they arise (structure, TPS comparison,
indices, case, load); each CSV row carries those that concern its structure
(:func:`row_findings`). A finding about a ROI the report gives no number for (not
selected with ``--structure``, not an index target) is in none of them
(:attr:`~rtcheck.report.dvh_report.CaseReport.findings`), unless it is an ERROR.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rtcheck.dose.bed import prescription_in_space_gy
from rtcheck.dose.metric_spec import DoseSpace
from rtcheck.report.geometry_text import geometry_line

if TYPE_CHECKING:
    from rtcheck.findings import Finding
    from rtcheck.report.dvh_report import CaseReport, DvhReport, StructureReport


def render_json(report: DvhReport, curves: bool = False) -> str:
    return json.dumps(report.to_dict(curves), indent=2, ensure_ascii=False) + "\n"


def _fmt(value: float | None) -> str:
    if value is None:
        return "NOT EVALUATED"
    return f"{value:.1f}" if abs(value) >= 1000 else f"{value:.4g}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    """``findings`` in order, each once (the same finding may come from two sources)."""
    return list(dict.fromkeys(findings))


def case_findings(c: CaseReport) -> list[Finding]:
    """Every finding of case ``c`` once: its own, its structures', their TPS comparisons'
    and its plan-quality indices' (an index target's grid note is also its structure's)."""
    return _unique([
        *c.findings,
        *(f for s in c.structures for f in s.findings),
        *(f for s in c.structures if s.tps for f in s.tps.findings),
        *(f for i in c.indices for f in i.findings),
    ])


def _case_header(report: DvhReport, c: CaseReport) -> str:
    """The case line: prescription (with its BED), dose grid and dose space."""
    d = c.ev.dose
    rx = (
        f"Rx {c.prescription_gy:g} Gy / {c.fractions or '?'} fx ({c.rx_source})"
        if c.prescription_gy is not None
        else "no prescription"
    )
    ab = report.alpha_beta.default_gy
    bed = (
        None
        if c.prescription_gy is None
        else prescription_in_space_gy(c.prescription_gy, DoseSpace.BED, c.fractions, ab)
    )
    if bed is not None:
        rx += f", BED {bed:.1f} Gy (alpha/beta {ab:g} Gy)"
    grid = (
        f"dose {d.summation_type}, grid " + " x ".join(f"{v:g}" for v in d.spacing_mm) + " mm"
        if d
        else "no dose"
    )
    return f"Case {c.label}: {rx}; {grid}; dose space {report.dose_space.value}"


def _structure_table(report: DvhReport, c: CaseReport) -> list[str]:
    """Statistics and metrics of every structure, and which are partly outside the grid."""
    rows = [
        [
            s.name,
            str(s.ev.roi_number) if s.ev.roi_number is not None else "-",
            _fmt(s.ev.volume_cc),
            *(_fmt(v) for v in (s.ev.min_gy, s.ev.mean_gy, s.ev.max_gy)),
            *(_fmt(m.value) for m in s.metrics),
        ]
        for s in c.structures
    ]
    out: list[str] = []
    if rows:
        specs = [s.label for s in report.specs]
        out += _table(
            ["Structure", "ROI", "Volume cc", "Min Gy", "Mean Gy", "Max Gy", *specs], rows
        )
    partial = [s.name for s in c.structures if s.ev.state.value == "partial"]
    if partial:
        out += [
            f"NOT EVALUATED: {', '.join(partial)} lie(s) partly outside the dose grid "
            "(see the ERROR findings); their numbers would describe only part of the "
            "structure"
        ]
    return out


def _index_tables(c: CaseReport) -> list[str]:
    """One table of plan-quality indices per target, with definitions and sources."""
    out: list[str] = []
    for ind in c.indices:
        out += [
            "",
            f"Plan-quality indices, target {ind.target} (Rx {ind.prescription_gy:g} "
            f"Gy, lattice {ind.lattice_step_mm:.2f} mm"
            + (f", PIV within {ind.restricted_to})" if ind.restricted_to else ")"),
        ]
        out += _table(
            ["Index", "Value", "Unit", "Definition", "Source"],
            [
                [d["name"], _fmt(d["value"]), d["unit"], d["definition"], d["source"]]
                for d in (r.to_dict() for r in ind.results)
            ],
        )
    return out


def _tps_table(c: CaseReport) -> list[str]:
    """The comparison with the TPS-embedded DVHs (empty when there is none)."""
    tps = [s.tps for s in c.structures if s.tps is not None]
    if not tps:
        return []
    keys = ("volume_cc", "mean_gy", "d95_gy", "d2_gy")
    models = ", ".join(dict.fromkeys(t.geometry for t in tps))
    return ["", f"TPS DVH comparison (delta = rtcheck - TPS; rtcheck geometry {models})", *_table(
        ["Structure", *(f"{k} TPS/rtcheck/delta" for k in keys)],
        [
            [
                t.name,
                *(
                    " / ".join(_fmt(v) for v in (t.tps[k], t.rtcheck[k], t.delta[k]))
                    for k in keys
                ),
            ]
            for t in tps
        ],
    )]


def _findings_section(c: CaseReport) -> list[str]:
    """Every finding of the case and every NOT EVALUATED metric with its reason."""
    notes = case_findings(c)
    reasons = [
        f"{s.name} {m.spec.raw}: {m.message}"
        for s in c.structures
        for m in s.metrics
        if not m.evaluated
    ]
    if not notes and not reasons:
        return []
    return ["", "Findings", *(f"  {f}" for f in notes),
            *(f"  NOT EVALUATED {r}" for r in reasons)]


def render_text(report: DvhReport) -> str:
    """The text report: the DVH geometry model; per case its header, tables and findings;
    then the load's findings."""
    out: list[str] = [geometry_line(report.settings.geometry, report.geometry_source) or "", ""]
    for c in report.cases:
        out += [_case_header(report, c), ""]
        out += _structure_table(report, c)
        out += _index_tables(c)
        out += _tps_table(c)
        out += _findings_section(c)
        out.append("")
    out += [f"{f}" for f in report.findings]
    return "\n".join(out).rstrip() + "\n"


def row_findings(report: DvhReport, c: CaseReport) -> list[list[Finding]]:
    """The findings of each structure row of case ``c`` (CSV), aligned with ``c.structures``.

    A row carries the structure's own findings, those of its TPS comparison and
    those of the load, the case or its indices whose subject is the structure. A
    finding about no structure with a row — the load's, the case's about no structure
    (e.g. ``DOSE_BEAMS_SUMMED``), an index target's that has no row — goes in every
    row of the case: it concerns every number there; so does an ERROR of the input
    that blocks the case's numbers, whatever its subject. A finding about a ROI of the
    structure set that has no row and is no index target (not selected with
    ``--structure``; e.g. ``ROI_WITHOUT_CONTOURS`` of an empty ROI) and blocks nothing
    goes in no row: it concerns no number of the CSV, and the text and JSON reports
    leave it out too (:attr:`~rtcheck.report.dvh_report.CaseReport.findings`).
    Together the rows carry every finding of the text report.
    """
    names = {s.name for s in c.structures}
    pool = _unique([*report.findings, *c.findings, *(f for i in c.indices for f in i.findings)])
    general = [f for f in pool if f.subject not in names or f in c.ev.blocking]
    return [
        _unique([
            *general,
            *s.findings,
            *(s.tps.findings if s.tps else ()),
            *(f for f in pool if f.subject == s.name),
        ])
        for s in c.structures
    ]


def _csv_header(report: DvhReport) -> list[str]:
    """The columns; ``dvh_geometry`` (last) is the DVH geometry model of every row, as in
    the check CSV, so that a row read alone says which model produced its numbers."""
    return ["case", "structure", "roi_number", "volume_cc", "min_gy", "mean_gy", "max_gy",
            *(s.label for s in report.specs), "findings", "dvh_geometry"]


def _csv_row(s: StructureReport, specs: list[str], findings: list[Finding],
             geometry: str) -> list[Any]:
    """One structure: an empty cell for every number not evaluated, never 0."""
    d = s.to_dict()
    # an incomplete DVH (structure partly outside the grid) has no min/mean/max either
    stats = [d[k] if d["complete"] else None for k in ("min_gy", "mean_gy", "max_gy")]
    cells = [d["roi_number"], d["volume_cc"], *stats, *(d["metrics"][k] for k in specs)]
    return [s.case, s.name, *("" if v is None else v for v in cells),
            ";".join(f.code for f in findings), geometry]


def render_csv(report: DvhReport) -> str:
    """One row per structure (see :func:`row_findings` for its findings column).

    A case without any structure (no DVH) gets one row with an empty structure cell,
    so that its findings are not lost.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    header = _csv_header(report)
    w.writerow(header)
    specs = [s.raw for s in report.specs]
    geometry = report.settings.geometry.value
    for c in report.cases:
        if not c.structures:
            codes = ";".join(f.code for f in _unique([*report.findings, *case_findings(c)]))
            w.writerow([c.ev.label, *[""] * (len(header) - 3), codes, geometry])
            continue
        for s, findings in zip(c.structures, row_findings(report, c), strict=True):
            w.writerow(_csv_row(s, specs, findings, geometry))
    return buf.getvalue()
