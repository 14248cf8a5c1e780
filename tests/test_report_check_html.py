"""HTML report of the plan check (rtcheck.report.check_html) on the shipped fixtures."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rtcheck.dicom.loader import load
from rtcheck.report.check_html import ORDER, limit_point, render_html
from rtcheck.rules.engine import check_load
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.protocol import load_protocol
from rtcheck.rules.result import CheckReport, CheckResult
from rtcheck.rules.vocabulary import CheckKind, CheckStatus, Comparison, Tier
from tests.browser import screenshot_rgb
from tests.conftest import FIXTURES, REPO

PLANS = {"spine_sbrt": "spine", "spine_cord_overdose": "spine",
         "spine_consecutive_days": "spine", "spine_grid_misses_oar": "spine",
         "pelvic_node_sbrt": "pelvis"}
VERDICTS = {"spine_sbrt": "PASS", "spine_cord_overdose": "FAIL",
            "spine_consecutive_days": "FAIL", "spine_grid_misses_oar": "INCOMPLETE",
            "pelvic_node_sbrt": "PASS"}


@pytest.fixture(scope="module")
def reports() -> dict[str, CheckReport]:
    """Each fixture plan checked once for the whole module."""
    protocol = load_protocol("medcare")
    return {name: check_load(load([str(FIXTURES / name)]), protocol, CheckOptions(site=site))
            for name, site in PLANS.items()}


@pytest.fixture(scope="module")
def page(reports: dict[str, CheckReport]) -> Callable[[str], str]:
    """The HTML of a fixture plan, rendered once per module."""
    cache: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in cache:
            cache[name] = render_html(reports[name])
        return cache[name]

    return get


class _Rows(HTMLParser):
    """Cell texts of every ``<tr data-check=...>``, per table class, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, list[str]]] = []  # (table class, check id, cells)
        self._table: list[str] = []
        self._cells: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table.append(a.get("class") or "")
        elif tag == "tr" and "data-check" in a:
            self.rows.append((self._table[-1], a["data-check"] or "", []))
            self._cells = self.rows[-1][2]
        elif tag == "td" and self._cells is not None:
            self._cells.append("")
            self._depth += 1
        elif tag == "li" and self._cells:
            self._cells[-1] += " | "

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table.pop()
        elif tag == "tr":
            self._cells = None
        elif tag == "td":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cells and self._depth > 0:
            self._cells[-1] += data


def _rows(text: str, table: str = "checks") -> dict[str, list[str]]:
    parser = _Rows()
    parser.feed(text)
    return {cid: cells for t, cid, cells in parser.rows if t == table}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_verdict_banner_checks_and_plots(reports: dict[str, CheckReport],
                                         page: Callable[[str], str], name: str) -> None:
    report, text = reports[name], page(name)
    case = report.cases[0]
    verdict = VERDICTS[name]
    assert case.verdict.value == verdict
    assert text.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in text
    assert f'<div class="banner verdict-{verdict}"' in text
    assert f'<div class="word">{verdict}</div>' in text
    for other in {"PASS", "FAIL", "INCOMPLETE"} - {verdict}:
        assert f'class="banner verdict-{other}"' not in text
    for c in case.checks:
        assert f'data-check="{c.id}"' in text.replace("&#x27;", "'"), c.id
    # the table order: failures, not evaluated, minor, pending, pass, info; N/A collapsed
    rows = _rows(text)
    shown = [c for c in case.checks if c.status is not CheckStatus.NOT_APPLICABLE]
    by_id = {c.id: c for c in case.checks}
    assert sorted(rows) == sorted(c.id for c in shown)
    order = [ORDER.index(by_id[cid].status) for cid in rows]
    assert order == sorted(order)
    na = _rows(text, "na")
    assert set(na) == {c.id for c in case.checks if c.status is CheckStatus.NOT_APPLICABLE}
    assert re.search(r"<details><summary>.*?\d+ limit\(s\) not applicable", text)
    # every value cell says something: a number, a bound or NOT EVALUATED
    for cid, cells in rows.items():
        status, value = cells[0], cells[4].strip()
        assert value and value not in ("0", "0 Gy"), cid
        if by_id[cid].status is CheckStatus.NOT_EVALUATED:
            assert status.startswith("NOT EVALUATED") and value.startswith("NOT EVALUATED")
        if by_id[cid].status in (CheckStatus.FAIL, CheckStatus.NOT_EVALUATED):
            optional = status.endswith("optional: does not decide the verdict")
            assert optional is not by_id[cid].mandatory, cid
    # one inline SVG per target and constrained structure with a curve
    plotted = [s for s in case.structures if s.curve is not None
               and (s.target or s.constrained)]
    assert plotted
    assert text.count("<svg") == len(plotted)
    for s in plotted:
        assert f'<figure class="dvh" data-structure="{s.name}">' in text
    # header facts and provenance footer
    for needle in (case.label, case.folder, "medcare", report.protocol_version,
                   f"Arm</dt><dd>{case.arm}", f"Site</dt><dd>{case.site}",
                   "30 Gy in 3 fraction(s)", "Dmax 37.5 Gy", report.provenance.created_utc,
                   report.provenance.protocol_sha256, report.provenance.rtcheck_version):
        assert needle in text, needle
    for path, sha in report.provenance.inputs:
        assert path in text and sha in text
    counts = case.counts()
    assert f"FAIL: {counts['fail']}<" in text and f"PASS: {counts['pass']}<" in text


