"""The ``rtcheck`` command line: thin click commands over the library.

Results go to stdout, logs and error messages to stderr. Every
:class:`~rtcheck.errors.RtcheckError` becomes a one-line message and its exit code
(:mod:`rtcheck.cli.exitcodes`); anything else is an internal error (exit 4), with
the traceback only under ``--debug``. A reader of stdout that goes away early
(``rtcheck ... | head``) ends the command quietly (exit 141, :func:`stdout_closed`).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import traceback
import warnings
from typing import Any, ClassVar, NoReturn

import click

from rtcheck import __version__
from rtcheck.cli import exitcodes
from rtcheck.errors import InputError, OutputError, RtcheckError, UsageError


class RtcheckGroup(click.Group):
    """A click group that turns exceptions into documented exit codes.

    ``rtcheck PLAN_DIR ...`` is the shorthand of ``rtcheck check PLAN_DIR ...``: when the
    first argument is not a subcommand but a path (existing, or written as one: see
    :func:`_path_like`), ``check`` is inserted.
    """

    #: subcommand → ("module:attribute", one-line help), imported only when the command
    #: runs (click's documented lazy-group pattern): `rtcheck --help` and `rtcheck check`
    #: do not pay for the statistics stack of `rtcheck endpoints`.
    LAZY: ClassVar[dict[str, tuple[str, str]]] = {
        "anonymize": ("rtcheck.cli.anonymize:anonymize",
                      "De-identify DICOM-RT (PS3.15 Annex E), keyed and verified."),
        "audit": ("rtcheck.cli.audit:audit",
                  "Audit every plan under ROOT (sites, parallel or Dask, resumable)."),
        "check": ("rtcheck.cli.check:check",
                  "Check the plan in PATH... against a protocol: PASS, FAIL or INCOMPLETE."),
        "constraints": ("rtcheck.cli.constraints:constraints",
                        "Validate and show protocol and constraint-library YAML files."),
        "dvh": ("rtcheck.cli.dvh:dvh",
                "DVHs, DVH metrics, BED/EQD2 and plan-quality indices."),
        "endpoints": ("rtcheck.cli.endpoints:endpoints",
                      "MEDCARE trial endpoints, Kaplan-Meier and Cox statistics."),
        "info": ("rtcheck.cli.info:info",
                 "Describe the DICOM-RT objects found: cases, plan, dose, structures."),
        "regress": ("rtcheck.cli.regress:regress",
                    "Compare plan checks with a stored baseline: drift beyond tolerance."),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from :attr:`LAZY`, without importing anything."""
        rows = [(name, self.LAZY[name][1]) for name in self.list_commands(ctx)
                if name in self.LAZY]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            import importlib

            module, attr = self.LAZY[cmd_name][0].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        """click's, with the closest command names suggested for an unknown word."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            import difflib

            close = difflib.get_close_matches(args[0], self.list_commands(ctx), n=2)
            if not close or "No such command" not in exc.message:
                raise
            raise click.UsageError(f"{exc.message} Did you mean "
                                   f"{' or '.join(repr(c) for c in close)}?", ctx) from exc

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        if (first is not None and args[first] not in self.list_commands(ctx)
                and _path_like(args[first])):
            args = [*args[:first], "check", *args[first:]]
        return super().parse_args(ctx, args)

    #: the subcommand the last invocation ran (``None`` before one runs)
    ran: str | None = None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (UsageError, OutputError) as exc:
            click.echo(f"rtcheck: error: {exc}", err=True)
            sys.exit(exitcodes.USAGE)
        except InputError as exc:
            click.echo(f"rtcheck: error: {exc}", err=True)
            problems = [p for p in getattr(exc, "problems", []) if p != str(exc)]
            for problem in problems[:200]:
                click.echo(f"  - {problem}", err=True)
            sys.exit(exitcodes.BAD_INPUT)
        except RtcheckError as exc:
            click.echo(f"rtcheck: error: {exc}", err=True)
            sys.exit(exitcodes.BAD_INPUT)
        except BrokenPipeError:
            stdout_closed()
        except Exception as exc:
            if ctx.find_root().params.get("debug"):
                traceback.print_exc()
            click.echo(
                f"rtcheck: internal error: {type(exc).__name__}: {exc} "
                "(this is a bug in rtcheck; rerun with --debug and report it)",
                err=True,
            )
            sys.exit(exitcodes.INTERNAL)
        finally:
            self.ran = ctx.invoked_subcommand


def _path_like(arg: str) -> bool:
    """An existing path, or one written as a path (a separator, ``.`` or ``~`` first): the
    shorthand ``rtcheck PLAN_DIR`` then runs ``check``, whose own message says when the path
    does not exist ("No such command" would hide a mistyped folder)."""
    return (os.path.exists(arg) or os.sep in arg or "/" in arg
            or arg.startswith((".", "~")))


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


def stdout_closed() -> NoReturn:
    """End the command quietly: the reader of stdout has gone (``rtcheck ... | head``).

    As Python's documentation of SIGPIPE advises, stdout is pointed at ``os.devnull``
    first, so that the interpreter's last flush of what is still buffered does not fail
    again on the way out.

    Raises
    ------
    SystemExit
        Always, with :data:`~rtcheck.cli.exitcodes.BROKEN_PIPE` (141 = 128 + SIGPIPE, what
        a shell reports for a command ended by that signal), never an internal error.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (a test runner's)
        pass
    sys.exit(exitcodes.BROKEN_PIPE)


def _flush_stdout() -> None:
    """Flush stdout before the interpreter does, so a closed pipe ends as :func:`stdout_closed`."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        stdout_closed()


#: Subcommands that leave no worker pool, temporary file or plot back-end behind: when
#: one ends, :func:`main` exits without tearing the interpreter down.
FAST_EXIT = frozenset({"check", "constraints", "dvh", "info"})


def _fast_exit(code: int) -> NoReturn:
    """Exit with ``code`` once the streams and log handlers are flushed, skipping the
    interpreter's teardown (freeing every module and object one by one: 50-90 ms after a
    DVH run of the breast export), as mypy's ``hard_exit`` does. Report files are
    already closed (written atomically); the subcommands of :data:`FAST_EXIT` register
    no exit handlers of their own."""
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


#: Generation-0 threshold of the cyclic garbage collector while a command runs (CPython's
#: default is 700): loading a plan creates tens of thousands of objects (pydicom data sets,
#: dataclasses), none of them cyclic garbage, and collecting every 700 allocations cost
#: ~10 % of `rtcheck dvh` on the breast export. The value is mypy's (``tune_gc``, set before
#: its imports for the same reason); reference counting still frees everything else at once.
GC_GEN0_THRESHOLD = 200_000


def tune_gc() -> None:
    """Run the cyclic garbage collector less often (see :data:`GC_GEN0_THRESHOLD`)."""
    if sys.implementation.name == "cpython":  # (the platform module costs 1 ms to import)
        gc.set_threshold(GC_GEN0_THRESHOLD, 30, 30)


#: glibc's ``M_TOP_PAD`` (mallopt(3)): how much more memory each growth of the heap asks the
#: system for, and keeps when memory is freed (default 128 KiB). A command's large arrays
#: (the dose grid, every structure's samples) are made and freed one after another; with the
#: default each one comes from pages the kernel must map and clear again, with 256 MiB of
#: room they are reused: -5 % for `rtcheck dvh` of the breast export (median of 13 runs
#: 0.366 against 0.385 s). Address space only: pages the program never touches cost nothing.
MALLOC_TOP_PAD_BYTES = 256 << 20
_M_TOP_PAD = -2  #: the parameter's number in glibc's malloc.h


def tune_malloc() -> bool:
    """Let the C heap keep freed memory for reuse (see :data:`MALLOC_TOP_PAD_BYTES`); True
    when applied (Linux with a C library that has ``mallopt``), False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library symbols, or no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_TOP_PAD, MALLOC_TOP_PAD_BYTES))


def main() -> None:
    """Console-script entry point; usage errors exit 2 (click's convention)."""
    tune_gc()  # before the command's imports (numpy, pydicom), which allocate the most
    tune_malloc()
    if isinstance(cli, RtcheckGroup):
        cli.ran = None  # this invocation's subcommand only (--version, --help run none)
    try:
        cli(prog_name="rtcheck")
    except SystemExit as done:
        _flush_stdout()
        if isinstance(cli, RtcheckGroup) and cli.ran in FAST_EXIT and (
                done.code is None or isinstance(done.code, int)):
            _fast_exit(done.code or 0)
        raise
    finally:
        _flush_stdout()
