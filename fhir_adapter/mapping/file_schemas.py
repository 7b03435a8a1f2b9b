"""JSON Schemas the mapping files are checked against when loaded."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string", "minLength": 1}
_URI = {"type": "string", "pattern": "^(https?|urn):[^\\s]+$"}
_SOURCES = {"type": "array", "items": _STR, "minItems": 1}
_CODING = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code"],
    "properties": {"system": _URI, "code": _STR, "display": _STR},
}

TABLE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["table", "sources", "codes"],
    "properties": {
        "table": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "sources": _SOURCES,
        "system": _URI,
        "columns": {"type": "array", "items": _STR, "minItems": 1},
        "codes": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "minProperties": 1,
                "properties": {"system": _URI, "code": _STR, "display": _STR, "text": _STR, "category": _STR},
            },
        },
        "reverse": {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": _STR},
        },
    },
}

_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["link_id", "text", "type"],
    "properties": {
        "link_id": {"type": "string", "pattern": "^[^\\s]{1,255}$"},
        "text": _STR,
        "type": {"enum": ["string", "text", "boolean", "choice", "integer", "decimal", "date", "quantity"]},
        "code": _CODING,
        "repeats": {"type": "boolean"},
        "required": {"type": "boolean"},
        "options": {"type": "array", "items": _CODING, "minItems": 1},
        "unit": _CODING,
        "extract": {
            "type": "object",
            "additionalProperties": False,
            "required": ["category"],
            "properties": {"category": _STR, "sdoh_category": _STR},
        },
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "choice"}}}, "then": {"required": ["options"]}},
        {"if": {"required": ["options"]}, "then": {"properties": {"type": {"const": "choice"}}}},
        {"if": {"required": ["unit"]}, "then": {"properties": {"type": {"const": "quantity"}}}},
        {"if": {"required": ["extract"]}, "then": {"required": ["code"]}},
    ],
}

QUESTIONNAIRE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "name", "title", "version", "sources", "items"],
    "properties": {
        "kind": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
        "name": {"type": "string", "pattern": "^[A-Z][A-Za-z0-9_]{0,254}$"},
        "title": _STR,
        "version": _STR,
        "code": _CODING,
        "sources": _SOURCES,
        "items": {"type": "array", "items": _ITEM, "minItems": 1},
    },
}

_RULE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "value": {},
        "fn": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "field": {"type": "string", "pattern": "^[a-z][a-z0-9_.]*$"},
        "table": {"type": "string"},
        "column": {"type": "string"},
        "as": {"enum": ["coding", "concept", "code"]},
    },
    "oneOf": [{"required": ["value"]}, {"required": ["fn"]}, {"required": ["field"]}],
}

STRUCTURE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["resource", "identity", "elements"],
    "properties": {
        "resource": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"},
        "identity": {"type": "string", "pattern": "^[a-z][a-z-]*$"},
        "profile": _URI,
        "elements": {"type": "object", "minProperties": 1, "additionalProperties": _RULE},
    },
}

INVARIANTS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["sources", "invariants"],
    "properties": {
        "sources": _SOURCES,
        "invariants": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "resource", "context", "human", "expression"],
                "properties": {
                    "key": _STR,
                    "resource": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"},
                    "context": _STR,
                    "human": _STR,
                    "expression": _STR,
                    "when": {"type": "array", "items": {"type": "string", "pattern": "^[a-zA-Z.]+$"}},
                },
            },
        },
    },
}

PROJECT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["canonical_base"],
    "properties": {"canonical_base": _URI},
}
