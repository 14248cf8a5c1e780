"""Protocol and library YAML errors: exact ``file:line: field: message`` lines.

Each bad file is written into ``tmp_path``; the expected line number is found in the
text written (the line that holds the offending entry), never asked of rtcheck.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from rtcheck.errors import ConfigError
from rtcheck.rules.protocol import constraints_dir, load_library, load_protocol

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints"

HEAD = """\
schema_version: 1
kind: protocol
id: mini
title: mini
version: "1"
source: {document: "test"}
default_arm: a
arms:
  a:
    title: arm a
    prescription: {dose: "30 Gy", fractions: 3}
    checks:
"""


def cord_check(*lines: str, check_id: str = "cord", metric: str = "D0.035cc[Gy]") -> str:
    """A DVH check on the cord; ``lines`` replace comparison and limit."""
    middle = "".join(f"        {line}\n" for line in lines)
    return (f"      - id: {check_id}\n"
            "        kind: dvh\n"
            "        structure: SpinalCord\n"
            f'        metric: "{metric}"\n'
            f"{middle}"
            "        tier: mandatory\n"
            "        priority: 1\n"
            '        source: {document: "t"}\n')


GOOD = ('comparison: "<="', 'limit: "18 Gy"')


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= nth, needle
    return hits[nth - 1]


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_protocol(path)
    err = info.value
    if err.problems:  # the message is the first problem (the CLI prints them all)
        assert str(err) == err.problems[0]
    return err.problems or [str(err)]


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> tuple[Path, str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, text


def test_the_helpers_build_a_valid_protocol(tmp_path: Path) -> None:
    path, _ = write(tmp_path, HEAD + cord_check(*GOOD), "good.yaml")
    p = load_protocol(path)
    (c,) = p.arm("a").constraints
    assert c.id == "a.cord" and c.limits[0][1].value == 18.0


def test_limit_in_cc_on_a_dose_metric(tmp_path: Path) -> None:
    path, text = write(tmp_path, HEAD + cord_check('comparison: "<="', 'limit: "20 cc"'))
    assert problems(path) == [
        f"{path}:{line_of(text, '20 cc')}: arms.a.checks[0].limit: limit '20 cc' has no dose "
        "unit (D0.035cc[Gy] gives Gy); write the limit in Gy"]


def test_limit_in_cgy_on_a_gy_metric_is_never_converted(tmp_path: Path) -> None:
    path, text = write(tmp_path, HEAD + cord_check('comparison: "<="', 'limit: "1800 cGy"'))
    assert problems(path) == [
        f"{path}:{line_of(text, '1800 cGy')}: arms.a.checks[0].limit: limit '1800 cGy' is in "
        "cGy but D0.035cc[Gy] gives Gy: write the limit in Gy (units are never converted)"]


def test_missing_comparison(tmp_path: Path) -> None:
    path, text = write(tmp_path, HEAD + cord_check('limit: "18 Gy"'))
    assert problems(path) == [
        f"{path}:{line_of(text, '- id: cord')}: arms.a.checks[0]: 'comparison' is a required "
        "property"]


def test_comparison_written_backwards(tmp_path: Path) -> None:
    path, text = write(tmp_path, HEAD + cord_check('comparison: "=<"', 'limit: "18 Gy"'))
    assert problems(path) == [
        f"{path}:{line_of(text, '=<')}: arms.a.checks[0].comparison: '=<' is not one of "
        "'<=', '>=', '<', '>'; did you mean '<='?"]


def test_unknown_key_suggests_the_known_one(tmp_path: Path) -> None:
    path, text = write(tmp_path, HEAD + cord_check(*GOOD, 'limt: "18 Gy"'))
    (only,) = problems(path)
    assert only.startswith(f"{path}:{line_of(text, 'limt')}: arms.a.checks[0].limt: unknown "
                           "key 'limt' (allowed: aliases, alpha_beta_gy, comparison, ")
    assert only.endswith("); did you mean 'limit'?")


def test_unknown_default_arm(tmp_path: Path) -> None:
    text = (HEAD + cord_check(*GOOD)).replace("default_arm: a", "default_arm: sbrt")
    path, text = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:{line_of(text, 'default_arm')}: default_arm: no arm 'sbrt'; arms: a"]


def test_duplicate_check_id(tmp_path: Path) -> None:
    path, text = write(tmp_path, HEAD + cord_check(*GOOD) + cord_check(*GOOD))
    assert problems(path) == [
        f"{path}:{line_of(text, '- id: cord', nth=2)}: arms.a.checks[1].id: duplicate check "
        "id 'cord'"]


def test_max_dose_range_in_two_units(tmp_path: Path) -> None:
    # '100 %' to '75 Gy' used to load and be compared as 100–75 in one unit
    text = HEAD + ("      - id: dmax\n        kind: max_dose\n        min: \"100 %\"\n"
                   "        max: \"75 Gy\"\n        tier: mandatory\n        priority: 1\n"
                   '        source: {document: "t"}\n')
    path, text = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:{line_of(text, '75 Gy')}: arms.a.checks[0].max: '75 Gy' is in Gy but min "
        "'100 %' is in %: write both in the same unit (units are never converted)"]


def test_bad_metric_string(tmp_path: Path) -> None:
    path, text = write(tmp_path, HEAD + cord_check(*GOOD, metric="D0.035xx[Gy]"))
    (only,) = problems(path)
    first, *rest = only.splitlines()
    assert first == (f"{path}:{line_of(text, 'D0.035xx')}: arms.a.checks[0].metric: invalid "
                     "DVH metric 'D0.035xx[Gy]': not a recognised form. Valid forms:")
    assert any("D<x>cc[Gy|cGy|%]" in line for line in rest)


def test_every_problem_is_listed_in_line_order(tmp_path: Path) -> None:
    text = (HEAD + cord_check('comparison: "=<"', 'limit: "20 cc"')
            + cord_check(*GOOD, check_id="cord"))
    path, text = write(tmp_path, text)
    got = problems(path)
    assert [int(p.split(":")[1]) for p in got] == [line_of(text, "=<"),
                                                   line_of(text, "20 cc"),
                                                   line_of(text, "- id: cord", nth=2)]


LIBRARY = """\
schema_version: 1
kind: library
id: lib
library: mini library
reference: "x"
source: {document: "x"}
fractions: [1, 3, 5]
rows:
  - {row: 1, organ: Cord, structures: [SpinalCord], endpoint: myelitis,
     limits: [{metric: "D0.35xx[Gy]", comparison: "<=", limit: {3: "18 Gy"}}]}
  - {row: 2, organ: Cord, structures: [SpinalCord], endpoint: myelitis,
     limits: [{metric: "D0.35cc[Gy]", comparison: "<=", limit: {3: "18 cc"}}]}
