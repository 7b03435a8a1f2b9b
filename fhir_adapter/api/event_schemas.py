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


def register(spec: APISpec) -> None:
    spec.components.schema("Hl7Message", {"type": "string", "description": "one HL7 v2 message, ER7"})
    spec.components.schema(
        "NotificationBundle", {**OBJECT, "description": "an R4 history Bundle, SubscriptionStatus first"}
    )
    spec.components.schema("MessageBundle", {**OBJECT, "description": "a FHIR message Bundle"})
    spec.components.schema(
        "EventAccepted",
        {
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
    )
    spec.components.schema(
        "NotificationReport",
        {
            "type": "object",
            "required": ["subscription", "type", "events"],
            "properties": {
                "subscription": STRING,
                "type": STRING,
                "events": {"type": "array", "items": OBJECT},
                "gap": OBJECT,
            },
        },
    )
    spec.components.schema("Inbound", INBOUND)
    spec.components.schema("InboundDetail", INBOUND_DETAIL)
    spec.components.schema("InboundList", _list_of("Inbound"))
    spec.components.schema(
        "MatchRequest",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["client_id"],
            "properties": {"client_id": {"type": "string", "pattern": RECORD_ID_RE.pattern}},
        },
    )
    spec.components.schema(
        "DismissRequest",
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["reason"],
            "properties": {
                "reason": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": STRING_RE.pattern}
            },
        },
    )
    spec.components.schema(
        "MatchResult",
        {
            "type": "object",
            "required": ["applied"],
            "properties": {"applied": {"type": "array", "items": {"$ref": "#/components/schemas/Inbound"}}},
        },
    )
    spec.components.schema(
        "Timeline",
        {
            "type": "object",
            "required": ["client_id", "links", "admissions", "entries"],
            "properties": {
                "client_id": STRING,
                "links": {"type": "array", "items": OBJECT},
                "admissions": {"type": "array", "items": OBJECT},
                "entries": {"type": "array", "items": OBJECT},
                "earlier": {
                    "type": "boolean",
                    "description": "older messages or jobs than the newest 500 of each were left out",
                },
            },
        },
    )
