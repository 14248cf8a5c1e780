"""The DVH geometry model in ``rtcheck audit`` and ``rtcheck regress`` (issue #12): part of
the configuration hash (``--resume`` checks again every result of another model, as for
``--end-cap``), named in the first log line, passed to every case's check and recorded
in its result with where it came from (``options.geometry_source``: not hashed, it does
not change a result); ``regress --geometry`` lists the model change as a provenance
difference with a note, said first in the text.
"""

from __future__ import annotations

import csv
import json
import re
from html import escape
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtcheck.audit.run import AuditRun, run_audit
from rtcheck.audit.task import config_sha256
from rtcheck.cli import cli
from rtcheck.report.geometry_text import geometry_line
from rtcheck.rules.protocol import constraints_dir
from tests.audit_helpers import make_tree, medcare_config, results

TREE = {"site_a": ["spine_sbrt"]}
#: the log line's setting (then the model and the note) and the HTML line, by source
LOGGED = {"option": "--geometry", "protocol": "geometry", "default": "geometry"}
SOURCE_NOTE = {"option": "", "protocol": " (from the protocol's dvh.geometry)",
               "default": " (the default)"}
PHRASE = {"option": ", from --geometry", "protocol": ", from the protocol&#x27;s dvh.geometry",
          "default": ", the default"}
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "


def audit(root: Path, out: Path, **changes: object) -> tuple[object, str]:
    resume = bool(changes.pop("resume", False))
    stream = StringIO()
    outcome = run_audit(root, out, medcare_config(**changes), AuditRun(resume=resume),
                        stream=stream)
    return outcome, stream.getvalue()


def first_log_line(out: Path) -> str:
    lines = (out / "audit.log").read_text(encoding="utf-8").splitlines()
    return re.sub(f"^{STAMP}", "", lines[0])


def geometry_of(out: Path) -> dict[str, str]:
    return {case: doc["report"]["provenance"]["dvh_settings"]["geometry"]
            for case, doc in results(out).items()}


def source_of(out: Path) -> dict[str, str]:
    return {case: doc["report"]["provenance"]["options"]["geometry_source"]
            for case, doc in results(out).items()}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"), TREE)


@pytest.fixture(scope="module")
def smooth_protocol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = (constraints_dir() / "medcare.yaml").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp("protocol") / "smooth.yaml"
    path.write_text(text.replace("\noar_priority:", "\ndvh: {geometry: smooth}\noar_priority:",
                                 1), encoding="utf-8")
    return path


def test_configuration_hash_covers_the_geometry_model() -> None:
    hashes = {g: config_sha256(medcare_config(geometry=g), None)
              for g in (None, "stacked", "smooth")}
    assert len(set(hashes.values())) == 3
    assert hashes["smooth"] == config_sha256(medcare_config(geometry="smooth"), None)
    # as for the end caps
    assert config_sha256(medcare_config(geometry="smooth", end_cap="none"), None) \
        not in hashes.values()


