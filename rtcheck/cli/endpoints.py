"""``rtcheck endpoints``: MEDCARE trial endpoints from a patient-event file."""

from __future__ import annotations

import re
from datetime import date

import click

from rtcheck.cli.output import emit
from rtcheck.errors import UsageError
from rtcheck.events.cohort import AnalysisConfig, analyse_file
from rtcheck.events.endpoints import CPFS_CENSORING, UNKNOWN_DEATH_CAUSE
from rtcheck.events.report import finding_lines, render
from rtcheck.events.survival import MEDIAN_RULES
from rtcheck.findings import Severity

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_cutoff(text: str, today: date) -> tuple[date, str | None]:
    """The ``--cutoff`` date and a warning when it lies after ``today``.

    Raises :class:`UsageError` for text that is not YYYY-MM-DD or a date that does not
    exist (2023-06-31).
    """
    m = _ISO_DATE.match(text.strip())
    if not m:
        raise UsageError(f"--cutoff: {text!r} is not a date; write it as YYYY-MM-DD")
    try:
        cut = date(*(int(g) for g in m.groups()))
    except ValueError as exc:
        raise UsageError(f"--cutoff: {text} does not exist ({exc}); give a real date as "
                         "YYYY-MM-DD") from exc
    warning = None
    if cut > today:
        warning = (f"--cutoff {cut.isoformat()} is after today ({today.isoformat()}): "
                   "patients are censored at a day that has not come yet; check the date")
    return cut, warning


def _check_records(record_paths: tuple[str, ...]) -> None:
    """Say which --records paths hold no treatment record; a usage error when none does."""
    from rtcheck.dicom import read_treatment_records

    empty = [p for p in record_paths if not read_treatment_records([p])]
    if empty and len(empty) == len(record_paths):
        raise UsageError(f"--records: no RT (Ion) Beams Treatment Records found in "
                         f"{', '.join(empty)}; give the files or folders of the delivered "
                         "fractions' treatment records")
    for path in empty:
        click.echo(f"rtcheck: warning: --records: no RT (Ion) Beams Treatment Records found in "
                   f"{path}; it is not used", err=True)


@click.command("endpoints")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--cutoff", required=True, metavar="YYYY-MM-DD",
              help="Data cut-off date (required; no implicit today).")
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
@click.option("--cpfs-censoring", type=click.Choice(list(CPFS_CENSORING)),
              default="last-imaging", show_default=True,
              help="Censor cPFS at the last conventional imaging without progression, or at "
                   "the last contact.")
@click.option("--km-median", type=click.Choice(list(MEDIAN_RULES)), default="first",
              show_default=True,
              help="KM median where S(t) = 0.5 over an interval: first time S <= 0.5 "
                   "(lifelines) or the midpoint of the flat (R survival).")
@click.option("--unknown-death-cause", type=click.Choice(list(UNKNOWN_DEATH_CAUSE)),
              default="event", show_default=True,
              help="A death of unknown cause for CSS: an event (conservative) or censored.")
def endpoints(events: str, cutoff: str, output_format: str, plots_dir: str | None,
              record_paths: tuple[str, ...], who_ps_max: int, cpfs_censoring: str,
              km_median: str, unknown_death_cause: str) -> None:
    """Derive NEST-FS, cPFS, CSS, OS, PSA and toxicity endpoints from EVENTS (CSV or YAML).

    Data errors stop with exit 3 and a list naming patient, row and field;
    warnings go to stderr and stay in the output.
    """
    cut, warning = parse_cutoff(cutoff, date.today())  # today: only here, never in the library
    if warning:
        click.echo(f"rtcheck: warning: {warning}", err=True)
    if record_paths:
        _check_records(record_paths)
    config = AnalysisConfig(who_ps_max=who_ps_max, cpfs_censoring=cpfs_censoring,
                            km_median=km_median, unknown_death_cause=unknown_death_cause)
    result = analyse_file(events, cut, record_paths, config)
    for line in finding_lines(result.findings, min_severity=Severity.WARNING):
        click.echo(f"rtcheck: {line}", err=True)
    emit(render(result, output_format), nl=False)
    if plots_dir:
        from rtcheck.events.plots import write_plots

        files = write_plots(result, plots_dir)
        click.echo(f"rtcheck: wrote {len(files)} plot files to {plots_dir}", err=True)
