"""Tolerances of the baseline comparison: grammar, kinds, precedence, protocol YAML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rtcheck.errors import ConfigError, UsageError
from rtcheck.regress.tolerances import (
    DEFAULTS,
    KINDS,
    Tolerance,
    Tolerances,
    parse_assignment,
    parse_tolerance,
    resolve_tolerances,
    value_kind,
)
from rtcheck.rules.protocol import constraints_dir, load_protocol


@pytest.mark.parametrize(("text", "absolute", "relative"), [
    ("0.05", 0.05, 0.0), ("0.5%", 0.0, 0.005), ("0.5%,0.001", 0.001, 0.005),
    ("0.001, 0.5%", 0.001, 0.005), (" 2 ", 2.0, 0.0), ("1e-3", 0.001, 0.0), (0.02, 0.02, 0.0),
    (1, 1.0, 0.0), ("0", 0.0, 0.0), (".5", 0.5, 0.0),
])
def test_tolerance_grammar(text: object, absolute: float, relative: float) -> None:
    tol = parse_tolerance(text)
    assert tol == Tolerance(absolute, relative)
    assert parse_tolerance(tol.text()) == tol  # text() is what parse_tolerance reads


@pytest.mark.parametrize("text", ["", "abc", "-0.1", "0.1 Gy", "1%,2%", "1,2", "nan", "inf",
                                  "1%%", True, "0.1;0.2"])
def test_malformed_tolerance_is_refused(text: object) -> None:
    with pytest.raises(ValueError, match=r"tolerance|not a tolerance"):
        parse_tolerance(text)


def test_allowed_is_the_larger_of_absolute_and_relative() -> None:
    cc = DEFAULTS["cc"]  # 0.5 %, at least 0.001 cc
    assert cc.allowed(100.0) == pytest.approx(0.5)
    assert cc.allowed(0.01) == pytest.approx(0.001)
    assert not cc.exceeded(100.0, 100.5)  # exactly at the tolerance: not drift
    assert cc.exceeded(100.0, 100.51)
    assert not cc.exceeded(0.01, 0.0109) and cc.exceeded(0.01, 0.0111)
    gy = DEFAULTS["Gy"]
    # binary floating point: 30.7956 - 30.7856 is 0.010000000000001563, still not drift
    assert not gy.exceeded(30.7856, 30.7956)
    assert gy.exceeded(30.7856, 30.7957)


def test_defaults_and_their_kinds() -> None:
    assert set(DEFAULTS) == set(KINDS)
    assert DEFAULTS["Gy"] == Tolerance(0.01) and DEFAULTS["cGy"] == Tolerance(1.0)
    assert DEFAULTS["BED"] == Tolerance(0.1) and DEFAULTS["vol%"] == Tolerance(0.1)
    assert DEFAULTS["Rx%"] == Tolerance(0.05) and DEFAULTS["cc"] == Tolerance(0.001, 0.005)
    assert DEFAULTS["h"] == Tolerance(0.01) and DEFAULTS["other"] == Tolerance(0.0001)
    assert Tolerances().text().startswith("Gy ±0.01 Gy; cGy ±1 cGy; BED ±0.1 Gy;")


@pytest.mark.parametrize(("unit", "metric", "kind", "expected"), [
    ("Gy", "D0.035cc[Gy]", "dvh", "Gy"),
    ("Gy", "D90%[Gy]@BED3", "dvh", "BED"),
    ("Gy", "D2cc[Gy]@EQD2(3)", "dvh", "BED"),
    ("Gy", "BED (alpha/beta 3 Gy)", "prescription_bed", "BED"),
    ("Gy", "prescription", "prescription", "Gy"),
    ("cGy", "D2cc[cGy]", "dvh", "cGy"),
    ("%", "V20Gy[%]", "dvh", "vol%"),
    ("% of Rx", "D95%[%]", "dvh", "Rx%"),
    ("%", "Dmax", "max_dose", "Rx%"),
    ("%", "Rx / Dmax", "isodose_level", "Rx%"),
    ("cc", "V20Gy[cc]", "dvh", "cc"),
    ("h", "shortest gap", "fraction_spacing", "h"),
    (None, None, "approval", "other"),
    ("furlong", None, "dvh", "other"),
])
def test_value_kind(unit: str | None, metric: str | None, kind: str, expected: str) -> None:
    assert value_kind(unit, metric, kind) == expected


def test_precedence_default_protocol_command_line() -> None:
    tol = resolve_tolerances([("Gy", "0.02"), ("cc", "1%")], ["Gy=0.05", "h=0.1"])
    assert tol["Gy"] == Tolerance(0.05) and tol.source("Gy") == "--tolerance"
    assert tol["cc"] == Tolerance(0.0, 0.01) and tol.source("cc") == "protocol"
    assert tol["h"] == Tolerance(0.1)
    assert tol["BED"] == DEFAULTS["BED"] and tol.source("BED") == "default"
    assert tol.to_dict()["Gy"] == {"absolute": 0.05, "relative": 0.0, "text": "0.05",
                                   "source": "--tolerance"}


@pytest.mark.parametrize(("option", "why"), [
    ("Gy", "write KIND=VALUE"), ("Gy=", "tolerance ''"), ("Sv=0.1", "unknown tolerance kind"),
    ("Gy=-1", "tolerance '-1'"), ("Gy=fast", "tolerance 'fast'"),
])
def test_malformed_option_is_a_usage_error(option: str, why: str) -> None:
    with pytest.raises(UsageError, match=f"--tolerance .*{why}"):
        resolve_tolerances((), [option])
    assert parse_assignment("vol%=0.2") == ("vol%", Tolerance(0.2))


def _protocol_copy(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "medcare.yaml"
    shutil.copy(constraints_dir() / "medcare.yaml", path)
    with path.open("a", encoding="utf-8") as f:
        f.write(extra)
    return path


def test_protocol_sets_tolerances(tmp_path: Path) -> None:
    path = _protocol_copy(tmp_path, 'regression_tolerances:\n  Gy: 0.02\n  cc: "1%,0.002"\n')
    proto = load_protocol(path)
    assert proto.regression_tolerances == (("Gy", "0.02"), ("cc", "1%,0.002"))
    tol = resolve_tolerances(proto.regression_tolerances)
    assert tol["Gy"] == Tolerance(0.02) and tol["cc"] == Tolerance(0.002, 0.01)
    assert load_protocol("medcare").regression_tolerances == ()  # the shipped ones set none


def test_bad_protocol_tolerances_name_file_and_line(tmp_path: Path) -> None:
    path = _protocol_copy(tmp_path, "regression_tolerances:\n  Gy: fast\n  Sv: 0.1\n")
    lines = path.read_text(encoding="utf-8").splitlines()
    gy_line = lines.index("  Gy: fast") + 1
    with pytest.raises(ConfigError) as err:
        load_protocol(path)
    problems = "\n".join(err.value.problems)
    assert f"{path}:{gy_line}: regression_tolerances.Gy: tolerance 'fast'" in problems
    assert "'Sv' is not one of 'Gy', 'cGy', 'BED'" in problems
