"""``rtcheck.yaml`` beside a plan: which protocol, arm, site and aliases it is checked with.

Example::

    protocol: medcare        # a name in constraints/ or a file (relative to this file)
    arm: sbrt
    site: spine
    aliases: aliases.yaml    # optional alias file (relative to this file)

Command-line options override it. Validated like every rtcheck YAML (file:line errors).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rtcheck.rules.yaml_source import load_yaml, validate

FILENAME = "rtcheck.yaml"

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "additionalProperties": False,
    "properties": {"protocol": {"type": "string", "minLength": 1},
                   "arm": {"type": "string", "minLength": 1},
                   "site": {"type": "string", "minLength": 1},
                   "aliases": {"type": "string", "minLength": 1}},
}


@dataclass(frozen=True)
class PlanConfig:
    """What ``rtcheck.yaml`` says (empty fields: not said); paths made absolute."""

    path: str = ""
    protocol: str | None = None
    arm: str | None = None
    site: str | None = None
    aliases: str | None = None


def _resolve(base: Path, value: str | None, *, name_ok: bool) -> str | None:
    if value is None:
        return None
    p = Path(value)
    if name_ok and p.suffix not in (".yaml", ".yml") and "/" not in value:
        return value  # a protocol name
    return str(p if p.is_absolute() else base / p)


def find_plan_config(paths: list[str]) -> PlanConfig:
    """Read ``rtcheck.yaml`` from the first folder given (or the folder of the first file)."""
    if not paths:
        return PlanConfig()
    first = Path(paths[0])
    folder = first if first.is_dir() else first.parent
    cfg = folder / FILENAME
    if not cfg.is_file():
        return PlanConfig()
    doc = load_yaml(cfg)
    validate(doc, SCHEMA)
    d = doc.data
    return PlanConfig(str(cfg), _resolve(folder, d.get("protocol"), name_ok=True), d.get("arm"),
                      d.get("site"), _resolve(folder, d.get("aliases"), name_ok=False))
