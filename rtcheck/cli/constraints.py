"""``rtcheck constraints validate FILE`` and ``rtcheck constraints show NAME``."""

from __future__ import annotations

import click

from rtcheck.cli.output import emit


@click.group("constraints")
def constraints() -> None:
    """Validate and show protocol and constraint-library YAML files (constraints/)."""


@constraints.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Validate protocol or library FILES; every problem is printed as file:line: field.

    Exit 0 when every file is valid, 3 otherwise.
    """
    from rtcheck.rules.protocol import load_library, load_protocol
    from rtcheck.rules.yaml_source import load_yaml

    for f in files:
        kind = load_yaml(f).data.get("kind")
        if kind == "library":
            doc = load_library(f)
            rows = doc.data["rows"]
            n = sum(len(r["limits"]) for r in rows)
            emit(f"{f}: valid constraint library {doc.data['id']!r}: {len(rows)} rows, "
                       f"{n} limits")
        else:
            p = load_protocol(f)
            arms = ", ".join(f"{a.id} ({len(a.checks)} plan checks, {len(a.constraints)} "
                             f"DVH limits)" for a in p.arms)
            emit(f"{f}: valid protocol {p.id!r}: arms {arms}; sites "
                       + ", ".join(s.id for s in p.sites))


@constraints.command("show")
@click.argument("name", default="medcare")
@click.option("--arm", default=None, help="Arm to show (default: every arm).")
@click.option("--fractions", type=click.IntRange(min=1), default=None,
              help="Show the limits that apply for this number of fractions.")
def show(name: str, arm: str | None, fractions: int | None) -> None:
    """Show a protocol (NAME in constraints/ or a file): arms, checks and limits."""
    from rtcheck.rules.limits import resolve_limit
    from rtcheck.rules.protocol import load_protocol

    p = load_protocol(name)
    if arm is not None:
        from rtcheck.errors import ConfigError, UsageError

        try:
            p.arm(arm)
        except ConfigError as exc:
            raise UsageError(f"--arm {arm!r}: arms of {p.id}: "
                             + ", ".join(a.id for a in p.arms)) from exc
    emit(f"{p.id}: {p.title} ({p.version})\n  file {p.path} sha256 {p.sha256[:16]}…")
    required = "yes" if p.site_required else "no"
    emit(f"  alpha/beta {p.alpha_beta_gy:g} Gy; site required: {required}; sites: "
               + "; ".join(f"{s.id} [{', '.join(s.required) or '-'}]" for s in p.sites))
    if p.dvh_geometry:
        emit(f"  DVH geometry: {p.dvh_geometry} (dvh.geometry; --geometry replaces it)")
    for a in p.arms:
        if arm and a.id != arm:
            continue
        n = fractions or a.fractions
        emit(f"\narm {a.id}: {a.title}\n  prescription {a.prescription_gy:g} Gy in "
                   f"{a.fractions} fractions; required: {', '.join(a.required) or '-'}")
        for pc in a.checks:
            lim = (f" {pc.comparison.value} {pc.limit}" if pc.comparison and pc.limit else "")
            rng = f" {pc.minimum}..{pc.maximum}" if pc.minimum and pc.maximum else ""
            emit(f"  [{pc.tier.value[:3]} p{pc.priority}] {pc.id}: {pc.kind.value}{lim}"
                       f"{rng} — {pc.source.text()}")
        emit(f"  DVH limits for {n} fractions:")
        for c in a.constraints:
            r = resolve_limit(c, n)
            lim = f"{c.comparison.value} {r.limit}" if r.limit else f"NOT EVALUATED ({r.reason})"
            caveat = " [3-fx caveat]" if c.three_fraction_caveat and n == 3 else ""
            emit(f"  [{c.tier.value[:3]} p{c.priority}] {c.id}: "
                       f"{'/'.join(c.structures)} {c.metric.raw} {lim}{caveat}")
