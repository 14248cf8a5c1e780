"""The YAML + JSON Schema loader: every problem is one line naming file, line and field."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rtcheck.errors import ConfigError
from rtcheck.rules.yaml_source import (
    SchemaProblem,
    YamlDocument,
    dotted,
    load_yaml,
    validate,
)

CHECK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["metric", "comparison", "limit"],
    "properties": {
        "metric": {"type": "string"},
        "comparison": {"enum": ["<=", ">=", "<", ">"]},
        "limit": {"oneOf": [{"type": "number"}, {"type": "string", "pattern": "c?Gy$"}]},
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "arms"],
    "properties": {
        "name": {"type": "string"},
        "arms": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["fractions", "checks"],
                "properties": {
                    "fractions": {"type": "integer"},
                    "checks": {"type": "array", "items": CHECK},
                },
            },
        },
    },
}

GOOD = """\
# SBRT constraints
name: demo
arms:
  sbrt:
    fractions: 5
    checks:
      - metric: D0.035cc[Gy]
        comparison: "<="
        limit: 30
      - {metric: "V20Gy[%]", comparison: "<", limit: 10}
"""

#: Line numbers are on the right; each marked line holds one problem.
BAD = """\
# SBRT constraints
name: demo
arms:
  sbrt:
    fractions: 5
    checks:
      - metric: D0.035cc[Gy]
        limit: 30
      - metric: D5cc[Gy]
        comparison: "=<"
        limit: 20
      - metric: V20Gy[%]
        comparison: "<="
        limit: 20 cc
        limt: 3
