"""OpenAPI component schemas of the delivery routes."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from fhir_adapter.domain.sync import STATES

STRING = {"type": "string"}


def _list_of(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}},
    }


LINK = {
    "type": "object",
    "required": ["client_id", "ehr", "patient_id", "created_at"],
    "properties": {
        "client_id": STRING,
        "ehr": STRING,
        "patient_id": {**STRING, "description": "the Patient's id in the EHR"},
        "mrn": STRING,
        "assigner": STRING,
        "created_at": STRING,
        "made_by_visit": {**STRING, "description": "the visit whose admission made the link"},
        "ended_at": {
            **STRING,
            "description": "when that admission was cancelled: nothing more is sent to the EHR",
        },
        "job": {"type": ["integer", "null"], "description": "the job queueing what the client has"},
    },
}
JOB = {
    "type": "object",
    "required": ["id", "ehr", "client_id", "cause", "state", "attempts", "resources", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "ehr": STRING,
        "client_id": STRING,
        "cause": {**STRING, "description": "the change that made the job: a record, a link, a replay"},
        "state": {"enum": list(STATES)},
        "attempts": {"type": "integer"},
        "resources": {"type": "array", "items": STRING},
        "created_at": STRING,
        "next_attempt_at": STRING,
        "finished_at": STRING,
        "reason": {**STRING, "description": "the last failure: http_503, timeout, connection, http_422..."},
        "error": {"description": "the EHR's OperationOutcome or what went wrong"},
        "replayed_by": {"type": "integer"},
        "delivered_with": {
            "type": "integer",
            "description": "the job it was sent together with (its failures and ledger are there)",
        },
    },
}
DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/DeliveryJob"},
        {
            "type": "object",
            "properties": {
                "failures": {"type": "array", "items": {"type": "object"}},
                "sent": {"type": "array", "items": {"type": "object"}},
            },
        },
    ]
}


PREVIEW = {
    "type": "object",
    "required": ["ehr", "client_id", "ways", "profiles", "withheld", "requests"],
    "properties": {
        "ehr": {"type": "string"},
        "client_id": {"type": "string"},
        "ways": {
            "type": "object",
            "additionalProperties": {"enum": ["put", "conditional", "document"]},
            "description": "how each resource type would be written",
        },
        "profiles": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "ours": {"type": "array", "items": {"type": "string"}},
                    "ehr": {"type": "array", "items": {"type": "string"}},
                    "meet": {"type": "boolean"},
                },
            },
            "description": "per type sent: the profiles ours claim, those the EHR names, whether they meet",
        },
        "withheld": {"type": "array", "items": {"type": "string"}},
        "requests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["method", "url"],
                "properties": {
                    "method": {"type": "string"},
                    "url": {"type": "string", "description": "relative to the EHR's base URL"},
                    "headers": {"type": "object"},
                    "body": {},
                    "current": {"type": "object", "description": "what the EHR holds there now"},
                    "differences": {"type": "object", "description": "elements added, changed, removed"},
                },
            },
        },
    },
}


def register(spec: APISpec, link_request: Any) -> None:
    spec.components.schema(
        "Ehr",
        {
            "type": "object",
            "properties": {
                "id": STRING,
                "base_url": STRING,
                "auth": {"enum": ["smart", "bearer", "none"]},
                "send_restricted": {"type": "boolean"},
            },
        },
    )
    spec.components.schema("EhrList", _list_of("Ehr"))
    spec.components.schema("EhrPreview", PREVIEW)
    spec.components.schema("PatientLinkRequest", schema=link_request)
    spec.components.schema("PatientLink", LINK)
    spec.components.schema("PatientLinkList", _list_of("PatientLink"))
    spec.components.schema("DeliveryJob", JOB)
    spec.components.schema("DeliveryJobDetail", DETAIL)
    page = _list_of("DeliveryJob")
    page["properties"]["next"] = {**STRING, "description": "the next page, when there is one"}
    spec.components.schema("DeliveryJobList", page)
    spec.components.schema(
        "Replayed",
        {
            "type": "object",
            "properties": {
                "replayed": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"job": {"type": "integer"}, "as": {"type": "integer"}},
                    },
                }
            },
        },
    )
