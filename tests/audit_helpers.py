"""Helpers of the audit tests: a small multi-site tree copied from the shipped fixtures."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from rtcheck.audit.result_file import AuditRecord
from rtcheck.audit.task import AuditConfig, AuditTask
from rtcheck.audit.worker import run_case
from rtcheck.rules.protocol import load_protocol

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

#: site -> fixture folders copied into it (expected verdicts in the fixtures' README)
TREE = {
    "site_a": ["spine_sbrt", "spine_cord_overdose"],
    "site_b": ["pelvic_node_sbrt", "spine_grid_misses_oar"],
}
VERDICTS = {"spine_sbrt": "PASS", "spine_cord_overdose": "FAIL", "pelvic_node_sbrt": "PASS",
            "spine_grid_misses_oar": "INCOMPLETE", "spine_ptv_undercoverage": "FAIL",
            "spine_consecutive_days": "FAIL", "spine_beam_doses": "PASS"}


def make_tree(root: Path, tree: dict[str, list[str]] = TREE, *, broken: bool = False,
              copies: int = 1) -> Path:
    """``root/<site>/<fixture>[_<i>]`` copies; with ``broken`` a case whose only file is a
    truncated RTDOSE (``site_b/broken``)."""
    for site, names in tree.items():
        for name in names:
            for i in range(copies):
                suffix = f"_{i}" if copies > 1 else ""
                shutil.copytree(FIXTURES / name, root / site / f"{name}{suffix}")
    if broken:
        (root / "site_b" / "broken").mkdir(parents=True)
        data = (FIXTURES / "spine_sbrt" / "RD.dcm").read_bytes()[:3000]
        (root / "site_b" / "broken" / "RD.dcm").write_bytes(data)
    return root


def stable(doc: dict[str, Any]) -> dict[str, Any]:
    """A result without what differs from run to run (time taken, creation time)."""
    doc = json.loads(json.dumps(doc))
    doc["audit"].pop("duration_s", None)
    if doc.get("report"):
        doc["report"]["provenance"].pop("created_utc", None)
    return doc


def results(out: Path) -> dict[str, dict[str, Any]]:
    """Every result of an audit by case key, made :func:`stable`."""
    found = {}
    for path in sorted((out / "results").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        found[doc["audit"]["case"]] = stable(doc)
    return found


def medcare_config(**changes: Any) -> AuditConfig:
    """The audit configuration of ``--protocol medcare`` (with ``changes``)."""
    p = load_protocol("medcare")
    return AuditConfig(p.path, p.sha256, p.libraries, **changes)


#: the case whose check kills its worker process in :func:`check_or_die`
DOOMED = "site_a/spine_cord_overdose"


def check_or_die(task: AuditTask) -> tuple[AuditRecord, frozenset[str]]:
    """:func:`rtcheck.audit.worker.run_case`, except that the :data:`DOOMED` case kills its
    worker process (as the OOM killer would): a picklable stand-in for a dying worker."""
    if task.case.key == DOOMED:
        os._exit(137)
    return run_case(task)
