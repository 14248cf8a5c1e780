"""Find the case folders of an audit tree and the site each belongs to.

A *case folder* is any folder under ROOT, at any depth, that directly holds at least one
DICOM file: a name ending in ``.dcm`` or a file with the ``DICM`` marker at byte 128
(PS3.10 §7.1). Each is checked on its own, exactly as ``rtcheck check FOLDER`` would
(its ``rtcheck.yaml`` included). The site is the folder name at ``site_level`` below
ROOT (1 = the first level: ``ROOT/<site>/<case>...``) when the case folder lies deeper
than that level; a case folder at or above it (``ROOT/<case>``, such as the shipped
``fixtures/``) belongs to the site ``(root)``: a site is a folder of cases. Symbolic
links to folders are not followed (no cycles).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rtcheck.errors import UsageError

ROOT_SITE = "(root)"
_MARKER_OFFSET = 128


@dataclass(frozen=True)
class CaseFolder:
    """One case of an audit: its folder, its key (path below ROOT) and its site."""

    key: str
    folder: str
    site: str

    def __post_init__(self) -> None:
        if not self.key or not self.site:
            raise ValueError("a case folder needs a key and a site")


def is_dicom_file(path: Path) -> bool:
    """``.dcm`` name, or the DICM marker of a Part-10 file (read: 132 bytes)."""
    if path.suffix.lower() == ".dcm":
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(_MARKER_OFFSET + 4)
    except OSError:
        return False
    return head[_MARKER_OFFSET:] == b"DICM"


def _holds_dicom(folder: Path, names: list[str]) -> bool:
    return any(is_dicom_file(folder / n) for n in sorted(names))


def site_of(key_parts: tuple[str, ...], site_level: int) -> str:
    """The site of a case whose folder is ``ROOT/<key_parts>``."""
    return key_parts[site_level - 1] if len(key_parts) > site_level else ROOT_SITE


def discover(root: str | os.PathLike[str], site_level: int = 1) -> tuple[CaseFolder, ...]:
    """Every case folder under ``root``, sorted by key.

    Raises :class:`~rtcheck.errors.UsageError` when ``root`` is not a folder or
    ``site_level`` is below 1.
    """
    base = Path(root)
    if not base.is_dir():
        raise UsageError(f"{root}: not a folder; give the root folder of the audit tree")
    if site_level < 1:
        raise UsageError(f"--site-level {site_level}: give 1 (ROOT/<site>/...) or more")
    out = []
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        folder = Path(dirpath)
        if _holds_dicom(folder, filenames):
            parts = folder.relative_to(base).parts
            key = "/".join(parts) if parts else "."
            out.append(CaseFolder(key, str(folder), site_of(parts, site_level)))
    return tuple(sorted(out, key=lambda c: c.key))
