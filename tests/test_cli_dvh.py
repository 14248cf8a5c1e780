"""``rtcheck dvh`` end to end (click.testing.CliRunner; stdout and stderr separate)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from tests.conftest import REFDATA

ROOT = Path(__file__).parents[1]
FIXTURES = ROOT / "fixtures"
SPINE = FIXTURES / "spine_sbrt"

METRICS = ["D90%[Gy]", "V30Gy[%]", "V100%[%]", "D0.035cc[Gy]", "D2cc[Gy]", "DC1cc[Gy]",
           "CV12.4Gy[cc]", "Mean[cGy]", "D90%[Gy]@BED3"]


def run(*args: str):
    return CliRunner().invoke(cli, ["dvh", *args], catch_exceptions=False)


def metric_args(metrics=METRICS) -> list[str]:
    return [a for m in metrics for a in ("--metric", m)]


def need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not found (fixture/sample not generated or shared data absent)")


def by_name(doc: dict, name: str) -> dict:
    return next(s for s in doc["structures"] if s["name"] == name)


def test_json_on_the_spine_fixture():
    need(SPINE / "RD.dcm")
    res = run(str(SPINE), *metric_args(), "--format", "json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["settings"]["end_cap"] == "HALF_SLICE"
    assert doc["dose_space"] == "PHYSICAL" and doc["metrics"] == METRICS
    assert [s["name"] for s in doc["structures"]] == [
        "Body", "GTV", "PTV", "SpinalCord", "Esophagus"]
    ptv = by_name(doc, "PTV")
    assert set(ptv) >= {"name", "roi_number", "volume_cc", "min_gy", "mean_gy", "max_gy",
                        "metrics", "findings"}
    assert list(ptv["metrics"]) == METRICS  # keyed by the spec as given
    m = ptv["metrics"]
    assert m["V100%[%]"] == pytest.approx(m["V30Gy[%]"])  # Rx 30 Gy from the plan
    assert m["Mean[cGy]"] == pytest.approx(100 * ptv["mean_gy"], abs=1e-2)
    assert ptv["min_gy"] <= m["D90%[Gy]"] <= m["D2cc[Gy]"] <= m["D0.035cc[Gy]"] <= ptv["max_gy"]
    # BED of D90% (monotonic transform, same fractions): 30 Gy/3 fx, a/b 3
    d90 = m["D90%[Gy]"]
    assert m["D90%[Gy]@BED3"] == pytest.approx(d90 * (1 + d90 / 9), rel=1e-3)
    case = doc["cases"][0]
    assert case["prescription"]["total_gy"] == 30.0 and case["prescription"]["fractions"] == 3
    assert case["prescription"]["bed_gy"] == pytest.approx(130.0)
    assert case["prescription"]["eqd2_gy"] == pytest.approx(78.0)
    keys = {i["key"] for i in case["indices"][0]["indices"]}
    assert {"rtog_ci", "paddick_ci", "paddick_gi", "r50", "d2cm", "hi_icru83"} <= keys
    assert case["indices"][0]["target"] == "PTV"
    assert all(i["source"] for i in case["indices"][0]["indices"])
    assert "curve" not in ptv


def test_isodose_coverage_levels():
    need(SPINE / "RD.dcm")
    res = run(str(SPINE), "--structure", "PTV", "--metric", "V30Gy[%]", "--metric", "V24Gy[%]",
              "--isodose", "100", "--isodose", "80", "--format", "json")
    doc = json.loads(res.stdout)
    ind = {i["key"]: i for i in doc["cases"][0]["indices"][0]["indices"]}
    m = doc["structures"][0]["metrics"]
    # the x % isodose covers y % of the PTV: the same numbers as V(x % of 30 Gy)
    assert ind["coverage_100"]["value"] == pytest.approx(m["V30Gy[%]"], abs=1e-3)
    assert ind["coverage_80"]["value"] == pytest.approx(m["V24Gy[%]"], abs=1e-3)
    assert ind["coverage_80"]["name"] == "coverage by the 80 % isodose"


def test_curves_option():
    need(SPINE / "RD.dcm")
    res = run(str(SPINE), "--structure", "SpinalCord", "--format", "json", "--curves")
    assert res.exit_code == 0, res.stderr
    cord = json.loads(res.stdout)["structures"][0]
    dose, vol = np.array(cord["curve"]["dose_gy"]), np.array(cord["curve"]["volume_cc"])
    assert dose.size == vol.size > 2
    assert np.all(np.diff(dose) <= 1e-9) and np.all(np.diff(vol) >= 0)
    assert vol[0] == 0 and vol[-1] == pytest.approx(cord["in_grid_volume_cc"], abs=1e-4)
    assert dose[0] == pytest.approx(cord["max_gy"], abs=1e-4)


def test_text_and_csv():
    need(SPINE / "RD.dcm")
    text = run(str(SPINE), *metric_args(METRICS[:3]))
    assert text.exit_code == 0
    assert ("Case T9_SBRT  [" + str(SPINE) + "]: Rx 30 Gy / 3 fx (plan), BED 130.0 Gy "
            "(alpha/beta 3 Gy)") in text.stdout
    assert "D90%[Gy]" in text.stdout and "Paddick conformity index" in text.stdout
    assert text.stderr == ""
    res = run(str(SPINE), *metric_args(METRICS[:3]), "--format", "csv", "--no-indices")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["structure"] for r in rows] == ["Body", "GTV", "PTV", "SpinalCord", "Esophagus"]
    assert float(rows[2]["V100%[%]"]) == pytest.approx(float(rows[2]["V30Gy[%]"]))


_TEXT_FINDING = re.compile(
    r"^ *(?:INFO|WARNING|ERROR) (?P<code>[A-Z0-9_]+)(?: \((?P<subject>[^)]*)\))?: ", re.M)


def _json_findings(doc: dict) -> list[dict]:
    """Every finding of a ``dvh --format json`` document, wherever it is kept."""
    return [*doc["findings"],
            *(f for c in doc["cases"] for f in c["findings"]),
            *(f for c in doc["cases"] for i in c["indices"] for f in i["findings"]),
            *(f for s in doc["structures"] for f in s["findings"]),
            *(f for s in doc["structures"] if s["tps_comparison"]
              for f in s["tps_comparison"]["findings"])]


@pytest.mark.parametrize("folder, args", [
    ("spine_sbrt", ()),
    ("spine_beam_doses", ()),  # a case finding (DOSE_BEAMS_SUMMED)
    ("spine_grid_misses_oar", ()),  # an index finding (INDEX_ISODOSE_OUTSIDE_GRID)
    ("spine_sbrt", ("--structure", "SpinalCord")),  # the index target has no row
])
def test_every_format_carries_every_finding(folder: str, args: tuple[str, ...]) -> None:
    """Issue #8 item 7: DOSE_GRID_ABOVE_2MM, and every other finding of the text report,
    is in the CSV findings column and in the JSON; a structure's findings are in its row."""
    path = FIXTURES / folder
    need(path)
    out = {fmt: run(str(path), *args, "--format", fmt) for fmt in ("text", "csv", "json")}
    for res in out.values():
        assert res.exit_code in (0, 1), res.output  # 1: some number NOT EVALUATED
    text = {(m["code"], m["subject"]) for m in _TEXT_FINDING.finditer(out["text"].stdout)}
    assert text, out["text"].stdout
    assert len(_TEXT_FINDING.findall(out["text"].stdout)) == len(text)  # each once
    rows = {r["structure"]: r for r in csv.DictReader(io.StringIO(out["csv"].stdout))}
    row_codes = {name: set(filter(None, r["findings"].split(";"))) for name, r in rows.items()}
    doc = json.loads(out["json"].stdout)
    assert text == {(f["code"], f["subject"]) for f in _json_findings(doc)}
    assert {code for code, _ in text} == set().union(*row_codes.values())
    for s in doc["structures"]:
        assert {f["code"] for f in s["findings"]} <= row_codes[s["name"]], s["name"]
    for code, subject in text:
        if subject in rows:
            assert code in row_codes[subject], (code, subject)
    if folder == "spine_sbrt" and not args:
        assert ("DOSE_GRID_ABOVE_2MM", "PTV") in text
        assert row_codes["PTV"] == {"DOSE_GRID_ABOVE_2MM"}
        assert [f["code"] for f in by_name(doc, "PTV")["findings"]] == ["DOSE_GRID_ABOVE_2MM"]