def test_cord_overdose_rows_and_limit_markers(page: Callable[[str], str]) -> None:
    text = page("spine_cord_overdose")
    rows = _rows(text)
    first = list(rows)[:3]
    assert set(first) == {"tg101.row4.D0.035cc[Gy]", "tg101.row4.D0.35cc[Gy]",
                          "tg101.row5.D1.2cc[Gy]"}
    cells = rows["tg101.row4.D0.035cc[Gy]"]
    assert cells[0] == "FAIL" and cells[4].strip() == "23.61 Gy"
    assert cells[5].strip() == "<= 21.9 Gy" and cells[6].strip() == "-1.715 Gy"
    assert "mandatory" in cells[7] and "TG-101" in cells[8]
    assert "SpinalCord ← 'SpinalCord' (exact)" in cells[2]
    # the three cord limits are drawn on the cord DVH, coloured and labelled by status
    for label in ("D0.035cc &lt;= 21.9 Gy: FAIL", "D0.35cc &lt;= 18 Gy: FAIL",
                  "D1.2cc &lt;= 12.3 Gy: FAIL", "D90% &gt;= 30 Gy: PASS"):
        assert label in text, label
    assert "#c62828" in text.split('data-structure="SpinalCord"')[1].split("</figure>")[0]
    assert "3 mandatory check(s) fail" in text


def test_grid_misses_oar_not_evaluated_and_notes(page: Callable[[str], str]) -> None:
    text = page("spine_grid_misses_oar")
    rows = _rows(text)
    for cid in ("tg101.row4.D0.35cc[Gy]", "tg101.row4.D0.035cc[Gy]",
                "tg101.row5.D1.2cc[Gy]", "tg101.row9.D5cc[Gy]"):
        assert rows[cid][0] == "NOT EVALUATED"
        assert rows[cid][4].startswith("NOT EVALUATED")
        assert "in-grid bounds" in rows[cid][4]
    esophagus = rows["tg101.row9.D0.035cc[Gy]"]
    assert esophagus[0] == "PASS" and esophagus[4].startswith("≤ 22.35 Gy")
    assert "GRID_BOUNDARY_ASSUMED" in esophagus[8]
    assert "avoid circumferential irradiation" in esophagus[8]
    assert "mandatory check(s) NOT EVALUATED" in text
    assert "in-grid part only" in text and "grid boundary B 22.35 Gy" in text


def test_incomplete_is_never_green() -> None:
    from rtcheck.report.check_html import _css

    css = _css()
    rule = re.search(r"\.verdict-INCOMPLETE\{([^}]*)\}", css)
    assert rule is not None
    green = re.search(r"\.verdict-PASS\{background:(#[0-9a-f]{6})", css)
    assert green is not None and green.group(1) not in rule.group(1)


def test_fraction_gaps_table(page: Callable[[str], str]) -> None:
    text = page("spine_consecutive_days")
    gaps = text.split('<table class="gaps">')[1].split("</table>")[0]
    assert gaps.count('<tr class="row-fail">') == 2
    assert "24.08" in gaps and '<span class="badge st-fail">FAIL</span>' in gaps


