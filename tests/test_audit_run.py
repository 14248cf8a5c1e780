"""``rtcheck audit``: same results as ``rtcheck check``, error results, resume, anonymise."""

from __future__ import annotations

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtcheck.audit import worker
from rtcheck.audit.anonymize import keyed_hash
from rtcheck.audit.discover import discover
from rtcheck.audit.run import AuditRun, run_audit
from rtcheck.audit.task import AuditConfig, AuditTask, config_sha256, input_sha256
from rtcheck.cli import cli
from rtcheck.errors import UsageError
from tests.audit_helpers import VERDICTS, make_tree, results, stable
from tests.audit_helpers import medcare_config as config

KEY = "k" * 32


def audit(root: Path, out: Path, **run: object) -> tuple[object, str]:
    stream = StringIO()
    cfg = config(anonymize=bool(run.get("anon_key")))
    outcome = run_audit(root, out, cfg, AuditRun(**run), stream=stream)  # type: ignore[arg-type]
    return outcome, stream.getvalue()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"), broken=True)


@pytest.fixture(scope="module")
def serial_out(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    audit(tree, out)
    return out


def test_each_case_is_checked_exactly_as_rtcheck_check(tree: Path, serial_out: Path) -> None:
    found = results(serial_out)
    assert sorted(found) == ["site_a/spine_cord_overdose", "site_a/spine_sbrt", "site_b/broken",
                             "site_b/pelvic_node_sbrt", "site_b/spine_grid_misses_oar"]
    for key, doc in found.items():
        if key.endswith("broken"):
            continue
        name = key.split("/")[1]
        assert doc["audit"]["status"] == "checked" and doc["audit"]["site"] == key.split("/")[0]
        run = CliRunner().invoke(cli, ["check", str(tree / key), "--format", "json"])
        expected = json.loads(run.output)
        expected["provenance"].pop("created_utc")
        assert doc["report"] == expected, key
        assert [c["verdict"] for c in doc["report"]["cases"]] == [VERDICTS[name]]
    spine = found["site_a/spine_sbrt"]["audit"]
    assert spine["patients"] == {"T9_SBRT": "RTCHECK-SPINE01"}
    assert spine["input_sha256"] == input_sha256(tree / "site_a" / "spine_sbrt")


def test_unusable_case_is_an_error_result_and_the_audit_goes_on(serial_out: Path) -> None:
    doc = results(serial_out)["site_b/broken"]
    assert doc["report"] is None
    audit_block = doc["audit"]
    assert audit_block["status"] == "error" and audit_block["error_kind"] == "input"
    assert "\n" not in audit_block["error"]
    assert audit_block["error"].endswith("copy or re-export the complete file")
    assert "broken/RD.dcm: file is truncated" in audit_block["error"]
    assert audit_block["traceback"] is None
    log = (serial_out / "audit.log").read_text(encoding="utf-8")
    assert "done: 2 PASS, 1 FAIL, 1 INCOMPLETE, 1 ERROR" in log


def test_internal_error_is_recorded_with_its_traceback(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "tree", {"site_a": ["spine_sbrt", "spine_cord_overdose"]})
    real = worker._check

    def flaky(task: AuditTask):  # type: ignore[no-untyped-def]
        if task.case.key.endswith("overdose"):
            raise ZeroDivisionError("simulated defect")
        return real(task)

    monkeypatch.setattr(worker, "_check", flaky)
    outcome, shown = audit(root, tmp_path / "out")
    assert outcome.counts == {"PASS": 1, "FAIL": 0, "INCOMPLETE": 0, "ERROR": 1}  # type: ignore[attr-defined]
    assert outcome.exit_code == 3  # type: ignore[attr-defined]
    doc = results(tmp_path / "out")["site_a/spine_cord_overdose"]["audit"]
    assert doc["error"] == "internal error (ZeroDivisionError: simulated defect)"
    assert doc["error_kind"] == "internal"
    assert 'raise ZeroDivisionError("simulated defect")' in doc["traceback"]
    assert "Traceback" not in shown and "simulated defect" in shown  # one line, no traceback

    # --resume redoes an internal error (it may have been transient) and keeps the rest
    monkeypatch.setattr(worker, "_check", real)
    outcome, _ = audit(root, tmp_path / "out", resume=True)
    assert outcome.kept == 1  # type: ignore[attr-defined]
    assert outcome.counts == {"PASS": 1, "FAIL": 1, "INCOMPLETE": 0, "ERROR": 0}  # type: ignore[attr-defined]


def test_resume_keeps_unchanged_results_and_redoes_changed_ones(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", {"site_a": ["spine_sbrt", "spine_cord_overdose"],
                                         "site_b": ["pelvic_node_sbrt"]})
    out = tmp_path / "out"
    audit(root, out)
    first = results(out)
    with pytest.raises(UsageError, match="--resume to continue that audit or --overwrite"):
        audit(root, out)
    outcome, _ = audit(root, out, resume=True)
    assert (outcome.kept, outcome.cases) == (3, 3)  # type: ignore[attr-defined]
    assert results(out) == first

    # a changed input file: only that case is redone
    cfg = root / "site_b" / "pelvic_node_sbrt" / "rtcheck.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    outcome, log = audit(root, out, resume=True)
    assert outcome.kept == 2  # type: ignore[attr-defined]
    assert "[3/3] PASS       site_b/pelvic_node_sbrt" in log
    # a deleted case folder: its result is moved aside, never deleted
    moved_away = tmp_path / "overdose"
    shutil.move(root / "site_a" / "spine_cord_overdose", moved_away)
    outcome, log = audit(root, out, resume=True)
    assert sorted(results(out)) == ["site_a/spine_sbrt", "site_b/pelvic_node_sbrt"]
    orphaned = out / "results-orphaned"
    assert f"moved 1 result(s) to {orphaned}: their case folders are no longer found " \
        "under ROOT; they are left out of the summary" in log
    (orphan,) = orphaned.iterdir()
    assert json.loads(orphan.read_text())["audit"]["case"] == "site_a/spine_cord_overdose"
    # ... and moved back (and kept) when the folder is found again
    shutil.move(moved_away, root / "site_a" / "spine_cord_overdose")
    outcome, log = audit(root, out, resume=True)
    assert f"restored 1 result(s) from {orphaned}" in log
    assert (outcome.kept, outcome.cases) == (3, 3)  # type: ignore[attr-defined]
    assert not list(orphaned.iterdir())
    # --overwrite starts again
    outcome, _ = audit(root, out, overwrite=True)
    assert outcome.kept == 0  # type: ignore[attr-defined]


