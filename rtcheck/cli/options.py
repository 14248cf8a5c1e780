"""Options shared by several subcommands (one registry, as in rasterio's ``rio``)."""

from __future__ import annotations

import click

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format on stdout.",
)

paths_argument = click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=True, file_okay=True, readable=True),
)

plan_option = click.option(
    "--plan",
    "plan_selector",
    default=None,
    metavar="UID|LABEL",
    help="Select one plan (by SOPInstanceUID or RTPlanLabel) when the input holds several.",
)
