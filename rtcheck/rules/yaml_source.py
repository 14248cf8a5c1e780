"""Load a YAML file and validate it against a JSON Schema, with file:line messages.

A generic, reusable front end for rtcheck's YAML inputs (constraint libraries,
protocols). :func:`load_yaml` reads the file strictly (UTF-8, one document, no
duplicate keys, a mapping at the top level) and keeps the text so that every
later problem can name its line; :func:`validate` checks the data against a JSON
Schema (Draft 2020-12 unless the schema says otherwise) plus optional extra checks
and raises one :class:`~rtcheck.errors.ConfigError` listing every problem as::

    constraints/x.yaml:9: arms.sbrt.checks[1].comparison: '=<' is not one of '<=', '>='

Lines are 1-based. A problem's line is where its entry is written: the key line
for a mapping member, the item line for a list item, and for a key that is
missing, the line of the mapping that should hold it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import SchemaError
from jsonschema.validators import Draft202012Validator, validator_for

from rtcheck.errors import ConfigError
from rtcheck.rules.schema_problems import SchemaProblem, describe, dotted, problems_of

__all__ = ["SchemaProblem", "YamlDocument", "dotted", "load_yaml", "validate"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SYNTAX_HINT = "fix the indentation/quoting"



@dataclass(frozen=True)
class YamlDocument:
    """A YAML file as loaded by :func:`load_yaml`.

    Attributes
    ----------
    path
        The file name as given (used as the prefix of every message).
    data
        The parsed content, as :func:`yaml.safe_load` gives it.
    sha256
        Hex SHA-256 of the file bytes (for provenance in reports).
    text
        The decoded text (a UTF-8 byte-order mark removed).
    """

    path: str
    data: Any
    sha256: str
    text: str

    @cached_property
    def _root(self) -> yaml.Node | None:
        try:
            return yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return None

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Return the 1-based line of the entry at ``path`` (keys and list indices).

        Parameters
        ----------
        path
            Keys into :attr:`data`, e.g. ``("arms", "sbrt", "checks", 2, "limit")``.

        Returns
        -------
        int or None
            The line of the key (mapping member) or of the item (list item); for a
            path that does not exist, the line of its nearest existing parent; None
            when the text has no YAML content.
        """
        node = self._root
        if node is None:
            return None
        line = node.start_mark.line + 1
        keys = yaml.SafeLoader("")
        try:
            for part in path:
                found = _child(node, part, keys)
                if found is None:
                    break
                line, node = found
        finally:
            keys.dispose()
        return line



# --------------------------------------------------------------------------- loading


def load_yaml(path: str | Path) -> YamlDocument:
    """Read a YAML file strictly.

    Parameters
    ----------
    path
        The file to read.

    Returns
    -------
    YamlDocument
        The data, text and hash of the file.

    Raises
    ------
    ConfigError
        The file cannot be read, is not UTF-8, is not valid YAML (syntax error, more
        than one document, unsupported tag), repeats a key within a mapping, is
        empty, or does not hold a mapping at the top level. ``problems`` lists every
        duplicate key when there are several.
    """
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _error(name, None, f"cannot read the file ({exc.strerror or exc}); "
                     "check the path") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _error(name, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}: "
                     f"{exc.reason}); save the file as UTF-8") from None
    node, data = _parse(name, text)
    if node is None or data is None:
        raise _error(name, None, "the file is empty; expected a mapping of keys to values")
    if not isinstance(data, dict):
        raise _error(name, node.start_mark.line + 1, f"the top level is {describe(data)}; "
                     "expected a mapping of keys to values (key: value lines)")
    return YamlDocument(name, data, hashlib.sha256(raw).hexdigest(), text)


