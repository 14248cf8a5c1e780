"""A user's alias table: TG-263 standard name -> ROI names or shell wildcards.

Read from a YAML file (``--aliases FILE``), e.g. ``SpinalCord: [MEDULLA, "Cord*"]``;
every problem is a one-line :class:`~rtcheck.errors.ConfigError` naming the file and key.
Used by the ``alias_file`` rule of :mod:`rtcheck.rules.matching`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from rtcheck.errors import ConfigError


class _FrozenPatterns(Mapping[str, tuple[str, ...]]):
    """A read-only, hashable and picklable mapping of standard name -> patterns."""

    def __init__(self, items: Mapping[str, tuple[str, ...]]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return repr(self._items)


@dataclass(frozen=True)
class AliasTable:
    """A user alias table: standard name -> shell-wildcard patterns for ROI names.

    Attributes
    ----------
    patterns
        Standard name -> patterns (``fnmatch`` wildcards, matched case-insensitively,
        e.g. ``"PTV*"``, ``"*cord*"``). Any mapping is accepted; a single string value
        stands for a one-pattern list. Stored read-only, hashable and picklable.
    source
        The file the table was read from (``""`` when built in code).

    Raises
    ------
    ConfigError
        A key that is not a non-empty string, or patterns that are not a string or a
        list of non-empty strings.
    """

    patterns: Mapping[str, tuple[str, ...]]
    source: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.patterns, _FrozenPatterns):
            return
        if not isinstance(self.patterns, Mapping):
            raise ConfigError(_NOT_A_MAPPING.format(kind=type(self.patterns).__name__),
                              path=self.source or None)
        checked = {_checked_key(k, self.source): _checked_patterns(k, v, self.source)
                   for k, v in self.patterns.items()}
        object.__setattr__(self, "patterns", _FrozenPatterns(checked))

    @classmethod
    def empty(cls) -> AliasTable:
        """A table without patterns."""
        return cls({})

    @classmethod
    def load(cls, path: str | Path) -> AliasTable:
        """Read a YAML alias file: a mapping of standard name to a list of patterns.

        Example::

            SpinalCord: ["*cord*", "Medulla"]
            PTV: "PTV_high*"

        Raises
        ------
        ConfigError
            The file cannot be read, is not valid YAML, is not a mapping, or a value
            is not a string or a list of strings; the message names the file and key.
        """
        p = Path(path)
        doc = _parse_yaml(_read_text(p), p)
        if not isinstance(doc, dict):
            kind = "an empty file" if doc is None else f"a {type(doc).__name__}"
            raise ConfigError(_NOT_A_MAPPING.format(kind=kind), path=p)
        return cls(doc, source=str(p))

    def patterns_for(self, standard_name: str) -> tuple[str, ...]:
        """The patterns listed for ``standard_name`` (keys compared case-insensitively)."""
        folded = standard_name.casefold()
        return tuple(p for key, pats in self.patterns.items() if key.casefold() == folded
                     for p in pats)


_NOT_A_MAPPING = ("the alias file must be a mapping of standard name to a list of patterns, "
                  "e.g. SpinalCord: ['*cord*'], got {kind}; rewrite it in that form")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("the alias file is not UTF-8 text; save it as UTF-8 YAML",
                          path=path) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot read the alias file ({reason}); check the path",
                          path=path) from None


def _parse_yaml(text: str, path: Path) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = " ".join(str(exc).split())
        hint = ("quote patterns that start with '*', e.g. - '*cord*'" if "alias" in where
                else "fix the YAML syntax")
        raise ConfigError(f"not valid YAML ({where}); {hint}", path=path) from None


def _checked_key(key: object, source: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"standard name {key!r} is not a non-empty string; "
                          "write a TG-263 name such as SpinalCord", path=source or None,
                          field=str(key))
    return key


def _checked_patterns(key: object, value: object, source: str) -> tuple[str, ...]:
    items: list[object] | None = (
        [value] if isinstance(value, str)
        else list(value) if isinstance(value, list | tuple) else None)
    if items is None:
        raise ConfigError(f"patterns must be a list of strings or one string, got "
                          f"{type(value).__name__}; write e.g. {key}: ['{key}*']",
                          path=source or None, field=str(key))
    for i, item in enumerate(items, start=1):
        if not isinstance(item, str) or not item:
            raise ConfigError(f"pattern {i} is {item!r} ({type(item).__name__}), not a "
                              "non-empty string; quote it or remove it",
                              path=source or None, field=str(key))
    return tuple(str(item) for item in items)
