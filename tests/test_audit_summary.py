"""The cross-site audit summary (rtcheck.audit.summary): counts, CSV, key metrics,
outliers, unmatched structures, determinism and the HTML page, from result files built by
hand around the golden plan-check reports."""

from __future__ import annotations

import copy
import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from rtcheck.audit.result_file import (
    AUDIT_SCHEMA_VERSION,
    RESULTS_DIR,
    AuditRecord,
    result_name,
    write_record,
)
from rtcheck.audit.summary import CSV_FIXED, summarize, write_summary, write_summary_csv
from rtcheck.audit.summary_html import render_summary_html
from rtcheck.audit.summary_metrics import (
    CasePoint,
    case_points,
    gap_window,
    iqr_floor,
    metric_unit,
    quantile,
    site_distribution,
)
from tests.browser import screenshot_rgb
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden" / "check"
#: site -> golden reports checked there; site_b also holds one error result
SITES = {"siteA": ["spine_sbrt", "spine_cord_overdose"],
         "siteB": ["pelvic_node_sbrt", "spine_grid_misses_oar"]}
ERROR_CASE = "siteB/broken"
ERROR_MESSAGE = "siteB/broken/RD.dcm: truncated DICOM file (PixelData ends early); re-export it"
PATIENT = {"spine_sbrt": "anon-1111111111111111", "spine_cord_overdose": "anon-2222222222222222",
           "pelvic_node_sbrt": "anon-3333333333333333",
           "spine_grid_misses_oar": "anon-1111111111111111"}  # same patient as spine_sbrt
CORD = "tg101.row4.D0.035cc[Gy]"


