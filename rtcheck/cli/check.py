"""``rtcheck check PLAN_DIR`` (and the shorthand ``rtcheck PLAN_DIR``): the verdict."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

import click

from rtcheck.cli import exitcodes
from rtcheck.cli.options import end_cap_option, geometry_option, paths_argument, plan_option
from rtcheck.cli.output import emit
from rtcheck.errors import UsageError

if TYPE_CHECKING:
    from rtcheck.regress.baseline import Baseline
    from rtcheck.rules.protocol import Protocol

_RX = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(Gy|cGy)\s*/\s*([0-9]+)\s*(?:fx|fractions?)?\s*$",
                 re.IGNORECASE)
FORMATS = ("text", "json", "csv", "html", "junit")


def parse_rx(text: str) -> tuple[float, int]:
    """``"30Gy/3fx"`` → (30.0, 3); ``UsageError`` otherwise."""
    m = _RX.match(text)
    if not m:
        raise UsageError(f"--rx {text!r}: write the total dose and fractions, e.g. 30Gy/3fx")
    dose = float(m.group(1)) / (100.0 if m.group(2).lower() == "cgy" else 1.0)
    n = int(m.group(3))
    if dose <= 0 or n < 1:
        raise UsageError(f"--rx {text!r}: dose and fractions must be positive")
    return dose, n


def render(report: object, fmt: str, color: bool = False) -> str:
    """The report in ``fmt`` (renderers are imported only when used)."""
    if fmt == "json":
        from rtcheck.report.check_text import render_json
        return render_json(report)  # type: ignore[arg-type]
    if fmt == "csv":
        from rtcheck.report.check_text import render_csv
        return render_csv(report)  # type: ignore[arg-type]
    if fmt == "html":
        from rtcheck.report.check_html import render_html
        return render_html(report)  # type: ignore[arg-type]
    if fmt == "junit":
        from rtcheck.report.check_junit import render_junit
        return render_junit(report)  # type: ignore[arg-type]
    from rtcheck.report.check_text import render_text
    return render_text(report, color=color)  # type: ignore[arg-type]


@click.command("check")
@paths_argument
@click.option("--protocol", default=None, metavar="NAME|FILE",
              help="Protocol: a name in constraints/ or a YAML file (default: rtcheck.yaml "
                   "beside the plan, else medcare).")
@click.option("--arm", default=None, help="Protocol arm (default: the protocol's default arm).")
@click.option("--site", default=None,
              help="Treatment site (spine, thorax, pelvis, ...): adds its required organs.")
@click.option("--aliases", "aliases_file", default=None, type=click.Path(dir_okay=False),
              help="YAML alias file: standard name -> list of ROI names or wildcards.")
@click.option("--rx", "rx_text", default=None, metavar="DOSE/Nfx",
              help="Prescription when the plan has none (or to replace it), e.g. 30Gy/3fx.")
@click.option("--schedule", "schedule_file", default=None, type=click.Path(dir_okay=False),
              help="Planned fraction times (CSV or YAML: fraction, datetime with timezone).")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default=None,
              help="Format of the report on stdout or in -o FILE [default: text, or from the "
                   "-o FILE extension: .json .csv .html .xml].")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--json", "json_file", default=None, type=click.Path(dir_okay=False),
              help="Also write the JSON report to FILE.")
@click.option("--html", "html_file", default=None, type=click.Path(dir_okay=False),
              help="Also write the HTML report to FILE.")
@click.option("--junit", "junit_file", default=None, type=click.Path(dir_okay=False),
              help="Also write the JUnit XML report to FILE.")
@click.option("--overwrite", is_flag=True, help="Replace existing report files.")
@end_cap_option
@geometry_option
@plan_option
@click.option("--baseline", "baseline_path", default=None, type=click.Path(exists=True),
              metavar="FILE|DIR",
              help="Compare with a stored result (rtcheck check --json FILE, an audit result "
                   "or an audit --out folder): stdout/-o carry the comparison (text, json or "
                   "junit) and the exit code is 0 no drift, 1 drift.")
@click.option("--tolerance", "tolerances", multiple=True, metavar="KIND=VALUE",
              help="With --baseline: replace a tolerance, e.g. Gy=0.05, cc=1%,0.001 "
                   "(kinds: Gy cGy BED vol% Rx% cc h other); repeatable.")
@click.option("--compare-structures", is_flag=True,
              help="With --baseline: also compare each structure's volume and min/mean/max "
                   "dose.")
def check(paths: tuple[str, ...], protocol: str | None, arm: str | None, site: str | None,
          aliases_file: str | None, rx_text: str | None, schedule_file: str | None,
          output_format: str | None, output: str | None, json_file: str | None,
          html_file: str | None, junit_file: str | None, overwrite: bool, end_cap: str,
          geometry: str | None, plan_selector: str | None, baseline_path: str | None,
          tolerances: tuple[str, ...], compare_structures: bool) -> None:
    """Check the plan in PATH... against a protocol and print the verdict.

    Exit 0 PASS; 1 FAIL or INCOMPLETE; 2 usage error; 3 unusable input (also when the
    loader found an ERROR such as a broken link: the report is still written, with
    every affected check NOT EVALUATED); 4 internal error.

    With --baseline FILE|DIR the exit code is about drift: 0 nothing drifted beyond
    tolerance (a plan that FAILs exactly as in its baseline is no drift), 1 drift, 2
    usage error, 3 unusable baseline or input.
    """
    from rtcheck.atomic import refuse_existing, write_text_atomic
    from rtcheck.dicom.loader import load
    from rtcheck.rules.engine import check_load
    from rtcheck.rules.setup import prepare_check
    from rtcheck.rules.vocabulary import Verdict

    output_format = _output_format(output, output_format, baseline_path is not None)
    if baseline_path is None and (tolerances or compare_structures):
        raise UsageError("--tolerance and --compare-structures compare with a baseline: give "
                         "--baseline FILE|DIR")
    refuse_existing([p for p in (output, json_file, html_file, junit_file) if p], overwrite)
    baseline = _load_baseline(baseline_path, tolerances)  # before any work
    setup = prepare_check(list(paths), protocol=protocol, arm=arm, site=site,
                          aliases=aliases_file, rx=parse_rx(rx_text) if rx_text else None,
                          schedule=schedule_file, end_cap=end_cap,
                          geometry=geometry)  # before any work
    result = load(list(paths), plan_selector=plan_selector)
    report = check_load(result, setup.protocol, setup.options, setup.extra_inputs)
    drift = None
    if baseline is not None:
        text, drift = _compare(report.to_dict(), baseline, setup.protocol, tolerances,
                               compare_structures, output_format)
    else:
        text = render(report, output_format, color=output is None and sys.stdout.isatty()
                      and output_format == "text")
    if output:
        write_text_atomic(output, text, overwrite=overwrite)
        what = report.verdict.value if drift is None else ("DRIFT" if drift else "NO DRIFT")
        click.echo(f"{what}: {'report' if drift is None else 'comparison'} written to "
                   f"{output}", err=True)
    else:
        emit(text, nl=False)
    for path, fmt in ((json_file, "json"), (html_file, "html"), (junit_file, "junit")):
        if path:
            write_text_atomic(path, render(report, fmt), overwrite=overwrite)
    blocked = any(c.input_blocked for c in report.cases) or any(
        f.severity.value == "ERROR" for f in result.findings)
    if blocked:
        click.echo("rtcheck: error: the input has ERROR findings: the checks they block are "
                   "NOT EVALUATED", err=True)
    if drift is not None:
        sys.exit(exitcodes.FAIL if drift else exitcodes.OK)
    if blocked:
        sys.exit(exitcodes.BAD_INPUT)
    sys.exit(exitcodes.OK if report.verdict is Verdict.PASS else exitcodes.FAIL)


def _output_format(output: str | None, output_format: str | None, baseline: bool) -> str:
    """``--format``, else from the ``-o`` extension, else text; with ``--baseline`` only
    text, json and junit (the comparison's formats)."""
    if output_format is None:
        suffix = output.rsplit(".", 1)[-1].lower() if output and "." in output else ""
        output_format = {"json": "json", "csv": "csv", "html": "html", "htm": "html",
                         "xml": "junit"}.get(suffix, "text")
    if baseline and output_format not in ("text", "json", "junit"):
        raise UsageError(f"--baseline: the comparison is written as text, json or junit, not "
                         f"{output_format} (--html/--json/--junit FILE still write the "
                         "check's own report)")
    return output_format


def _load_baseline(path: str | None, tolerances: tuple[str, ...]) -> Baseline | None:
    """The baseline (an unusable one exits 3) after checking the ``--tolerance`` syntax
    (a malformed one exits 2), both before any DICOM is read."""
    if path is None:
        return None
    from rtcheck.regress.baseline import load_baseline
    from rtcheck.regress.tolerances import resolve_tolerances

    resolve_tolerances((), tolerances)
    return load_baseline(path)


def _compare(current: dict[str, Any], baseline: Baseline, protocol: Protocol,
             tolerances: tuple[str, ...], structures: bool, fmt: str) -> tuple[str, bool]:
    """The comparison with the baseline, rendered, and whether anything drifted."""
    from rtcheck.regress.baseline import compare_with_baseline
    from rtcheck.regress.render_text import render as render_comparison
    from rtcheck.regress.tolerances import resolve_tolerances

    tol = resolve_tolerances(protocol.regression_tolerances, tolerances)
    comparison = compare_with_baseline(current, baseline, tol, structures=structures)
    return render_comparison(comparison, fmt), comparison.drift
