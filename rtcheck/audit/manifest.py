"""``OUT/audit.json``: what an audit folder holds, so ``--resume`` continues the same audit.

Written atomically (:func:`rtcheck.atomic.write_text_atomic`) when an audit starts in a
new folder or with ``--overwrite`` (and when a folder of an older rtcheck, without one,
is resumed)::

    {"schema_version": "1.1",
     "rtcheck_version": "...",
     "root": "/abs/path/of/ROOT",        # a folder path, not a patient identifier
     "protocol": "/abs/path/of/protocol.yaml",
     "protocol_sha256": "...",
     "site_level": 1,
     "anonymize": true | false,
     "key_fingerprint": null | "<16 hex>",  # HMAC-SHA256(key, fixed label): never the key
     "dvh_geometry": "stacked" | "smooth",  # the DVH geometry model of the cases' checks
     "dvh_geometry_source": "option" | "protocol" | "default",  # where it came from
     "created_utc": "2026-11-28T10:00:00Z"}

Schema 1.1 added ``dvh_geometry`` and ``dvh_geometry_source``. A ``--resume`` with
another model (or source) updates them, and only them (:func:`update_geometry`): its
results of the other model are checked again, so the folder's results are of this
model once it finishes.

``--resume`` refuses (exit 2) when ROOT, ``--anonymize`` or the key (by its fingerprint)
differ from the manifest: results anonymised under one key next to results in the clear,
or under another key, would leak identifiers or split a patient into two tokens; another
ROOT would move every result aside as orphaned. A protocol or option change is not
refused: the configuration hash of each result then differs and ``--resume`` redoes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rtcheck.atomic import write_text_atomic
from rtcheck.errors import InputError

MANIFEST_FILE = "audit.json"
MANIFEST_SCHEMA_VERSION = "1.1"
_FINGERPRINT_LABEL = b"rtcheck audit key fingerprint v1"


def key_fingerprint(key: bytes | None) -> str | None:
    """The first 16 hex digits of HMAC-SHA256(key, a fixed label); ``None`` without a key.

    Tells two keys apart without revealing either (and is no patient token: the label is
    not an identifier)."""
    if key is None:
        return None
    return hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def utc_now() -> str:
    """The current time, ISO 8601 in UTC, to the second (``2026-11-28T10:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Manifest:
    """The settings of an audit folder that ``--resume`` must not change."""

    rtcheck_version: str
    root: str
    protocol: str
    protocol_sha256: str
    site_level: int
    anonymize: bool
    key_fingerprint: str | None
    dvh_geometry: str
    dvh_geometry_source: str
    created_utc: str

    def to_json(self) -> str:
        doc = {"schema_version": MANIFEST_SCHEMA_VERSION, **asdict(self)}
        return json.dumps(doc, indent=2) + "\n"


def write_manifest(out_dir: Path, manifest: Manifest) -> Path:
    """Write (or replace) ``out_dir/audit.json`` atomically."""
    return write_text_atomic(out_dir / MANIFEST_FILE, manifest.to_json(), overwrite=True)


def update_geometry(out_dir: Path, old: dict[str, Any], new: Manifest) -> Path | None:
    """``--resume``: write ``old`` (the folder's manifest) again with this run's DVH
    geometry model and source (and schema version), atomically, when either differs.

    Returns
    -------
    Path or None
        The manifest written; ``None`` when the model and source are the same (the file
        is left alone).
    """
    fields = {"dvh_geometry": new.dvh_geometry, "dvh_geometry_source": new.dvh_geometry_source}
    if all(old.get(k) == v for k, v in fields.items()):
        return None
    doc = {**old, "schema_version": MANIFEST_SCHEMA_VERSION, **fields}
    return write_text_atomic(out_dir / MANIFEST_FILE, json.dumps(doc, indent=2) + "\n",
                             overwrite=True)


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of ``out_dir`` as a dict, ``None`` when there is none (older rtcheck).

    Raises :class:`~rtcheck.errors.InputError` (exit 3) when it exists but is not a
    JSON object: it is written atomically, so that is damage, not a killed audit.
    """
    path = out_dir / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable audit manifest ({exc}); give --overwrite to start the "
                         "audit again", path=path) from exc
    if not isinstance(doc, dict):
        raise InputError("not an audit manifest (a JSON object); give --overwrite to start "
                         "the audit again", path=path)
    return doc


def _same_folder(a: str, b: str) -> bool:
    return os.path.abspath(a) == os.path.abspath(b) or \
        os.path.realpath(a) == os.path.realpath(b)


def resume_conflicts(old: dict[str, Any], new: Manifest) -> list[str]:
    """What differs between the manifest of an audit folder and a ``--resume`` of it that
    would mix results (ROOT, ``--anonymize``, the key); empty when it may resume."""
    found = []
    if "root" in old and not _same_folder(str(old["root"]), new.root):
        found.append(f"it is an audit of ROOT {old['root']}, not {new.root}")
    was = bool(old.get("anonymize"))
    if was and not new.anonymize:
        found.append("it was run with --anonymize: give --anonymize and the same key")
    elif new.anonymize and not was:
        found.append("it was run without --anonymize: drop --anonymize (results in the "
                     "clear and anonymised ones must not be mixed)")
    elif was and old.get("key_fingerprint") != new.key_fingerprint:
        found.append(f"it was anonymised with another key (fingerprint "
                     f"{old.get('key_fingerprint')}, this key's is {new.key_fingerprint}): "
                     "give the same key")
    return found


def resume_refusal(out_dir: Path, old: dict[str, Any], new: Manifest) -> str | None:
    """The one-line refusal of ``--resume`` (``None`` when it may resume)."""
    conflicts = resume_conflicts(old, new)
    if not conflicts:
        return None
    return (f"--resume: --out {out_dir} cannot be continued with these settings: "
            + "; ".join(conflicts) + "; or give --overwrite to start the audit again "
            "(or another --out)")
