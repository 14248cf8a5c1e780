"""Pre-flight checks of an audit's sites and alias files, before any case runs.

An audit of hundreds of cases should not run for an hour with an alias file that cannot
be read, or with per-site alias files that apply to no site. :func:`preflight` loads and
validates every alias file the audit may use (with the loader of ``rtcheck check``,
:meth:`rtcheck.rules.aliases.AliasTable.load`) and compares the per-site alias files
with the sites found by :func:`rtcheck.audit.discover.discover`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from rtcheck.audit.discover import ROOT_SITE, CaseFolder
from rtcheck.audit.task import AuditConfig
from rtcheck.errors import ConfigError, UsageError
from rtcheck.rules.aliases import AliasTable
from rtcheck.rules.yaml_source import load_yaml

_SUFFIXES = (".yaml", ".yml")  # the order of AuditConfig.aliases_for


def site_alias_files(directory: str | Path) -> list[Path]:
    """The per-site alias files of ``--site-aliases DIR``: ``DIR/<site>.yaml`` or ``.yml``.

    Parameters
    ----------
    directory
        The ``--site-aliases`` folder.

    Returns
    -------
    list of Path
        The visible ``*.yaml`` and ``*.yml`` files directly in ``directory``, by name.

    Raises
    ------
    UsageError
        ``directory`` is not a folder.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise UsageError(f"--site-aliases {directory}: not a folder; give the folder that "
                         "holds one <site>.yaml alias file per site")
    return sorted(p for p in folder.iterdir() if p.suffix in _SUFFIXES
                  and not p.name.startswith(".") and p.is_file())


def _strip_prefix(exc: ConfigError) -> str:
    """The message of ``exc`` without its ``file: `` prefix."""
    text = " ".join(str(exc).split())
    prefix = f"{exc.path}: " if exc.path else ""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


def _line(path: Path, field: str | None) -> int | None:
    """The line of the problem the alias loader found, from the shared YAML front end
    (:func:`~rtcheck.rules.yaml_source.load_yaml`): the line of the entry ``field``, or
    for a file-level problem (syntax, encoding, not a mapping) the line it names."""
    try:
        doc = load_yaml(path)
    except ConfigError as strict:  # its message starts "file:line: " when it has a line
        found = re.match(re.escape(str(path)) + r":(\d+): ", str(strict))
        return int(found.group(1)) if found and field is None else None
    return doc.line_of((field,)) if field is not None else None


def load_alias_file(path: str | Path, option: str) -> AliasTable:
    """Load and validate one alias file as the check will, with its line on failure.

    Parameters
    ----------
    path
        The alias file.
    option
        How the audit was given it, for the message, e.g. ``"--aliases"`` or
        ``"--site-aliases, site site_a"``.

    Returns
    -------
    AliasTable
        The table (the worker loads the file again; this is the check before any case).

    Raises
    ------
    ConfigError
        The file cannot be used; the one-line message starts ``file:line:`` (the line of
        the offending entry when the file parses), says what to do and ends with
        ``(given by <option>)``.
    """
    p = Path(path)
    try:
        return AliasTable.load(p)
    except ConfigError as exc:
        line = _line(p, exc.field)
        where = f"{p}:{line}" if line is not None else str(p)
        err = ConfigError(f"{where}: {_strip_prefix(exc)} (given by {option})")
        err.path, err.field = str(p), exc.field
        raise err from None


def _unmatched(files: list[Path], sites: list[str], site_level: int) -> list[str]:
    out = []
    covered = {p.stem for p in files}
    for path in files:
        if path.stem in sites:
            continue
        # suggest only a site without its own file: never a rename onto an existing file
        close = difflib.get_close_matches(path.stem, [s for s in sites if s not in covered],
                                          n=1)
        hint = f"rename it to {close[0]}{path.suffix}" if close else (
            "rename it to <site>.yaml for the site it is meant for (or merge it into that "
            "site's file)")
        out.append(f"--site-aliases: {path} matches no site at --site-level {site_level} "
                   f"(sites found: {', '.join(sites)}), so it is not used; {hint}")
    return out


def _shadowed(files: list[Path]) -> list[str]:
    stems = [p.stem for p in files]
    return [f"--site-aliases: {p} is not used: {p.with_suffix('.yaml').name} of the same "
            "site takes precedence; merge the two files and remove one"
            for p in files if p.suffix == ".yml" and stems.count(p.stem) > 1]


def _level_hint(cases: Sequence[CaseFolder], directory: str, site_level: int) -> str:
    depths = [0 if c.key == "." else c.key.count("/") + 1 for c in cases]
    head = (f"--site-aliases {directory}: every case is in the site {ROOT_SITE} at "
            f"--site-level {site_level}, so no site alias file applies; ")
    if min(depths) - 1 >= 1:
        return head + (f"give --site-level {min(depths) - 1}, the folder level that names "
                       "the sites (1: ROOT/<site>/<case>)")
    return head + ("the case folders lie directly in ROOT: give as ROOT the folder that "
                   "holds the site folders, or --aliases FILE for one alias file")


def preflight(cases: Sequence[CaseFolder], config: AuditConfig,
              site_level: int) -> tuple[str, ...]:
    """Check the alias files of an audit against its cases before any case runs.

    Call it right after :func:`~rtcheck.audit.discover.discover` (and before any output
    is written), with the same ``site_level``; log each returned line as a warning::

        cases = discover(root, run.site_level)
        for line in preflight(cases, config, run.site_level):
            progress.log(f"warning: {line}")

    Parameters
    ----------
    cases
        The discovered cases (their sites are compared with the alias file names).
    config
        The audit configuration: ``aliases`` (``--aliases FILE``) and
        ``site_aliases_dir`` (``--site-aliases DIR``) are checked; both may be None.
    site_level
        The ``--site-level`` the cases were discovered with (quoted in the warnings).

    Returns
    -------
    tuple of str
        One-line warnings, each saying what to do, in this order: a ``.yml`` file
        hidden by the ``.yaml`` file of the same site; ``--site-aliases`` given while
        every case is in the site ``(root)`` (the site level is likely wrong: the line
        suggests one), else each site alias file whose name matches no discovered site
        (the line lists the sites found); a ``--site-aliases`` folder without alias
        files. Empty when all is well or neither option is given.

    Raises
    ------
    ConfigError
        An alias file (``--aliases`` or any ``<site>.yaml`` under ``--site-aliases``,
        used by a site or not) cannot be read or validated; the message starts with
        ``file:line:``.
    UsageError
        ``--site-aliases`` is not a folder.
    """
    if config.aliases:
        load_alias_file(config.aliases, "--aliases")
    if not config.site_aliases_dir:
        return ()
    directory = config.site_aliases_dir
    files = site_alias_files(directory)
    for path in files:
        load_alias_file(path, f"--site-aliases, site {path.stem}")
    if not files:
        return (f"--site-aliases {directory}: holds no <site>.yaml alias file, so every "
                "site uses --aliases or its cases' rtcheck.yaml; add one file per site",)
    warnings = _shadowed(files)
    sites = sorted({c.site for c in cases})
    if cases and sites == [ROOT_SITE] and all(p.stem != ROOT_SITE for p in files):
        warnings.append(_level_hint(cases, directory, site_level))
    elif cases:
        warnings.extend(_unmatched(files, sites, site_level))
    return tuple(warnings)
