"""Protocols and constraint libraries: YAML → validated, frozen, picklable objects.

``load_protocol("medcare")`` reads ``constraints/medcare.yaml`` (a name) or any file
(a path), validates it with the JSON Schemas of :mod:`rtcheck.rules.schema` plus the
checks JSON Schema cannot express (units against metrics, metric grammar, references),
loads the libraries it applies (``tg101.yaml``) the same way, and returns a
:class:`Protocol`. Every problem is one line ``file:line: field: what to do``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rtcheck.dose.metric_spec import MetricSpec, parse_metric
from rtcheck.errors import ConfigError
from rtcheck.rules.protocol_checks import library_problems, protocol_problems
from rtcheck.rules.quantity import Quantity, parse_quantity
from rtcheck.rules.schema import LIBRARY_SCHEMA, PROTOCOL_SCHEMA
from rtcheck.rules.vocabulary import CheckKind, Comparison, Tier
from rtcheck.rules.yaml_source import YamlDocument, load_yaml, validate

DEFAULT_PROTOCOL = "medcare"


def constraints_dir() -> Path:
    """The ``constraints/`` folder: ``$RTCHECK_CONSTRAINTS`` or the one beside the package."""
    env = os.environ.get("RTCHECK_CONSTRAINTS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "constraints"


def available_protocols() -> list[str]:
    """Names of the protocols in :func:`constraints_dir` (files with ``kind: protocol``)."""
    out = []
    for p in sorted(constraints_dir().glob("*.yaml")):
        head = p.read_text(encoding="utf-8", errors="replace")[:4000]
        if "\nkind: protocol" in head or head.startswith("kind: protocol"):
            out.append(p.stem)
    return out


@dataclass(frozen=True)
class Source:
    document: str
    section: str = ""
    table: str = ""
    row: str = ""
    version: str = ""

    def text(self) -> str:
        parts = [self.document, self.section, self.table,
                 f"row {self.row}" if self.row else "", self.version]
        return ", ".join(p for p in parts if p)

    @classmethod
    def of(cls, d: dict[str, Any], row: object = "") -> Source:
        return cls(str(d["document"]), str(d.get("section", "")), str(d.get("table", "")),
                   str(d.get("row", row) or ""), str(d.get("version", "")))


@dataclass(frozen=True)
class Conversion:
    """Convert a library limit to an untabulated fraction count by equal BED (LQ)."""

    method: str
    alpha_beta_gy: float


@dataclass(frozen=True)
class Constraint:
    """One DVH limit on one or more (alternative) structures.

    ``limits`` maps a fraction count to the limit (``None`` key: any count);
    ``minor_limits`` the end of the minor-deviation band the same way.
    """

    id: str
    title: str
    structures: tuple[str, ...]
    aliases: tuple[str, ...]
    metric: MetricSpec
    comparison: Comparison
    limits: tuple[tuple[int | None, Quantity], ...]
    tier: Tier
    priority: int
    source: Source
    minor_limits: tuple[tuple[int | None, Quantity], ...] = ()
    role: str = "oar"
    endpoint: str = ""
    notes: tuple[str, ...] = ()
    needs_derived_structure: str = ""
    derived_from: str = ""
    convert: Conversion | None = None
    three_fraction_caveat: str = ""

    @property
    def tabulated_fractions(self) -> tuple[int, ...]:
        return tuple(sorted(n for n, _ in self.limits if n is not None))


@dataclass(frozen=True)
class PlanCheck:
    """A check on the plan as a whole (prescription, BED, Dmax, spacing, approval...)."""

    id: str
    kind: CheckKind
    title: str
    tier: Tier
    priority: int
    source: Source
    structure: str = ""
    aliases: tuple[str, ...] = ()
    comparison: Comparison | None = None
    limit: Quantity | None = None
    minimum: Quantity | None = None
    maximum: Quantity | None = None
    alpha_beta_gy: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Arm:
    id: str
    title: str
    prescription_gy: float
    fractions: int
    required: tuple[str, ...]
    checks: tuple[PlanCheck, ...]
    constraints: tuple[Constraint, ...]


@dataclass(frozen=True)
class Site:
    id: str
    title: str
    required: tuple[str, ...]


@dataclass(frozen=True)
class Protocol:
    """A validated protocol with its libraries applied to each arm."""

    id: str
    title: str
    version: str
    path: str
    sha256: str
    source: Source
    alpha_beta_gy: float
    default_arm: str
    arms: tuple[Arm, ...]
    sites: tuple[Site, ...]
    structure_aliases: tuple[tuple[str, tuple[str, ...]], ...]
    site_required: bool
    binding_margin_percent: float
    libraries: tuple[tuple[str, str], ...]
    #: ``regression_tolerances``: (kind, tolerance text) for baseline comparisons
    regression_tolerances: tuple[tuple[str, str], ...] = ()
    #: ``dvh.geometry``: the DVH geometry model of its checks (``stacked``/``smooth``);
    #: ``None`` when the protocol does not say (``--geometry`` or ``stacked`` then)
    dvh_geometry: str | None = None

    def arm(self, arm_id: str | None) -> Arm:
        wanted = arm_id or self.default_arm
        for a in self.arms:
            if a.id == wanted:
                return a
        raise ConfigError(f"protocol {self.id!r} has no arm {wanted!r}; arms: "
                          + ", ".join(a.id for a in self.arms), path=self.path)

    def site(self, site_id: str) -> Site:
        for s in self.sites:
            if s.id == site_id:
                return s
        raise ConfigError(f"protocol {self.id!r} has no site {site_id!r}; sites: "
                          + ", ".join(s.id for s in self.sites), path=self.path)

    def aliases_for(self, name: str) -> tuple[str, ...]:
        return next((a for n, a in self.structure_aliases if n == name), ())



# ------------------------------------------------------------------ building
def _per_fraction(value: object) -> tuple[tuple[int | None, Quantity], ...]:
    if isinstance(value, dict):
        return tuple(sorted(((int(k), parse_quantity(v)) for k, v in value.items()),
                            key=lambda kv: kv[0] or 0))
    return ((None, parse_quantity(value)),)


def _library_constraints(doc: YamlDocument, tier: Tier, priority: int,
                         convert: Conversion | None) -> tuple[Constraint, ...]:
    d = doc.data
    lib_id = d["id"]
    out = []
    for row in d["rows"]:
        for lim in row["limits"]:
            spec = parse_metric(lim["metric"])
            derived = row.get("needs_derived_structure", "")
            out.append(Constraint(
                id=f"{lib_id}.row{row['row']}.{spec.raw}",
                title=f"{d['library']} row {row['row']}: {row['organ']}",
                structures=tuple(row["structures"]), aliases=tuple(row.get("aliases", ())),
                metric=spec, comparison=Comparison(lim["comparison"]),
                limits=_per_fraction(lim["limit"]),
                # a row that needs a derived structure is reported, not decisive
                tier=Tier.OPTIONAL if derived else tier, priority=priority,
                source=Source.of(d["source"], row["row"]), endpoint=row["endpoint"],
                needs_derived_structure=derived, derived_from=row.get("derived_from", ""),
                three_fraction_caveat=row.get("three_fraction_caveat", ""),
                notes=(("avoid circumferential irradiation (TG-101 Table III asterisk)",)
                       if row.get("avoid_circumferential") else ()),
                convert=convert))
    return tuple(out)


def _dvh_constraint(arm_id: str, c: dict[str, Any]) -> Constraint:
    return Constraint(
        id=f"{arm_id}.{c['id']}", title=c.get("title", c["id"]),
        structures=(c["structure"],), aliases=tuple(c.get("aliases", ())),
        metric=parse_metric(c["metric"]), comparison=Comparison(c["comparison"]),
        limits=_per_fraction(c["limit"]), tier=Tier(c["tier"]), priority=c["priority"],
        source=Source.of(c["source"]),
        minor_limits=_per_fraction(c["minor_deviation"]) if "minor_deviation" in c else (),
        role=c.get("role", "oar"), endpoint=c.get("endpoint", ""),
        notes=(c["note"],) if c.get("note") else ())


def _plan_check(arm_id: str, c: dict[str, Any]) -> PlanCheck:
    def q(key: str) -> Quantity | None:
        return parse_quantity(c[key]) if key in c else None

    kind = CheckKind(c["kind"])
    return PlanCheck(
        id=f"{arm_id}.{c['id']}", kind=kind, title=c.get("title", c["id"]),
        tier=Tier(c["tier"]), priority=c["priority"], source=Source.of(c["source"]),
        structure=c.get("structure", ""), aliases=tuple(c.get("aliases", ())),
        comparison=Comparison(c["comparison"]) if "comparison" in c else None,
        limit=q("limit"), minimum=q("min") or q("min_gap"), maximum=q("max") or q("max_gap"),
        alpha_beta_gy=c.get("alpha_beta_gy"), note=c.get("note", ""))


def _resolve(name: str) -> Path:
    """A protocol given on the command line: a path, or a name in ``constraints/``."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return constraints_dir() / f"{name}.yaml"


