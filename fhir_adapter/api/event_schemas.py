"""OpenAPI component schemas of the admission and discharge routes."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from fhir_adapter.api.schemas.common import RECORD_ID_RE, STRING_RE

STRING = {"type": "string"}
OBJECT = {"type": "object"}
INBOUND: dict[str, Any] = {
    "type": "object",
    "required": ["id", "ehr", "channel", "control_id", "event", "kind", "state", "received_at"],
    "properties": {
        "id": {"type": "integer"},
        "ehr": STRING,
        "channel": {"enum": ["mllp", "http", "notification", "process-message", "query"]},
        "control_id": STRING,
        "event": {**STRING, "description": "MSH-9.2 (A01...), the Da Vinci event, encounter:<status>"},
        "kind": STRING,
        "state": STRING,
        "detail": STRING,
        "client_id": STRING,
        "matched_by": {"enum": ["link", "identifier", "demographics", "person"]},
        "mrn": STRING,
        "assigning_authority": STRING,
        "ehr_patient": STRING,
        "visit": STRING,
        "received_at": STRING,
        "resolved_at": STRING,
        "resolved_by": STRING,
    },
}
INBOUND_DETAIL = {
    **INBOUND,
    "properties": {**INBOUND["properties"], "body": {**STRING, "description": "the message as received"}},
}


def _list_of(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
            "next": STRING,
        },
    }


EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "Hl7Message": {"type": "string", "description": "one HL7 v2 message, ER7"},
    "NotificationBundle": {**OBJECT, "description": "an R4 history Bundle, SubscriptionStatus first"},
    "MessageBundle": {**OBJECT, "description": "a FHIR message Bundle"},
    "EventAccepted": {
        "type": "object",
        "required": ["ack", "state", "detail"],
        "properties": {
            "ack": {"enum": ["AA"]},
            "state": STRING,
            "detail": STRING,
            "inbound": {"type": ["integer", "null"]},
            "hl7": {**STRING, "description": "the HL7 ACK"},
        },
    },
    "NotificationReport": {
        "type": "object",
        "required": ["subscription", "type", "events"],
        "properties": {
            "subscription": STRING,
            "type": STRING,
            "events": {"type": "array", "items": OBJECT},
            "gap": OBJECT,
        },
    },
    "Inbound": INBOUND,
    "InboundDetail": INBOUND_DETAIL,
    "InboundList": _list_of("Inbound"),
    "MatchRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["client_id"],
        "properties": {"client_id": {"type": "string", "pattern": RECORD_ID_RE.pattern}},
    },
    "DismissRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": STRING_RE.pattern}
        },
    },
    "MatchResult": {
        "type": "object",
        "required": ["applied"],
        "properties": {"applied": {"type": "array", "items": {"$ref": "#/components/schemas/Inbound"}}},
    },
    "Timeline": {
        "type": "object",
        "required": ["client_id", "links", "admissions", "entries"],
        "properties": {
            "client_id": STRING,
            "links": {"type": "array", "items": OBJECT},
            "admissions": {"type": "array", "items": OBJECT},
            "entries": {"type": "array", "items": OBJECT},
            "returned": {
                "type": "array",
                "items": OBJECT,
                "description": "the hospital's documents (a discharge summary: `summary` true; `content` true "
                "when its attachment downloads from /api/v1/documents/{id}/content) and follow-up "
                "appointments, in time order",
            },
            "earlier": {
                "type": "boolean",
                "description": "older messages or jobs than the newest 500 of each were left out",
            },
        },
    },
}


def register(spec: APISpec) -> None:
    """Add the admission and discharge schemas to the document's components, in their order."""
    for name, schema in EVENT_SCHEMAS.items():
        spec.components.schema(name, schema)
