"""Everything a plan check needs besides the DICOM: protocol, options and their inputs.

Shared by ``rtcheck check`` and ``rtcheck audit`` so that an audited case is checked
exactly as ``rtcheck check FOLDER`` would check it. Precedence: the arguments given
here (command-line options) over the ``rtcheck.yaml`` beside the plan
(:mod:`rtcheck.rules.plan_config`) over the protocol's defaults. The DVH geometry model
(issue #12) is ``--geometry``, else the protocol's ``dvh.geometry``, else ``stacked``
(:func:`effective_geometry`); which of the three decided is recorded too
(:func:`geometry_source`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rtcheck.dose.settings import DvhSettings, EndCap, Geometry
from rtcheck.errors import ConfigError, UsageError
from rtcheck.rules.matching import AliasTable
from rtcheck.rules.options import CheckOptions
from rtcheck.rules.plan_config import PlanConfig, find_plan_config
from rtcheck.rules.protocol import DEFAULT_PROTOCOL, Protocol, available_protocols, load_protocol
from rtcheck.rules.schedule import read_schedule


@dataclass(frozen=True)
class CheckSetup:
    """A validated protocol, the check options and the extra files they were read from
    (alias file, schedule, ``rtcheck.yaml``: hashed into the report's provenance)."""

    protocol: Protocol
    options: CheckOptions
    extra_inputs: tuple[str, ...]


def resolve_protocol(name_or_file: str) -> Protocol:
    """A protocol by file or by name in ``constraints/``; a usage error naming the known
    protocols when it is neither."""
    if not Path(name_or_file).exists() and name_or_file not in (known := available_protocols()):
        raise UsageError(f"--protocol {name_or_file!r}: no such file and no protocol of that "
                         f"name; known: {', '.join(known) or 'none'}")
    return load_protocol(name_or_file)


def known_arm_and_site(proto: Protocol, arm: str | None, site: str | None,
                       cfg: PlanConfig) -> None:
    """An unknown ``--arm``/``--site`` value is a usage error (exit 2) naming the choices;
    an unknown value in ``rtcheck.yaml`` is a bad input file (exit 3) naming that file."""
    for option, value, choices in (("arm", arm or cfg.arm, [a.id for a in proto.arms]),
                                   ("site", site or cfg.site, [s.id for s in proto.sites])):
        if value is None or value in choices:
            continue
        why = (f"protocol {proto.id!r} has no {option} {value!r}; {option}s: "
               + ", ".join(choices))
        if (arm if option == "arm" else site) is not None:
            raise UsageError(f"--{option} {value}: {why}")
        raise ConfigError(why, path=cfg.path, field=option)
    proto.arm(arm or cfg.arm)  # the default arm (always present: the schema checks it)


def effective_geometry(option: str | None, protocol: Protocol) -> Geometry:
    """The DVH geometry model of a check: ``option`` (``--geometry``), else the protocol's
    ``dvh.geometry``, else :attr:`Geometry.STACKED` (what planning systems compute)."""
    try:
        return Geometry(option or protocol.dvh_geometry or Geometry.STACKED)
    except ValueError:
        raise UsageError(f"--geometry {option!r}: give one of "
                         + ", ".join(g.value for g in Geometry)) from None


def geometry_source(option: str | None, protocol: Protocol) -> str:
    """Which of :func:`effective_geometry`'s sources decides the model.

    Parameters
    ----------
    option
        The ``--geometry`` value, ``None`` when not given.
    protocol
        The protocol of the check (its ``dvh.geometry`` may be ``None``).

    Returns
    -------
    str
        ``"option"`` (``--geometry``), ``"protocol"`` (its ``dvh.geometry``) or
        ``"default"`` (neither: ``stacked``), as
        :attr:`~rtcheck.rules.options.CheckOptions.geometry_source` takes it.
    """
    if option:
        return "option"
    return "protocol" if protocol.dvh_geometry else "default"


def prepare_check(  # noqa: PLR0913 -- one keyword per option of `rtcheck check`
        paths: list[str], *, protocol: str | Protocol | None = None, arm: str | None = None,
        site: str | None = None, aliases: str | None = None,
        rx: tuple[float, int] | None = None, schedule: str | None = None,
        end_cap: str = "half-slice", geometry: str | None = None) -> CheckSetup:
    """The protocol and options for checking ``paths``.

    ``protocol`` is a name, a file or an already loaded :class:`Protocol` (the audit
    loads it once); ``None`` takes ``rtcheck.yaml``'s, else the default (medcare).
    ``aliases`` replaces the alias file of ``rtcheck.yaml``. ``geometry`` (``stacked`` or
    ``smooth``) replaces the protocol's ``dvh.geometry``; ``None`` takes the protocol's,
    else ``stacked`` (:func:`effective_geometry`); the options record which decided
    (:func:`geometry_source`). Raises
    :class:`~rtcheck.errors.UsageError` for a bad argument and
    :class:`~rtcheck.errors.ConfigError` for a bad ``rtcheck.yaml``, alias or schedule file.
    """
    cfg = find_plan_config(paths)
    if isinstance(protocol, Protocol):
        proto = protocol
    elif protocol is not None:
        proto = resolve_protocol(protocol)
    else:
        proto = load_protocol(cfg.protocol or DEFAULT_PROTOCOL)
    alias_path = aliases or cfg.aliases
    options = CheckOptions(
        arm=arm or cfg.arm, site=site or cfg.site,
        alias_table=AliasTable.load(alias_path) if alias_path else None,
        rx_gy=rx[0] if rx else None, fractions=rx[1] if rx else None,
        schedule=read_schedule(schedule) if schedule else (),
        settings=DvhSettings(end_cap=EndCap.HALF_SLICE if end_cap == "half-slice"
                             else EndCap.NONE, geometry=effective_geometry(geometry, proto)),
        geometry_source=geometry_source(geometry, proto))
    known_arm_and_site(proto, arm, site, cfg)
    extra = tuple(p for p in (alias_path, schedule, cfg.path or None) if p)
    return CheckSetup(proto, options, extra)