def _library_path(name: str, protocol_path: Path) -> Path:
    """A library a protocol uses: beside the protocol, else in ``constraints/``.

    A relative name is never looked up in the current directory: the same protocol must
    load the same libraries wherever rtcheck is started from.
    """
    p = Path(name)
    if p.is_absolute():
        return p
    beside = protocol_path.parent / p
    if beside.is_file() or not (constraints_dir() / p).is_file():
        return beside
    return constraints_dir() / p  # a protocol copied elsewhere still finds tg101.yaml


def load_library(path: str | Path) -> YamlDocument:
    """Load and validate a constraint library (``kind: library``)."""
    doc = load_yaml(path)
    validate(doc, LIBRARY_SCHEMA, extra_checks=[library_problems])
    return doc


def load_protocol(name_or_path: str | Path = DEFAULT_PROTOCOL) -> Protocol:
    """Load, validate and assemble a protocol (a name in ``constraints/`` or a file).

    Raises :class:`~rtcheck.errors.ConfigError` naming file, line and field.
    """
    path = _resolve(str(name_or_path))
    if not path.is_file():
        known = ", ".join(available_protocols()) or "none"
        raise ConfigError(f"no protocol file; give a file or one of: {known}", path=path)
    doc = load_yaml(path)
    validate(doc, PROTOCOL_SCHEMA, extra_checks=[protocol_problems])
    d = doc.data
    libraries: dict[str, YamlDocument] = {}
    arms = []
    for arm_id, a in d["arms"].items():
        constraints = [_dvh_constraint(arm_id, c) for c in a["checks"] if c["kind"] == "dvh"]
        for i, use in enumerate(a.get("libraries", [])):
            lib_path = _library_path(use["file"], path)
            if not lib_path.is_file():
                line = doc.line_of(("arms", arm_id, "libraries", i, "file"))
                raise ConfigError(f"{path}:{line}: arms.{arm_id}.libraries[{i}].file: no file "
                                  f"{lib_path} (nor in {constraints_dir()}); fix the path "
                                  "(relative to the protocol)")
            key = str(lib_path)
            if key not in libraries:
                libraries[key] = load_library(lib_path)
            conv = use.get("convert")
            constraints += _library_constraints(
                libraries[key], Tier(use["tier"]), use["priority"],
                Conversion(conv["method"], float(conv["alpha_beta_gy"])) if conv else None)
        arms.append(Arm(
            id=arm_id, title=a["title"],
            prescription_gy=parse_quantity(a["prescription"]["dose"]).value,
            fractions=a["prescription"]["fractions"], required=tuple(a.get("required", ())),
            checks=tuple(_plan_check(arm_id, c) for c in a["checks"] if c["kind"] != "dvh"),
            constraints=tuple(constraints)))
    return Protocol(
        id=d["id"], title=d["title"], version=d["version"], path=str(path),
        sha256=doc.sha256, source=Source.of(d["source"]),
        alpha_beta_gy=float(d.get("alpha_beta_gy", 3.0)), default_arm=d["default_arm"],
        arms=tuple(arms),
        sites=tuple(Site(k, v.get("title", k), tuple(v["required"]))
                    for k, v in d.get("sites", {}).items()),
        structure_aliases=tuple((k, tuple(v.get("aliases", ())))
                                for k, v in d.get("structures", {}).items()),
        site_required=bool(d.get("site_required", False)),
        binding_margin_percent=float(d.get("oar_priority", {}).get("binding_margin_percent",
                                                                   5.0)),
        libraries=tuple((k, v.sha256) for k, v in libraries.items()),
        regression_tolerances=tuple((str(k), str(v)) for k, v in
                                    d.get("regression_tolerances", {}).items()),
        dvh_geometry=d.get("dvh", {}).get("geometry"))