def _parse(name: str, text: str) -> tuple[yaml.Node | None, Any]:
    """Compose and construct one document, turning YAML errors into ConfigError."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)  # checks for unprintable characters
        node = loader.get_single_node()
        if node is not None:
            _refuse_duplicates(name, node)  # before constructing: that flattens '<<' merges
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(name, exc) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise _error(name, line, f"YAML syntax error: unacceptable character "
                     f"#x{exc.character:04x} ({exc.reason}); remove it") from None
    except yaml.YAMLError as exc:
        raise _error(name, None, f"YAML syntax error: {exc}; {_SYNTAX_HINT}") from None
    except ValueError as exc:  # PyYAML's own bug: e.g. an impossible date like 2024-13-45
        raise _error(name, None, f"a value YAML reads as a date or number is invalid ({exc}); "
                     "correct it or put it in quotes") from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def _yaml_error(name: str, exc: yaml.MarkedYAMLError) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    line = None if mark is None else mark.line + 1
    problem = exc.problem or exc.context or "invalid YAML"
    if isinstance(exc, yaml.composer.ComposerError) and exc.problem_mark is not None:
        return _error(name, line, "YAML syntax error: more than one YAML document in the "
                      "file; keep one document per file (remove the '---' line)")
    if exc.problem and exc.context:
        started = exc.context_mark
        at = f" started at line {started.line + 1}" if started is not None else ""
        problem = f"{problem} ({exc.context}{at})"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return _error(name, line, f"unsupported YAML: {problem}; use plain mappings, "
                      "lists and scalars (no tags, no lists or mappings as keys)")
    return _error(name, line, f"YAML syntax error: {problem}; {_SYNTAX_HINT}")


def _refuse_duplicates(name: str, node: yaml.Node) -> None:
    keys = yaml.SafeLoader("")
    try:
        duplicates = sorted(_duplicate_keys(node, (), keys, set()), key=lambda item: item[0])
    finally:
        keys.dispose()
    if duplicates:
        lines = [f"{name}:{line}: {message}" for line, message in duplicates]
        raise _error(name, duplicates[0][0], duplicates[0][1], problems=lines)


def _duplicate_keys(node: yaml.Node, path: tuple[str | int, ...], keys: yaml.SafeLoader,
                    seen: set[int]) -> Iterator[tuple[int, str]]:
    """Yield (line, message) for every key repeated within one mapping (each node once)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index), keys, seen)
    elif isinstance(node, yaml.MappingNode):
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = None if key_node.tag == _MERGE_TAG else _key_value(keys, key_node)
            line = key_node.start_mark.line + 1
            if key is not None and key in first:
                yield line, (f"{dotted((*path, key))}: duplicate key {key!r} (first at "
                             f"line {first[key]}); YAML would silently keep only the "
                             "last one: remove or rename one")
            elif key is not None:
                first[key] = line
            yield from _duplicate_keys(value_node, path if key is None else (*path, key),
                                       keys, seen)


def _key_value(keys: yaml.SafeLoader, key_node: yaml.Node) -> Any:
    """The constructed value of a mapping key node, or None if unusable as a key."""
    try:
        key = keys.construct_object(key_node, deep=True)
        hash(key)
    except (yaml.YAMLError, TypeError, ValueError):
        return None
    return key


def _child(node: yaml.Node, part: str | int,
           keys: yaml.SafeLoader) -> tuple[int, yaml.Node] | None:
    """(line, node) of the member ``part`` of a mapping or list node, or None."""
    if isinstance(node, yaml.SequenceNode):
        if isinstance(part, int) and not isinstance(part, bool) and 0 <= part < len(node.value):
            item = node.value[part]
            return item.start_mark.line + 1, item
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    merged: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            merged.extend(value_node.value if isinstance(value_node, yaml.SequenceNode)
                          else [value_node])
        elif _same_key(_key_value(keys, key_node), part):
            return key_node.start_mark.line + 1, value_node
    for source in merged:  # '<<: *base' members, earlier sources first
        found = _child(source, part, keys)
        if found is not None:
            return found
    return None


def _same_key(key: Any, part: Any) -> bool:
    return key is not None and key == part and isinstance(key, bool) == isinstance(part, bool)


def _error(name: str, line: int | None, message: str, *, field: str | None = None,
           problems: list[str] | None = None) -> ConfigError:
    """A ConfigError whose message starts ``file:line:`` (``path``/``field`` set too)."""
    where = f"{name}:{line}" if line is not None else name
    text = f"{where}: {message}"
    err = ConfigError(text, problems=problems if problems is not None else [text])
    err.path = name
    err.field = field
    return err


# -------------------------------------------------------------------------- validation


def validate(
    doc: YamlDocument,
    schema: Mapping[str, Any],
    *,
    extra_checks: Sequence[Callable[[YamlDocument], Iterable[SchemaProblem]]] = (),
) -> None:
    """Check ``doc`` against a JSON Schema and extra checks; raise on any problem.

    Parameters
    ----------
    doc
        A document from :func:`load_yaml`.
    schema
        A JSON Schema; Draft 2020-12 unless its ``$schema`` names another draft.
    extra_checks
        Callables returning :class:`SchemaProblem` s for what a schema cannot express
        (e.g. dose units in a string). They always run, also on data that fails the
        schema, so they must skip (not crash on) entries of the wrong shape.

    Raises
    ------
    ConfigError
        Listing every problem: ``problems`` holds one ``file:line: path: message``
        line per problem, sorted by line; the message is the first of them.
    ValueError
        The schema itself is not a valid JSON Schema (a programming error).
    """
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(dict(schema))
    except SchemaError as exc:
        raise ValueError(f"invalid JSON Schema at {dotted(exc.absolute_path) or 'top level'}: "
                         f"{exc.message}") from exc
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    problems = [p for error in validator.iter_errors(doc.data) for p in problems_of(error)]
    for check in extra_checks:
        problems.extend(check(doc))
    if not problems:
        return
    located = sorted(((doc.line_of(p.path) or 0, p.render(doc), p) for p in problems),
                     key=lambda item: item[0])
    lines = list(dict.fromkeys(text for _, text, _ in located))
    first = located[0][2]
    err = ConfigError(lines[0], problems=lines)
    err.path = doc.path
    err.field = dotted(first.path) or None
    raise err