def _every_format(path: Path, *args: str) -> tuple[set, dict[str, set[str]], set, int]:
    """The findings (code, subject) of the text and JSON reports, the finding codes of each
    CSV row, and the exit code (the same in every format)."""
    out = {fmt: run(str(path), *args, "--format", fmt) for fmt in ("text", "csv", "json")}
    (code,) = {res.exit_code for res in out.values()}
    text = {(m["code"], m["subject"]) for m in _TEXT_FINDING.finditer(out["text"].stdout)}
    rows = {r["structure"]: set(filter(None, r["findings"].split(";")))
            for r in csv.DictReader(io.StringIO(out["csv"].stdout))}
    doc = json.loads(out["json"].stdout)
    return text, rows, {(f["code"], f["subject"]) for f in _json_findings(doc)}, code


def test_a_roi_not_selected_is_in_no_format():
    """``--structure "Tumor Bed"``: the INFO ROI_WITHOUT_CONTOURS of the empty Areola
    concerns no number of the report, so it is in no CSV row, nor in the text or JSON;
    without ``--structure`` Areola has a row, which carries it."""
    breast = REFDATA / "eclipse-breast-boost"
    need(breast / "rtdose.dcm")
    text, rows, doc, code = _every_format(breast, "--structure", "Tumor Bed", "--no-indices")
    assert code == 0
    assert rows == {"Tumor Bed": {"TPS_DVH_DECLARED_INCONSISTENT"}}
    assert text == doc == {("TPS_DVH_DECLARED_INCONSISTENT", "Tumor Bed")}
    text, rows, doc, code = _every_format(breast, "--no-indices")
    assert code == 1  # the empty Areola has no numbers
    assert ("ROI_WITHOUT_CONTOURS", "Areola") in text and text == doc
    assert rows["Areola"] == {"STRUCTURE_EMPTY", "ROI_WITHOUT_CONTOURS"}
    assert [n for n, codes in rows.items() if "ROI_WITHOUT_CONTOURS" in codes] == ["Areola"]


