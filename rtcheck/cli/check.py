"""``rtcheck check PLAN_DIR`` (and the shorthand ``rtcheck PLAN_DIR``): the verdict."""

from __future__ import annotations

import re
import sys

import click

from rtcheck.cli import exitcodes
from rtcheck.cli.options import paths_argument, plan_option
from rtcheck.errors import UsageError

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
@click.option("--end-cap", type=click.Choice(["half-slice", "none"]), default="half-slice",
              show_default=True, help="How far a contour stack extends beyond its end planes.")
@plan_option
def check(paths: tuple[str, ...], protocol: str | None, arm: str | None, site: str | None,
          aliases_file: str | None, rx_text: str | None, schedule_file: str | None,
          output_format: str | None, output: str | None, json_file: str | None,
          html_file: str | None, junit_file: str | None, overwrite: bool, end_cap: str,
          plan_selector: str | None) -> None:
    """Check the plan in PATH... against a protocol and print the verdict.

    Exit 0 PASS; 1 FAIL or INCOMPLETE; 2 usage error; 3 unusable input (also when the
    loader found an ERROR such as a broken link: the report is still written, with
    every affected check NOT EVALUATED); 4 internal error.
    """
    from rtcheck.atomic import write_text_atomic
    from rtcheck.dicom.loader import load
    from rtcheck.rules.engine import check_load
    from rtcheck.rules.setup import prepare_check
    from rtcheck.rules.vocabulary import Verdict

    if output_format is None:
        suffix = output.rsplit(".", 1)[-1].lower() if output and "." in output else ""
        output_format = {"json": "json", "csv": "csv", "html": "html", "htm": "html",
                         "xml": "junit"}.get(suffix, "text")
    targets = [p for p in (output, json_file, html_file, junit_file) if p]
    if not overwrite:
        from pathlib import Path
        for t in targets:
            if Path(t).exists():
                raise UsageError(f"{t} exists; give --overwrite to replace it")
    setup = prepare_check(list(paths), protocol=protocol, arm=arm, site=site,
                          aliases=aliases_file, rx=parse_rx(rx_text) if rx_text else None,
                          schedule=schedule_file, end_cap=end_cap)  # before any work
    result = load(list(paths), plan_selector=plan_selector)
    report = check_load(result, setup.protocol, setup.options, setup.extra_inputs)
    text = render(report, output_format, color=output is None and sys.stdout.isatty()
                  and output_format == "text")
    if output:
        write_text_atomic(output, text, overwrite=overwrite)
        click.echo(f"{report.verdict.value}: report written to {output}", err=True)
    else:
        click.echo(text, nl=False)
    for path, fmt in ((json_file, "json"), (html_file, "html"), (junit_file, "junit")):
        if path:
            write_text_atomic(path, render(report, fmt), overwrite=overwrite)
    if any(c.input_blocked for c in report.cases) or any(
            f.severity.value == "ERROR" for f in result.findings):
        click.echo("rtcheck: error: the input has ERROR findings: the checks they block are "
                   "NOT EVALUATED", err=True)
        sys.exit(exitcodes.BAD_INPUT)
    sys.exit(exitcodes.OK if report.verdict is Verdict.PASS else exitcodes.FAIL)
