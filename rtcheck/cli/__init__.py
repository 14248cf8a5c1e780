"""The ``rtcheck`` command line: thin click commands over the library.

Results go to stdout, logs and error messages to stderr. Every
:class:`~rtcheck.errors.RtcheckError` becomes a one-line message and its exit code
(:mod:`rtcheck.cli.exitcodes`); anything else is an internal error (exit 4), with
the traceback only under ``--debug``.
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings
from typing import Any

import click

from rtcheck import __version__
from rtcheck.cli import exitcodes
from rtcheck.errors import InputError, RtcheckError, UsageError


class RtcheckGroup(click.Group):
    """A click group that turns exceptions into documented exit codes.

    ``rtcheck PLAN_DIR ...`` is the shorthand of ``rtcheck check PLAN_DIR ...``: when the
    first argument is not a subcommand but an existing path, ``check`` is inserted.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        import os

        first = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        if (first is not None and args[first] not in self.commands
                and os.path.exists(args[first])):
            args = [*args[:first], "check", *args[first:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except UsageError as exc:
            click.echo(f"rtcheck: error: {exc}", err=True)
            sys.exit(exitcodes.USAGE)
        except InputError as exc:
            click.echo(f"rtcheck: error: {exc}", err=True)
            for problem in getattr(exc, "problems", [])[:200]:
                click.echo(f"  - {problem}", err=True)
            sys.exit(exitcodes.BAD_INPUT)
        except RtcheckError as exc:
            click.echo(f"rtcheck: error: {exc}", err=True)
            sys.exit(exitcodes.BAD_INPUT)
        except Exception as exc:
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            click.echo(
                f"rtcheck: internal error: {type(exc).__name__}: {exc} "
                "(this is a bug in rtcheck; rerun with --debug and report it)",
                err=True,
            )
            sys.exit(exitcodes.INTERNAL)


@click.group(cls=RtcheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rtcheck")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def cli(verbose: int, debug: bool) -> None:
    """rtcheck: check radiotherapy (SBRT) plans exported as DICOM-RT.

    rtcheck PLAN_DIR is the same as rtcheck check PLAN_DIR.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    if verbose < 2:
        # pydicom logs *and* warns about every odd value it meets ("Invalid value for
        # VR DS..."); the loader turns the ones that matter into a one-line error
        # naming the attribute, so its own lines would only bury that line (-vv shows them)
        logging.getLogger("pydicom").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom(\.|$)")


def _register() -> None:
    from rtcheck.cli.check import check
    from rtcheck.cli.constraints import constraints
    from rtcheck.cli.dvh import dvh
    from rtcheck.cli.endpoints import endpoints
    from rtcheck.cli.info import info

    cli.add_command(check)
    cli.add_command(constraints)
    cli.add_command(info)
    cli.add_command(endpoints)
    cli.add_command(dvh)


_register()


def main() -> None:
    """Console-script entry point; usage errors exit 2 (click's convention)."""
    cli(prog_name="rtcheck")