"""


def test_library_row_with_a_bad_metric_names_the_library_file(tmp_path: Path) -> None:
    lib, lib_text = write(tmp_path, LIBRARY, "lib.yaml")
    path, _ = write(tmp_path, HEAD + cord_check(*GOOD)
                    + "    libraries:\n      - {file: lib.yaml, tier: mandatory, priority: 1}\n")
    got = problems(path)
    assert [p.splitlines()[0] for p in got] == [
        f"{lib}:{line_of(lib_text, 'D0.35xx')}: rows[0].limits[0].metric: invalid DVH metric "
        "'D0.35xx[Gy]': not a recognised form. Valid forms:",
        f"{lib}:{line_of(lib_text, '18 cc')}: rows[1].limits[0].limit[3]: limit '18 cc' has "
        "no dose unit (D0.35cc[Gy] gives Gy); write the limit in Gy"]
    with pytest.raises(ConfigError):
        load_library(lib)


def test_missing_library_file(tmp_path: Path) -> None:
    path, text = write(tmp_path, HEAD + cord_check(*GOOD)
                       + "    libraries:\n      - {file: nothere.yaml, tier: mandatory, "
                         "priority: 1}\n")
    with pytest.raises(ConfigError) as info:
        load_protocol(path)
    assert str(info.value) == (
        f"{path}:{line_of(text, 'nothere.yaml')}: arms.a.libraries[0].file: no file "
        f"{tmp_path / 'nothere.yaml'} (nor in {constraints_dir()}); fix the path "
        "(relative to the protocol)")


def test_unknown_protocol_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        load_protocol("no_such_protocol")
    assert str(info.value).endswith("no_such_protocol.yaml: no protocol file; give a file or "
                                    "one of: medcare")


# Entries of the wrong shape: the schema reports them; the unit/metric checks that run
# after it must skip them, not crash (a KeyError became "internal error", exit 4).
@pytest.mark.parametrize(("text", "needle", "expected"), [
    (HEAD + cord_check('comparison: "<="'), "- id: cord",
     "arms.a.checks[0]: 'limit' is a required property"),
    (HEAD + cord_check(*GOOD).replace('        metric: "D0.035cc[Gy]"\n', ""), "- id: cord",
     "arms.a.checks[0]: 'metric' is a required property"),
    (HEAD + cord_check(*GOOD).replace("      - id: cord\n        kind",
                                      "      - kind"), "- kind",
     "arms.a.checks[0]: 'id' is a required property"),
    (HEAD.replace('    prescription: {dose: "30 Gy", fractions: 3}\n', "")
     + cord_check(*GOOD), "  a:", "arms.a: 'prescription' is a required property"),
    (HEAD.split("arms:")[0] + "arms: [1, 2]\n", "arms:",
     "arms: expected a mapping (key: value lines), got a list"),
], ids=["no-limit", "no-metric", "no-id", "no-prescription", "arms-list"])
def test_incomplete_entries_give_messages_not_crashes(tmp_path: Path, text: str,
                                                      needle: str, expected: str) -> None:
    path, text = write(tmp_path, text)
    assert problems(path) == [f"{path}:{line_of(text, needle)}: {expected}"]


def test_a_check_without_kind_is_one_problem(tmp_path: Path) -> None:
    # without 'kind', no kind-specific requirement may apply (the 'if' needs the key)
    text = HEAD + ("      - id: x\n        tier: mandatory\n        priority: 1\n"
                   '        source: {document: "t"}\n')
    path, text = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:{line_of(text, '- id: x')}: arms.a.checks[0]: 'kind' is a required property"]


# ------------------------------------------------------------------------------ CLI


def test_cli_validates_the_shipped_files() -> None:
    res = CliRunner().invoke(cli, ["constraints", "validate", str(CONSTRAINTS / "medcare.yaml"),
                                   str(CONSTRAINTS / "tg101.yaml")])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{CONSTRAINTS / 'medcare.yaml'}: valid protocol 'medcare': "
                               "arms sbrt (")
    assert lines[1] == (f"{CONSTRAINTS / 'tg101.yaml'}: valid constraint library 'tg101': "
                        "31 rows, 52 limits")


def test_cli_bad_file_exits_3_with_every_problem(tmp_path: Path) -> None:
    text = (HEAD + cord_check('comparison: "=<"', 'limit: "20 cc"')
            + cord_check(*GOOD, check_id="cord"))
    path, text = write(tmp_path, text)
    res = CliRunner().invoke(cli, ["constraints", "validate", str(path)])
    assert res.exit_code == 3
    assert res.stdout == ""
    expected = [
        f"{path}:{line_of(text, '=<')}: arms.a.checks[0].comparison: '=<' is not one of "
        "'<=', '>=', '<', '>'; did you mean '<='?",
        f"{path}:{line_of(text, '20 cc')}: arms.a.checks[0].limit: limit '20 cc' has no dose "
        "unit (D0.035cc[Gy] gives Gy); write the limit in Gy",
        f"{path}:{line_of(text, '- id: cord', nth=2)}: arms.a.checks[1].id: duplicate check "
        "id 'cord'"]
    for line in expected:
        assert line in res.stderr
    assert res.stderr.splitlines()[0] == f"rtcheck: error: {expected[0]}"


def test_cli_incomplete_entry_is_bad_input_not_an_internal_error(tmp_path: Path) -> None:
    path, _ = write(tmp_path, HEAD + cord_check('comparison: "<="'))
    res = CliRunner().invoke(cli, ["constraints", "validate", str(path)])
    assert res.exit_code == 3, res.stderr
    assert "internal error" not in res.stderr
    assert "'limit' is a required property" in res.stderr


def test_a_copied_protocol_finds_its_library_in_constraints(tmp_path: Path) -> None:
    """A site copies medcare.yaml elsewhere: tg101.yaml is found in constraints/."""
    copy = tmp_path / "site_medcare.yaml"
    copy.write_bytes((constraints_dir() / "medcare.yaml").read_bytes())
    protocol = load_protocol(copy)
    assert protocol.path == str(copy)
    assert protocol.libraries[0][0] == str(constraints_dir() / "tg101.yaml")
    assert len(protocol.arm("sbrt").constraints) == 53  # ptv_coverage + 52 TG-101 limits


def test_a_library_in_the_current_directory_is_not_used(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stray lib.yaml in the working directory must not replace the one beside the protocol."""
    proto_dir = tmp_path / "protocols"
    proto_dir.mkdir()
    write(proto_dir, LIBRARY.replace("D0.35xx[Gy]", "D0.35cc[Gy]").replace('"18 cc"', '"18 Gy"'),
          "lib.yaml")
    path, _ = write(proto_dir, HEAD + cord_check(*GOOD)
                    + "    libraries:\n      - {file: lib.yaml, tier: mandatory, priority: 1}\n")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (elsewhere / "lib.yaml").write_text("not: [a library\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    protocol = load_protocol(path)
    assert protocol.libraries[0][0] == str(proto_dir / "lib.yaml")
