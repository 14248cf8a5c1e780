"""Start-up cost of the command line: what the commands import (issue #8).

Timings live in benchmarks/bench_startup.py; here only what can be asserted exactly:
the lazy group resolves every command, `--help` imports no subcommand, and the
`check`/`dvh`/`info` modules do not pull in the statistics and plotting stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("lifelines", "pandas", "matplotlib")
ROOT = Path(__file__).resolve().parents[1]


def _imported_after(code: str) -> set[str]:
    probe = (f"import sys\n{code}\n"
             f"print(','.join(m for m in {HEAVY!r} + ('numpy', 'pydicom', 'scipy') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    return set(filter(None, out.split(",")))


@pytest.mark.parametrize("module", ["rtcheck.cli.check", "rtcheck.cli.dvh", "rtcheck.cli.info",
                                    "rtcheck.cli.constraints"])
def test_command_modules_do_not_import_the_statistics_stack(module: str) -> None:
    assert not _imported_after(f"import {module}") & set(HEAVY)


def test_help_imports_no_subcommand_and_no_numpy() -> None:
    code = ("from click.testing import CliRunner\nfrom rtcheck.cli import cli\n"
            "r = CliRunner().invoke(cli, ['--help'])\nassert r.exit_code == 0, r.output\n"
            "assert 'check' in r.output and 'endpoints' in r.output")
    assert _imported_after(code) == set()


def test_every_lazy_command_resolves_with_the_advertised_help() -> None:
    import click

    from rtcheck.cli import RtcheckGroup, cli

    ctx = click.Context(cli)
    for name, (_target, short) in RtcheckGroup.LAZY.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        assert short.endswith(".") and len(short) < 80


def test_the_endpoints_command_still_works_lazily() -> None:
    assert {"lifelines", "pandas"} <= _imported_after(
        "from rtcheck.cli import cli\nimport click\n"
        "cli.get_command(click.Context(cli), 'endpoints')")


SMOOTH_MODULES = ("rtcheck.dose.geom_sections", "rtcheck.dose.geom_smooth",
                  "rtcheck.dose.geom_chains", "rtcheck.dose.geom_radial")


@pytest.mark.parametrize(("geometry", "loaded"), [("stacked", False), ("smooth", True)])
def test_the_smooth_model_is_imported_only_when_asked_for(geometry: str, loaded: bool) -> None:
    """The default (staircase) DVH does not pay for importing the smooth model's modules,
    and neither model imports numpy.ma (15 ms; np.unique and np.isin pull it in)."""
    code = ("import sys\nfrom rtcheck.dicom.loader import load\n"
            "from rtcheck.dose.engine import compute_dvhs\n"
            "from rtcheck.dose.settings import DvhSettings, Geometry\n"
            "case = load(['fixtures/spine_sbrt']).cases[0]\n"
            f"settings = DvhSettings(geometry=Geometry({geometry!r}))\n"
            "dvhs = compute_dvhs(case.structure_set, case.dose, settings)\n"
            "assert len(dvhs) == 5 and all(d.dvh.total_volume_cc > 0 for d in dvhs)\n"
            "assert 'numpy.ma' not in sys.modules\n"
            f"print(','.join(m for m in {SMOOTH_MODULES!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == (",".join(SMOOTH_MODULES) if loaded else "")


def _run_main(argv: list[str], tmp_cwd: str) -> subprocess.CompletedProcess[str]:
    """``main()`` in a fresh interpreter that announces its teardown on stderr."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('TEARDOWN', file=sys.stderr))\n"
            f"sys.argv = {['rtcheck', *argv]!r}\n"
            "from rtcheck.cli import main\nmain()\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_cwd)


def test_a_plan_check_exits_without_interpreter_teardown_and_loses_nothing(tmp_path) -> None:
    """check/dvh/info/constraints end with os._exit once stdout, stderr and the log are
    flushed (50-90 ms of teardown saved): the exit code, the whole text report and the
    JSON file are there; the interpreter's exit handlers do not run."""
    from tests.conftest import FIXTURES

    out = tmp_path / "r.json"
    got = _run_main(["check", str(FIXTURES / "spine_cord_overdose"), "--json", str(out)],
                    str(tmp_path))
    assert got.returncode == 1
    assert "VERDICT: FAIL" in got.stdout and got.stdout.rstrip().endswith("(plan Dmax 37.5 Gy)")
    assert json.loads(out.read_text())["verdict"] == "FAIL"
    assert "TEARDOWN" not in got.stderr


def test_other_commands_tear_down_as_usual(tmp_path) -> None:
    """endpoints, audit, regress and anonymize may hold worker pools, temporary files or
    plot back-ends: their exit handlers run (here: after --help of the group)."""
    got = _run_main(["endpoints", "--help"], str(tmp_path))
    assert got.returncode == 0 and "TEARDOWN" in got.stderr
    got = _run_main(["--version"], str(tmp_path))
    assert got.returncode == 0 and "TEARDOWN" in got.stderr


def test_main_runs_the_garbage_collector_less_often(tmp_path) -> None:
    """main() raises the collector's generation-0 threshold before any command import."""
    from rtcheck.cli import GC_GEN0_THRESHOLD

    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('GC', gc.get_threshold()[0], file=sys.stderr))\n"
            "sys.argv = ['rtcheck', '--version']\n"
            "from rtcheck.cli import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"GC {GC_GEN0_THRESHOLD}" in done.stderr
    assert GC_GEN0_THRESHOLD > 700  # CPython's default, which the test would not tell apart


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt (Linux)")
def test_the_c_heap_keeps_freed_memory_for_reuse() -> None:
    """On Linux, M_TOP_PAD is set (mallopt returns 1 when it accepts the value)."""
    from rtcheck.cli import MALLOC_TOP_PAD_BYTES, tune_malloc

    assert MALLOC_TOP_PAD_BYTES == 256 << 20
    assert tune_malloc() is True


def test_main_tunes_the_allocators_before_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import rtcheck.cli as cli_module

    calls: list[str] = []
    monkeypatch.setattr(cli_module, "tune_gc", lambda: calls.append("gc"))
    monkeypatch.setattr(cli_module, "tune_malloc", lambda: calls.append("malloc") or True)
    monkeypatch.setattr(sys, "argv", ["rtcheck", "--version"])
    # as after an earlier in-process `check`: --version runs no subcommand, so main() must
    # not take the fast exit of the previous one (os._exit would end this test process)
    monkeypatch.setattr(cli_module.cli, "ran", "check")
    with pytest.raises(SystemExit) as done:
        cli_module.main()
    assert done.value.code == 0
    assert calls == ["gc", "malloc"]
    assert cli_module.cli.ran is None
