"""``rtcheck audit`` never mixes, loses or races results: the manifest ``audit.json``,
``results-orphaned/``, the lock ``.audit.lock``, the time-stamped log, option checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtcheck import __version__
from rtcheck.audit import backends
from rtcheck.audit.manifest import key_fingerprint
from rtcheck.audit.result_file import move_orphans
from rtcheck.audit.run import AuditRun, run_audit
from rtcheck.cli import cli
from rtcheck.errors import InputError, UsageError
from tests.audit_helpers import FIXTURES, make_tree, results
from tests.audit_helpers import medcare_config as config

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
TREE = {"site_a": ["spine_sbrt"], "site_b": ["pelvic_node_sbrt"]}


def audit(root: Path, out: Path, **run: object) -> tuple[object, str]:
    stream = StringIO()
    cfg = config(anonymize=bool(run.get("anon_key")))
    outcome = run_audit(root, out, cfg, AuditRun(**run), stream=stream)  # type: ignore[arg-type]
    return outcome, stream.getvalue()


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` (but the lock) by relative path, with its bytes."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != ".audit.lock"}


def cli_audit(root: Path, out: Path, *extra: str) -> object:
    return CliRunner().invoke(cli, ["audit", str(root), "--protocol", "medcare", "--out",
                                    str(out), "--workers", "1", *extra])


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"), TREE)


@pytest.fixture(scope="module")
def anon_out(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished anonymised audit (copied by the tests that change it)."""
    out = tmp_path_factory.mktemp("anon") / "out"
    audit(tree, out, anon_key=KEY)
    return out


# --- 1. the manifest ---------------------------------------------------------------------

def test_manifest_records_the_audit_settings_never_the_key(tree: Path, anon_out: Path) -> None:
    doc = json.loads((anon_out / "audit.json").read_text(encoding="utf-8"))
    created = doc.pop("created_utc")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    cfg = config()
    fingerprint = hmac.new(KEY, b"rtcheck audit key fingerprint v1",
                           hashlib.sha256).hexdigest()[:16]
    assert doc == {"schema_version": "1.1", "rtcheck_version": __version__,
                   "root": str(tree), "protocol": cfg.protocol_path,
                   "protocol_sha256": cfg.protocol_sha256, "site_level": 1,
                   "anonymize": True, "key_fingerprint": fingerprint,
                   "dvh_geometry": "stacked", "dvh_geometry_source": "default"}
    assert key_fingerprint(KEY) == fingerprint != key_fingerprint(OTHER_KEY)
    assert key_fingerprint(None) is None
    text = (anon_out / "audit.json").read_text(encoding="utf-8")
    assert KEY.decode() not in text and not list(anon_out.glob(".*.tmp"))


