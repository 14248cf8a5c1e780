"""``rtcheck audit ROOT --protocol NAME|FILE --out DIR``: a QA audit across sites."""

from __future__ import annotations

import os
import sys

import click

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


def _scheduler(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A usage error (exit 2) for an address that is not of a Dask scheduler's form."""
    if value is None:
        return None
    from rtcheck.audit.backends import check_scheduler_address

    try:
        return check_scheduler_address(value)
    except UsageError as exc:
        raise click.BadParameter(f"{value!r} is {str(exc).split(': ', 1)[1]}", ctx,
                                 param) from None


@click.command("audit")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--protocol", required=True, metavar="NAME|FILE",
              help="The protocol every plan is checked against (a name in constraints/ or a "
                   "YAML file); each case's rtcheck.yaml still gives its arm, site and aliases.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: results/<case>.json, summary.csv/.json/.html, audit.log, "
                   "audit.json (the manifest --resume checks).")
@workers_option
@click.option("--scheduler", default=None, metavar="ADDRESS", callback=_scheduler,
              help="Run on an existing dask.distributed cluster: tcp://HOST:PORT (or tls://, "
                   "ucx://, inproc://) or HOST:PORT, e.g. tcp://host:8786.")
@site_level_option
@arm_option
@aliases_option
@site_aliases_option
@click.option("--anonymize", is_flag=True,
              help="Replace patient names, IDs and birth dates in every output by a keyed "
                   "hash (key: $RTCHECK_ANON_KEY or --anon-key-file).")
@click.option("--anon-key-file", default=None, type=click.Path(dir_okay=False),
              help="File holding the secret key of --anonymize (at least 16 bytes).")
@click.option("--resume", is_flag=True,
              help="Continue the audit in --out (same ROOT, same --anonymize key): keep "
                   "results whose inputs and configuration are unchanged, check the rest; "
                   "results of folders no longer found go to results-orphaned/.")
@click.option("--overwrite", is_flag=True,
              help="Start again in an --out that holds results (new manifest and log).")
@end_cap_option
@geometry_option
def audit(root: str, protocol: str, out_dir: str, workers: int | None, scheduler: str | None,
          site_level: int, arm: str | None, aliases_file: str | None,
          site_aliases_dir: str | None, anonymize: bool, anon_key_file: str | None,
          resume: bool, overwrite: bool, end_cap: str, geometry: str | None) -> None:
    """Check every case folder under ROOT (any depth) against one protocol.

    A case is a folder of DICOM files with its subfolders (see --site-level); each
    is checked exactly as `rtcheck check FOLDER` would check it, and its result is written to
    OUT/results/ as soon as it is done. The summary (CSV, JSON, HTML) is built from
    the result files at the end.

    Exit 0 every plan PASS; 1 a plan FAIL or INCOMPLETE; 2 usage error (also: another
    audit is running in --out, or --resume with another ROOT or anonymisation key than
    the audit in --out); 3 unusable input (no DICOM under ROOT, scheduler unreachable)
    or a case could not be checked (an error result: unusable input, or an internal
    error whose traceback is in that case's result); 4 internal error of the audit
    itself; 130 interrupted (Ctrl-C): finished results are kept, --resume finishes the
    audit.
    """
    from rtcheck.audit.run import AuditRun, run_audit
    from rtcheck.audit.task import AuditConfig
    from rtcheck.rules.setup import effective_geometry, geometry_source, resolve_protocol

    if resume and overwrite:
        raise UsageError("--resume and --overwrite: give one (continue, or start again)")
    if anon_key_file and not anonymize:
        raise UsageError("--anon-key-file is the key of --anonymize: give --anonymize too")
    key = None
    if anonymize:
        from rtcheck.audit.anonymize import load_key
        key = load_key(anon_key_file)
    proto = resolve_protocol(protocol)
    if arm is not None and arm not in (arms := [a.id for a in proto.arms]):
        raise UsageError(f"--arm {arm}: protocol {proto.id!r} has no arm {arm!r}; arms: "
                         + ", ".join(arms))
    config = AuditConfig(
        protocol_path=proto.path, protocol_sha256=proto.sha256, libraries=proto.libraries,
        arm=arm, aliases=aliases_file and os.path.abspath(aliases_file),
        site_aliases_dir=site_aliases_dir and os.path.abspath(site_aliases_dir),
        end_cap=end_cap, geometry=effective_geometry(geometry, proto).value,
        geometry_source=geometry_source(geometry, proto), anonymize=anonymize)
    run = AuditRun(workers=workers or os.cpu_count() or 1, scheduler=scheduler,
                   site_level=site_level, resume=resume, overwrite=overwrite, anon_key=key)
    try:
        outcome = run_audit(os.path.abspath(root), out_dir, config, run)
    except KeyboardInterrupt:
        sys.exit(130)  # the log line says what was kept and how to finish
    counts = ", ".join(f"{n} {v}" for v, n in outcome.counts.items())
    kept = f" ({outcome.kept} kept by --resume)" if resume else ""
    total = sum(outcome.counts.values())  # a verdict per plan; an ERROR per case folder
    per_plan = (f", {total} verdict(s): one per plan, an ERROR per case folder"
                if total != outcome.cases else "")
    emit(f"audit: {outcome.cases} case folder(s){kept}{per_plan}: {counts}; summary: "
         f"{os.path.join(out_dir, 'summary.html')}")
    sys.exit(outcome.exit_code)