def test_an_error_about_a_roi_not_selected_is_in_every_format(tmp_path: Path):
    """An ERROR about a ROI not selected blocks every number of the case: it stays in
    every row and in the text and JSON; an INFO about another ROI not selected does not.
    With every ROI reported, the ERROR still goes in every row (it blocks them all)."""
    need(SPINE / "RD.dcm")
    for name in ("RP.dcm", "RD.dcm", "RS.dcm"):
        (tmp_path / name).write_bytes((SPINE / name).read_bytes())
    ds = pydicom.dcmread(tmp_path / "RS.dcm")
    numbers = {r.ROIName: r.ROINumber for r in ds.StructureSetROISequence}
    for roi in ds.StructureSetROISequence:
        if roi.ROIName == "Esophagus":  # its contours can no longer be laid on the dose
            roi.ReferencedFrameOfReferenceUID = "1.2.3.4.5"
    for item in ds.ROIContourSequence:
        if item.ReferencedROINumber == numbers["GTV"]:
            del item.ContourSequence  # declared, no contours: INFO ROI_WITHOUT_CONTOURS
    ds.save_as(tmp_path / "RS.dcm")
    text, rows, doc, code = _every_format(tmp_path, "--structure", "SpinalCord",
                                          "--no-indices")
    assert code == 3  # the input has an ERROR finding
    assert rows == {"SpinalCord": {"CONTOUR_IGNORED"}}
    assert text == doc == {("CONTOUR_IGNORED", "Esophagus")}
    text, rows, doc, code = _every_format(tmp_path, "--no-indices")
    assert ("ROI_WITHOUT_CONTOURS", "GTV") in text and text == doc
    assert rows["GTV"] == {"STRUCTURE_EMPTY", "ROI_WITHOUT_CONTOURS", "CONTOUR_IGNORED"}
    assert all("CONTOUR_IGNORED" in codes for codes in rows.values()), rows


