"""Behaviour shared by the commands that load DICOM (``info``, ``dvh``)."""

from __future__ import annotations

import sys

import click

from rtcheck.cli import exitcodes
from rtcheck.dicom.model import LoadResult
from rtcheck.findings import Severity


def exit_on_input_errors(result: LoadResult) -> None:
    """After the report is printed: exit 3 when the load has ERROR findings.

    ERROR findings of the loader (broken links, frame-of-reference mismatch, ambiguous or
    incomplete dose, conflicting duplicates...) make the input unusable for checking; the
    report on stdout says which, and stderr gets one summary line.
    """
    errors = [f for c in result.cases for f in c.findings] + list(result.findings)
    errors = [f for f in errors if f.severity is Severity.ERROR]
    if errors:
        codes = ", ".join(sorted({f.code for f in errors}))
        click.echo(
            f"rtcheck: error: the input has {len(errors)} ERROR finding(s): {codes}", err=True
        )
        sys.exit(exitcodes.BAD_INPUT)