def golden(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def record(site: str, name: str, report: dict[str, Any] | None, stamp: int,
           patients: dict[str, str] | None = None) -> AuditRecord:
    """An audit envelope with a run-dependent creation time and duration (``stamp``)."""
    key = f"{site}/{name}"
    audit = {"schema_version": AUDIT_SCHEMA_VERSION, "case": key, "site": site,
             "status": "checked" if report is not None else "error",
             "input_sha256": "0" * 64, "config_sha256": "1" * 64,
             "patients": patients or {}, "error": None, "error_kind": None,
             "traceback": None, "duration_s": 9876.125 + stamp}
    if report is not None:
        report = copy.deepcopy(report)
        report["provenance"]["created_utc"] = f"2031-05-{10 + stamp:02d}T11:22:33Z"
    else:
        audit.update(error=ERROR_MESSAGE, error_kind="input")
    return AuditRecord(audit, report)


def records(stamp: int = 0) -> list[AuditRecord]:
    out = []
    for site, names in SITES.items():
        for name in names:
            report = golden(name)
            label = report["cases"][0]["label"]
            out.append(record(site, name, report, stamp, {label: PATIENT[name]}))
    out.append(record("siteB", "broken", None, stamp))
    return out


def write_results(out: Path, recs: list[AuditRecord]) -> Path:
    results = out / RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    for rec in recs:
        write_record(results, result_name(rec.case), rec)
    return results


@pytest.fixture
def out(tmp_path: Path) -> Path:
    write_results(tmp_path / "out", records())
    return tmp_path / "out"


def test_counts_per_site(out: Path) -> None:
    s = summarize(out / RESULTS_DIR)
    sites = {x.site: x.to_dict() for x in s.sites}
    assert list(sites) == ["siteA", "siteB"]
    assert sites["siteA"]["folders"] == 2 and sites["siteA"]["plan_cases"] == 2
    assert sites["siteA"]["verdicts"] == {"PASS": 1, "FAIL": 1, "INCOMPLETE": 0, "ERROR": 0}
    assert sites["siteA"]["rates"] == {"PASS": 0.5, "FAIL": 0.5, "INCOMPLETE": 0.0,
                                       "ERROR": 0.0}
    assert sites["siteB"]["folders"] == 3
    assert sites["siteB"]["verdicts"] == {"PASS": 1, "FAIL": 0, "INCOMPLETE": 1, "ERROR": 1}
    assert sites["siteA"]["patients"] == 2 and sites["siteB"]["patients"] == 2
    totals = s.totals.to_dict()
    assert totals["folders"] == 5 and totals["plan_cases"] == 5
    assert totals["patients"] == 3  # anon-1111 is at both sites
    assert s.protocols == ("medcare protocol paper (NCT04222634); rtcheck encoding 1",)
    assert [e.to_dict() for e in s.errors] == [
        {"site": "siteB", "case": ERROR_CASE, "kind": "input", "message": ERROR_MESSAGE}]


def test_constraint_statuses_per_site(out: Path) -> None:
    s = summarize(out / RESULTS_DIR)
    by_id = {c.id: c for c in s.constraints}
    cord = by_id[CORD]
    assert cord.structure == "SpinalCord" and cord.metric == "D0.035cc[Gy]"
    assert {k: v for k, v in cord.sites["siteA"].items() if v} == {"pass": 1, "fail": 1}
    assert {k: v for k, v in cord.sites["siteB"].items() if v} == {"not_evaluated": 1,
                                                                   "not_applicable": 1}
    assert set(cord.sites["siteA"]) == {"pass", "minor_deviation", "fail", "not_evaluated",
                                        "pending", "info", "not_applicable"}
    assert by_id["sbrt.rx_bed"].sites["siteB"]["pass"] == 2
    assert by_id["required.Bowel"].sites == {"siteB": {
        "pass": 1, "minor_deviation": 0, "fail": 0, "not_evaluated": 0, "pending": 0,
        "info": 0, "not_applicable": 0}}  # only the pelvic plan requires Bowel


def _dist(s: Any, key: str) -> dict[str, dict[str, Any]]:
    (m,) = [m for m in s.metrics if m.key == key]
    return {d.site: d.to_dict() for d in m.sites}


def test_key_metrics_and_outliers(out: Path) -> None:
    s = summarize(out / RESULTS_DIR)
    assert [(m.key, m.label) for m in s.metrics] == [
        ("cord", "SpinalCord D0.035cc[Gy]"), ("coverage", "PTV D90%[Gy]"),
        ("bed", "BED (alpha/beta 3 Gy)"), ("gap", "fraction gap")]
    cord = _dist(s, "cord")
    assert list(cord) == ["siteA"]  # siteB: pelvis has no cord, the grid misses the cord
    assert [(p["case"], p["value"], p["limits"], p["beyond_limit"])
            for p in cord["siteA"]["points"]] == [
        ("siteA/spine_sbrt", 15.4916, [["<=", 21.9]], False),
        ("siteA/spine_cord_overdose", 23.6149, [["<=", 21.9]], True)]
    assert cord["siteA"]["median"] == round((15.4916 + 23.6149) / 2, 4)
    assert cord["siteA"]["iqr_fences"] is None  # fewer than 4 values
    coverage = _dist(s, "coverage")
    assert [p["value"] for p in coverage["siteB"]["points"]] == [30.5958, 30.7956]
    assert coverage["siteB"]["limits"] == [[">=", 30.0]]
    assert [p["value"] for p in _dist(s, "bed")["siteA"]["points"]] == [130.0, 130.0]
    gaps = _dist(s, "gap")["siteA"]
    assert gaps["n"] == 4 and gaps["limits"] == [[">=", 48.0], ["<", 72.0]]
    assert [(p["case"], p["note"], p["value"]) for p in gaps["points"]][:2] == [
        ("siteA/spine_cord_overdose", "2→3", 48.15), ("siteA/spine_sbrt", "2→3", 48.15)]
    assert [o.to_dict() for o in s.outliers] == [
        {"key": "cord", "label": "SpinalCord D0.035cc[Gy]", "site": "siteA",
         "case": "siteA/spine_cord_overdose", "note": "", "value": 23.6149, "unit": "Gy",
         "limits": [["<=", 21.9]], "reasons": ["beyond the limit"]}]


def test_iqr_outliers_need_four_values_and_use_linear_quartiles(tmp_path: Path) -> None:
    recs = []
    for i, name in enumerate(["spine_sbrt", "spine_beam_doses", "spine_ptv_undercoverage",
                              "spine_consecutive_days", "spine_cord_overdose"]):
        recs.append(record("siteC", f"{i}_{name}", golden(name), 0))
    s = summarize(write_results(tmp_path, recs))
    cov = _dist(s, "coverage")["siteC"]
    values = sorted([30.7956, 30.7955, 28.473, 30.7956, 30.6844])
    assert [p["value"] for p in cov["points"]] == values
    q1, q3 = quantile(values, 0.25), quantile(values, 0.75)
    assert (cov["q1"], cov["q3"]) == (30.6844, 30.7956) == (q1, q3)
    # IQR 0.1112 is below its floor, 1 % of the median 30.7955 (0.308): the floor is used
    assert cov["iqr_floor"] == 0.308
    assert cov["iqr_fences"] == [round(q1 - 1.5 * 0.308, 4), round(q3 + 1.5 * 0.308, 4)] == [
        30.2224, 31.2576]
    flagged = [(p["case"], p["beyond_limit"], p["iqr_outlier"]) for p in cov["points"]
               if p["beyond_limit"] or p["iqr_outlier"]]
    assert flagged == [("siteC/2_spine_ptv_undercoverage", True, True)]
    (o,) = [o for o in s.outliers if o.key == "coverage"]
    assert o.reasons == ("beyond the limit", "beyond 1.5 IQR")
    gap_fails = [o.note for o in s.outliers if o.key == "gap"]
    assert gap_fails == ["1→2", "2→3"]  # the consecutive-days plan: 24 h gaps


def test_unmatched_structures(out: Path) -> None:
    s = summarize(out / RESULTS_DIR)
    assert [u.to_dict() for u in s.unmatched] == [
        {"site": "siteA", "structure": "SpinalCord_Sub", "count": 2,
         "reasons": ["derived structure not supplied"],
         "cases": ["siteA/spine_cord_overdose", "siteA/spine_sbrt"]},
        {"site": "siteB", "structure": "SpinalCord_Sub", "count": 1,
         "reasons": ["derived structure not supplied"],
         "cases": ["siteB/spine_grid_misses_oar"]}]


def test_unmatched_required_structure_and_structure_not_found() -> None:
    case = golden("spine_sbrt")["cases"][0]
    for check in case["checks"]:
        if check["structure"] == "SpinalCord":
            check.update(roi=None, value=None, status="not_evaluated",
                         match="SpinalCord: no ROI matched (tried exact, alias file, TG-263 "
                               "normalisation)")
    case["findings"].append({"code": "STRUCTURE_NOT_FOUND", "severity": "ERROR",
                             "message": "no target named 'PTV2'", "path": None,
                             "subject": "PTV2"})
    from rtcheck.audit.summary_metrics import unmatched_structures

    assert unmatched_structures(case) == {"SpinalCord": {"not found"},
                                          "SpinalCord_Sub": {"derived structure not supplied"},
                                          "PTV2": {"not found"}}
    assert "cord" not in {p.key for p in case_points(case)}


def _csv(out: Path) -> list[dict[str, str]]:
    text = (out / "summary.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_rows_and_columns(out: Path) -> None:
    write_summary_csv(out / RESULTS_DIR, out / "summary.csv")
    text = (out / "summary.csv").read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    fixed = len(CSV_FIXED)
    assert tuple(header[:fixed]) == CSV_FIXED and CSV_FIXED[-1] == "dvh_geometry"
    ids: dict[str, None] = {}  # first-seen order over the files in name order
    for path in sorted((out / RESULTS_DIR).glob("*.json")):
        report = json.loads(path.read_text(encoding="utf-8"))["report"] or {"cases": []}
        for case in report["cases"]:
            ids.update((c["id"], None) for c in case["checks"])
    assert header[fixed:] == [f"{i} {part}" for i in ids for part in ("value", "status")]
    rows = {r["case"]: r for r in _csv(out)}
    assert list(rows) == sorted(rows)  # file-name order = case-key order here
    overdose = rows["siteA/spine_cord_overdose"]
    assert (overdose["site"], overdose["patient_key"], overdose["plan_label"],
            overdose["verdict"], overdose["error"]) == (
        "siteA", "anon-2222222222222222", "T9_SBRT", "FAIL", "")
    assert (overdose[f"{CORD} value"], overdose[f"{CORD} status"]) == ("23.6149", "fail")
    assert (overdose["sbrt.ptv_coverage value"], overdose["sbrt.rx_bed value"]) == (
        "30.6844", "130.0")
    pelvis = rows["siteB/pelvic_node_sbrt"]
    assert (pelvis[f"{CORD} value"], pelvis[f"{CORD} status"]) == ("", "not_applicable")
    assert pelvis["tg101.row21.D0.035cc[Gy]:Bowel value"] == "17.1298"
    grid = rows["siteB/spine_grid_misses_oar"]
    assert (grid[f"{CORD} value"], grid[f"{CORD} status"], grid["verdict"]) == (
        "", "not_evaluated", "INCOMPLETE")
    assert {r["dvh_geometry"] for k, r in rows.items() if k != ERROR_CASE} == {"stacked"}
    broken = rows[ERROR_CASE]
    assert (broken["verdict"], broken["error"], broken["patient_key"],
            broken["dvh_geometry"]) == ("ERROR", ERROR_MESSAGE, "", "")
    assert all(v == "" for k, v in broken.items() if k.endswith((" value", " status")))
    assert len(rows) == 5


def test_several_plan_cases_and_a_folder_without_one(tmp_path: Path) -> None:
    both = golden("spine_sbrt")
    both["cases"].append(golden("pelvic_node_sbrt")["cases"][0])
    empty = golden("spine_sbrt")
    empty["cases"] = []
    results = write_results(tmp_path, [
        record("siteA", "two", both, 0, {"T9_SBRT": "anon-a", "LN_ILIAC_SBRT": "anon-b"}),
        record("siteA", "none", empty, 0)])
    s = summarize(results)
    assert s.sites[0].verdicts == {"PASS": 2, "FAIL": 0, "INCOMPLETE": 1, "ERROR": 0}
    assert s.sites[0].folders == 2 and s.sites[0].patients == 2
    cord = _dist(s, "cord")["siteA"]
    assert [p["case"] for p in cord["points"]] == ["siteA/two [T9_SBRT]"]
    write_summary_csv(results, tmp_path / "summary.csv")
    rows = [(r["case"], r["plan_label"], r["patient_key"], r["verdict"], r["error"])
            for r in _csv(tmp_path)]
    assert rows == [("siteA/none", "", "", "INCOMPLETE", "no plan case found"),
                    ("siteA/two", "T9_SBRT", "anon-a", "PASS", ""),
                    ("siteA/two", "LN_ILIAC_SBRT", "anon-b", "PASS", "")]


def test_an_empty_or_unreadable_results_folder(tmp_path: Path) -> None:
    results = tmp_path / RESULTS_DIR
    results.mkdir()
    (results / "old.json").write_text('{"audit": {"schema_version": "0.1"}}', encoding="utf-8")
    s = write_summary(tmp_path)
    assert s.sites == () and s.metrics == () and s.unreadable == 1
    assert s.totals.plan_cases == 0
    assert (tmp_path / "summary.csv").read_text(encoding="utf-8") == ",".join(CSV_FIXED) + "\n"
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert 'class="badge v-INCOMPLETE"' in html and "1 result file(s) not readable" in html


def test_gap_window_is_read_from_the_spacing_metric() -> None:
    case = golden("spine_sbrt")["cases"][0]
    assert gap_window(case) == ((">=", 48.0), ("<", 72.0))
    for check in case["checks"]:
        if check["kind"] == "fraction_spacing":
            check["metric"] = "shortest gap (24 h < gap ≤ inf h)"
    assert gap_window(case) == ((">", 24.0),)


def test_outputs_are_deterministic_and_hold_no_run_time(tmp_path: Path) -> None:
    first = tmp_path / "first"
    write_results(first, records(stamp=0))
    second = tmp_path / "second"
    write_results(second, list(reversed(records(stamp=7))))  # other order, other times
    a, b = write_summary(first), write_summary(second)
    assert a == b
    for name in ("summary.csv", "summary.json", "summary.html"):
        data = (first / name).read_bytes()
        assert data == (second / name).read_bytes(), name
        text = data.decode("utf-8")
        for stamp in (0, 7):
            assert f"2031-05-{10 + stamp:02d}" not in text, name
            assert f"{9876.125 + stamp}" not in text, name
        assert "fixtures/spine_sbrt/RD.dcm" not in text  # no provenance input path
        assert "<created_utc>" not in text
    doc = json.loads((first / "summary.json").read_text(encoding="utf-8"))
    assert doc == a.to_dict()
    assert not [p for p in first.glob(".*.tmp")]


class _Tables(HTMLParser):
    """Cell texts of every table row, by table class; attributes of each row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict[str, str | None], list[str]]]] = {}
        self._stack: list[str] = []
        self._row: list[str] | None = None
        self._in_cell = 0
        self.svgs = 0
        self.texts: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._stack.append(a.get("class") or "")
            self.tables.setdefault(self._stack[-1], [])
        elif tag == "tr" and self._stack:
            self._row = []
            self.tables[self._stack[-1]].append((a, self._row))
        elif tag in ("td", "th") and self._row is not None:
            self._row.append("")
            self._in_cell += 1
        elif tag == "svg":
            self.svgs += 1
        for name in ("src", "href"):
            if a.get(name):
                self.external.append(str(a[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._stack.pop()
            self._row = None
        elif tag in ("td", "th") and self._in_cell:
            self._in_cell -= 1

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._row is not None and self._in_cell:
            self._row[-1] += data


def _page(out: Path) -> _Tables:
    write_summary(out)
    parser = _Tables()
    parser.feed((out / "summary.html").read_text(encoding="utf-8"))
    return parser


def test_html_tables_hold_the_numbers(out: Path) -> None:
    page = _page(out)
    sites = {a.get("data-site"): cells for a, cells in page.tables["sites"] if a.get("data-site")}
    assert sites["siteA"][:8] == ["siteA", "2", "2", "2", "1 (50.0 %)", "1 (50.0 %)", "0", "0"]
    assert sites["siteB"][:8] == ["siteB", "3", "2", "3", "1 (33.3 %)", "0", "1 (33.3 %)",
                                  "1 (33.3 %)"]
    assert sites["all sites"][:4] == ["all sites", "5", "3", "5"]
    cord_rows = [(a.get("data-site"), cells) for a, cells in page.tables["constraints"]
                 if a.get("data-check") == CORD]
    assert cord_rows[0][0] == "siteA" and cord_rows[0][1][2:6] == [
        "siteA", "2", "1 (50.0 %)", "0"]  # Checks, FAIL, NOT EVALUATED
    assert cord_rows[1][0] == "siteB" and cord_rows[1][1][:4] == [
        "siteB", "2", "0", "1 (50.0 %)"]
    stats = [cells for a, cells in page.tables["stats"] if a.get("data-site") == "siteA"]
    assert stats[0] == ["siteA", "2", "15.49", "17.52", "19.55", "21.58", "23.61",
                        "≤ 21.9 Gy", "— (n < 4)", "1", "0"]
    heads = [cells for a, cells in page.tables["stats"] if not a.get("data-site")]
    assert heads[0][2:9] == ["min (Gy)", "Q1 (Gy)", "median (Gy)", "Q3 (Gy)", "max (Gy)",
                             "Limit(s)", "Tukey fences"]
    assert heads[3][2] == "min (h)"
    outliers = [cells for _, cells in page.tables["outliers"]][1:]
    assert outliers == [["SpinalCord D0.035cc[Gy]", "siteA", "siteA/spine_cord_overdose",
                         "23.61 Gy", "≤ 21.9 Gy", "beyond the limit"]]
    unmatched = [cells for _, cells in page.tables["unmatched"]][1:]
    assert [c[:3] for c in unmatched] == [["siteA", "SpinalCord_Sub", "2"],
                                          ["siteB", "SpinalCord_Sub", "1"]]
    errors = [cells for _, cells in page.tables["errors"]][1:]
    assert errors == [["siteB", ERROR_CASE, "input", ERROR_MESSAGE]]
    assert page.svgs == 2 + 1 + 1 + 4  # a bar per site and the total, legend, 4 plots
    assert "spine_cord_overdose" in page.texts  # the outlier's label in its band
    assert "limit ≤ 21.9 Gy" in page.texts  # each limit labelled once, with its unit
    assert page.external == []


def test_html_escapes_every_string(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    report = golden("spine_cord_overdose")
    report["cases"][0]["checks"][0]["title"] = evil
    results = write_results(tmp_path, [record(f"site{evil}", "x", report, 0),
                                       record("s", f"y{evil}", None, 0)])
    text = render_summary_html(summarize(results))
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_screenshot_shows_tables_bars_and_plots(out: Path, tmp_path: Path) -> None:
    write_summary(out)
    rgb = screenshot_rgb(out / "summary.html", tmp_path, 1280, 2400)
    colours = {tuple(p) for p in rgb[::4, ::4].reshape(-1, 3).tolist()}
    assert len(colours) > 100, f"only {len(colours)} distinct colours: blank page?"
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    green = (r < 80) & (g > 100) & (b < 80)  # PASS bars
    red = (r > 170) & (g < 80) & (b < 80)  # FAIL bars, limit lines
    purple = (abs(r - 0x5E) < 12) & (abs(g - 0x35) < 12) & (abs(b - 0xB1) < 12)  # ERROR bar
    assert green[:700].sum() > 300 and red[:700].sum() > 300 and purple[:700].sum() > 100
    # the cases needing attention, below the verdicts table: a FAIL, an ERROR and an
    # INCOMPLETE badge in the Verdict column
    badges = rgb[350:900, :200]
    r, g, b = badges[..., 0], badges[..., 1], badges[..., 2]
    orange = (r > 220) & (abs(g - 0x8F) < 20) & (b < 40)
    assert ((r > 170) & (g < 80) & (b < 80)).sum() > 300, "no FAIL badge in the list"
    assert ((abs(r - 0x5E) < 12) & (abs(g - 0x35) < 12) & (abs(b - 0xB1) < 12)).sum() > 300
    assert orange.sum() > 300, "no INCOMPLETE badge in the list"
    white_rows = (rgb.min(axis=2) > 250).all(axis=1)
    assert white_rows.mean() < 0.5


def _reason(status: str, cid: str, structure: str | None, metric: str | None,
            value: float | None, comparison: str | None, limit: float | None,
            code: str | None = None, message: str | None = None,
            unit: str | None = "Gy") -> dict[str, Any]:
    return {"status": status, "id": cid, "structure": structure, "metric": metric,
            "value": value, "unit": unit, "comparison": comparison, "limit": limit,
            "code": code, "message": message}


def _grid_message(organ: str, cc: str, inside: str, low: str, limit: str) -> str:
    return (f"{organ} extends beyond the dose grid ({cc} cc, {inside} cc inside): cannot be "
            f"decided — in-grid {low} Gy and B 22.35 Gy against the limit <= {limit} Gy; "
            "extend the dose calculation volume")


def test_cases_needing_attention_in_the_json(out: Path) -> None:
    write_summary(out)
    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    grid = "STRUCTURE_OUTSIDE_DOSE_GRID"
    assert doc["cases_needing_attention"] == [
        {"verdict": "FAIL", "site": "siteA", "case": "siteA/spine_cord_overdose",
         "plan_label": "T9_SBRT", "reasons": [
             _reason("fail", "tg101.row4.D0.35cc[Gy]", "SpinalCord", "D0.35cc[Gy]", 21.5996,
                     "<=", 18.0),
             _reason("fail", CORD, "SpinalCord", "D0.035cc[Gy]", 23.6149, "<=", 21.9),
             _reason("fail", "tg101.row5.D1.2cc[Gy]", "SpinalCord", "D1.2cc[Gy]", 19.5233,
                     "<=", 12.3)]},
        {"verdict": "ERROR", "site": "siteB", "case": ERROR_CASE, "plan_label": "",
         "reasons": [_reason("error", "input", None, None, None, None, None,
                             message=ERROR_MESSAGE, unit=None)]},
        {"verdict": "INCOMPLETE", "site": "siteB", "case": "siteB/spine_grid_misses_oar",
         "plan_label": "T9_SBRT", "reasons": [  # the optional SpinalCord_Sub rows left out
             _reason("not_evaluated", "tg101.row4.D0.35cc[Gy]", "SpinalCord", "D0.35cc[Gy]",
                     None, "<=", 18.0, grid,
                     _grid_message("SpinalCord", "4.488", "2.927", "12.88", "18")),
             _reason("not_evaluated", CORD, "SpinalCord", "D0.035cc[Gy]", None, "<=", 21.9,
                     grid, _grid_message("SpinalCord", "4.488", "2.927", "15.49", "21.9")),
             _reason("not_evaluated", "tg101.row5.D1.2cc[Gy]", "SpinalCord", "D1.2cc[Gy]",
                     None, "<=", 12.3, grid,
                     _grid_message("SpinalCord", "4.488", "2.927", "10.18", "12.3")),
             _reason("not_evaluated", "tg101.row9.D5cc[Gy]", "Esophagus", "D5cc[Gy]", None,
                     "<=", 17.7, grid,
                     _grid_message("Esophagus", "11.31", "7.375", "8.381", "17.7"))]}]


def test_attention_order_blocked_input_no_case_and_a_check_without_limit(
        tmp_path: Path) -> None:
    blocked = golden("spine_sbrt")
    case = blocked["cases"][0]
    case.update(verdict="INCOMPLETE", input_blocked=True)
    case["findings"].append({"code": "DOSE_NOT_PLAN_SUM", "severity": "ERROR",
                             "message": "two RTDOSE, no sum", "path": None, "subject": None})
    empty = golden("spine_sbrt")
    empty["cases"] = []
    recs = [record("siteB", "days", golden("spine_consecutive_days"), 0),
            record("siteA", "blocked", blocked, 0), record("siteA", "none", empty, 0),
            record("siteA", "cov", golden("spine_ptv_undercoverage"), 0),
            record("siteA", "zz_broken", None, 0), record("siteA", "ok", golden("spine_sbrt"), 0)]
    s = summarize(write_results(tmp_path, recs))
    assert [(c.verdict, c.case) for c in s.attention] == [
        ("FAIL", "siteA/cov"), ("FAIL", "siteB/days"), ("ERROR", "siteA/zz_broken"),
        ("INCOMPLETE", "siteA/blocked"), ("INCOMPLETE", "siteA/none")]
    att = {c.case: c.to_dict()["reasons"] for c in s.attention}
    assert att["siteA/cov"] == [_reason("fail", "sbrt.ptv_coverage", "PTV", "D90%[Gy]",
                                        28.473, ">=", 30.0)]
    (spacing,) = att["siteB/days"]  # no limit: the check's message says why
    assert (spacing["id"], spacing["value"], spacing["unit"], spacing["metric"],
            spacing["limit"]) == ("sbrt.fraction_spacing", 24.0833, "h",
                                  "shortest gap (48 h ≤ gap < 72 h)", None)
    assert spacing["message"].startswith("2 of 2 gap(s) outside 48 h ≤ gap < 72 h")
    assert att["siteA/blocked"] == [_reason("finding", "DOSE_NOT_PLAN_SUM", None, None, None,
                                            None, None, message="two RTDOSE, no sum",
                                            unit=None)]
    assert att["siteA/none"] == [_reason("no_case", "", None, None, None, None, None,
                                         message="no plan case found", unit=None)]
    page = _Tables()
    page.feed(render_summary_html(s))
    rows = [(a.get("data-verdict"), cells[:4]) for a, cells in page.tables["attention"]][1:]
    assert rows == [("FAIL", ["FAIL", "siteA", "siteA/cov", "T9_SBRT"]),
                    ("FAIL", ["FAIL", "siteB", "siteB/days", "T9_SBRT"]),
                    ("ERROR", ["ERROR", "siteA", "siteA/zz_broken", ""]),
                    ("INCOMPLETE", ["INCOMPLETE", "siteA", "siteA/blocked", "T9_SBRT"]),
                    ("INCOMPLETE", ["INCOMPLETE", "siteA", "siteA/none", ""])]
    why = {a.get("data-case"): cells[4] for a, cells in page.tables["attention"][1:]}
    assert why["siteA/cov"] == ("FAIL sbrt.ptv_coverage PTV D90%[Gy]: 28.47 Gy "
                                "(limit ≥ 30 Gy)")
    assert why["siteA/zz_broken"] == f"ERROR input — {ERROR_MESSAGE}"
    assert why["siteA/none"] == "NO PLAN CASE — no plan case found"
    assert why["siteA/blocked"] == "INPUT DOSE_NOT_PLAN_SUM — two RTDOSE, no sum"


def test_attention_section_in_the_html_after_the_verdicts(out: Path) -> None:
    page = _page(out)
    why = {a.get("data-case"): cells for a, cells in page.tables["attention"][1:]}
    assert list(why) == ["siteA/spine_cord_overdose", ERROR_CASE,
                         "siteB/spine_grid_misses_oar"]
    assert why["siteA/spine_cord_overdose"][4] == (
        "FAIL tg101.row4.D0.35cc[Gy] SpinalCord D0.35cc[Gy]: 21.6 Gy (limit ≤ 18 Gy)"
        "FAIL tg101.row4.D0.035cc[Gy] SpinalCord D0.035cc[Gy]: 23.61 Gy (limit ≤ 21.9 Gy)"
        "FAIL tg101.row5.D1.2cc[Gy] SpinalCord D1.2cc[Gy]: 19.52 Gy (limit ≤ 12.3 Gy)")
    assert why["siteB/spine_grid_misses_oar"][4].startswith(
        "NOT EVALUATED tg101.row4.D0.35cc[Gy] SpinalCord D0.35cc[Gy] "
        "STRUCTURE_OUTSIDE_DOSE_GRID — SpinalCord extends beyond the dose grid")
    html = (out / "summary.html").read_text(encoding="utf-8")
    assert html.index("Verdicts per site") < html.index("Cases needing attention (3)") < \
        html.index("Constraints per site")


def _points(values: list[float]) -> list[tuple[str, CasePoint]]:
    return [(f"c{i}", CasePoint("cord", "SpinalCord D0.035cc[Gy]", v, "pass", ()))
            for i, v in enumerate(values)]


def test_tukey_fences_with_a_floored_iqr() -> None:
    flat = site_distribution("s", _points([10.0, 10.0, 10.0, 10.001]), "Gy")
    assert flat.iqr_floor == 0.1 and flat.fences == (9.85, 10.1502)
    assert [p.iqr_outlier for p in flat.points] == [False] * 4
    clear = site_distribution("s", _points([10.0, 10.0, 10.0, 10.001, 12.0]), "Gy")
    assert clear.fences == (9.85, 10.151)
    assert [(p.case, p.value) for p in clear.points if p.iqr_outlier] == [("c4", 12.0)]
    low = site_distribution("s", _points([20.0, 20.1, 20.2, 20.3, 20.4, 18.0]), "Gy")
    assert low.iqr_floor == 0.2015  # 1 % of the median 20.15 beats 0.1 Gy
    assert [p.value for p in low.points if p.iqr_outlier] == [18.0]
    # without a floor the IQR of 0.0 would flag the 48.2 h gap
    gaps = site_distribution("s", [(f"g{i}", CasePoint("gap", "fraction gap", v, "pass", ()))
                                   for i, v in enumerate([48.15] * 6 + [48.2])], "h")
    assert gaps.iqr_floor == 0.5 and gaps.fences == (47.4, 48.9)
    assert not any(p.iqr_outlier for p in gaps.points)
    assert (iqr_floor("%", 95.0), iqr_floor("h", 160.0), iqr_floor("Gy", 130.0),
            iqr_floor("MU", 3.0)) == pytest.approx((0.95, 1.6, 1.3, 0.03), abs=1e-12)
    assert (metric_unit("coverage", "PTV V100%[%]"), metric_unit("bed", "BED (alpha/beta 3 Gy)"),
            metric_unit("gap", "fraction gap")) == ("%", "Gy", "h")


def test_plans_of_one_folder_are_named_by_their_subfolder(tmp_path: Path) -> None:
    """Two plans with the same label in subfolders a/ and b/ of one case folder are told
    apart everywhere the summary names a plan (found by a new-user trial)."""
    both = golden("spine_cord_overdose")
    both["cases"].append(golden("spine_cord_overdose")["cases"][0])
    both["cases"][0]["folder"] = "/data/tree/siteA/two/a"
    both["cases"][1]["folder"] = "/data/tree/siteA/two/b/course1"
    results = write_results(tmp_path, [record("siteA", "two", both, 0)])
    s = summarize(results)
    assert [c.case for c in s.attention] == ["siteA/two/a [T9_SBRT]",
                                            "siteA/two/b/course1 [T9_SBRT]"]
    cord = _dist(s, "cord")["siteA"]
    assert sorted(p["case"] for p in cord["points"]) == ["siteA/two/a [T9_SBRT]",
                                                        "siteA/two/b/course1 [T9_SBRT]"]


# --- the DVH geometry model of the results -----------------------------------------------------

def smooth(report: dict[str, Any], source: str = "option") -> dict[str, Any]:
    """A golden report as if checked with ``--geometry smooth`` (or the protocol's)."""
    report = copy.deepcopy(report)
    report["provenance"]["dvh_settings"]["geometry"] = "smooth"
    report["provenance"]["options"]["geometry_source"] = source
    return report


def test_summary_names_the_model_of_the_results(out: Path) -> None:
    s = write_summary(out)
    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == "1.1"
    assert doc["dvh_geometry"] == [{"geometry": "stacked", "source": "default",
                                    "case_folders": 4}]  # the error result has no model
    assert list(doc)[:3] == ["schema_version", "protocols", "dvh_geometry"]
    assert [g.to_dict() for g in s.geometry] == doc["dvh_geometry"]
    html = (out / "summary.html").read_text(encoding="utf-8")
    facts = html.index('<p><span class="badge v-')
    line = ('<p class="geometry">DVH geometry: stacked, the default (contours extruded slab '
            "by slab, the staircase planning systems use)</p>")
    assert html.index(line) > facts and html.index(line) < html.index("<h2>")


def test_summary_of_one_model_from_the_protocol(tmp_path: Path) -> None:
    results = write_results(tmp_path, [
        record("siteA", name, smooth(golden(name), "protocol"), 0)
        for name in ("spine_sbrt", "spine_cord_overdose")])
    write_summary(tmp_path)
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert ('<p class="geometry">DVH geometry: smooth, from the protocol&#x27;s '
            "dvh.geometry (surface interpolated between contour planes; planning systems use "
            "the staircase: --geometry stacked is the model to compare with their "
            "numbers)</p>") in html
    rows = _csv(tmp_path)
    assert [r["dvh_geometry"] for r in rows] == ["smooth", "smooth"]
    assert summarize(results).to_dict()["dvh_geometry"] == [
        {"geometry": "smooth", "source": "protocol", "case_folders": 2}]


def test_a_mixed_audit_says_so_in_every_summary(tmp_path: Path) -> None:
    """Results of two models in one folder (resumed results of another model are checked
    again, but a folder may be assembled by hand): each row says which, the JSON counts
    both and the HTML warns in its line."""
    old = golden("spine_sbrt")
    del old["provenance"]["dvh_settings"]["geometry"]  # a result of schema 1.0
    del old["provenance"]["options"]["geometry_source"]
    results = write_results(tmp_path, [
        record("siteA", "spine_sbrt", golden("spine_sbrt"), 0),
        record("siteA", "overdose", smooth(golden("spine_cord_overdose")), 0),
        record("siteB", "pelvis", smooth(golden("pelvic_node_sbrt")), 0),
        record("siteB", "old", old, 0)])
    s = write_summary(tmp_path)
    assert s.to_dict()["dvh_geometry"] == [
        {"geometry": None, "source": None, "case_folders": 1},
        {"geometry": "smooth", "source": "option", "case_folders": 2},
        {"geometry": "stacked", "source": "default", "case_folders": 1}]
    assert {r["case"]: r["dvh_geometry"] for r in _csv(tmp_path)} == {
        "siteA/spine_sbrt": "stacked", "siteA/overdose": "smooth", "siteB/pelvis": "smooth",
        "siteB/old": ""}
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert ('<p class="geometry geometry-mixed">DVH geometry: SEVERAL MODELS — not recorded '
            "(a result of an older rtcheck) in 1 case folder(s); smooth, from --geometry in "
            "2 case folder(s); stacked, the default in 1 case folder(s): values of different "
            "models are not comparable; rerun the audit with --resume and one --geometry (the "
            "results of the other model are checked again)</p>") in html
    assert summarize(results) == s


def test_one_model_from_two_sources_is_no_warning(tmp_path: Path) -> None:
    write_results(tmp_path, [
        record("siteA", "a", smooth(golden("spine_sbrt"), "protocol"), 0),
        record("siteA", "b", smooth(golden("spine_cord_overdose"), "option"), 0)])
    write_summary(tmp_path)
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert ('<p class="geometry">DVH geometry: smooth (from --geometry in 1 case folder(s); '
            "from the protocol&#x27;s dvh.geometry in 1 case folder(s))</p>") in html


def test_no_model_line_without_a_checked_case(tmp_path: Path) -> None:
    write_results(tmp_path, [record("siteB", "broken", None, 0)])
    s = write_summary(tmp_path)
    assert s.geometry == () and s.to_dict()["dvh_geometry"] == []
    assert 'class="geometry' not in (tmp_path / "summary.html").read_text(encoding="utf-8")