def test_structure_set_and_dose_without_plan():
    need(SPINE / "RD.dcm")
    files = [str(SPINE / "RS.dcm"), str(SPINE / "RD.dcm")]
    res = run(*files, "--structure", "PTV", *metric_args(["V100%[%]", "V30Gy[%]",
                                                           "D90%[Gy]@BED3"]), "--format", "json")
    assert res.exit_code == 1, res.stderr  # no prescription, no fractions: NOT EVALUATED
    assert "PTV: V100%[%], D90%[Gy]@BED3" in res.stderr
    doc = json.loads(res.stdout)
    ptv = doc["structures"][0]
    assert ptv["metrics"]["V100%[%]"] is None  # no plan: no prescription, never 0
    assert ptv["metrics"]["V30Gy[%]"] is not None
    details = {d["spec"]: d for d in ptv["metric_details"]}
    assert details["V100%[%]"]["status"] == "NOT_EVALUATED"
    assert "needs a prescription" in details["V100%[%]"]["message"]
    assert "number of fractions" in details["D90%[Gy]@BED3"]["message"]
    assert doc["cases"][0]["prescription"] is None
    res = run(*files, "--structure", "PTV", *metric_args(["V100%[%]", "V30Gy[%]",
                                                           "D90%[Gy]@BED3"]),
              "--rx-gy", "30", "--fractions", "3", "--format", "json")
    assert res.exit_code == 0, res.stderr
    ptv = json.loads(res.stdout)["structures"][0]
    assert ptv["metrics"]["V100%[%]"] == pytest.approx(ptv["metrics"]["V30Gy[%]"])
    assert ptv["metrics"]["D90%[Gy]@BED3"] is not None


def test_fraction_dose_without_plan_is_reported_as_stored(tmp_path):
    need(SPINE / "RD.dcm")
    ds = pydicom.dcmread(SPINE / "RD.dcm")
    ds.DoseSummationType = "FRACTION"
    ds.save_as(tmp_path / "RD_fraction.dcm")
    args = ["--structure", "SpinalCord", *metric_args(["Max[Gy]", "Max[Gy]@BED3"]),
            "--format", "json"]
    plan_doc = json.loads(run(str(SPINE / "RS.dcm"), str(SPINE / "RD.dcm"), *args).stdout)
    res = run(str(SPINE / "RS.dcm"), str(tmp_path / "RD_fraction.dcm"), *args, "--fractions", "3")
    assert res.exit_code == 1, res.stderr  # Max[Gy]@BED3 of a fraction as stored: NOT EVALUATED
    doc = json.loads(res.stdout)
    cord = doc["structures"][0]
    assert cord["max_gy"] == pytest.approx(plan_doc["structures"][0]["max_gy"])  # as stored
    codes = {f["code"] for f in doc["cases"][0]["findings"]}
    assert codes & {"DOSE_FRACTION_NOT_SCALED", "DVH_FRACTION_DOSE_AS_STORED"}
    assert cord["metrics"]["Max[Gy]@BED3"] is None
    assert "FRACTION as stored" in cord["metric_details"][1]["message"]
    # % of Rx: only with a prescription given for the stored dose
    res = run(str(SPINE / "RS.dcm"), str(tmp_path / "RD_fraction.dcm"), "--structure", "PTV",
              "--metric", "V100%[%]", "--metric", "V10Gy[%]", "--rx-gy", "10", "--format", "json")
    ptv = json.loads(res.stdout)["structures"][0]["metrics"]
    assert ptv["V100%[%]"] == pytest.approx(ptv["V10Gy[%]"])


