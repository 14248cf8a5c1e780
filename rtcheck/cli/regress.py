"""``rtcheck regress ROOT --baseline DIR --protocol P``: sample plans against stored results."""

from __future__ import annotations

import os
import sys

import click

from rtcheck.cli import exitcodes
from rtcheck.cli.options import (
    aliases_option,
    arm_option,
    end_cap_option,
    geometry_option,
    site_aliases_option,
    site_level_option,
    workers_option,
)
from rtcheck.cli.output import emit
from rtcheck.errors import UsageError

FORMATS = ("text", "json", "junit")


def _format(output: str | None, output_format: str | None) -> str:
    if output_format is not None:
        return output_format
    suffix = output.rsplit(".", 1)[-1].lower() if output and "." in output else ""
    return {"json": "json", "xml": "junit"}.get(suffix, "text")


@click.command("regress")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--baseline", "baseline_dir", required=True, type=click.Path(exists=True),
              metavar="DIR",
              help="The stored results: the --out folder of `rtcheck audit ROOT --protocol P "
                   "--out DIR` (its results/*.json, one per case folder).")
@click.option("--protocol", required=True, metavar="NAME|FILE",
              help="The protocol every plan is checked against now (a name in constraints/ "
                   "or a YAML file); each case's rtcheck.yaml still gives its arm, site and "
                   "aliases.")
@click.option("--tolerance", "tolerances", multiple=True, metavar="KIND=VALUE",
              help="Replace a tolerance, e.g. Gy=0.05, cc=1%,0.001 (kinds: Gy cGy BED vol% "
                   "Rx% cc h other); repeatable; over the protocol's regression_tolerances.")
@click.option("--compare-structures", is_flag=True,
              help="Also compare each structure's volume and min/mean/max dose.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default=None,
              help="Format on stdout or in -o FILE [default: text, or from the -o FILE "
                   "extension: .json .xml].")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Write the comparison to FILE (atomically) instead of stdout.")
@click.option("--junit", "junit_file", default=None, type=click.Path(dir_okay=False),
              help="Also write the comparison as JUnit XML to FILE (one test case per plan "
                   "and check).")
@click.option("--json", "json_file", default=None, type=click.Path(dir_okay=False),
              help="Also write the comparison as JSON to FILE.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@workers_option
@site_level_option
@arm_option
@aliases_option
@site_aliases_option
@end_cap_option
@geometry_option
def regress(root: str, baseline_dir: str, protocol: str, tolerances: tuple[str, ...],
            compare_structures: bool, output_format: str | None, output: str | None,
            junit_file: str | None, json_file: str | None, overwrite: bool,
            workers: int | None, site_level: int, arm: str | None, aliases_file: str | None,
            site_aliases_dir: str | None, end_cap: str, geometry: str | None) -> None:
    """Check every case folder under ROOT and compare each with its stored result.

    Each case folder is checked exactly as `rtcheck audit` checks it and compared with
    the baseline result of the same folder (its path below ROOT): verdict, each check's
    status, limit and value (within a tolerance per kind of value); provenance
    differences are listed, not counted. A case on one side only is drift.

    Exit 0 nothing drifted beyond tolerance; 1 drift; 2 usage error (also a malformed
    --tolerance); 3 unusable baseline or protocol; 4 internal error.
    """
    from rtcheck.atomic import refuse_existing, write_text_atomic
    from rtcheck.audit.task import AuditConfig
    from rtcheck.regress.folder import RegressRun, audit_baseline, run_regress
    from rtcheck.regress.render_text import render
    from rtcheck.regress.tolerances import resolve_tolerances
    from rtcheck.rules.setup import effective_geometry, geometry_source, resolve_protocol

    fmt = _format(output, output_format)
    refuse_existing([p for p in (output, junit_file, json_file) if p], overwrite)
    resolve_tolerances((), tolerances)  # a malformed --tolerance: exit 2 before any work
    audit_baseline(baseline_dir)  # an unusable baseline: exit 3 before any work
    proto = resolve_protocol(protocol)
    if arm is not None and arm not in (arms := [a.id for a in proto.arms]):
        raise UsageError(f"--arm {arm}: protocol {proto.id!r} has no arm {arm!r}; arms: "
                         + ", ".join(arms))
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: give 1 or more")
    config = AuditConfig(
        protocol_path=proto.path, protocol_sha256=proto.sha256, libraries=proto.libraries,
        arm=arm, aliases=aliases_file and os.path.abspath(aliases_file),
        site_aliases_dir=site_aliases_dir and os.path.abspath(site_aliases_dir),
        end_cap=end_cap, geometry=effective_geometry(geometry, proto).value,
        geometry_source=geometry_source(geometry, proto))
    run = RegressRun(workers=workers or os.cpu_count() or 1, site_level=site_level,
                     structures=compare_structures)
    tol = resolve_tolerances(proto.regression_tolerances, tolerances)
    comparison = run_regress(root, baseline_dir, config, tol, run)
    text = render(comparison, fmt)
    if output:
        write_text_atomic(output, text, overwrite=overwrite)
        click.echo(f"{'DRIFT' if comparison.drift else 'NO DRIFT'}: comparison written to "
                   f"{output}", err=True)
    else:
        emit(text, nl=False)
    for path, side_fmt in ((junit_file, "junit"), (json_file, "json")):
        if path:
            write_text_atomic(path, render(comparison, side_fmt), overwrite=overwrite)
    sys.exit(exitcodes.FAIL if comparison.drift else exitcodes.OK)
