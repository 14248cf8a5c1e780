"""``--geometry stacked|smooth`` (issue #12): the option of ``check``, ``dvh``, ``audit`` and
``regress``, the protocol's ``dvh.geometry``, their precedence (option > protocol >
stacked), the model recorded in every result (JSON, text, HTML) and which of the three
chose it (``provenance.options.geometry_source``, the text line, the JUnit properties).

The tests assert which model was *used and recorded*, never that the two models give
equal or different numbers (that is the engine's business, tested with the engine).
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html import escape
from pathlib import Path

import pytest

from rtcheck.cli.options import GEOMETRY_CHOICES
from rtcheck.dose.settings import DvhSettings, Geometry
from rtcheck.errors import ConfigError, UsageError
from rtcheck.report.geometry_text import geometry_line
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.protocol import constraints_dir, load_protocol
from rtcheck.rules.setup import effective_geometry, geometry_source, prepare_check
from tests.check_helpers import fixture, medcare, run
from tests.conftest import refdata_case

STACKED_LINE = ("DVH geometry: stacked (contours extruded slab by slab, the staircase "
                "planning systems use)")
SMOOTH_LINE = ("DVH geometry: smooth (surface interpolated between contour planes; planning "
               "systems use the staircase: --geometry stacked is the model to compare with their "
               "numbers)")
#: the line of ``rtcheck check``, which names where the model came from
STACKED_DEFAULT = ("DVH geometry: stacked, the default (contours extruded slab by slab, the "
                   "staircase planning systems use)")
STACKED_OPTION = ("DVH geometry: stacked, from --geometry (contours extruded slab by slab, the "
                  "staircase planning systems use)")
SMOOTH_OPTION = ("DVH geometry: smooth, from --geometry (surface interpolated between contour "
                 "planes; planning systems use the staircase: --geometry stacked is the model "
                 "to compare with their numbers)")
SMOOTH_PROTOCOL = ("DVH geometry: smooth, from the protocol's dvh.geometry (surface "
                   "interpolated between contour planes; planning systems use the staircase: "
                   "--geometry stacked is the model to compare with their numbers)")


def protocol_with(folder: Path, dvh: str | None, name: str = "site.yaml") -> Path:
    """A copy of medcare.yaml with ``dvh`` inserted as a top-level line (its tg101.yaml is
    found in constraints/)."""
    text = (constraints_dir() / "medcare.yaml").read_text(encoding="utf-8")
    if dvh is not None:
        text = text.replace("\noar_priority:", f"\n{dvh}\noar_priority:", 1)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def smooth_protocol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return protocol_with(tmp_path_factory.mktemp("smooth"), "dvh: {geometry: smooth}")


def check_json(*args: str | Path) -> dict:
    res = run("check", fixture("spine_sbrt"), "--format", "json", *args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


# --- the option -------------------------------------------------------------------------

def test_option_choices_are_the_engine_models() -> None:
    assert GEOMETRY_CHOICES == tuple(g.value for g in Geometry) == ("stacked", "smooth")


@pytest.mark.parametrize("command", ["check", "dvh", "audit", "regress"])
def test_every_dvh_command_has_the_option_with_its_help(command: str) -> None:
    res = run(command, "--help")
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    assert "--geometry [stacked|smooth]" in text
    assert "stacked = each contour extruded over its slab" in text
    assert "the one to compare with TPS numbers" in text
    if command == "dvh":  # reads no protocol: its default is stacked, whatever a protocol says
        assert ("[default: stacked; rtcheck dvh reads no protocol, so a protocol's "
                "dvh.geometry does not apply]") in text
    else:
        assert "[default: the protocol's dvh.geometry, else stacked]" in text


@pytest.mark.parametrize("command", ["check", "dvh"])
def test_unknown_model_is_a_usage_error(command: str) -> None:
    res = run(command, fixture("spine_sbrt"), "--geometry", "smoth")
    assert res.exit_code == 2
    assert "Invalid value for '--geometry': 'smoth' is not one of 'stacked', 'smooth'." \
        in res.stderr
    assert res.stdout == ""


def test_effective_geometry_precedence() -> None:
    stacked = medcare()
    smooth = replace(stacked, dvh_geometry="smooth")
    assert stacked.dvh_geometry is None
    assert effective_geometry(None, stacked) is Geometry.STACKED  # the default
    assert effective_geometry(None, smooth) is Geometry.SMOOTH  # the protocol's
    assert effective_geometry("stacked", smooth) is Geometry.STACKED  # the option wins
    assert effective_geometry("smooth", stacked) is Geometry.SMOOTH
    with pytest.raises(UsageError, match=r"^--geometry 'round': give one of stacked, smooth$"):
        effective_geometry("round", stacked)


def test_prepare_check_precedence(smooth_protocol: Path) -> None:
    folder = [str(fixture("spine_sbrt"))]

    def used(**kw: object) -> Geometry:
        return prepare_check(folder, **kw).options.settings.geometry  # type: ignore[arg-type]

    assert used() is Geometry.STACKED  # rtcheck.yaml names medcare: no dvh.geometry
    assert used(geometry="smooth") is Geometry.SMOOTH
    assert used(protocol=str(smooth_protocol)) is Geometry.SMOOTH
    assert used(protocol=str(smooth_protocol), geometry="stacked") is Geometry.STACKED
    assert used(protocol=load_protocol(smooth_protocol)) is Geometry.SMOOTH  # as the audit
    assert used(protocol=str(smooth_protocol), end_cap="none") is Geometry.SMOOTH


# --- the protocol key ---------------------------------------------------------------------

@pytest.mark.parametrize("dvh, geometry", [("dvh: {geometry: smooth}", "smooth"),
                                           ("dvh: {geometry: stacked}", "stacked"),
                                           ("dvh: {}", None), (None, None)])
def test_protocol_key_is_read(tmp_path: Path, dvh: str | None, geometry: str | None) -> None:
    assert load_protocol(protocol_with(tmp_path, dvh)).dvh_geometry == geometry


@pytest.mark.parametrize("dvh, field, message", [
    ("dvh: {geometry: smoth}", "dvh.geometry",
     "'smoth' is not one of 'stacked', 'smooth'; did you mean 'smooth'?"),
    ("dvh: {geometry: Stacked}", "dvh.geometry",
     "'Stacked' is not one of 'stacked', 'smooth'; did you mean 'stacked'?"),
    ("dvh: {geometrie: smooth}", "dvh.geometrie",
     "unknown key 'geometrie' (allowed: geometry); did you mean 'geometry'?"),
    ("dvh: smooth", "dvh", "expected a mapping (key: value lines), got the string 'smooth'"),
])
def test_bad_protocol_value_is_one_line_naming_file_line_and_field(
        tmp_path: Path, dvh: str, field: str, message: str) -> None:
    path = protocol_with(tmp_path, dvh)
    line = path.read_text(encoding="utf-8").splitlines().index(dvh) + 1
    expected = f"{path}:{line}: {field}: {message}"
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}$"):
        load_protocol(path)
    res = run("check", fixture("spine_sbrt"), "--protocol", path)
    assert res.exit_code == 3
    assert res.stderr == f"rtcheck: error: {expected}\n"
    assert res.stdout == ""
    res = run("constraints", "validate", path)
    assert res.exit_code == 3 and f"{expected}\n" in res.stderr


def test_constraints_show_names_the_protocol_model(smooth_protocol: Path) -> None:
    shown = run("constraints", "show", smooth_protocol).stdout
    assert "  DVH geometry: smooth (dvh.geometry; --geometry replaces it)\n" in shown
    assert "DVH geometry" not in run("constraints", "show", "medcare").stdout


# --- recorded in every result ---------------------------------------------------------------

def test_check_json_records_the_model_of_each_source(smooth_protocol: Path) -> None:
    cases = {(): "stacked", ("--geometry", "smooth"): "smooth",
             ("--protocol", str(smooth_protocol)): "smooth",
             ("--protocol", str(smooth_protocol), "--geometry", "stacked"): "stacked"}
    for args, geometry in cases.items():
        doc = check_json(*args)
        assert doc["schema_version"] == "1.1"
        settings = doc["provenance"]["dvh_settings"]
        assert settings["geometry"] == geometry, args
        assert settings["end_cap"] == "HALF_SLICE"
        assert doc["verdict"] == "PASS"


def test_check_text_html_and_json_side_files_name_the_model(tmp_path: Path) -> None:
    res = run("check", fixture("spine_sbrt"), "--geometry", "smooth", "--json",
              tmp_path / "r.json", "--html", tmp_path / "r.html")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("rtcheck check — protocol medcare")
    assert lines[1] == SMOOTH_OPTION and lines[2] == ""
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["dvh_settings"]["geometry"] == "smooth"
    assert doc["provenance"]["options"]["geometry_source"] == "option"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert re.search(r"<th>DVH settings</th><td class='mono'>[^<]*; geometry = smooth</td>",
                     html)
    assert re.search(r"<th>Options</th><td class='mono'>[^<]*; geometry_source = option</td>",
                     html)
    # the header's facts name the model and its source, in the text report's words
    fact = SMOOTH_OPTION.removeprefix("DVH geometry: ")
    assert f"<dt>DVH geometry</dt><dd>{escape(fact)}</dd>" in html
    default = run("check", fixture("spine_sbrt")).stdout.splitlines()
    assert default[1] == STACKED_DEFAULT


def test_check_result_reads_back_with_its_model() -> None:
    from rtcheck.rules.result import CheckReport

    doc = check_json("--geometry", "smooth")
    back = CheckReport.from_dict(doc)
    assert back.provenance.dvh_settings["geometry"] == "smooth"
    assert back.to_dict()["provenance"] == doc["provenance"]


def test_dvh_json_and_text_record_the_model() -> None:
    spine = fixture("spine_sbrt")
    base = ("dvh", spine, "--structure", "PTV", "--metric", "D90%[Gy]", "--no-indices")
    for args, geometry in (((), "stacked"), (("--geometry", "smooth"), "smooth"),
                           (("--geometry", "stacked"), "stacked")):
        res = run(*base, "--format", "json", *args)
        assert res.exit_code == 0, res.output
        settings = json.loads(res.stdout)["settings"]
        assert settings["geometry"] == geometry  # the plain string, not an enum's repr
        assert settings["end_cap"] == "HALF_SLICE"
        assert f'"geometry": "{geometry}"' in res.stdout
        # dvh reads no protocol: the model is the option's, else the default
        assert json.loads(res.stdout)["geometry_source"] == ("option" if args else "default")
    text = run(*base, "--geometry", "smooth").stdout.splitlines()
    assert text[0] == SMOOTH_OPTION and text[1] == ""
    assert text[2].startswith("Case T9_SBRT  [")
    assert run(*base).stdout.splitlines()[0] == STACKED_DEFAULT
    assert run(*base, "--geometry", "stacked").stdout.splitlines()[0] == STACKED_OPTION


def test_dvh_settings_serialise_as_plain_strings() -> None:
    from rtcheck.dose.bed import AlphaBetaTable
    from rtcheck.dose.metric_spec import DoseSpace
    from rtcheck.report.dvh_report import DvhReport

    settings_in = DvhSettings(geometry="smooth")  # type: ignore[arg-type]
    assert settings_in.geometry is Geometry.SMOOTH
    report = DvhReport(settings_in, DoseSpace.PHYSICAL, AlphaBetaTable(), (), ())
    settings = {k: v for k, v in report.to_dict()["settings"].items()
                if k in ("geometry", "end_cap")}
    assert settings == {"geometry": "smooth", "end_cap": "HALF_SLICE"}
    assert type(settings["geometry"]) is str


# --- where the model came from (option, protocol, default) ------------------------------------

def test_geometry_source_follows_the_precedence() -> None:
    stacked = medcare()
    smooth = replace(stacked, dvh_geometry="smooth")
    assert geometry_source(None, stacked) == "default"
    assert geometry_source(None, smooth) == "protocol"
    assert geometry_source("stacked", smooth) == "option"
    assert geometry_source("stacked", stacked) == "option"  # the default's model, chosen


def test_prepare_check_records_the_source(smooth_protocol: Path) -> None:
    folder = [str(fixture("spine_sbrt"))]

    def source(**kw: object) -> str:
        return prepare_check(folder, **kw).options.geometry_source  # type: ignore[arg-type]

    assert source() == "default"
    assert source(geometry="stacked") == "option"
    assert source(protocol=str(smooth_protocol)) == "protocol"
    assert source(protocol=load_protocol(smooth_protocol)) == "protocol"  # as the audit
    assert source(protocol=str(smooth_protocol), geometry="smooth") == "option"


def test_check_options_refuse_an_unknown_source() -> None:
    assert CheckOptions().geometry_source == "default"
    with pytest.raises(ValueError, match=r"^geometry_source 'cli': give one of 'option', "
                                         r"'protocol', 'default'$"):
        CheckOptions(geometry_source="cli")


@pytest.mark.parametrize("args, geometry, source, line", [
    ((), "stacked", "default", STACKED_DEFAULT),
    (("--geometry", "stacked"), "stacked", "option", STACKED_OPTION),
    (("--geometry", "smooth"), "smooth", "option", SMOOTH_OPTION),
    (("--protocol", "SMOOTH"), "smooth", "protocol", SMOOTH_PROTOCOL),
    (("--protocol", "SMOOTH", "--geometry", "stacked"), "stacked", "option", STACKED_OPTION),
])
def test_check_json_and_text_name_the_source(smooth_protocol: Path, args: tuple[str, ...],
                                             geometry: str, source: str, line: str) -> None:
    args = tuple(str(smooth_protocol) if a == "SMOOTH" else a for a in args)
    prov = check_json(*args)["provenance"]
    assert (prov["dvh_settings"]["geometry"], prov["options"]["geometry_source"]) == (
        geometry, source)
    res = run("check", fixture("spine_sbrt"), *args)
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[1] == line


def test_a_result_without_source_keeps_the_line_of_the_model() -> None:
    """A result written before the source was recorded (and ``rtcheck dvh``, which has no
    protocol) names the model only."""
    from rtcheck.report.check_text import render_text
    from rtcheck.rules.result import CheckReport

    doc = check_json("--geometry", "smooth")
    del doc["provenance"]["options"]["geometry_source"]
    assert render_text(CheckReport.from_dict(doc)).splitlines()[1] == SMOOTH_LINE
    assert geometry_line("stacked") == STACKED_LINE
    assert geometry_line("stacked", "elsewhere") == STACKED_LINE
    assert geometry_line("smooth", "protocol") == SMOOTH_PROTOCOL
    assert geometry_line(None, "option") is None


@pytest.mark.parametrize("args, source", [((), "default"), (("--geometry", "smooth"), "option"),
                                          (("--protocol", "SMOOTH"), "protocol")])
def test_junit_properties_name_the_source(tmp_path: Path, smooth_protocol: Path,
                                          args: tuple[str, ...], source: str) -> None:
    args = tuple(str(smooth_protocol) if a == "SMOOTH" else a for a in args)
    res = run("check", fixture("spine_sbrt"), "--junit", tmp_path / "r.xml", *args)
    assert res.exit_code == 0, res.output
    (suite,) = ET.parse(tmp_path / "r.xml").getroot().iter("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["dvh_geometry"] == ("stacked" if source == "default" else "smooth")
    assert props["dvh_geometry_source"] == source
    names = list(props)
    assert names.index("dvh_geometry_source") == names.index("dvh_geometry") + 1


# --- the check CSV ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, geometry", [((), "stacked"), (("--geometry", "smooth"), "smooth"),
                                            (("--protocol", "SMOOTH"), "smooth")])
def test_check_csv_names_the_model_in_every_row(smooth_protocol: Path, args: tuple[str, ...],
                                                geometry: str) -> None:
    from rtcheck.report.check_text import CSV_COLUMNS

    args = tuple(str(smooth_protocol) if a == "SMOOTH" else a for a in args)
    res = run("check", fixture("spine_sbrt"), "--format", "csv", *args)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert CSV_COLUMNS[-1] == "dvh_geometry" and list(rows[0]) == CSV_COLUMNS
    assert len(rows) > 10 and {r["dvh_geometry"] for r in rows} == {geometry}


def test_check_csv_of_a_result_without_a_model_leaves_the_cell_empty() -> None:
    from rtcheck.report.check_text import render_csv
    from rtcheck.rules.result import CheckReport

    doc = check_json()
    del doc["provenance"]["dvh_settings"]["geometry"]  # a result of schema 1.0
    rows = list(csv.DictReader(io.StringIO(render_csv(CheckReport.from_dict(doc)))))
    assert {r["dvh_geometry"] for r in rows} == {""}


# --- the geometry notes of the text and HTML reports ----------------------------------------

FALLBACK_MESSAGE = ("16 % of the volume is modelled as the staircase (stacked), next to "
                    "contours that are not star-shaped about their centroid, where the smooth "
                    "model cannot interpolate (its trend-closed ends still differ from the "
                    "stacked caps)")


def with_fallbacks(*subjects: str) -> object:
    """The smooth check of spine_sbrt with a ``STRUCTURE_GEOMETRY_FALLBACK`` finding per
    subject added to its case (none of the shipped fixtures falls back)."""
    from rtcheck.findings import Finding, Severity
    from rtcheck.rules.result import CheckReport

    report = CheckReport.from_dict(check_json("--geometry", "smooth"))
    (case,) = report.cases
    found = tuple(Finding("STRUCTURE_GEOMETRY_FALLBACK", Severity.INFO, FALLBACK_MESSAGE,
                          subject=s) for s in subjects)
    return replace(report, cases=(replace(case, findings=(*case.findings, *found)),))


def test_text_report_lists_the_fallbacks_of_the_checked_structures() -> None:
    from rtcheck.report.check_text import render_text

    text = render_text(with_fallbacks("SpinalCord", "Couch", "SpinalCord", "PTV"))  # type: ignore[arg-type]
    lines = text.splitlines()
    at = lines.index("DVH geometry notes")
    assert lines[at - 1] == "" and lines[at - 2].startswith("Structures: ")
    assert lines[at + 1:at + 4] == [f"  SpinalCord: {FALLBACK_MESSAGE}",
                                    f"  PTV: {FALLBACK_MESSAGE}", ""]
    assert "Couch" not in text  # a structure no check used
    assert "STRUCTURE_GEOMETRY_FALLBACK" not in text  # INFO: no finding line


def test_reports_without_a_fallback_have_no_notes() -> None:
    from rtcheck.report.check_html import render_html
    from rtcheck.report.check_text import render_text
    from rtcheck.rules.result import CheckReport

    for args in ((), ("--geometry", "smooth")):
        report = CheckReport.from_dict(check_json(*args))
        assert "DVH geometry notes" not in render_text(report)
        assert "DVH geometry notes" not in render_html(report)
    stacked = run("check", fixture("spine_sbrt")).stdout
    assert "DVH geometry notes" not in stacked


def test_html_report_lists_the_fallbacks_after_the_check_table() -> None:
    from rtcheck.report.check_html import render_html

    page = render_html(with_fallbacks("Esophagus", "Couch"))  # type: ignore[arg-type]
    at = page.index("<h3>DVH geometry notes</h3>\n")
    assert page.index('<table class="checks">') < at < page.index("<h2>Fraction gaps</h2>")
    notes = page[at:page.index("</ul>", at)]
    assert f'<li data-roi="Esophagus"><b>Esophagus</b>: {FALLBACK_MESSAGE}</li>' in notes
    assert "Couch" not in notes


def test_smooth_check_of_a_real_breast_plan_notes_the_heart() -> None:
    """The new-user trial: ``rtcheck eclipse-breast-boost --geometry smooth --site thorax``
    had the finding in its JSON only."""
    folder = refdata_case("eclipse-breast-boost")
    res = run("check", folder, "--geometry", "smooth", "--site", "thorax")
    lines = res.stdout.splitlines()
    at = lines.index("DVH geometry notes")
    assert re.fullmatch(r"  Heart: \d+ % of the volume is modelled as the staircase "
                        r"\(stacked\), next to contours .*", lines[at + 1])
    stacked = run("check", folder, "--site", "thorax").stdout
    assert "DVH geometry notes" not in stacked