def test_dose_space_option():
    need(SPINE / "RD.dcm")
    res = run(str(SPINE), "--structure", "PTV", *metric_args(["D90%[Gy]", "D90%[Gy]@BED3",
                                                               "D90%[Gy]@PHYS"]),
              "--dose-space", "bed", "--alpha-beta", "3", "--format", "json")
    doc = json.loads(res.stdout)
    m = doc["structures"][0]["metrics"]
    assert doc["dose_space"] == "BED"
    assert m["D90%[Gy]"] == pytest.approx(m["D90%[Gy]@BED3"])
    assert m["D90%[Gy]"] > m["D90%[Gy]@PHYS"]
    res = run(str(SPINE), "--structure", "PTV", "--metric", "D90%[Gy]", "--dose-space", "bed",
              "--alpha-beta-for", "PTV=10", "--format", "json")
    m10 = json.loads(res.stdout)["structures"][0]["metric_details"][0]
    assert m10["alpha_beta_gy"] == 10.0


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--metric", "D95"], 2, "Valid forms"),  # a bad option value: usage error
        (["--metric", "V20Gy[Gy]"], 2, "answers in [%] or [cc]"),
        (["--structure", "Nope"], 3, "none of the structures 'Nope' exists; available: Body"),
        (["--alpha-beta-for", "PTV"], 2, "NAME=ALPHA_BETA_GY"),
        (["--rx-gy", "-1"], 2, "--rx-gy must be a positive"),
    ],
)
def test_errors_have_exit_codes_and_one_line_messages(args, code, text):
    need(SPINE / "RD.dcm")
    res = run(str(SPINE), *args)
    assert res.exit_code == code
    assert text in res.stderr
    assert res.stdout == ""


def test_missing_structure_among_found_ones():
    need(SPINE / "RD.dcm")
    res = run(str(SPINE), "--structure", "PTV", "--structure", "Nope", "--metric", "Max[Gy]",
              "--format", "json")
    assert res.exit_code == 1  # not every requested number was computed
    assert res.stderr == ("rtcheck: not all requested numbers were computed (NOT EVALUATED): "
                          "Nope: every number (STRUCTURE_NOT_FOUND)\n")
    nope = json.loads(res.stdout)["structures"][1]
    assert nope["name"] == "Nope" and nope["metrics"] == {"Max[Gy]": None}
    assert nope["findings"][0]["code"] == "STRUCTURE_NOT_FOUND"


def test_breast_sample_with_tps_dvhs():
    breast = REFDATA / "eclipse-breast-boost"
    need(breast / "rtdose.dcm")
    res = run(str(breast), "--structure", "Tumor Bed", "--structure", "Areola",
              "--metric", "D90%[Gy]", "--format", "json")
    assert res.exit_code == 1, res.stderr  # the empty Areola has no numbers
    assert "Areola: every number (STRUCTURE_EMPTY)" in res.stderr
    doc = json.loads(res.stdout)
    tb, areola = doc["structures"]
    assert tb["tps_comparison"]["tps"]["volume_cc"] == pytest.approx(12.8092, abs=1e-4)
    assert tb["tps_comparison"]["tps"]["mean_gy"] == pytest.approx(14.2858, abs=1e-4)
    assert abs(tb["tps_comparison"]["delta"]["mean_gy"]) < 0.05
    assert tb["metrics"]["D90%[Gy]"] == pytest.approx(14.17, abs=0.05)
    # the empty ROI: defined NOT EVALUATED, never 0 Gy
    assert areola["metrics"]["D90%[Gy]"] is None and areola["max_gy"] is None
    assert areola["findings"][0]["code"] == "STRUCTURE_EMPTY"


def _samples() -> list[Path]:
    found = [d for d in sorted(FIXTURES.iterdir()) if d.is_dir() and any(d.rglob("*.dcm"))] \
        if FIXTURES.is_dir() else []
    if REFDATA.is_dir():
        found += [d for d in sorted(REFDATA.iterdir()) if d.is_dir()]
    return found