def test_configuration_hash_covers_protocol_aliases_and_arm(tmp_path: Path) -> None:
    aliases = tmp_path / "a.yaml"
    aliases.write_text("SpinalCord: [Cord]\n", encoding="utf-8")
    base = config()
    hashes = {config_sha256(base, None), config_sha256(base, str(aliases)),
              config_sha256(config(arm="local_bed"), None),
              config_sha256(AuditConfig(base.protocol_path, "0" * 64, base.libraries), None)}
    assert len(hashes) == 4
    assert config_sha256(base, None) == config_sha256(config(), None)


def test_site_alias_file_applies_to_its_site(tmp_path: Path) -> None:
    folder = tmp_path / "site_b"
    folder.mkdir()
    (folder / "site_b.yaml").write_text("SpinalCord: [Cord]\n", encoding="utf-8")
    cfg = config(aliases="/global.yaml", site_aliases_dir=str(folder))
    assert cfg.aliases_for("site_b") == str(folder / "site_b.yaml")
    assert cfg.aliases_for("site_a") == "/global.yaml"


def test_threads_share_a_worker_safely(tree: Path, serial_out: Path) -> None:
    """Checks in threads of one process (a threaded dask worker) give the serial results."""
    cfg = config()
    tasks = [AuditTask(c, cfg, None, "x.json", input_sha256(c.folder), config_sha256(cfg, None))
             for c in discover(tree) if not c.key.endswith("broken")]
    with ThreadPoolExecutor(4) as pool:
        records = list(pool.map(worker.run_case, tasks * 2))
    expected = results(serial_out)
    for record, _ in records:
        assert stable(record.to_dict())["report"] == expected[record.case]["report"]


