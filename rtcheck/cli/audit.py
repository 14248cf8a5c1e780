"""``rtcheck audit ROOT --protocol NAME|FILE --out DIR``: a QA audit across sites."""

from __future__ import annotations

import os
import sys

import click

from rtcheck.errors import UsageError


@click.command("audit")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--protocol", required=True, metavar="NAME|FILE",
              help="The protocol every plan is checked against (a name in constraints/ or a "
                   "YAML file); each case's rtcheck.yaml still gives its arm, site and aliases.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: results/<case>.json, summary.csv/.json/.html, audit.log.")
@click.option("--workers", type=int, default=None,
              help="Local worker processes [default: all cores]; 1 checks in this process.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing dask.distributed cluster, e.g. tcp://host:8786.")
@click.option("--site-level", type=int, default=1, show_default=True,
              help="Which folder level below ROOT names the site (1: ROOT/<site>/...).")
@click.option("--arm", default=None, help="Protocol arm for every plan [default: each "
              "case's rtcheck.yaml, else the protocol's default arm].")
@click.option("--aliases", "aliases_file", default=None, type=click.Path(dir_okay=False,
              exists=True), help="Alias file for every site without its own.")
@click.option("--site-aliases", "site_aliases_dir", default=None,
              type=click.Path(file_okay=False, exists=True),
              help="Folder of per-site alias files: DIR/<site>.yaml applies to that site.")
@click.option("--anonymize", is_flag=True,
              help="Replace patient names, IDs and birth dates in every output by a keyed "
                   "hash (key: $RTCHECK_ANON_KEY or --anon-key-file).")
@click.option("--anon-key-file", default=None, type=click.Path(dir_okay=False),
              help="File holding the secret key of --anonymize (at least 16 bytes).")
@click.option("--resume", is_flag=True,
              help="Continue an audit in --out: keep results whose inputs and configuration "
                   "are unchanged, check the rest.")
@click.option("--overwrite", is_flag=True, help="Start again in an --out that holds results.")
@click.option("--end-cap", type=click.Choice(["half-slice", "none"]), default="half-slice",
              show_default=True, help="How far a contour stack extends beyond its end planes.")
def audit(root: str, protocol: str, out_dir: str, workers: int | None, scheduler: str | None,
          site_level: int, arm: str | None, aliases_file: str | None,
          site_aliases_dir: str | None, anonymize: bool, anon_key_file: str | None,
          resume: bool, overwrite: bool, end_cap: str) -> None:
    """Check every case folder under ROOT (any depth) against one protocol.

    A case folder is a folder holding DICOM files; each is checked exactly as
    `rtcheck check FOLDER` would check it, and its result is written to
    OUT/results/ as soon as it is done. The summary (CSV, JSON, HTML) is built from
    the result files at the end.

    Exit 0 every plan PASS; 1 a plan FAIL or INCOMPLETE; 2 usage error; 3 a case could
    not be checked (an error result: unusable input, or an internal error whose
    traceback is in that case's result); 4 internal error of the audit itself; 130
    interrupted (Ctrl-C): finished results are kept, --resume finishes the audit.
    """
    from rtcheck.audit.run import AuditRun, run_audit
    from rtcheck.audit.task import AuditConfig
    from rtcheck.rules.setup import resolve_protocol

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
        end_cap=end_cap, anonymize=anonymize)
    run = AuditRun(workers=workers or os.cpu_count() or 1, scheduler=scheduler,
                   site_level=site_level, resume=resume, overwrite=overwrite, anon_key=key)
    try:
        outcome = run_audit(os.path.abspath(root), out_dir, config, run)
    except KeyboardInterrupt:
        sys.exit(130)  # the log line says what was kept and how to finish
    counts = ", ".join(f"{n} {v}" for v, n in outcome.counts.items())
    click.echo(f"audit: {outcome.cases} case folder(s) ({outcome.kept} kept by --resume): "
               f"{counts}; summary: {os.path.join(out_dir, 'summary.html')}")
    sys.exit(outcome.exit_code)
