"""Start-up cost of the command line: what the commands import (issue #8).

Timings live in benchmarks/bench_startup.py; here only what can be asserted exactly:
the lazy group resolves every command, `--help` imports no subcommand, and the
`check`/`dvh`/`info` modules do not pull in the statistics and plotting stack.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("lifelines", "pandas", "matplotlib")


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