def test_anonymized_outputs_hold_no_identifier(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", {"site_a": ["spine_sbrt"],
                                         "site_b": ["pelvic_node_sbrt"]})
    out = tmp_path / "out"
    outcome, _ = audit(root, out, anon_key=KEY.encode())
    assert outcome.counts["PASS"] == 2  # type: ignore[attr-defined]
    identifiers = ["RTCHECK^SPINE01", "RTCHECK-SPINE01", "SPINE01", "RTCHECK^PELVIS01",
                   "RTCHECK-PELVIS01", "PELVIS01"]
    import pydicom

    for name in ("spine_sbrt", "pelvic_node_sbrt"):
        ds = pydicom.dcmread(root / f"site_{'a' if 'spine' in name else 'b'}" / name / "RP.dcm")
        assert str(ds.PatientID) in identifiers
        if ds.get("PatientBirthDate"):
            identifiers.append(str(ds.PatientBirthDate))
    outputs = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in outputs} >= {"summary.csv", "summary.json", "summary.html",
                                         "audit.log"}
    for path in outputs:
        text = path.read_text(encoding="utf-8")
        for ident in identifiers:
            assert ident not in text, (path.name, ident)
        assert "RTCHECK" not in path.name
    token = keyed_hash(KEY.encode(), "RTCHECK-SPINE01")
    (spine,) = [d for d in results(out).values() if d["audit"]["site"] == "site_a"]
    assert spine["audit"]["patients"] == {"T9_SBRT": token}


def test_cli_audit_exit_codes_and_refusals(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "pass", {"site_a": ["spine_sbrt"]})
    runner = CliRunner()
    run = runner.invoke(cli, ["audit", str(root), "--protocol", "medcare", "--out",
                              str(tmp_path / "o1"), "--workers", "1"])
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith("audit: 1 case folder(s): 1 PASS, 0 FAIL, 0 INCOMPLETE, "
                                 "0 ERROR; summary: ")
    run = runner.invoke(cli, ["audit", str(root), "--protocol", "medcare", "--out",
                              str(tmp_path / "o1"), "--workers", "1", "--resume"])
    assert run.exit_code == 0, run.output
    assert run.stdout.startswith("audit: 1 case folder(s) (1 kept by --resume): 1 PASS, ")

    fail = make_tree(tmp_path / "fail", {"site_a": ["spine_sbrt", "spine_cord_overdose"]})
    run = runner.invoke(cli, ["audit", str(fail), "--protocol", "medcare", "--out",
                              str(tmp_path / "o2"), "--workers", "1"])
    assert run.exit_code == 1 and "1 PASS, 1 FAIL, 0 INCOMPLETE, 0 ERROR" in run.stdout

    monkeypatch.delenv("RTCHECK_ANON_KEY", raising=False)
    run = runner.invoke(cli, ["audit", str(root), "--protocol", "medcare", "--out",
                              str(tmp_path / "o3"), "--anonymize"])
    assert run.exit_code == 2 and "needs a secret key: set $RTCHECK_ANON_KEY" in run.output
    assert not (tmp_path / "o3").exists()
    monkeypatch.setenv("RTCHECK_ANON_KEY", "short")
    run = runner.invoke(cli, ["audit", str(root), "--protocol", "medcare", "--out",
                              str(tmp_path / "o3"), "--anonymize"])
    assert run.exit_code == 2 and "the key has 5 bytes; use at least 16" in run.output
    run = runner.invoke(cli, ["audit", str(root), "--protocol", "nosuch", "--out",
                              str(tmp_path / "o3")])
    assert run.exit_code == 2 and "--protocol 'nosuch': no such file" in run.output
    run = runner.invoke(cli, ["audit", str(root), "--protocol", "medcare", "--arm", "x",
                              "--out", str(tmp_path / "o3")])
    assert run.exit_code == 2 and "has no arm 'x'; arms: sbrt" in run.output
    run = runner.invoke(cli, ["audit", str(root), "--protocol", "medcare", "--out",
                              str(tmp_path / "o1"), "--resume", "--overwrite"])
    assert run.exit_code == 2 and "give one" in run.output


