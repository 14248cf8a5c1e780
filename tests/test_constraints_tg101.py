"""constraints/tg101.yaml: every number equals the cross-checked TG-101 Table III transcription.

The reference is tg101-table3.md in $RTCHECK_REFERENCE (default ../shared/reference; §2a
serial rows, §2b parallel rows); spot values are also asserted here so the test means
something without it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rtcheck.dose import parse_metric
from rtcheck.dose.metric_spec import MetricKind
from tests.conftest import REFERENCE, REPO

LIBRARY = REPO / "constraints" / "tg101.yaml"
TABLE = REFERENCE / "tg101-table3.md"
ALLOWED_KEYS = {
    "row",
    "organ",
    "structures",
    "endpoint",
    "limits",
    "avoid_circumferential",
    "needs_derived_structure",
    "three_fraction_caveat",
    "aliases",
    "derived_from",
}


@pytest.fixture(scope="module")
def rows() -> dict[int, dict[str, Any]]:
    data = yaml.safe_load(LIBRARY.read_text(encoding="utf-8"))
    assert data["fractions"] == [1, 3, 5]
    assert data["point_volume_cc"] == 0.035
    return {r["row"]: r for r in data["rows"]}


def _limit(row: dict[str, Any], metric: str) -> dict[int, float]:
    return next(_gy(lim) for lim in row["limits"] if lim["metric"] == metric)


def _gy(lim: dict[str, Any]) -> dict[int, float]:
    """The limit of each fraction count in Gy (the file writes '18 Gy')."""
    out = {}
    for n, text in lim["limit"].items():
        number, unit = text.split()
        assert unit == "Gy", text
        out[n] = float(number)
    return out


def test_every_row_is_well_formed_and_every_metric_parses(rows: dict[int, dict[str, Any]]) -> None:
    assert sorted(rows) == list(range(1, 32))
    for number, row in rows.items():
        assert set(row) <= ALLOWED_KEYS, number
        for lim in row["limits"]:
            spec = parse_metric(lim["metric"])
            kind = MetricKind.DOSE_COMPLEMENT if number >= 28 else MetricKind.DOSE_AT_VOLUME
            assert spec.kind is kind, (number, lim["metric"])
            assert lim["comparison"] == "<="
            assert set(_gy(lim)) <= {1, 3, 5}
            assert all(v > 0 for v in _gy(lim).values())


def test_spot_values(rows: dict[int, dict[str, Any]]) -> None:
    assert _limit(rows[4], "D0.35cc[Gy]") == {1: 10, 3: 18, 5: 23}
    assert _limit(rows[4], "D0.035cc[Gy]") == {1: 14, 3: 21.9, 5: 30}
    assert _limit(rows[5], "D1.2cc[Gy]") == {1: 7, 3: 12.3, 5: 14.5}
    assert _limit(rows[19], "D0.035cc[Gy]")[1] == 12.4  # not S2's 14.4 typo (§5.2)
    assert _limit(rows[30], "DC700cc[Gy]") == {1: 9.1, 3: 19.2, 5: 21}
    assert "three_fraction_caveat" in rows[28]


def _numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", cell.split("(")[0])]


def _reference_rows() -> dict[int, list[str]]:
    if not TABLE.is_file():
        pytest.skip(f"TG-101 reference transcription not found at {TABLE}")
    out: dict[int, list[str]] = {}
    section = TABLE.read_text(encoding="utf-8").split("## 2.")[1].split("## 3.")[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].isdigit():
            out[int(cells[0])] = cells
    return out


def test_serial_rows_match_the_reference(rows: dict[int, dict[str, Any]]) -> None:
    reference = _reference_rows()
    for number in range(1, 28):
        cells = reference[number]
        thr = {n: _numbers(cells[i]) for n, i in ((1, 3), (3, 5), (5, 7))}
        mx = {n: _numbers(cells[i]) for n, i in ((1, 4), (3, 6), (5, 8))}
        limits = rows[number]["limits"]
        volume_limits = [lim for lim in limits if lim["metric"] != "D0.035cc[Gy]"]
        max_limits = [lim for lim in limits if lim["metric"] == "D0.035cc[Gy]"]
        expected_thr = {n: v[0] for n, v in thr.items() if v}
        assert (_gy(volume_limits[0]) if volume_limits else {}) == expected_thr, number
        own_max = {n: v[0] for n, v in mx.items() if v and "same" not in cells[4]}
        if own_max:
            assert max_limits and _gy(max_limits[0]) == own_max, number


def test_parallel_rows_match_the_reference(rows: dict[int, dict[str, Any]]) -> None:
    reference = _reference_rows()
    for number in range(28, 32):
        cells = reference[number]
        volume_cc = _numbers(cells[2])[0]
        expected = {n: _numbers(cells[i])[0] for n, i in ((1, 3), (3, 4), (5, 5))}
        (limit,) = rows[number]["limits"]
        assert limit["metric"] == f"DC{volume_cc:g}cc[Gy]"
        assert _gy(limit) == expected, number


def test_volumes_match_the_reference(rows: dict[int, dict[str, Any]]) -> None:
    reference = _reference_rows()
    for number in range(1, 28):
        volume = reference[number][2]
        limits = [
            lim["metric"] for lim in rows[number]["limits"] if lim["metric"] != "D0.035cc[Gy]"
        ]
        if "max only" in volume:
            assert limits == [], number
        elif "%" in volume or "/" in volume:
            assert limits[0].endswith("%[Gy]"), number
        else:
            assert limits[0] == f"D{_numbers(volume)[0]:g}cc[Gy]", number


def test_library_path_is_in_the_repository() -> None:
    assert Path(LIBRARY).is_file()
