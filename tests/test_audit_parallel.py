"""``rtcheck audit`` in parallel: a process pool and a real dask LocalCluster give the serial
results field by field; an audit SIGKILLed mid-run and resumed ends as an uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest

from rtcheck.audit.run import AuditRun, run_audit
from tests.audit_helpers import make_tree, results
from tests.audit_helpers import medcare_config as config

SUMMARIES = ("summary.csv", "summary.json", "summary.html")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"), broken=True)


@pytest.fixture(scope="module")
def serial(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    run_audit(tree, out, config(), AuditRun(workers=1), stream=StringIO())
    return out


def test_process_pool_gives_the_serial_results(tree: Path, serial: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    outcome = run_audit(tree, out, config(), AuditRun(workers=2), stream=StringIO())
    assert outcome.counts == {"PASS": 2, "FAIL": 1, "INCOMPLETE": 1, "ERROR": 1}
    assert results(out) == results(serial)
    for name in SUMMARIES:
        assert (out / name).read_bytes() == (serial / name).read_bytes(), name


def test_dask_local_cluster_gives_the_serial_results(tree: Path, serial: Path,
                                                     tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        out = tmp_path / "out"
        outcome = run_audit(tree, out, config(),
                            AuditRun(scheduler=cluster.scheduler_address), stream=StringIO())
    assert outcome.counts == {"PASS": 2, "FAIL": 1, "INCOMPLETE": 1, "ERROR": 1}
    got, expected = results(out), results(serial)
    assert sorted(got) == sorted(expected)
    for key in expected:  # field by field, so a difference names itself
        for part in ("audit", "report"):
            assert got[key][part] == expected[key][part], (key, part)
    for name in SUMMARIES:
        assert (out / name).read_bytes() == (serial / name).read_bytes(), name


def _audit_cmd(root: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rtcheck", "audit", str(root), "--protocol", "medcare",
            "--out", str(out), "--workers", "1", *extra]


def test_sigkilled_audit_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "tree", {"site_a": ["spine_sbrt", "spine_cord_overdose"],
                                         "site_b": ["pelvic_node_sbrt"]}, copies=4)
    full = tmp_path / "full"
    done = subprocess.run(_audit_cmd(root, full), capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    n_cases = 12

    out = tmp_path / "killed"
    proc = subprocess.Popen(_audit_cmd(root, out), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list((out / "results").glob("*.json"))) >= 3 if out.exists() else False:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group, no clean-up
    proc.wait()
    finished = len(list((out / "results").glob("*.json")))
    assert 3 <= finished < n_cases, "the kill must land mid-audit"
    assert not (out / "summary.csv").exists()
    # what a kill during a write leaves: a temporary file, never a partial result
    (out / "results" / ".site_a_x.json.abc123.tmp").write_text('{"audit": {', encoding="utf-8")

    resumed = subprocess.run(_audit_cmd(root, out, "--resume"), capture_output=True, text=True)
    assert resumed.returncode == 1, resumed.stderr
    assert f"{finished} kept from an earlier run, {n_cases - finished} to check" in resumed.stderr
    names = sorted(p.name for p in (out / "results").iterdir())
    assert names == sorted(p.name for p in (full / "results").iterdir())  # one per case
    assert len(names) == n_cases and not [p for p in out.rglob("*.tmp")]
    assert results(out) == results(full)
    for name in SUMMARIES:
        assert (out / name).read_bytes() == (full / name).read_bytes(), name


def test_ctrl_c_keeps_finished_results_and_says_how_to_finish(tmp_path: Path) -> None:
    """SIGINT to the whole process group (a terminal's Ctrl-C) with 2 workers: exit 130,
    one line saying what was kept, no traceback, no temporary file; --resume finishes."""
    root = make_tree(tmp_path / "tree", {"site_a": ["spine_sbrt", "spine_cord_overdose"],
                                         "site_b": ["pelvic_node_sbrt"]}, copies=6)
    out = tmp_path / "out"
    cmd = [*_audit_cmd(root, out)[:-2], "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if out.exists() and len(list((out / "results").glob("*.json"))) >= 2:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    kept = len(list((out / "results").glob("*.json")))
    assert 2 <= kept < 18
    assert "every finished result is kept: rerun with --resume to finish the audit" in stderr
    assert "Traceback" not in stderr and not list(out.rglob("*.tmp"))
    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 1, resumed.stderr
    assert len(list((out / "results").glob("*.json"))) == 18
