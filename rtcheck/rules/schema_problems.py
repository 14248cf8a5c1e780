"""Schema problems of rtcheck's YAML files and their one-line, friendly messages.

:class:`SchemaProblem` locates a problem by its key path; :func:`problems_of` turns a
jsonschema error into such problems with messages a protocol author can act on
("unknown key 'limt' ...; did you mean 'limit'?"). Used by :mod:`.yaml_source`.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonschema.exceptions import ValidationError, best_match

if TYPE_CHECKING:
    from rtcheck.rules.yaml_source import YamlDocument

#: A mapping key printed bare in a dotted path; anything else is printed as ['key'].
_PLAIN_KEY = re.compile(r"[^.\[\]'\"\s](?:[^.\[\]'\"]*[^.\[\]'\"\s])?")

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


@dataclass(frozen=True)
class SchemaProblem:
    """One problem found in a :class:`YamlDocument`.

    Attributes
    ----------
    path
        Keys and list indices of the entry concerned (``()`` for the whole file).
    message
        What is wrong (and, where possible, what to do), without the location.
    """

    path: tuple[str | int, ...]
    message: str

    def render(self, doc: YamlDocument) -> str:
        """Return the one-line form ``file:line: dotted.path[2].x: message``."""
        line = doc.line_of(self.path)
        where = f"{doc.path}:{line}" if line is not None else doc.path
        field = dotted(self.path)
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


def dotted(path: Iterable[str | int]) -> str:
    """Format a key path: ``("arms", "sbrt", "checks", 2)`` -> ``arms.sbrt.checks[2]``.

    Integers are printed as ``[i]`` (list indices, or integer mapping keys); keys that
    contain dots, brackets, quotes or surrounding spaces are printed as ``['key']``.
    """
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


def problems_of(error: ValidationError) -> list[SchemaProblem]:
    """Turn one jsonschema error into friendly problems (several for unknown keys)."""
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind in ("oneOf", "anyOf") and error.context:
        # best_match on the parent descends into the alternative that fits best (and
        # returns the parent itself when no alternative stands out).
        best = best_match([error])
        if best is not None and best is not error:
            return problems_of(best)
        return [SchemaProblem(path, f"{describe(error.instance)} does not match any of "
                              "the allowed forms")]
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_keys(error, error.instance, path)
    if kind == "enum" and isinstance(error.validator_value, list):
        return [SchemaProblem(path, _enum_message(error.instance, error.validator_value))]
    if kind == "type":
        return [SchemaProblem(path, _type_message(error.instance, error.validator_value))]
    return [SchemaProblem(path, " ".join(error.message.split()))]


def _unknown_keys(error: ValidationError, instance: dict[Any, Any],
                  path: tuple[str | int, ...]) -> list[SchemaProblem]:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    allowed = [str(k) for k in schema.get("properties", {})]
    patterns = list(schema.get("patternProperties", {}))
    extras = [key for key in instance if key not in allowed
              and not any(isinstance(key, str) and re.search(p, key) for p in patterns)]
    if not extras:
        return [SchemaProblem(path, " ".join(error.message.split()))]
    listing = ", ".join(sorted(allowed)) or "none"
    if patterns:
        listing += ", or keys matching " + " or ".join(patterns)
    return [SchemaProblem((*path, key), f"unknown key {key!r} (allowed: {listing})"
                          + _suggestion(key, allowed)) for key in extras]


def _enum_message(value: Any, options: list[Any]) -> str:
    choices = ", ".join(_repr.repr(option) for option in options)
    words = [option for option in options if isinstance(option, str)]
    return f"{_repr.repr(value)} is not one of {choices}" + _suggestion(value, words)


def _suggestion(value: Any, candidates: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for a near miss (other case, swapped or mistyped letters)."""
    if not isinstance(value, str):
        return ""
    close = [c for c in candidates if c.casefold() == value.casefold()]
    close = close or [c for c in candidates if sorted(c) == sorted(value)]  # '=<' -> '<='
    if not close and len(value) >= 3:  # difflib is noise on one- or two-letter words
        close = difflib.get_close_matches(value, candidates, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


_TYPE_NAMES = {
    "number": "a number",
    "integer": "a whole number",
    "string": "a string",
    "object": "a mapping (key: value lines)",
    "array": "a list",
    "boolean": "true or false",
    "null": "an empty value",
}


def _type_message(value: Any, expected: Any) -> str:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    text = " or ".join(_TYPE_NAMES.get(w, repr(w)) for w in wanted)
    message = f"expected {text}, got {describe(value)}"
    if "string" in wanted and isinstance(value, (bool, int, float)):
        message += "; put it in quotes"
    elif {"number", "integer"} & set(wanted) and isinstance(value, str) and _is_number(value):
        message += "; YAML reads it as text: write a plain number (with a decimal point " \
                   "and a signed exponent, e.g. 1.0e+3)"
    return message


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def describe(value: Any) -> str:
    """Name a YAML value for a message: 'the string '20 cc'', 'a list', ..."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_repr.repr(value)}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{_repr.repr(value)} (a {type(value).__name__})"
