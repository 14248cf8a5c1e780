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

# --- the options of the commands that run the audit engine (audit, regress) ---

workers_option = click.option(
    "--workers", type=click.IntRange(min=1), default=None,
    help="Local worker processes [default: all cores]; 1 checks in this process.")

site_level_option = click.option(
    "--site-level", type=int, default=1, show_default=True,
    help="Which folder level below ROOT names the site (1: ROOT/<site>/...).")

arm_option = click.option(
    "--arm", default=None,
    help="Protocol arm for every plan [default: each case's rtcheck.yaml, else the "
         "protocol's default arm].")

aliases_option = click.option(
    "--aliases", "aliases_file", default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="Alias file for every site without its own.")

site_aliases_option = click.option(
    "--site-aliases", "site_aliases_dir", default=None,
    type=click.Path(file_okay=False, exists=True),
    help="Folder of per-site alias files: DIR/<site>.yaml applies to that site.")

end_cap_option = click.option(
    "--end-cap", type=click.Choice(["half-slice", "none"]), default="half-slice",
    show_default=True, help="How far a contour stack extends beyond its end planes.")

#: the values of :class:`rtcheck.dose.settings.Geometry` (not imported: it loads numpy)
GEOMETRY_CHOICES = ("stacked", "smooth")

_GEOMETRY_HELP = ("DVH geometry model: stacked = each contour extruded over its slab (the "
                  "staircase planning systems use: the one to compare with TPS numbers), "
                  "smooth = surface interpolated between contour planes ")

#: ``--geometry`` of the commands that check against a protocol (check, audit, regress)
geometry_option = click.option(
    "--geometry", type=click.Choice(GEOMETRY_CHOICES), default=None,
    help=_GEOMETRY_HELP + "[default: the protocol's dvh.geometry, else stacked].")

#: ``--geometry`` of ``rtcheck dvh``, which reads no protocol (nor a folder's rtcheck.yaml)
dvh_geometry_option = click.option(
    "--geometry", type=click.Choice(GEOMETRY_CHOICES), default=None,
    help=_GEOMETRY_HELP + "[default: stacked; rtcheck dvh reads no protocol, so a "
                          "protocol's dvh.geometry does not apply].")