def test_resume_checks_again_the_results_of_another_model(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    outcome, _ = audit(tree, out, geometry="stacked")
    assert (outcome.kept, outcome.cases) == (0, 1)  # type: ignore[attr-defined]
    assert geometry_of(out) == {"site_a/spine_sbrt": "stacked"}
    outcome, _ = audit(tree, out, geometry="stacked", resume=True)
    assert outcome.kept == 1  # type: ignore[attr-defined]  # same model: kept

    outcome, _ = audit(tree, out, geometry="smooth", resume=True)
    assert (outcome.kept, outcome.cases) == (0, 1)  # type: ignore[attr-defined]
    assert geometry_of(out) == {"site_a/spine_sbrt": "smooth"}
    (doc,) = results(out).values()
    assert doc["audit"]["config_sha256"] == config_sha256(medcare_config(geometry="smooth"),
                                                          None)
    assert first_log_line(out).endswith("--end-cap half-slice, geometry stacked (the default)")
    log = (out / "audit.log").read_text(encoding="utf-8")
    assert "--end-cap half-slice, --geometry smooth, --resume" in log  # the API's option

    outcome, _ = audit(tree, out, geometry="smooth", resume=True)
    assert outcome.kept == 1  # type: ignore[attr-defined]
    outcome, _ = audit(tree, out, geometry="smooth", end_cap="none", resume=True)
    assert outcome.kept == 0  # type: ignore[attr-defined]  # the end caps alike


def test_without_a_model_the_case_takes_the_protocols(tree: Path, tmp_path: Path,
                                                      smooth_protocol: Path) -> None:
    """The API's ``geometry=None`` leaves the model to the protocol (the command line
    always resolves it, so that its log line and hash name it)."""
    from rtcheck.audit.task import AuditConfig
    from rtcheck.rules.protocol import load_protocol

    p = load_protocol(smooth_protocol)
    out = tmp_path / "out"
    run_audit(tree, out, AuditConfig(p.path, p.sha256, p.libraries), AuditRun(),
              stream=StringIO())
    assert geometry_of(out) == {"site_a/spine_sbrt": "smooth"}
    assert first_log_line(out).endswith(
        "--end-cap half-slice, geometry smooth (from the protocol's dvh.geometry)")
    assert "--geometry" not in first_log_line(out)


@pytest.mark.parametrize("extra, geometry, logged", [
    ((), "stacked", "geometry stacked (the default)"),
    (("--geometry", "smooth"), "smooth", "--geometry smooth")])
def test_cli_audit_records_the_option(tree: Path, tmp_path: Path, extra: tuple[str, ...],
                                      geometry: str, logged: str) -> None:
    out = tmp_path / "out"
    run = CliRunner().invoke(cli, ["audit", str(tree), "--protocol", "medcare", "--out",
                                   str(out), "--workers", "1", *extra])
    assert run.exit_code == 0, run.output
    assert first_log_line(out).endswith(f"--end-cap half-slice, {logged}")
    assert geometry_of(out) == {"site_a/spine_sbrt": geometry}
    (doc,) = results(out).values()
    assert doc["audit"]["config_sha256"] == config_sha256(medcare_config(geometry=geometry),
                                                          None)


@pytest.mark.parametrize("extra, geometry, logged", [
    ((), "smooth", "geometry smooth (from the protocol's dvh.geometry)"),
    (("--geometry", "stacked"), "stacked", "--geometry stacked")])
def test_cli_audit_resolves_option_over_protocol(tree: Path, tmp_path: Path,
                                                 smooth_protocol: Path, extra: tuple[str, ...],
                                                 geometry: str, logged: str) -> None:
    out = tmp_path / "out"
    run = CliRunner().invoke(cli, ["audit", str(tree), "--protocol", str(smooth_protocol),
                                   "--out", str(out), "--workers", "1", *extra])
    assert run.exit_code == 0, run.output
    assert f"--end-cap half-slice, {logged}" in first_log_line(out)
    assert geometry_of(out) == {"site_a/spine_sbrt": geometry}


def test_cli_audit_rejects_an_unknown_model(tree: Path, tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, ["audit", str(tree), "--protocol", "medcare", "--out",
                                   str(tmp_path / "out"), "--geometry", "round"])
    assert run.exit_code == 2
    assert "Invalid value for '--geometry': 'round' is not one of 'stacked', 'smooth'." \
        in run.stderr
    assert not (tmp_path / "out").exists()


def test_regress_with_another_model_lists_it_as_provenance(tree: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    audit(tree, baseline)  # the API default: medcare's model, stacked
    run = CliRunner().invoke(cli, ["regress", str(tree), "--baseline", str(baseline),
                                   "--protocol", "medcare", "--workers", "1", "--geometry",
                                   "smooth", "--format", "json"])
    assert run.exit_code in (0, 1), run.output  # drift or not: the engine's numbers decide
    doc = json.loads(run.stdout)
    (report,) = doc["reports"]
    prov = {d["what"]: (d["baseline"], d["current"], d["drift"]) for d in report["provenance"]}
    assert prov["provenance.dvh_settings.geometry"] == ("stacked", "smooth", False)
    same = CliRunner().invoke(cli, ["regress", str(tree), "--baseline", str(baseline),
                                    "--protocol", "medcare", "--workers", "1", "--format",
                                    "json"])
    assert same.exit_code == 0, same.output
    (report,) = json.loads(same.stdout)["reports"]
    assert not [d for d in report["provenance"] if "geometry" in d["what"]]


# --- where the model came from ------------------------------------------------------------

def test_configuration_hash_leaves_out_the_source() -> None:
    from rtcheck.audit.task import AuditConfig

    hashes = {config_sha256(medcare_config(geometry="smooth", geometry_source=source), None)
              for source in ("option", "protocol", "default")}
    assert hashes == {config_sha256(medcare_config(geometry="smooth"), None)}
    assert AuditConfig("p.yaml", "0" * 64).geometry_source == "default"
    with pytest.raises(ValueError, match=r"^geometry_source 'cli': give one of 'option', "
                                         r"'protocol', 'default'$"):
        medcare_config(geometry_source="cli")


@pytest.mark.parametrize("protocol, extra, geometry, source", [
    ("SMOOTH", (), "smooth", "protocol"),
    ("SMOOTH", ("--geometry", "stacked"), "stacked", "option"),
    ("SMOOTH", ("--geometry", "smooth"), "smooth", "option"),
    ("medcare", (), "stacked", "default"),
    ("medcare", ("--geometry", "stacked"), "stacked", "option"),
])
def test_cli_audit_results_name_where_the_model_came_from(
        tree: Path, tmp_path: Path, smooth_protocol: Path, protocol: str,
        extra: tuple[str, ...], geometry: str, source: str) -> None:
    """The protocol sets ``dvh.geometry`` and no ``--geometry`` is given: each result says
    ``protocol``, not ``option`` (the command line resolves the model for the log and the
    hash; the worker lets the check resolve it again from the pinned protocol)."""
    out = tmp_path / "out"
    name = str(smooth_protocol) if protocol == "SMOOTH" else protocol
    run = CliRunner().invoke(cli, ["audit", str(tree), "--protocol", name, "--out", str(out),
                                   "--workers", "1", *extra])
    assert run.exit_code == 0, run.output
    assert geometry_of(out) == {"site_a/spine_sbrt": geometry}
    assert source_of(out) == {"site_a/spine_sbrt": source}
    assert first_log_line(out).endswith(f"--end-cap half-slice, {LOGGED[source]} {geometry}"
                                        + SOURCE_NOTE[source])
    manifest = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert (manifest["dvh_geometry"], manifest["dvh_geometry_source"]) == (geometry, source)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["dvh_geometry"] == [{"geometry": geometry, "source": source,
                                        "case_folders": 1}]
    with (out / "summary.csv").open(encoding="utf-8") as f:
        assert [r["dvh_geometry"] for r in csv.DictReader(f)] == [geometry]
    html = (out / "summary.html").read_text(encoding="utf-8")
    assert f'<p class="geometry">DVH geometry: {geometry}{PHRASE[source]} (' in html
    line = geometry_line(geometry, source)
    assert line is not None and f'<p class="geometry">{escape(line)}</p>' in html


def test_api_model_is_used_whatever_its_source(tree: Path, tmp_path: Path,
                                               smooth_protocol: Path) -> None:
    """``AuditConfig(geometry=...)`` without ``geometry_source``: the case is checked with
    the configured (hashed) model; its source is the protocol's or the default when they
    give that model, else ``option``."""
    from rtcheck.audit.task import AuditConfig
    from rtcheck.rules.protocol import load_protocol

    for n, (geometry, source) in enumerate([("smooth", "option"), ("stacked", "default"),
                                            (None, "default")]):
        out = tmp_path / f"medcare{n}"
        audit(tree, out, geometry=geometry)
        assert geometry_of(out) == {"site_a/spine_sbrt": geometry or "stacked"}
        assert source_of(out) == {"site_a/spine_sbrt": source}
    p = load_protocol(smooth_protocol)
    for geometry, source in (("smooth", "protocol"), ("stacked", "option")):
        out = tmp_path / f"smooth_{geometry}"
        run_audit(tree, out, AuditConfig(p.path, p.sha256, p.libraries, geometry=geometry),
                  AuditRun(), stream=StringIO())
        assert geometry_of(out) == {"site_a/spine_sbrt": geometry}
        assert source_of(out) == {"site_a/spine_sbrt": source}


def test_regress_with_another_model_says_so_first(tree: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline"
    audit(tree, baseline)  # medcare's model, stacked: the default
    args = ["regress", str(tree), "--baseline", str(baseline), "--protocol", "medcare",
            "--workers", "1", "--geometry", "smooth"]
    doc = json.loads(CliRunner().invoke(cli, [*args, "--format", "json"]).stdout)
    (report,) = doc["reports"]
    prov = {d["what"]: d for d in report["provenance"]}
    note = ("the DVH geometry model changed (baseline stacked, now smooth): DVH numbers "
            "differ by the model, not only by the plan; rerun with --geometry stacked to "
            "compare like with like, or record a new baseline with --geometry smooth")
    assert prov["provenance.dvh_settings.geometry"]["note"] == note
    assert prov["provenance.dvh_settings.geometry"]["drift"] is False
    source = prov["provenance.options.geometry_source"]
    assert (source["baseline"], source["current"], source["drift"]) == ("default", "option",
                                                                        False)
    text = CliRunner().invoke(cli, args).stdout.splitlines()
    assert text[2:5] == ["", f"NOTE: {note}", ""]
    assert "  provenance.dvh_settings.geometry: stacked → smooth (see the NOTE above)" in text


# --- the model in audit.json --------------------------------------------------------------

def manifest_of(out: Path) -> dict[str, object]:
    return json.loads((out / "audit.json").read_text(encoding="utf-8"))


def test_resume_with_another_model_updates_the_manifests_model_only(tree: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "out"
    audit(tree, out)  # the API default: medcare's model, stacked
    first = manifest_of(out)
    assert first["schema_version"] == "1.1"
    assert (first["dvh_geometry"], first["dvh_geometry_source"]) == ("stacked", "default")
    before = (out / "audit.json").read_bytes()
    audit(tree, out, geometry="stacked", resume=True)  # same model and source: untouched
    assert (out / "audit.json").read_bytes() == before
    audit(tree, out, geometry="smooth", geometry_source="option", resume=True)
    assert manifest_of(out) == {**first, "dvh_geometry": "smooth",
                                "dvh_geometry_source": "option"}  # created_utc kept


def test_resume_of_a_manifest_without_the_model_adds_it(tree: Path, tmp_path: Path) -> None:
    """A folder of an rtcheck before schema 1.1: its manifest gains the model."""
    out = tmp_path / "out"
    audit(tree, out)
    old = manifest_of(out)
    for key in ("dvh_geometry", "dvh_geometry_source"):
        del old[key]
    old["schema_version"] = "1.0"
    (out / "audit.json").write_text(json.dumps(old, indent=2) + "\n", encoding="utf-8")
    audit(tree, out, resume=True)
    assert manifest_of(out) == {**old, "schema_version": "1.1", "dvh_geometry": "stacked",
                                "dvh_geometry_source": "default"}
