"""``rtcheck info PATH...``: what was found and how it links.

Exit code 0 when everything loaded and linked; 3 when the input is unusable
(a one-line error) or when any ERROR finding (broken link, frame-of-reference
mismatch, conflicting duplicate...) makes a case unusable for checking.
"""

from __future__ import annotations

import json

import click

from rtcheck.cli.common import exit_on_input_errors
from rtcheck.cli.options import format_option, paths_argument, plan_option
from rtcheck.cli.output import emit
from rtcheck.dicom import load
from rtcheck.report.info_report import info_dict, render_text


@click.command()
@paths_argument
@plan_option
@format_option
def info(paths: tuple[str, ...], plan_selector: str | None, output_format: str) -> None:
    """Describe the DICOM-RT objects under PATHS: cases, plan, dose, structures, findings."""
    result = load(list(paths), plan_selector=plan_selector)
    if output_format == "json":
        emit(json.dumps(info_dict(result), indent=2))
    else:
        emit(render_text(result))
    exit_on_input_errors(result)