_NOT_EVALUATED = "rtcheck: not all requested numbers were computed (NOT EVALUATED): "
#: the one outcome of each sample under the README's exit-code rule (0 every number computed,
#: 1 some NOT EVALUATED and named on stderr, 3 unusable input): (exit code, stderr)
SAMPLE_OUTCOMES = {
    "pelvic_node_sbrt": (0, ""),
    "spine_beam_doses": (0, ""),
    "spine_consecutive_days": (0, ""),
    "spine_cord_overdose": (0, ""),
    "spine_grid_misses_oar": (1, _NOT_EVALUATED + "; ".join(
        f"{name}: every number (STRUCTURE_OUTSIDE_DOSE_GRID)"
        for name in ("Body", "SpinalCord", "Esophagus")) + "\n"),
    "spine_ptv_undercoverage": (0, ""),
    "spine_sbrt": (0, ""),
    "eclipse-breast-boost": (1, _NOT_EVALUATED + "Areola: every number (STRUCTURE_EMPTY)\n"),
    "eclipse-prostate-phantom-nodose": (
        3, "rtcheck: error: no case has both an RTDOSE and an RTSTRUCT: nothing to compute (1 "
           "case(s) found); give a plan folder or an RTSTRUCT and an RTDOSE\n"),
    # no prescription: V100%[%] has no reference dose
    "proton-phantom-ramp": (1, _NOT_EVALUATED + "Cube101010: V100%[%]; Slope101004: V100%[%]; "
                            "External: V100%[%]; PMMA: V100%[%]; LoPo: every number "
                            "(STRUCTURE_IS_POINT)\n"),
}


@pytest.mark.parametrize("folder", _samples(), ids=lambda p: p.name)
def test_every_fixture_and_sample(folder):
    res = run(str(folder), "--metric", "D95%[Gy]", "--metric", "V100%[%]", "--format", "json")
    assert folder.name in SAMPLE_OUTCOMES, f"add the outcome of {folder.name} to SAMPLE_OUTCOMES"
    assert (res.exit_code, res.stderr) == SAMPLE_OUTCOMES[folder.name]  # never internal error
    if res.exit_code == 3:
        assert res.stderr.startswith("rtcheck: error:") and res.stdout == ""
        return
    doc = json.loads(res.stdout)
    values = []
    for s in doc["structures"]:
        for d in s["metric_details"]:
            assert (d["value"] is None) == (d["status"] == "NOT_EVALUATED")
            values.append(d["value"])
            if d["value"] is None:
                assert d["message"]
    # exit 0 means every requested number was computed; 1 names what was not
    assert (res.exit_code == 1) == (None in values), res.stderr
    assert (res.exit_code == 1) == res.stderr.startswith(
        "rtcheck: not all requested numbers were computed"), res.stderr


def test_structure_partly_outside_the_grid_is_not_evaluated():
    """The report layer: a DVH of only the in-grid part never passes as a value."""
    from rtcheck.dose.metric_spec import parse_metrics
    from rtcheck.report.dvh_report import build_dvh_report, render_csv, render_text
    from tests.box_cases import box, load_of, uniform_grid

    result = load_of(("mem", uniform_grid(), (box(1, "Inside"), box(2, "HalfOut", 10.0))))
    report = build_dvh_report(result, specs=parse_metrics(["Max[Gy]", "V5Gy[%]"]))
    ok, part = report.structures
    assert [m.value for m in ok.metrics] == [pytest.approx(10.0), pytest.approx(100.0)]
    assert all(m.value is None for m in part.metrics)
    assert "outside the dose grid" in part.metrics[0].message
    # the in-grid part bounds Max from below; B (uniform 10 Gy on the faces) from above
    assert part.metrics[0].lower_bound == pytest.approx(10.0)
    assert part.metrics[0].upper_bound == pytest.approx(10.0)
    assert part.metrics[1].lower_bound is None  # a % volume metric has no bound
    assert any(f.code == "STRUCTURE_OUTSIDE_DOSE_GRID" for f in part.findings)
    assert "NOT EVALUATED HalfOut Max[Gy]" in render_text(report)
    assert render_csv(report).splitlines()[2].startswith("mem,HalfOut,2,")


