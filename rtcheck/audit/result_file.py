"""One audit result file per case folder: the plan check's report inside an audit envelope.

``OUT/results/<name>.json`` holds::

    {"audit": {"schema_version": "1.0",
               "case": "siteA/patient7/plan",   # folder relative to ROOT (POSIX)
               "site": "siteA",
               "status": "checked" | "error",
               "input_sha256": "...",          # of the case's files (names + contents)
               "config_sha256": "...",         # of protocol, aliases, options (see task.py)
               "patients": {"<report case label>": "<patient key>"},
                                               # PatientID, or its keyed hash (--anonymize)
               "error": null | "one-line message naming file and field",
               "error_kind": null | "input" | "internal",
               "traceback": null | "...",      # internal errors only
               "duration_s": 1.23},
     "report": <CheckReport.to_dict()> | null}  # null when status is "error"

``status == "checked"`` means the plan check ran; the report's own verdict says PASS,
FAIL or INCOMPLETE. Results are written atomically (:func:`rtcheck.atomic.write_text_atomic`).

Results are never deleted by ``--resume``: the result of a case folder that is no longer
found under ROOT (an unmounted share, a renamed folder) is moved to
``OUT/results-orphaned/`` (:func:`move_orphans`), outside the summary's reach (it reads
``results/*.json`` only), and moved back when its folder is found again
(:func:`restore_orphans`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtcheck.atomic import write_text_atomic
from rtcheck.audit.discover import ROOT_SITE

AUDIT_SCHEMA_VERSION = "1.0"
RESULTS_DIR = "results"
ORPHANS_DIR = "results-orphaned"
STATUSES = ("checked", "error")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def result_name(case_key: str, *, anonymized_key: str | None = None) -> str:
    """The file name of a case's result: readable and unique (a hash of the key decides).

    With ``anonymized_key`` (``--anonymize``: the keyed hash of the case key) the name
    carries no part of the folder path, which may hold a patient's name.
    """
    if anonymized_key is not None:
        return f"{anonymized_key}.json"
    digest = hashlib.sha256(case_key.encode("utf-8")).hexdigest()[:10]
    stem = _UNSAFE.sub("_", case_key).strip("_")[:80] or "root"
    return f"{stem}-{digest}.json"


@dataclass(frozen=True)
class AuditRecord:
    """What a worker returns for one case (JSON-ready, small: no arrays)."""

    audit: dict[str, Any]
    report: dict[str, Any] | None

    def __post_init__(self) -> None:
        status = self.audit.get("status")
        if status not in STATUSES:
            raise ValueError(f"audit status must be one of {STATUSES}, got {status!r}")
        if (status == "checked") != (self.report is not None):
            raise ValueError("a checked case carries a report; an error case carries none")

    @property
    def case(self) -> str:
        return str(self.audit["case"])

    @property
    def site(self) -> str:
        """The case's site; :data:`~rtcheck.audit.discover.ROOT_SITE` when none is named."""
        return str(self.audit.get("site") or ROOT_SITE)

    def to_dict(self) -> dict[str, Any]:
        return {"audit": self.audit, "report": self.report}

    def to_json(self) -> str:
        """Compact JSON (``python -m json.tool`` pretty-prints it): ``indent`` would make
        the json module fall back from its C encoder to pure Python, ~10x slower, which
        made the writing process the bottleneck of a parallel audit."""
        return json.dumps(self.to_dict(), separators=(",", ":")) + "\n"


def write_record(results_dir: Path, name: str, record: AuditRecord) -> Path:
    """Write one case's result atomically (replacing a stale one of the same name)."""
    return write_text_atomic(results_dir / name, record.to_json(), overwrite=True)


def read_record(path: Path) -> AuditRecord | None:
    """A result file, or ``None`` when it is unreadable or of another schema (redo it)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["audit"].get("schema_version") != AUDIT_SCHEMA_VERSION:
            return None
        return AuditRecord(doc["audit"], doc["report"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def iter_records(results_dir: Path) -> Iterator[tuple[Path, AuditRecord]]:
    """Every readable result under ``results_dir``, in file-name order, one at a time."""
    for path in sorted(results_dir.glob("*.json")):
        record = read_record(path)
        if record is not None:
            yield path, record


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/<stem>~<n>.json`` when that is taken (never replace)."""
    target = folder / name
    stem, n = target.stem, 2
    while target.exists():
        target = folder / f"{stem}~{n}{target.suffix}"
        n += 1
    return target


def move_orphans(out_dir: Path, keep: set[str]) -> list[Path]:
    """Move every result of ``out_dir/results`` whose name is not in ``keep`` into
    ``out_dir/results-orphaned/`` (an atomic rename each); the moved files' new paths."""
    results, orphans = out_dir / RESULTS_DIR, out_dir / ORPHANS_DIR
    moved = []
    for path in sorted(results.glob("*.json")):
        if path.name in keep:
            continue
        orphans.mkdir(exist_ok=True)
        target = _free_name(orphans, path.name)
        os.rename(path, target)
        moved.append(target)
    return moved


def restore_orphans(out_dir: Path, names: set[str]) -> list[Path]:
    """Move back into ``out_dir/results`` each orphaned result named in ``names`` that
    ``results/`` lacks (its case folder is found again); the restored files' paths."""
    results, orphans = out_dir / RESULTS_DIR, out_dir / ORPHANS_DIR
    if not orphans.is_dir():
        return []
    restored = []
    for path in sorted(orphans.glob("*.json")):
        target = results / path.name
        if path.name in names and not target.exists():
            os.rename(path, target)
            restored.append(target)
    return restored
