"""What the audit ships to a worker: small, frozen, picklable (paths and options only).

The input hash of a case covers the path (relative to the case folder) and SHA-256 of
every file of its subtree (``rtcheck.yaml`` and subfolders such as ``records/`` included;
hidden files and folders and symbolic links to folders skipped), so a changed, added,
removed, moved or renamed file changes it; the configuration hash covers rtcheck's version, the
protocol and its libraries, the alias file that applies and the options (the DVH
geometry model included: results of another model are checked again). ``--resume``
reuses a result only when both are unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from rtcheck import __version__
from rtcheck.audit.discover import CaseFolder, subtree_files
from rtcheck.rules.engine import sha256_of
from rtcheck.rules.options import GEOMETRY_SOURCES


@dataclass(frozen=True)
class AuditConfig:
    """The choices shared by every case of one audit run."""

    protocol_path: str
    protocol_sha256: str
    libraries: tuple[tuple[str, str], ...] = ()
    arm: str | None = None
    aliases: str | None = None
    site_aliases_dir: str | None = None
    end_cap: str = "half-slice"
    #: the DVH geometry model (``--geometry``: ``stacked`` or ``smooth``); ``None`` leaves
    #: it to the protocol (its ``dvh.geometry``, else ``stacked``). The command line
    #: records the model it resolved, so that the log and the hash name it.
    geometry: str | None = None
    anonymize: bool = False
    #: where the command line's ``geometry`` came from: ``option`` (``--geometry``),
    #: ``protocol`` (its ``dvh.geometry``) or ``default``; recorded in each result's
    #: provenance (``options.geometry_source``), not in the configuration hash (it does
    #: not change a result's numbers)
    geometry_source: str = "default"

    def __post_init__(self) -> None:
        if self.geometry_source not in GEOMETRY_SOURCES:
            raise ValueError(f"geometry_source {self.geometry_source!r}: give one of "
                             + ", ".join(map(repr, GEOMETRY_SOURCES)))

    def aliases_for(self, site: str) -> str | None:
        """The alias file of a site: ``SITE_ALIASES_DIR/<site>.yaml`` when it exists, else
        ``--aliases`` (else, in the worker, the case's ``rtcheck.yaml`` alias file)."""
        if self.site_aliases_dir:
            for suffix in (".yaml", ".yml"):
                candidate = Path(self.site_aliases_dir) / f"{site}{suffix}"
                if candidate.is_file():
                    return str(candidate)
        return self.aliases


@dataclass(frozen=True)
class AuditTask:
    """One case to check: its folder and everything needed to check it and file it."""

    case: CaseFolder
    config: AuditConfig
    aliases: str | None
    result_name: str
    input_sha256: str
    config_sha256: str


def folder_files(folder: str | Path, *, hidden: bool = False) -> list[Path]:
    """Every file of a case: its folder's whole subtree, in a fixed order.

    Parameters
    ----------
    folder
        The case folder.
    hidden
        Include hidden files and the files of hidden folders (a name starting with
        ``.``), as the DICOM loader reads them; by default they are skipped (the input
        hash ignores ``.DS_Store`` and the like).

    Returns
    -------
    list of Path
        The regular files (symbolic links to files included; symbolic links to folders
        not followed), sorted by their path relative to ``folder`` (its parts).
    """
    base = Path(folder)
    found = ((p for p in base.rglob("*") if p.is_file()) if hidden  # as the loader's rglob
             else subtree_files(base))
    return sorted(found, key=lambda p: p.relative_to(base).parts)


def input_sha256(folder: str | Path) -> str:
    """SHA-256 of a case's files: what ``--resume`` compares.

    Parameters
    ----------
    folder
        The case folder.

    Returns
    -------
    str
        Hex SHA-256 over one line ``<relative path>\\0<SHA-256 of contents>\\n`` per file
        of :func:`folder_files` with ``hidden=True`` — every file the DICOM loader reads,
        so an edited ``.old/RP.dcm`` is never kept as unchanged by ``--resume`` — paths
        POSIX-style relative to ``folder``: a folder without subfolders hashes as before
        (path = name).
    """
    base = Path(folder)
    h = hashlib.sha256()
    for path in folder_files(base, hidden=True):
        rel = path.relative_to(base).as_posix()
        h.update(rel.encode("utf-8") + b"\0" + sha256_of(path).encode("ascii") + b"\n")
    return h.hexdigest()


def config_sha256(config: AuditConfig, aliases: str | None) -> str:
    """SHA-256 of the configuration that decides a case's result (not of the key)."""
    doc = {"rtcheck": __version__, "protocol": config.protocol_sha256,
           "libraries": [sha for _, sha in config.libraries], "arm": config.arm,
           "aliases": sha256_of(aliases) if aliases else None, "end_cap": config.end_cap,
           "geometry": config.geometry, "anonymize": config.anonymize}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()
