"""Render a :class:`~rtcheck.report.dvh_report.DvhReport` as text, JSON or CSV.

A value that was not evaluated is printed as ``NOT EVALUATED`` (text), ``null`` (JSON)
or an empty cell (CSV) — never 0. Statistics of an incomplete DVH are starred in text
and left empty in CSV.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from rtcheck.dose.bed import prescription_in_space_gy
from rtcheck.dose.metric_spec import DoseSpace

if TYPE_CHECKING:
    from rtcheck.report.dvh_report import DvhReport


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


def render_text(report: DvhReport) -> str:
    out: list[str] = []
    for c in report.cases:
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
            (
                f"dose {d.summation_type}, grid "
                + " x ".join(f"{v:g}" for v in d.spacing_mm)
                + " mm"
            )
            if d
            else "no dose"
        )
        out += [f"Case {c.label}: {rx}; {grid}; dose space {report.dose_space.value}", ""]
        specs = [s.label for s in report.specs]
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
        if rows:
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
        tps = [s.tps for s in c.structures if s.tps is not None]
        if tps:
            out += ["", "TPS DVH comparison (delta = rtcheck - TPS)"]
            keys = ("volume_cc", "mean_gy", "d95_gy", "d2_gy")
            out += _table(
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
            )
        notes = [
            *c.findings,
            *(f for s in c.structures for f in s.findings),
            *(f for s in c.structures if s.tps for f in s.tps.findings),
            *(f for i in c.indices for f in i.findings),
        ]
        notes = list(dict.fromkeys(notes))  # the same finding from two sources, once
        reasons = [
            f"{s.name} {m.spec.raw}: {m.message}"
            for s in c.structures
            for m in s.metrics
            if not m.evaluated
        ]
        if notes or reasons:
            out += ["", "Findings"] + [f"  {f}" for f in notes]
            out += [f"  NOT EVALUATED {r}" for r in reasons]
        out.append("")
    out += [f"{f}" for f in report.findings]
    return "\n".join(out).rstrip() + "\n"


def render_csv(report: DvhReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    specs = [s.raw for s in report.specs]
    w.writerow(
        [
            "case",
            "structure",
            "roi_number",
            "volume_cc",
            "min_gy",
            "mean_gy",
            "max_gy",
            *(s.label for s in report.specs),
            "findings",
        ]
    )
    for s in report.structures:
        d = s.to_dict()
        # an incomplete DVH (structure partly outside the grid) has no min/mean/max either
        stats = [d[k] if d["complete"] else None for k in ("min_gy", "mean_gy", "max_gy")]
        cells = [d["roi_number"], d["volume_cc"], *stats, *(d["metrics"][k] for k in specs)]
        w.writerow(
            [
                s.case,
                s.name,
                *("" if v is None else v for v in cells),
                ";".join(f["code"] for f in d["findings"]),
            ]
        )
    return buf.getvalue()
