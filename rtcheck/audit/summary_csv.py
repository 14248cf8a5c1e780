"""``OUT/summary.csv``: one row per plan case of an audit, built from its result files.

Columns :data:`CSV_FIXED` — site, case key, patient key, plan label, verdict, the error
message of a case folder that could not be checked, and the DVH geometry model of the
case's result (``dvh_geometry``, from its provenance: each row says which model produced
its numbers, even in a folder of mixed results; empty for an error result) — then per
check id ``<id> value`` and ``<id> status``, ids in first-seen order over the result
files in name order. Re-exported by :mod:`rtcheck.audit.summary`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rtcheck.atomic import write_text_atomic
from rtcheck.audit.geometry import report_model
from rtcheck.audit.result_file import AuditRecord, iter_records

CSV_FIXED = ("site", "case", "patient_key", "plan_label", "verdict", "error", "dvh_geometry")


def check_ids(results_dir: Path) -> list[str]:
    """Every check id, in first-seen order over the result files in name order."""
    ids: dict[str, None] = {}
    for _, record in iter_records(results_dir):
        for case in (record.report or {}).get("cases") or ():
            for check in case.get("checks") or ():
                ids.setdefault(str(check.get("id")), None)
    return list(ids)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _check_cells(case: dict[str, Any], ids: list[str]) -> list[str]:
    checks: dict[str, dict[str, Any]] = {}
    for check in case.get("checks") or ():
        checks.setdefault(str(check.get("id")), check)
    cells = []
    for cid in ids:
        check = checks.get(cid, {})
        cells += [_cell(check.get("value")), _cell(check.get("status"))]
    return cells


def _rows(record: AuditRecord, ids: list[str]) -> list[list[str]]:
    site, blank = record.site, [""] * (2 * len(ids))
    if record.report is None:
        return [[site, record.case, "", "", "ERROR", _cell(record.audit.get("error")), "",
                 *blank]]
    model = report_model(record.report)
    geometry = _cell(model.geometry if model else None)
    cases = record.report.get("cases") or []
    if not cases:
        return [[site, record.case, "", "", "INCOMPLETE", "no plan case found", geometry,
                 *blank]]
    patients = record.audit.get("patients") or {}
    return [[site, record.case, _cell(patients.get(case.get("label"))),
             _cell(case.get("plan_label") or case.get("label")), _cell(case.get("verdict")),
             "", geometry, *_check_cells(case, ids)] for case in cases]


def summary_csv(results_dir: Path, ids: list[str] | None = None) -> str:
    """The text of ``summary.csv``: a pass over the result files for the check ids (unless
    given, in the same order), then one for the rows."""
    ids = check_ids(results_dir) if ids is None else ids
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*CSV_FIXED, *(f"{cid} {part}" for cid in ids for part in ("value", "status"))])
    for _, record in iter_records(results_dir):
        w.writerows(_rows(record, ids))
    return buf.getvalue()


def write_summary_csv(results_dir: Path, path: Path) -> Path:
    """Write ``summary.csv`` atomically: one row per plan case (an error result: one row,
    verdict ERROR, its message in ``error``); columns as the module docstring says."""
    return write_text_atomic(path, summary_csv(Path(results_dir)), overwrite=True)