def test_results_are_slim_and_picklable(tree: Path) -> None:
    """A task and its record travel between processes: paths in, a few tens of KB out (a
    pickled DVH report with dose arrays was 28 MB)."""
    import pickle

    (case,) = [c for c in discover(tree) if c.key == "site_a/spine_sbrt"]
    cfg = config()
    task = AuditTask(case, cfg, None, "x.json", input_sha256(case.folder),
                     config_sha256(cfg, None))
    assert len(pickle.dumps(task)) < 2_000
    record, identifiers = worker.run_case(task)
    assert identifiers == frozenset()  # read only with --anonymize
    assert 10_000 < len(pickle.dumps(record)) < 200_000


def test_progress_bar_on_a_terminal_and_lines_otherwise(tmp_path: Path) -> None:
    from rtcheck.audit.progress import Progress
    from rtcheck.audit.result_file import AuditRecord

    def record(verdict: str) -> AuditRecord:
        return AuditRecord({"case": f"s/{verdict}", "status": "checked"},
                           {"cases": [{"verdict": verdict}]})

    bar_stream = StringIO()
    bar = Progress(3, 1, tmp_path / "a.log", bar_stream, bar=True)
    bar.finished(record("PASS"))
    bar.finished(record("FAIL"))
    bar.close()
    shown = bar_stream.getvalue()
    assert "3/3" in shown and "1 PASS, 1 FAIL, 0 INCOMPLETE, 0 ERROR" in shown
    assert "case/s" in shown or "s/case" in shown  # the rate
    plain_stream = StringIO()
    plain = Progress(2, 0, tmp_path / "b.log", plain_stream, bar=False)
    plain.finished(record("INCOMPLETE"))
    plain.close()
    assert plain_stream.getvalue() == "[1/2] INCOMPLETE s/INCOMPLETE\n"
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
    lines = (tmp_path / "a.log").read_text(encoding="utf-8").splitlines()
    assert [re.sub(f"^{stamp}", "", line) for line in lines] == [
        "[2/3] PASS       s/PASS", "[3/3] FAIL       s/FAIL"]
    assert all(re.match(stamp, line) for line in lines)


def test_headline_says_verdicts_are_per_plan_when_a_folder_holds_two(tmp_path: Path) -> None:
    """A case folder with two plans gives two verdicts: the headline says why its counts add
    up to more than the case folders (found by a new-user trial)."""
    fixtures = Path(__file__).parents[1] / "fixtures"
    shutil.copytree(fixtures / "spine_sbrt", tmp_path / "tree" / "s1" / "two" / "a")
    shutil.copytree(fixtures / "spine_cord_overdose", tmp_path / "tree" / "s1" / "two" / "b")
    shutil.copytree(fixtures / "spine_sbrt", tmp_path / "tree" / "s1" / "one")
    result = CliRunner().invoke(cli, ["audit", str(tmp_path / "tree"), "--protocol", "medcare",
                                      "--out", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(
        "audit: 2 case folder(s), 3 verdict(s): one per plan, an ERROR per case folder: "
        "1 PASS, 1 FAIL, 1 INCOMPLETE, 0 ERROR; summary: ")
