"""``rtcheck endpoints``: MEDCARE trial endpoints from a patient-event file."""

from __future__ import annotations

from datetime import datetime

import click

from rtcheck.events.cohort import AnalysisConfig, analyse_file
from rtcheck.events.report import render
from rtcheck.findings import Severity


@click.command("endpoints")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--cutoff", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              metavar="YYYY-MM-DD", help="Data cut-off date (required; no implicit today).")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "csv"]),
              default="text", show_default=True, help="Output format on stdout.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, writable=True),
              default=None, help="Write KM, PSA waterfall and swimmer plots (PNG+SVG) here.")
@click.option("--records", "record_paths", multiple=True,
              type=click.Path(exists=True, readable=True),
              help="RT Beams Treatment Record file or folder (repeatable); the record's "
                   "PatientID must equal the event file's patient_id.")
@click.option("--who-ps-max", type=click.IntRange(0, 4), default=2, show_default=True,
              help="Highest WHO performance status eligible (paper 2, registry 1).")
def endpoints(events: str, cutoff: datetime, output_format: str, plots_dir: str | None,
              record_paths: tuple[str, ...], who_ps_max: int) -> None:
    """Derive NEST-FS, cPFS, CSS, OS, PSA and toxicity endpoints from EVENTS (CSV or YAML).

    Data errors stop with exit 3 and a list naming patient, row and field;
    warnings go to stderr and stay in the output.
    """
    cut = cutoff.date()
    result = analyse_file(events, cut, record_paths, AnalysisConfig(who_ps_max=who_ps_max))
    for finding in result.findings:
        if finding.severity is not Severity.INFO:
            click.echo(f"rtcheck: {finding}", err=True)
    click.echo(render(result, output_format), nl=False)
    if plots_dir:
        from rtcheck.events.plots import write_plots

        files = write_plots(result, plots_dir)
        click.echo(f"rtcheck: wrote {len(files)} plot files to {plots_dir}", err=True)