def test_csv_keeps_the_findings_of_a_case_without_dvh() -> None:
    """A case with structures but no dose has no structure row: one row carries its findings."""
    from rtcheck.report.dvh_report import build_dvh_report, render_csv
    from tests.box_cases import box, load_of, uniform_grid

    result = load_of(("dosed", uniform_grid(), (box(1, "Box"),)),
                     ("undosed", None, (box(1, "Box"),)))
    rows = list(csv.DictReader(io.StringIO(render_csv(build_dvh_report(result)))))
    assert [(r["case"], r["structure"]) for r in rows] == [("dosed", "Box"), ("undosed", "")]
    assert rows[1]["findings"] == "DVH_NOT_COMPUTED" and rows[1]["volume_cc"] == ""
    assert [r["dvh_geometry"] for r in rows] == ["stacked", "stacked"]


@pytest.mark.parametrize("geometry", ["stacked", "smooth"])
def test_csv_rows_name_the_geometry_model(geometry: str) -> None:
    """Every dvh CSV row says which DVH geometry model produced its numbers (last column)."""
    res = run(str(SPINE), "--metric", "D95%[Gy]", "--format", "csv", "--no-indices",
              "--geometry", geometry)
    assert res.exit_code == 0, res.stderr
    header, *lines = res.stdout.splitlines()
    assert header.split(",")[-2:] == ["findings", "dvh_geometry"]
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == len(lines) == 5
    assert {r["dvh_geometry"] for r in rows} == {geometry}


def test_partial_structure_statistics_are_not_evaluated_in_text() -> None:
    """Min/mean/max of a structure only partly inside the dose grid are never printed bare."""
    result = run(str(FIXTURES / "spine_grid_misses_oar"), "--structure", "SpinalCord",
                 "--structure", "PTV", "--no-indices")
    assert result.exit_code == 1, result.stderr  # the cord's numbers are NOT EVALUATED
    assert "SpinalCord: every number (STRUCTURE_OUTSIDE_DOSE_GRID)" in result.stderr
    lines = result.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines if line[:3] in ("Spi", "PTV")}
    assert rows["SpinalCord"].count("NOT EVALUATED") == 3
    assert "NOT EVALUATED" not in rows["PTV"]
    assert "NOT EVALUATED: SpinalCord lie(s) partly outside the dose grid" in result.stdout


def test_case_level_error_blocks_every_metric_and_exits_3(tmp_path: Path) -> None:
    """A plan in another frame of reference: nothing is a result, even with a DVH at hand."""
    import shutil

    folder = tmp_path / "case"
    shutil.copytree(SPINE, folder)
    plan = pydicom.dcmread(folder / "RP.dcm")
    plan.FrameOfReferenceUID = "1.2.3.4"
    plan.save_as(folder / "RP.dcm")
    res = run(str(folder), "--structure", "SpinalCord", "--structure", "PTV",
              "--metric", "D0.035cc[Gy]", "--metric", "V100%[%]", "--format", "json")
    assert res.exit_code == 3
    assert res.stderr.strip().startswith("rtcheck: error: the input has")
    assert "FOR_MISMATCH" in res.stderr
    doc = json.loads(res.stdout)
    for s in doc["structures"]:
        assert s["complete"] is False and s["blocked_by"] == ["FOR_MISMATCH"]
        assert set(s["metrics"].values()) == {None}
        assert all(d["message"].startswith("FOR_MISMATCH") for d in s["metric_details"])
    codes = {f["code"] for c in doc["cases"] for f in c["findings"]}
    assert "INDICES_NOT_EVALUATED" in codes
    text = run(str(folder), "--structure", "SpinalCord", "--no-indices")
    assert text.exit_code == 3
    cord = next(line for line in text.stdout.splitlines() if line.startswith("SpinalCord"))
    assert cord.count("NOT EVALUATED") == 3
