"""Find the case folders of an audit tree and the site each belongs to.

A *DICOM file* is a name ending in ``.dcm`` (any case) or a file with the ``DICM``
marker at byte 128 (PS3.10 §7.1). Hidden entries (a name starting with ``.``) and
symbolic links to folders are skipped everywhere (no cycles); a case is checked with
its whole subtree, exactly as ``rtcheck check FOLDER`` would check it (its
``rtcheck.yaml`` included).

Rules
-----
With the site level ``N`` (``site_level``, default 1) and ROOT at depth 0 (its key is
``"."``), the case folders are, walking down from ROOT:

a. a folder at depth ``<= N`` that *directly* holds a DICOM file: one case with its
   whole subtree (``fixtures/spine_sbrt`` at depth 1; its ``records/`` subfolder is
   part of it; ROOT itself when it holds a DICOM file — then the whole tree is one
   case);
b. otherwise, every folder at depth ``N + 1`` (``ROOT/<site>/<case>`` for ``N = 1``)
   whose subtree holds a DICOM file at any depth: one case with its whole subtree
   (``case1/records/``, per-modality folders ``case1/RTPLAN/``, ``case1/RTDOSE/``,
   patient/course/plan subfolders all belong to ``case1``).

A folder inside a case is never a case itself, and nothing deeper than ``N + 1`` starts
a case. The site is the folder name at level ``N`` when the case lies deeper than ``N``
(rule b), else :data:`ROOT_SITE` ``"(root)"`` (rule a): a site is a folder of cases.

Examples
--------
With ``N = 1``: ``ROOT/site_a/p1/RTPLAN/RP.dcm`` -> case ``site_a/p1``, site ``site_a``;
``ROOT/spine_sbrt/RP.dcm`` -> case ``spine_sbrt``, site ``(root)``;
``ROOT/site_a/p2/course/plan/RD.dcm`` -> case ``site_a/p2``, site ``site_a``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    """Whether ``path`` is a DICOM file by name or content.

    Parameters
    ----------
    path
        The file to test.

    Returns
    -------
    bool
        True for a ``.dcm`` name (any case) or the ``DICM`` marker of a Part-10 file at
        byte 128 (132 bytes read); False otherwise, or when the file cannot be read.
    """
    if path.suffix.lower() == ".dcm":
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(_MARKER_OFFSET + 4)
    except OSError:
        return False
    return head[_MARKER_OFFSET:] == b"DICM"


def visible_entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """The visible files and folders directly in ``folder``, each sorted by name.

    Parameters
    ----------
    folder
        The folder to list.

    Returns
    -------
    tuple of (list of Path, list of Path)
        The regular files (symbolic links to files included) and the subfolders,
        without hidden entries (``.`` first) and without symbolic links to folders;
        both empty when the folder cannot be read.
    """
    files: list[Path] = []
    dirs: list[Path] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    dirs.append(Path(entry.path))
                elif entry.is_file():
                    files.append(Path(entry.path))
    except OSError:
        return [], []
    return sorted(files), sorted(dirs)


def subtree_files(folder: Path) -> Iterator[Path]:
    """Every visible file of ``folder``'s subtree, depth first, in name order.

    Parameters
    ----------
    folder
        The top of the subtree.

    Yields
    ------
    Path
        The files of ``folder`` (by name), then those of each subfolder in turn (by
        name); hidden files and folders and symbolic links to folders are skipped.
    """
    files, dirs = visible_entries(folder)
    yield from files
    for sub in dirs:
        yield from subtree_files(sub)


def site_of(key_parts: tuple[str, ...], site_level: int) -> str:
    """The site of the case whose folder is ``ROOT/<key_parts>``.

    Parameters
    ----------
    key_parts
        The folder names from ROOT down to the case folder (empty for ROOT itself).
    site_level
        The folder level that names the site (1: ``ROOT/<site>/...``).

    Returns
    -------
    str
        ``key_parts[site_level - 1]`` when the case lies deeper than ``site_level``,
        else :data:`ROOT_SITE`.
    """
    return key_parts[site_level - 1] if len(key_parts) > site_level else ROOT_SITE


def _case(base: Path, folder: Path, site_level: int) -> CaseFolder:
    parts = folder.relative_to(base).parts
    key = "/".join(parts) if parts else "."
    return CaseFolder(key, str(folder), site_of(parts, site_level))


def _walk(base: Path, folder: Path, depth: int, site_level: int) -> Iterator[CaseFolder]:
    """The cases at or below ``folder`` (at ``depth <= site_level``), by the module rules."""
    files, dirs = visible_entries(folder)
    if any(is_dicom_file(f) for f in files):
        yield _case(base, folder, site_level)  # rule a: the case is the whole subtree
        return
    for sub in dirs:
        if depth + 1 <= site_level:
            yield from _walk(base, sub, depth + 1, site_level)
        elif any(is_dicom_file(f) for f in subtree_files(sub)):
            yield _case(base, sub, site_level)  # rule b: ROOT/<site...>/<case>


def discover(root: str | os.PathLike[str], site_level: int = 1) -> tuple[CaseFolder, ...]:
    """Every case folder under ``root`` by the module rules, sorted by key.

    Parameters
    ----------
    root
        The root folder of the audit tree (ROOT).
    site_level
        The folder level below ROOT that names the site (1: ``ROOT/<site>/<case>``).

    Returns
    -------
    tuple of CaseFolder
        The cases, sorted by key (``"."`` for ROOT itself); empty when no DICOM file
        is found.

    Raises
    ------
    UsageError
        ``root`` is not a folder, or ``site_level`` is below 1.
    """
    base = Path(root)
    if not base.is_dir():
        raise UsageError(f"{root}: not a folder; give the root folder of the audit tree")
    if site_level < 1:
        raise UsageError(f"--site-level {site_level}: give 1 (ROOT/<site>/...) or more")
    return tuple(sorted(_walk(base, base, 0, site_level), key=lambda c: c.key))


def _holds_dicom(folder: Path) -> bool:
    return any(is_dicom_file(f) for f in subtree_files(folder))


def stray_file_warnings(cases: tuple[CaseFolder, ...]) -> tuple[str, ...]:
    """Warnings for case folders that look like a site folder with a stray DICOM file.

    A folder at or above the site level that directly holds a DICOM file is one case with
    its whole subtree (rule a): when it also has two or more subfolders holding DICOM
    files, it may be a site folder (or ROOT) with a stray file, whose case folders are
    then checked as one case. The audit goes on; the warning names the files and
    subfolders and says what to do.

    Parameters
    ----------
    cases
        The cases found by :func:`discover`.

    Returns
    -------
    tuple of str
        One line per such case folder, in key order.
    """
    out = []
    for case in cases:
        if case.site != ROOT_SITE:  # rule b: below the site level, never a site folder
            continue
        files, dirs = visible_entries(Path(case.folder))
        subs = [d.name for d in dirs if _holds_dicom(d)]
        if len(subs) < 2:
            continue
        stray = [f.name for f in files if is_dicom_file(f)]
        out.append(f"case folder {case.key} holds DICOM file(s) directly "
                   f"({', '.join(stray[:3])}{', ...' if len(stray) > 3 else ''}) and "
                   f"{len(subs)} subfolders with DICOM files ({', '.join(subs[:3])}"
                   f"{', ...' if len(subs) > 3 else ''}): they are checked as ONE case; if "
                   "it is a site folder, move its own DICOM files into a case folder")
    return tuple(out)