def test_resume_without_anonymize_is_refused_and_changes_nothing(anon_out: Path, tree: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(anon_out, out)
    before = snapshot(out)
    with pytest.raises(UsageError) as refused:
        audit(tree, out, resume=True)
    assert str(refused.value) == (
        f"--resume: --out {out} cannot be continued with these settings: it was run with "
        "--anonymize: give --anonymize and the same key; or give --overwrite to start the "
        "audit again (or another --out)")
    assert snapshot(out) == before  # no result in the clear, nothing moved, log untouched

    run = cli_audit(tree, out, "--resume")
    assert run.exit_code == 2  # type: ignore[attr-defined]
    assert run.stderr.splitlines() == [f"rtcheck: error: {refused.value}"]  # type: ignore[attr-defined]
    assert snapshot(out) == before


def test_resume_with_another_key_is_refused(anon_out: Path, tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(anon_out, out)
    before = snapshot(out)
    with pytest.raises(UsageError, match=re.escape(
            f"it was anonymised with another key (fingerprint {key_fingerprint(KEY)}, this "
            f"key's is {key_fingerprint(OTHER_KEY)}): give the same key; or give "
            "--overwrite")):
        audit(tree, out, resume=True, anon_key=OTHER_KEY)
    assert snapshot(out) == before
    outcome, _ = audit(tree, out, resume=True, anon_key=KEY)  # the same key resumes
    assert (outcome.kept, outcome.cases) == (2, 2)  # type: ignore[attr-defined]


def test_resume_with_anonymize_of_a_clear_audit_or_another_root_is_refused(
        tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    audit(tree, out)
    before = snapshot(out)
    with pytest.raises(UsageError, match="it was run without --anonymize: drop --anonymize"):
        audit(tree, out, resume=True, anon_key=KEY)
    other = shutil.copytree(tree, tmp_path / "copy")
    with pytest.raises(UsageError) as refused:
        audit(other, out, resume=True)
    assert f"it is an audit of ROOT {tree}, not {other}; or give --overwrite" in \
        str(refused.value)
    assert snapshot(out) == before


def test_out_of_an_older_rtcheck_resumes_with_a_warning(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    audit(tree, out)
    (out / "audit.json").unlink()
    outcome, shown = audit(tree, out, resume=True)
    assert (outcome.kept, outcome.cases) == (2, 2)  # type: ignore[attr-defined]
    assert shown.splitlines()[0] == (
        f"warning: --out {out} has no audit.json (an audit of an older rtcheck): resuming "
        "without checking that ROOT and --anonymize are the same")
    assert json.loads((out / "audit.json").read_text())["root"] == str(tree)  # from now on


def test_overwrite_rewrites_the_manifest_and_starts_a_new_log(anon_out: Path, tree: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(anon_out, out)
    audit(tree, out, overwrite=True)
    manifest = json.loads((out / "audit.json").read_text())
    assert (manifest["anonymize"], manifest["key_fingerprint"]) == (False, None)
    assert sorted(results(out)) == ["site_a/spine_sbrt", "site_b/pelvic_node_sbrt"]
    assert not [p for p in (out / "results").iterdir() if p.name.startswith("anon-")]
    log = (out / "audit.log").read_text(encoding="utf-8").splitlines()
    assert len([line for line in log if " audit: ROOT " in line]) == 1  # the old log is gone
    assert "--anonymize" not in log[0] and log[0].endswith(", --overwrite")


# --- 2. orphaned results -------------------------------------------------------------------

def test_root_matching_no_result_is_refused(tree: Path, tmp_path: Path) -> None:
    root = shutil.copytree(tree, tmp_path / "root")
    out = tmp_path / "out"
    audit(root, out)
    before = snapshot(out)
    shutil.rmtree(root)  # another tree mounted at the same ROOT
    make_tree(root, {"centre_x": ["spine_sbrt"]})
    with pytest.raises(UsageError) as refused:
        audit(root, out, resume=True)
    assert str(refused.value) == (
        f"--resume: ROOT {root} matches none of the 2 result(s) in --out {out}; check ROOT "
        "(a share not mounted, a typo) or use --overwrite to start again")
    assert snapshot(out) == before
    run = cli_audit(root, out, "--resume")
    assert run.exit_code == 2 and snapshot(out) == before  # type: ignore[attr-defined]


def test_orphans_are_moved_aside_and_left_out_of_the_summary(tree: Path, tmp_path: Path) -> None:
    root = shutil.copytree(tree, tmp_path / "root")
    out = tmp_path / "out"
    audit(root, out)
    site_b = {k: v for k, v in snapshot(out).items() if k.startswith("results/site_b")}
    shutil.rmtree(root / "site_b")  # e.g. that site's share is not mounted
    outcome, shown = audit(root, out, resume=True)
    assert f"moved 1 result(s) to {out / 'results-orphaned'}: their case folders are no " \
        "longer found under ROOT; they are left out of the summary (move them back to " \
        "results/ if they belong to this audit)" in shown.splitlines()
    assert (outcome.cases, outcome.kept) == (1, 1)  # type: ignore[attr-defined]
    (name, data), = site_b.items()
    assert (out / "results-orphaned" / Path(name).name).read_bytes() == data  # kept intact
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["folders"] == 1
    assert "site_b" not in (out / "summary.csv").read_text(encoding="utf-8")
    audit(root, out, overwrite=True)  # starting again drops the old audit's orphans too
    assert not (out / "results-orphaned").exists()


def test_an_orphan_never_replaces_an_earlier_one(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results-orphaned").mkdir()
    (tmp_path / "results-orphaned" / "a.json").write_text("old")
    (tmp_path / "results" / "a.json").write_text("new")
    (tmp_path / "results" / "b.json").write_text("kept")
    moved = move_orphans(tmp_path, {"b.json"})
    assert moved == [tmp_path / "results-orphaned" / "a~2.json"]
    assert (tmp_path / "results-orphaned" / "a.json").read_text() == "old"
    assert moved[0].read_text() == "new" and (tmp_path / "results" / "b.json").exists()


# --- 3. the lock ---------------------------------------------------------------------------

_HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b"%d\\n" % os.getpid())
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_second_audit_on_the_same_out_is_refused_until_the_first_ends(
        tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(out / ".audit.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        run = subprocess.run([sys.executable, "-m", "rtcheck", "audit", str(tree),
                              "--protocol", "medcare", "--out", str(out), "--workers", "1"],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 2
        assert run.stderr.splitlines() == [
            f"rtcheck: error: --out {out}: another audit is running in it (pid "
            f"{holder.pid}); wait for it to finish, or give another --out"]
        assert sorted(p.name for p in out.iterdir()) == [".audit.lock"]  # nothing touched
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # a killed holder releases the lock
        holder.communicate()
    outcome, _ = audit(tree, out)
    assert outcome.cases == 2  # type: ignore[attr-defined]


# --- 4. the log ------------------------------------------------------------------------------

def test_log_lines_are_time_stamped_and_the_first_names_version_and_settings(
        anon_out: Path, tree: Path) -> None:
    lines = (anon_out / "audit.log").read_text(encoding="utf-8").splitlines()
    assert all(re.match(STAMP, line) for line in lines), lines
    first = re.sub(f"^{STAMP}", "", lines[0])
    cfg = config()
    assert first == (f"rtcheck {__version__} audit: ROOT {tree}, --protocol "
                     f"{cfg.protocol_path}, --out {anon_out}, --workers 1, --site-level 1, "
                     "--end-cap half-slice, geometry stacked (the default), --anonymize (key "
                     f"fingerprint {key_fingerprint(KEY)})")
    assert KEY.decode() not in "\n".join(lines)
    assert re.sub(f"^{STAMP}", "", lines[-1]).startswith("done: 2 PASS")


def test_resume_appends_to_the_log(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    audit(tree, out)
    first = (out / "audit.log").read_text(encoding="utf-8")
    audit(tree, out, resume=True)
    log = (out / "audit.log").read_text(encoding="utf-8")
    assert log.startswith(first)
    assert re.sub(f"^{STAMP}", "", log[len(first):].splitlines()[0]).endswith(
        "--site-level 1, --end-cap half-slice, geometry stacked (the default), --resume")


# --- 5. option checks ------------------------------------------------------------------------

@pytest.mark.parametrize("workers", ["0", "-2"])
def test_workers_below_one_is_a_usage_error(tree: Path, tmp_path: Path, workers: str) -> None:
    run = CliRunner().invoke(cli, ["audit", str(tree), "--protocol", "medcare", "--out",
                                   str(tmp_path / "out"), "--workers", workers])
    assert run.exit_code == 2
    assert f"Invalid value for '--workers': {workers} is not in the range x>=1." in run.stderr
    assert not (tmp_path / "out").exists()
    with pytest.raises(UsageError, match=f"--workers {workers}: give 1 or more"):
        audit(tree, tmp_path / "out", workers=int(workers))


@pytest.mark.parametrize("address", ["bogus", "http://host:8786", "host:port", "tcp://"])
def test_malformed_scheduler_address_is_a_usage_error(tree: Path, tmp_path: Path,
                                                      address: str) -> None:
    run = cli_audit(tree, tmp_path / "out", "--scheduler", address)
    assert run.exit_code == 2  # type: ignore[attr-defined]
    assert (f"Invalid value for '--scheduler': {address!r} is not a Dask scheduler address; "
            "give tcp://HOST:PORT (or tls://, ucx://, inproc://) or HOST:PORT, such as "
            "tcp://scheduler-host:8786") in run.stderr  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match="not a Dask scheduler address"):
        audit(tree, tmp_path / "out", scheduler=address)
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_is_unusable_input(tree: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT_S", 1.0)
    address = f"tcp://127.0.0.1:{port}"
    started = time.monotonic()
    run = cli_audit(tree, tmp_path / "out", "--scheduler", address)
    assert run.exit_code == 3, run.output  # type: ignore[attr-defined]
    assert run.stderr.splitlines() == [  # type: ignore[attr-defined]
        f"rtcheck: error: cannot reach the Dask scheduler at {address} within 1 s; start "
        "it or check the address"]
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out").exists()  # refused before anything is written


# --- 7. no DICOM ------------------------------------------------------------------------------

def test_root_without_dicom_is_unusable_input(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    (root / "site_a").mkdir(parents=True)
    (root / "site_a" / "notes.txt").write_text("no plans here")
    run = cli_audit(root, tmp_path / "out")
    assert run.exit_code == 3  # type: ignore[attr-defined]
    assert run.stderr.splitlines() == [  # type: ignore[attr-defined]
        f"rtcheck: error: {root}: no DICOM files found in it or below it; give the folder "
        "that holds the site (or case) folders"]
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError):
        audit(root, tmp_path / "out")


@pytest.mark.parametrize("flags", [[], ["--overwrite"], ["--resume"]])
def test_out_holding_foreign_json_is_refused_and_left_alone(tmp_path: Path,
                                                            flags: list[str]) -> None:
    """--overwrite deletes only an audit's own results: a folder of other JSON files (no
    audit.json) is refused, whatever the flags, and nothing in it is touched."""
    mine = tmp_path / "mydocs" / "results" / "plan.json"
    mine.parent.mkdir(parents=True)
    mine.write_text('{"my": "notes"}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", str(FIXTURES), "--protocol", "medcare", "--out",
                                      str(tmp_path / "mydocs"), "--workers", "1", *flags])
    assert result.exit_code == 2, result.output
    assert "holds 1 file(s) that are not rtcheck audit results (plan.json)" in result.output
    assert mine.read_text(encoding="utf-8") == '{"my": "notes"}'
    assert sorted(p.name for p in (tmp_path / "mydocs").rglob("*")) == ["plan.json", "results"]


def test_scheduler_without_dask_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """From a checkout the extra is installed with pip install -e '.[dask]' (the README's
    way), not from the package index (found by a new-user trial)."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(UsageError) as caught:
        backends.connect("tcp://127.0.0.1:1")
    assert str(caught.value) == (
        "--scheduler needs dask.distributed: install it with pip install -e '.[dask]' in the "
        "rtcheck checkout (or pip install 'rtcheck[dask]')")
