"""JSON Schemas (Draft 2020-12) of the YAML files in ``constraints/``.

``PROTOCOL_SCHEMA`` describes a protocol (arms, sites, checks, the libraries it
applies); ``LIBRARY_SCHEMA`` a constraint library such as ``tg101.yaml``. What JSON
Schema cannot say (a limit's unit against its metric's, metric grammar, references
between keys) is checked by :mod:`rtcheck.rules.protocol` with the same file:line
messages.
"""

from __future__ import annotations

from typing import Any

from rtcheck.dose.settings import Geometry
from rtcheck.regress.tolerances import KINDS as TOLERANCE_KINDS

_QUANTITY = {"type": "string", "pattern": r"^\s*-?[0-9]+(\.[0-9]+)?\s*(Gy|cGy|%|cc|h)\s*$"}
_QUANTITY_ANY = {"type": "string"}  # unit problems get a friendlier message (protocol.py)
_PER_FRACTIONS = {"type": "object", "minProperties": 1,
                  "propertyNames": {"pattern": "^[1-9][0-9]*$"},
                  "additionalProperties": _QUANTITY_ANY}
_LIMIT = {"oneOf": [_QUANTITY_ANY, _PER_FRACTIONS]}
_SOURCE = {"type": "object", "required": ["document"], "additionalProperties": False,
           "properties": {"document": {"type": "string", "minLength": 1},
                          "section": {"type": "string"}, "table": {"type": "string"},
                          "row": {"type": ["string", "integer"]},
                          "version": {"type": "string"}, "note": {"type": "string"}}}
_COMPARISON = {"enum": ["<=", ">=", "<", ">"]}
_TIER = {"enum": ["mandatory", "optional"]}
_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}}
_CONVERT = {"type": "object", "required": ["method", "alpha_beta_gy"],
            "additionalProperties": False,
            "properties": {"method": {"enum": ["bed"]},
                           "alpha_beta_gy": {"type": "number", "exclusiveMinimum": 0}}}
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]+$"}

_CHECK_KINDS = ["dvh", "prescription", "prescription_bed", "isodose_level", "max_dose",
                "fraction_spacing", "approval", "dose_summation"]

_CHECK: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "tier", "priority", "source"],
    "additionalProperties": False,
    "properties": {
        "id": _ID, "kind": {"enum": _CHECK_KINDS}, "title": {"type": "string"},
        "tier": _TIER, "priority": {"type": "integer", "minimum": 1},
        "source": _SOURCE, "structure": {"type": "string", "minLength": 1},
        "aliases": _NAMES, "metric": {"type": "string", "minLength": 1},
        "comparison": _COMPARISON, "limit": _LIMIT, "minor_deviation": _LIMIT,
        "role": {"enum": ["coverage", "target", "oar", "report"]},
        "alpha_beta_gy": {"type": "number", "exclusiveMinimum": 0},
        "min": _QUANTITY_ANY, "max": _QUANTITY_ANY,
        "min_gap": _QUANTITY_ANY, "max_gap": _QUANTITY_ANY,
        "endpoint": {"type": "string"}, "note": {"type": "string"},
    },
    "allOf": [
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "dvh"}}},
         "then": {"required": ["structure", "metric", "comparison", "limit"]}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "prescription_bed"}}},
         "then": {"required": ["comparison", "limit", "alpha_beta_gy"]}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "max_dose"}}},
         "then": {"required": ["min", "max"]}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "fraction_spacing"}}},
         "then": {"required": ["min_gap", "max_gap"]}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "isodose_level"}}},
         "then": {"required": ["structure"]}},
    ],
}

_LIBRARY_USE = {
    "type": "object", "required": ["file", "tier", "priority"], "additionalProperties": False,
    "properties": {"file": {"type": "string", "minLength": 1}, "tier": _TIER,
                   "priority": {"type": "integer", "minimum": 1},
                   "fractions": {"oneOf": [{"const": "plan"},
                                           {"type": "integer", "minimum": 1}]},
                   "convert": _CONVERT},
}

PROTOCOL_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rtcheck protocol",
    "type": "object",
    "required": ["schema_version", "kind", "id", "title", "version", "source", "arms",
                 "default_arm"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": 1}, "kind": {"const": "protocol"}, "id": _ID,
        "title": {"type": "string"}, "version": {"type": "string"}, "source": _SOURCE,
        "alpha_beta_gy": {"type": "number", "exclusiveMinimum": 0},
        "default_arm": {"type": "string"},
        "site_required": {"type": "boolean"},
        "oar_priority": {"type": "object", "additionalProperties": False,
                         "required": ["binding_margin_percent"],
                         "properties": {"binding_margin_percent": {"type": "number",
                                                                   "minimum": 0}}},
        # baseline comparison (rtcheck check --baseline, rtcheck regress): kind -> 0.01,
        # "0.5%" or "0.5%,0.001"; values are parsed by rtcheck.regress.tolerances
        "regression_tolerances": {"type": "object", "propertyNames": {"enum": list(
            TOLERANCE_KINDS)}, "additionalProperties": {"type": ["number", "string"]}},
        # DVH computation of every check (issue #12): the geometry model; --geometry
        # replaces it, and without either the model is stacked
        "dvh": {"type": "object", "additionalProperties": False,
                "properties": {"geometry": {"enum": [g.value for g in Geometry]}}},
        "structures": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False,
            "properties": {"aliases": _NAMES}}},
        "sites": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False, "required": ["required"],
            "properties": {"title": {"type": "string"}, "required": _NAMES}}},
        "arms": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object", "additionalProperties": False,
            "required": ["title", "prescription", "checks"],
            "properties": {
                "title": {"type": "string"},
                "prescription": {"type": "object", "additionalProperties": False,
                                 "required": ["dose", "fractions"],
                                 "properties": {"dose": _QUANTITY_ANY,
                                                "fractions": {"type": "integer",
                                                              "minimum": 1}}},
                "required": _NAMES,
                "checks": {"type": "array", "items": _CHECK},
                "libraries": {"type": "array", "items": _LIBRARY_USE},
            }}},
    },
}

_LIBRARY_LIMIT = {
    "type": "object", "required": ["metric", "comparison", "limit"],
    "additionalProperties": False,
    "properties": {"metric": {"type": "string"}, "comparison": _COMPARISON,
                   "limit": _PER_FRACTIONS},
}

LIBRARY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rtcheck constraint library",
    "type": "object",
    "required": ["schema_version", "kind", "id", "library", "reference", "source",
                 "fractions", "rows"],
    "additionalProperties": False,
    "properties": {
        "schema_version": {"const": 1}, "kind": {"const": "library"}, "id": _ID,
        "library": {"type": "string"}, "reference": {"type": "string"}, "source": _SOURCE,
        "point_volume_cc": {"type": "number", "exclusiveMinimum": 0},
        "fractions": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "rows": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["row", "organ", "structures", "endpoint", "limits"],
            "additionalProperties": False,
            "properties": {
                "row": {"type": "integer", "minimum": 1}, "organ": {"type": "string"},
                "structures": _NAMES, "aliases": _NAMES, "endpoint": {"type": "string"},
                "avoid_circumferential": {"type": "boolean"},
                "needs_derived_structure": {"type": "string"},
                "derived_from": {"type": "string"},
                "three_fraction_caveat": {"type": "string"},
                "limits": {"type": "array", "minItems": 1, "items": _LIBRARY_LIMIT},
            }}},
    },
}