"""


def write(tmp_path: Path, text: str | bytes, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems_of(doc: YamlDocument, schema: dict[str, Any] = SCHEMA, **kwargs: Any) -> list[str]:
    with pytest.raises(ConfigError, match=re.escape(f"{doc.path}")) as info:
        validate(doc, schema, **kwargs)
    assert str(info.value) == info.value.problems[0]
    return info.value.problems


def no_dose_unit(doc: YamlDocument) -> Iterator[SchemaProblem]:
    """An extra check: string limits must end in a dose unit (skips malformed entries)."""
    arms = doc.data.get("arms")
    for arm, body in (arms.items() if isinstance(arms, dict) else []):
        checks = body.get("checks") if isinstance(body, dict) else None
        for i, check in enumerate(checks if isinstance(checks, list) else []):
            limit = check.get("limit") if isinstance(check, dict) else None
            if isinstance(limit, str) and not limit.endswith("Gy"):
                yield SchemaProblem(("arms", arm, "checks", i, "limit"),
                                    f"{limit!r} has no dose unit")


# ----------------------------------------------------------------------------- loading


def test_valid_file_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    doc = load_yaml(path)
    assert doc.path == str(path)
    assert doc.text == GOOD
    assert doc.data == {
        "name": "demo",
        "arms": {"sbrt": {"fractions": 5, "checks": [
            {"metric": "D0.035cc[Gy]", "comparison": "<=", "limit": 30},
            {"metric": "V20Gy[%]", "comparison": "<", "limit": 10},
        ]}},
    }
    validate(doc, SCHEMA, extra_checks=[no_dose_unit])  # no exception


def test_sha256_is_that_of_the_file_bytes(tmp_path: Path) -> None:
    raw = "\ufeffname: démo\r\narms: {}\r\n".encode()  # BOM, CRLF and non-ASCII
    doc = load_yaml(write(tmp_path, raw))
    assert doc.sha256 == hashlib.sha256(raw).hexdigest()
    assert doc.data == {"name": "démo", "arms": {}}
    assert doc.line_of(("arms",)) == 2


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: demo\narms:\n  sbrt: 1\n    fractions: 5\n")
    with pytest.raises(ConfigError, match="YAML syntax error: mapping values") as info:
        load_yaml(path)
    assert str(info.value) == (f"{path}:4: YAML syntax error: mapping values are not allowed "
                               "here; fix the indentation/quoting")
    assert info.value.path == str(path)
    assert info.value.problems == [str(info.value)]


def test_unclosed_flow_list_names_where_it_started(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(ConfigError, match=r"x\.yaml:\d+: YAML syntax error: .*"
                                          r"while parsing a flow sequence started at line 2"):
        load_yaml(path)


def test_duplicate_keys_are_refused_with_their_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\narms:\n  sbrt: {fractions: 5}\n  sbrt: {fractions: 3}\n"
                           "name: b\n")
    with pytest.raises(ConfigError, match="duplicate key 'sbrt'") as info:
        load_yaml(path)
    hint = "YAML would silently keep only the last one: remove or rename one"
    assert info.value.problems == [
        f"{path}:4: arms.sbrt: duplicate key 'sbrt' (first at line 3); {hint}",
        f"{path}:5: name: duplicate key 'name' (first at line 1); {hint}",
    ]
    assert str(info.value) == info.value.problems[0]


def test_duplicate_keys_in_a_list_item(tmp_path: Path) -> None:
    path = write(tmp_path, "checks:\n  - limit: 1\n    limit: 2\n")
    with pytest.raises(ConfigError, match=r"x\.yaml:3: checks\[0\]\.limit: duplicate key "
                                          r"'limit' \(first at line 2\)"):
        load_yaml(path)


def test_merge_key_override_is_not_a_duplicate(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n"))
    assert doc.data["d"] == {"x": 3, "y": 2}
    assert doc.line_of(("d", "x")) == 4
    assert doc.line_of(("d", "y")) == 1  # found through the merge, at the anchor


@pytest.mark.parametrize(("raw", "expected"), [
    (b"", "x.yaml: the file is empty; expected a mapping of keys to values"),
    (b"# only a comment\n\n", "x.yaml: the file is empty; expected a mapping of keys to values"),
    (b"\n- 1\n- 2\n", "x.yaml:2: the top level is a list; expected a mapping of keys to values "
                      "(key: value lines)"),
    (b"just text\n", "x.yaml:1: the top level is the string 'just text'; expected a mapping"),
    (b"a: 1\nb: \xff\n", "x.yaml:2: not UTF-8 text (byte 0xff: invalid start byte); save the "
                         "file as UTF-8"),
    (b"a: 1\n---\nb: 2\n", "x.yaml:2: YAML syntax error: more than one YAML document in the "
                           "file; keep one document per file (remove the '---' line)"),
    (b"a: 1\nb: !!python/object:os.system x\n", "x.yaml:2: unsupported YAML: could not "
                                                "determine a constructor for the tag"),
    (b"a: 1\nb: \x07\n", "x.yaml:2: YAML syntax error: unacceptable character #x0007"),
    (b"start: 2024-13-45\n", "x.yaml: a value YAML reads as a date or number is invalid "
                             "(month must be in 1..12); correct it or put it in quotes"),
])
def test_unusable_files(tmp_path: Path, raw: bytes, expected: str) -> None:
    path = write(tmp_path, raw)
    with pytest.raises(ConfigError, match=re.escape(expected.split(": ", 1)[1])) as info:
        load_yaml(path)
    assert str(info.value).startswith(str(tmp_path / expected))


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match="cannot read the file") as info:
        load_yaml(path)
    assert str(info.value) == f"{path}: cannot read the file (No such file or directory); " \
                              "check the path"
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_yaml(tmp_path)  # a directory


# ----------------------------------------------------------------------------- line_of


def test_line_of_keys_items_and_missing_keys(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, BAD))
    assert doc.line_of(()) == 2  # first content line
    assert doc.line_of(("arms",)) == 3  # the key line, not the nested mapping's
    assert doc.line_of(("arms", "sbrt", "checks", 0)) == 7
    assert doc.line_of(("arms", "sbrt", "checks", 2, "limit")) == 14
    assert doc.line_of(("arms", "sbrt", "checks", 0, "comparison")) == 7  # missing: parent
    assert doc.line_of(("arms", "sbrt", "checks", 9)) == 6  # no such item: the list's key
    assert doc.line_of(("nope", "deeper")) == 2


def test_line_of_flow_style_and_integer_keys(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, "rows:\n  - {row: 1,\n     gy: {1: 8, 3: 15.3}}\n"))
    assert doc.data["rows"][0]["gy"] == {1: 8, 3: 15.3}
    assert doc.line_of(("rows", 0, "gy", 3)) == 3
    assert doc.line_of(("rows", 0, "row")) == 2


def test_line_of_without_yaml_content() -> None:
    assert YamlDocument("m.yaml", {}, "", "").line_of(("a",)) is None


@pytest.mark.parametrize(("path", "expected"), [
    (("arms", "sbrt", "checks", 2, "limit"), "arms.sbrt.checks[2].limit"),
    ((), ""),
    ((0, "a"), "[0].a"),
    (("oars", "Spinal Cord", "D0.035cc"), "oars.Spinal Cord['D0.035cc']"),
])
def test_dotted(path: tuple[str | int, ...], expected: str) -> None:
    assert dotted(path) == expected


# -------------------------------------------------------------------------- validation


def test_required_points_at_the_parent_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "name: demo\narms:\n  sbrt:\n    fractions: 5\n    checks:\n"
                           "      - metric: D2cc[Gy]\n        limit: 3\n")
    assert problems_of(load_yaml(path)) == [
        f"{path}:6: arms.sbrt.checks[0]: 'comparison' is a required property",
    ]


def test_missing_top_level_key_has_no_field(tmp_path: Path) -> None:
    path = write(tmp_path, "# comment\nname: demo\n")
    with pytest.raises(ConfigError, match="'arms' is a required property") as info:
        validate(load_yaml(path), SCHEMA)
    assert info.value.problems == [f"{path}:2: 'arms' is a required property"]
    assert info.value.field is None


def test_enum_is_listed_plainly_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    lines = problems_of(load_yaml(path))
    assert (f"{path}:10: arms.sbrt.checks[1].comparison: '=<' is not one of "
            "'<=', '>=', '<', '>'; did you mean '<='?") in lines


def test_enum_without_a_close_option_has_no_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "name: n\narms:\n  a:\n    fractions: 1\n    checks:\n"
                           "      - {metric: m, comparison: under, limit: 1}\n")
    assert problems_of(load_yaml(path)) == [
        f"{path}:6: arms.a.checks[0].comparison: 'under' is not one of '<=', '>=', '<', '>'",
    ]


def test_unknown_key_has_its_own_line_and_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    lines = problems_of(load_yaml(path))
    assert (f"{path}:15: arms.sbrt.checks[2].limt: unknown key 'limt' "
            "(allowed: comparison, limit, metric); did you mean 'limit'?") in lines


def test_unknown_key_far_from_any_allowed_one(tmp_path: Path) -> None:
    path = write(tmp_path, "name: n\narms: {}\nzzz: 1\n")
    assert problems_of(load_yaml(path)) == [
        f"{path}:3: zzz: unknown key 'zzz' (allowed: arms, name)",
    ]


def test_type_error_is_worded_for_yaml_authors(tmp_path: Path) -> None:
    path = write(tmp_path, "name: 12\narms:\n  a: {fractions: five, checks: []}\n"
                           "  b: [1]\n")
    assert problems_of(load_yaml(path)) == [
        f"{path}:1: name: expected a string, got the number 12; put it in quotes",
        f"{path}:3: arms.a.fractions: expected a whole number, got the string 'five'",
        f"{path}:4: arms.b: expected a mapping (key: value lines), got a list",
    ]


def test_one_of_reports_the_best_matching_alternative(tmp_path: Path) -> None:
    path = write(tmp_path, "name: n\narms:\n  a:\n    fractions: 1\n    checks:\n"
                           "      - {metric: m, comparison: <, limit: 20 Gray}\n")
    assert problems_of(load_yaml(path)) == [
        f"{path}:6: arms.a.checks[0].limit: '20 Gray' does not match 'c?Gy$'",
    ]


def test_any_of_without_a_best_alternative(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"v": {"anyOf": [{"type": "string"},
                                                               {"type": "number"}]}}}
    path = write(tmp_path, "v:\n  - 1\n")
    assert problems_of(load_yaml(path), schema) == [
        f"{path}:1: v: a list does not match any of the allowed forms",
    ]


def test_extra_check_problems_are_rendered_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    lines = problems_of(load_yaml(path), extra_checks=[no_dose_unit])
    assert f"{path}:14: arms.sbrt.checks[2].limit: '20 cc' has no dose unit" in lines


def test_every_problem_is_listed_sorted_by_line(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    with pytest.raises(ConfigError, match="'comparison' is a required property") as info:
        validate(load_yaml(path), SCHEMA, extra_checks=[no_dose_unit])
    assert info.value.problems == [
        f"{path}:7: arms.sbrt.checks[0]: 'comparison' is a required property",
        f"{path}:10: arms.sbrt.checks[1].comparison: '=<' is not one of '<=', '>=', '<', '>'; "
        "did you mean '<='?",
        f"{path}:14: arms.sbrt.checks[2].limit: '20 cc' does not match 'c?Gy$'",
        f"{path}:14: arms.sbrt.checks[2].limit: '20 cc' has no dose unit",
        f"{path}:15: arms.sbrt.checks[2].limt: unknown key 'limt' "
        "(allowed: comparison, limit, metric); did you mean 'limit'?",
    ]
    assert str(info.value) == info.value.problems[0]
    assert info.value.path == str(path)
    assert info.value.field == "arms.sbrt.checks[0]"


def test_extra_checks_alone_can_fail_a_schema_valid_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("limit: 30", "limit: 30Gy"))

    def spaced(doc: YamlDocument) -> list[SchemaProblem]:
        return [SchemaProblem(("arms", "sbrt", "checks", 0, "limit"), "write '30 Gy'")]

    validate(load_yaml(path), SCHEMA)  # the schema alone accepts it
    assert problems_of(load_yaml(path), extra_checks=[spaced]) == [
        f"{path}:9: arms.sbrt.checks[0].limit: write '30 Gy'",
    ]


def test_render_without_a_line() -> None:
    doc = YamlDocument("m.yaml", {}, "", "")
    assert SchemaProblem(("a", 1), "bad").render(doc) == "m.yaml: a[1]: bad"


def test_a_bad_schema_is_a_bug(tmp_path: Path) -> None:
    doc = load_yaml(write(tmp_path, GOOD))
    with pytest.raises(ValueError, match="invalid JSON Schema"):
        validate(doc, {"type": "mapping"})


def test_config_error_stays_backwards_compatible() -> None:
    err = ConfigError("bad value", path="c.yaml", field="limit")
    assert str(err) == "c.yaml: limit: bad value"
    assert err.problems == []
    assert ConfigError("x", problems=["a", "b"]).problems == ["a", "b"]
