"""``rtcheck dvh``: DVHs, DVH metrics, BED/EQD2 and plan-quality indices."""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import replace

import click

from rtcheck.cli import exitcodes
from rtcheck.cli.options import (
    dvh_geometry_option,
    end_cap_option,
    paths_argument,
    plan_option,
)
from rtcheck.cli.output import emit
from rtcheck.dose.bed import DEFAULT_ALPHA_BETA_GY, AlphaBetaTable
from rtcheck.dose.metric_spec import DoseSpace, parse_metrics
from rtcheck.dose.settings import DvhSettings, EndCap, Geometry
from rtcheck.errors import MetricSpecError, UsageError

log = logging.getLogger(__name__)


@click.command("dvh")
@paths_argument
@click.option("--structure", "structures", multiple=True, metavar="NAME",
              help="Structure to report (repeatable; default: all).")
@click.option("--metric", "metrics", multiple=True, metavar="SPEC",
              help="TG-263 DVH metric, e.g. D95%[Gy], V20Gy[%], D0.035cc[Gy], DC700cc[Gy], "
                   "CV12.4Gy[cc], Mean[Gy], D90%[Gy]@BED3 (repeatable).")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv"]),
              default="text", show_default=True, help="Output format on stdout.")
@click.option("--curves", is_flag=True, help="Include each cumulative DVH (JSON only).")
@click.option("--dose-space", type=click.Choice(["physical", "bed", "eqd2"]),
              default="physical", show_default=True,
              help="Dose for metrics without an @ suffix (BED/EQD2 voxel by voxel).")
@click.option("--alpha-beta", "alpha_beta", type=float, default=DEFAULT_ALPHA_BETA_GY,
              show_default=True, help="Default alpha/beta (Gy) for BED/EQD2.")
@click.option("--alpha-beta-for", "alpha_beta_for", multiple=True, metavar="NAME=GY",
              help="alpha/beta of one structure, e.g. --alpha-beta-for PTV=10 (repeatable).")
@click.option("--rx-gy", type=float, default=None,
              help="Prescription dose (Gy, total) instead of the plan's (for % of Rx).")
@click.option("--fractions", type=int, default=None,
              help="Number of fractions instead of the plan's (for BED/EQD2).")
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Target for plan-quality indices (repeatable; default: PTV-type structures).")
@click.option("--isodose", "isodose_levels", multiple=True, type=float, metavar="PCT",
              help="Isodose level (% of Rx) whose target coverage is reported with the indices "
                   "(repeatable; default 100).")
@click.option("--indices/--no-indices", default=True, show_default=True,
              help="Compute plan-quality indices for the targets.")
@end_cap_option
@dvh_geometry_option
@plan_option
def dvh(
    paths: tuple[str, ...], structures: tuple[str, ...], metrics: tuple[str, ...],
    output_format: str, curves: bool, dose_space: str, alpha_beta: float,
    alpha_beta_for: tuple[str, ...], rx_gy: float | None, fractions: int | None,
    targets: tuple[str, ...], isodose_levels: tuple[float, ...], indices: bool, end_cap: str,
    geometry: str | None, plan_selector: str | None,
) -> None:
    """Compute DVHs and metrics for PATH... (a plan folder, or an RTSTRUCT plus an RTDOSE).

    Results go to stdout; exit 0 when every requested number was computed, 1 when some
    are NOT EVALUATED (one line on stderr names them), 2 for a bad option value, 3 when
    the input cannot be used or has ERROR findings (its metrics are then NOT EVALUATED).
    """
    from rtcheck.cli.common import exit_on_input_errors
    from rtcheck.dicom.loader import load
    from rtcheck.report.dvh_report import (
        build_dvh_report,
        render_csv,
        render_json,
        render_text,
    )

    try:
        specs = parse_metrics(metrics)
    except MetricSpecError as exc:  # a bad option value is a usage error, like every other
        raise UsageError(f"--metric: {exc}") from exc
    try:
        table = AlphaBetaTable.parse(alpha_beta, alpha_beta_for)
    except ValueError as exc:
        raise UsageError(f"--alpha-beta/--alpha-beta-for: {exc}") from exc
    if rx_gy is not None and not (rx_gy > 0 and math.isfinite(rx_gy)):
        raise UsageError("--rx-gy must be a positive, finite dose in Gy")
    if any(not (level > 0 and math.isfinite(level)) for level in isodose_levels):
        raise UsageError("--isodose must be a positive percentage of the prescription")
    if fractions is not None and fractions < 1:
        raise UsageError("--fractions must be at least 1")
    if curves and output_format != "json":
        log.warning("--curves only affects --format json")
    settings = DvhSettings(end_cap=EndCap.HALF_SLICE if end_cap == "half-slice" else EndCap.NONE,
                           geometry=Geometry(geometry or Geometry.STACKED))
    result = load(list(paths), plan_selector=plan_selector)
    report = build_dvh_report(
        result, specs=specs, names=structures, settings=settings, alpha_beta=table,
        dose_space=DoseSpace[dose_space.upper()], targets=targets, indices=indices,
        rx_gy=rx_gy, fractions=fractions, isodose_levels=isodose_levels or (100.0,),
        curves=curves)
    # no protocol here: the model is the option's or the default (stacked)
    report = replace(report, geometry_source="option" if geometry else "default")
    if output_format == "json":
        emit(render_json(report, curves=curves), nl=False)
    elif output_format == "csv":
        emit(render_csv(report), nl=False)
    else:
        emit(render_text(report), nl=False)
    exit_on_input_errors(result)
    missing = report.not_computed()
    if missing:
        click.echo("rtcheck: not all requested numbers were computed (NOT EVALUATED): "
                   + "; ".join(missing), err=True)
        sys.exit(exitcodes.FAIL)