@pytest.mark.parametrize("name", sorted(PLANS))
def test_self_contained(page: Callable[[str], str], name: str) -> None:
    text = page(name)
    assert not re.search(r"""(?:src|href|action|poster)\s*=\s*["']?\s*(?:[a-z]+:)?//""",
                         text, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", text, re.IGNORECASE)
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "@import" not in text and "<!DOCTYPE svg" not in text and "<?xml" not in text
    # inline SVG ids are unique in the page (several plots share one document)
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    for ref in set(re.findall(r'(?:href="#|url\(#)([^")]+)', text)):
        assert ref in ids, ref


def test_deterministic(reports: dict[str, CheckReport], page: Callable[[str], str]) -> None:
    import matplotlib

    salt = matplotlib.rcParams["svg.hashsalt"]
    again = render_html(reports["spine_grid_misses_oar"])
    assert again == page("spine_grid_misses_oar")
    assert matplotlib.rcParams["svg.hashsalt"] == salt  # no global state changed


def test_every_string_is_escaped(reports: dict[str, CheckReport]) -> None:
    report = reports["spine_sbrt"]
    case = report.cases[0]
    evil = "<script>alert('x')</script> & \"q\""
    checks = tuple(replace(c, message=evil, notes=(evil,)) if c.id == "sbrt.ptv_coverage"
                   else c for c in case.checks)
    new = replace(report, protocol_title=evil,
                  cases=(replace(case, label="<b>case</b>", folder=evil, checks=checks),))
    text = render_html(new)
    assert "<script" not in text and "<b>case</b>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;" in text
    assert "&lt;b&gt;case&lt;/b&gt;" in text


def test_no_case_report_is_incomplete(reports: dict[str, CheckReport]) -> None:
    text = render_html(replace(reports["spine_sbrt"], cases=()))
    assert 'class="banner verdict-INCOMPLETE"' in text and "no case with a plan" in text
    assert "<svg" not in text


def _dvh(metric: str, limit: float, comparison: Comparison = Comparison.LE) -> CheckResult:
    return CheckResult("x", CheckKind.DVH, "x", CheckStatus.PASS, Tier.MANDATORY, 1, "s",
                       metric=metric, limit=limit, comparison=comparison, unit="Gy")


def test_limit_point() -> None:
    d035 = limit_point(_dvh("D0.035cc[Gy]", 21.9), 4.4884, 30.0)
    assert d035 is not None
    assert d035[0] == 21.9 and d035[1] == pytest.approx(100 * 0.035 / 4.4884)
    assert limit_point(_dvh("D90%[Gy]", 30.0, Comparison.GE), 19.7, 30.0) == (30.0, 90.0)
    assert limit_point(_dvh("V20Gy[%]", 35.0), 10.0, 30.0) == (20.0, 35.0)
    v = limit_point(_dvh("V20Gy[cc]", 5.0), 10.0, 30.0)
    assert v == (20.0, pytest.approx(50.0))
    assert limit_point(_dvh("V100%[%]", 95.0, Comparison.GE), 10.0, 30.0) == (30.0, 95.0)
    assert limit_point(_dvh("D95%[%]", 100.0, Comparison.GE), 10.0, 30.0) == (30.0, 95.0)
    assert limit_point(_dvh("Max[Gy]", 24.0), 10.0, 30.0) == (24.0, 0.0)
    assert limit_point(_dvh("D5cc[Gy]", 21.9), 4.058, 30.0) is None  # larger than the organ
    assert limit_point(_dvh("Mean[Gy]", 10.0), 10.0, 30.0) is None
    assert limit_point(_dvh("D2cc[Gy]@BED3", 50.0), 10.0, 30.0) is None
    assert limit_point(_dvh("V100%[%]", 95.0), 10.0, None) is None  # needs Rx
    assert limit_point(replace(_dvh("D2cc[Gy]", 1.0), limit=None), 10.0, 30.0) is None


def test_import_is_cheap_and_click_free() -> None:
    code = ("import sys, rtcheck.report.check_html, rtcheck.report.check_junit; "
            "print('matplotlib' in sys.modules, 'click' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_screenshot_is_not_blank(page: Callable[[str], str], tmp_path: Path) -> None:
    html_file = tmp_path / "report.html"
    html_file.write_text(page("spine_cord_overdose"), encoding="utf-8")
    rgb = screenshot_rgb(html_file, tmp_path, 1280, 2000)
    colours = {tuple(p) for p in rgb[::4, ::4].reshape(-1, 3).tolist()}
    assert len(colours) > 200, f"only {len(colours)} distinct colours: blank page?"
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    red = (r > 170) & (g < 80) & (b < 80)
    assert red[:400].sum() > 20_000, "no red FAIL banner at the top of the page"
    white_rows = (rgb.min(axis=2) > 250).all(axis=1)
    assert white_rows.mean() < 0.5
