"""``rtcheck info PATH...``: what was found and how it links.

Exit code 0 when everything loaded and linked; 3 when the input is unusable
(a one-line error) or when any ERROR finding (broken link, frame-of-reference
mismatch, conflicting duplicate...) makes a case unusable for checking.
"""

from __future__ import annotations

import json
import sys

import click

from rtcheck.cli import exitcodes
from rtcheck.cli.options import format_option, paths_argument, plan_option
from rtcheck.dicom import load
from rtcheck.findings import Severity
from rtcheck.report.info_report import info_dict, render_text


@click.command()
@paths_argument
@plan_option
@format_option
def info(paths: tuple[str, ...], plan_selector: str | None, output_format: str) -> None:
    """Describe the DICOM-RT objects under PATHS: cases, plan, dose, structures, findings."""
    result = load(list(paths), plan_selector=plan_selector)
    if output_format == "json":
        click.echo(json.dumps(info_dict(result), indent=2))
    else:
        click.echo(render_text(result))
    errors = [f for c in result.cases for f in c.findings] + list(result.findings)
    errors = [f for f in errors if f.severity is Severity.ERROR]
    if errors:
        codes = ", ".join(sorted({f.code for f in errors}))
        click.echo(
            f"rtcheck: error: the input has {len(errors)} ERROR finding(s): {codes}", err=True
        )
        sys.exit(exitcodes.BAD_INPUT)
