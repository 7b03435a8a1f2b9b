"""The OpenAPI 3.1 document of the case-management API, generated from the marshmallow schemas and the
operations the routes declared; and a page that shows it to people, without any script or CDN."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apispec import APISpec
from flask import Blueprint, Response, current_app, render_template

from fhir_adapter import __version__
from fhir_adapter.api import delivery_schemas, event_schemas
from fhir_adapter.api.delivery import LinkSchema
from fhir_adapter.api.http import json_response
from fhir_adapter.api.records import schema_name
from fhir_adapter.api.registry import ApiBlueprint, Operation
from fhir_adapter.api.schemas.common import INSTANT_RE, MAX_TEXT, STRING_RE
from fhir_adapter.api.schemas.contract import SCHEMAS
from fhir_adapter.api.schemas.openapi import ContractPlugin
from fhir_adapter.domain.referrals import NEEDS_REASON
from fhir_adapter.mapping.kinds import RECORD_KINDS

bp = Blueprint("openapi", __name__, template_folder="templates")
ERROR_TEXT = {
    400: "a malformed parameter or body",
    401: "no bearer token, or one that is not valid",
    403: "the token lacks the scope named",
    404: "no such record (or it belongs to another organisation)",
    409: "the record exists, or the change conflicts with its state",
    412: "If-Match names an older version",
    413: "the body is larger than 1 MiB",
    415: "the body is not JSON",
    422: "the body breaks the contract: each issue names the field",
    502: "the EHR gave an answer that cannot be used",
    503: "the database or the EHR cannot be reached now: send it again (Retry-After)",
}
OUTCOME = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


STATUS_CHANGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["status"],
    "properties": {
        "status": {"enum": ["sent", "accepted", "declined", "in-progress", "completed", "cancelled"]},
        "reason": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_TEXT,
            "pattern": STRING_RE.pattern,
            "description": "why: needed for declined, cancelled",
        },
        "at": {
            "type": "string",
            "minLength": 20,
            "pattern": INSTANT_RE.pattern,
            "description": "when, a date-time with a time zone (default: now)",
        },
    },
    "if": {"properties": {"status": {"enum": sorted(NEEDS_REASON)}}},
    "then": {"required": ["reason"]},
}
PLAN_VERSIONS = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "versions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "version": {"type": "integer"},
                    "recorded": {"type": "string"},
                    "by": {"type": "string"},
                },
            },
        },
    },
}
PLAN_CHANGE = {
    "type": "object",
    "properties": {
        "op": {"enum": ["add", "remove", "replace"]},
        "path": {"type": "string", "description": "e.g. /goals/G1/description (list items by id)"},
        "old": {},
        "new": {},
    },
}
PLAN_DIFF = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "from": {"type": "integer"},
        "to": {"type": "integer"},
        "changes": {"type": "array", "items": PLAN_CHANGE},
    },
}


def _page(name: str) -> dict[str, Any]:
    """The schema of a page of the records the component schema `name` describes."""
    return {
        "type": "object",
        "required": ["total", "limit", "offset", "items"],
        "properties": {
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next": {"type": "string", "description": "the next page, when there is one"},
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
        },
    }


def _extra_schemas(spec: APISpec) -> None:
    """The component schemas besides those of the operations' bodies: OperationOutcome, the delivery and
    event schemas, each kind of record and its page, referral status changes and plan versions."""
    spec.components.schema("OperationOutcome", OUTCOME)
    delivery_schemas.register(spec, LinkSchema)
    event_schemas.register(spec)
    for kind in RECORD_KINDS.values():
        name = schema_name(kind)
        spec.components.schema(name, schema=SCHEMAS[kind.name])
        spec.components.schema(f"{name}Page", _page(name))
    spec.components.schema("StatusChange", STATUS_CHANGE)
    spec.components.schema("PlanVersions", PLAN_VERSIONS)
    spec.components.schema("PlanDiff", PLAN_DIFF)


def _responses(op: Operation) -> dict[str, Any]:
    """The operation's answer when it succeeds and the OperationOutcome of each refusal, by status."""
    ref = {"$ref": "#/components/schemas/OperationOutcome"}
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.response}"}}}
    if op.returns:
        body = {media: {"schema": {"type": "string", "format": "binary"}} for media in op.returns}
    responses: dict[str, Any] = {
        str(op.status): {"description": "created" if op.status == 201 else "done", "content": body}
    }
    for status in op.errors:
        responses[str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {"application/fhir+json": {"schema": ref}},
        }
    if op.also:
        for response in responses.values():
            response["content"][op.also] = {"schema": {"type": "string"}}
    return responses


def _operation(op: Operation) -> dict[str, Any]:
    """The OpenAPI operation object a route declared."""
    out: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": f"{op.method}{op.path.replace('/', '_').replace('{', '').replace('}', '')}",
        "parameters": list(op.parameters),
        "responses": _responses(op),
        "security": [{"bearer": []}],
    }
    if op.description or op.scope:
        out["description"] = " ".join(
            x for x in (op.description, f"Scope: `{op.scope}`." if op.scope else "") if x
        )
    if op.idempotent:
        out["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "a repeat with the same key gets the first response",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
            }
        )
    if op.request:
        out["requestBody"] = {
            "required": True,
            "content": {op.media: {"schema": {"$ref": f"#/components/schemas/{op.request}"}}},
        }
    return out


def api_document(operations: Iterable[Operation]) -> dict[str, Any]:
    """The document of these operations, with every component schema the API uses."""
    spec = APISpec(
        title="fhir-adapter case-management API",
        version=__version__,
        openapi_version="3.1.0",
        plugins=[ContractPlugin()],
        info={"description": "Case-management records in, FHIR R4 out. Errors are FHIR OperationOutcomes."},
        servers=[{"url": "/api/v1"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    _extra_schemas(spec)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    for path, methods in paths.items():
        spec.path(path=path, operations=methods)
    return spec.to_dict()


def _document() -> dict[str, Any]:
    """The document of the API blueprints the app registered, in their order: built on first request, the
    same for the life of the app."""
    kept: dict[str, Any] | None = current_app.extensions.get("openapi")
    if kept is None:
        blueprints = [b for b in current_app.blueprints.values() if isinstance(b, ApiBlueprint)]
        kept = current_app.extensions["openapi"] = api_document(op for b in blueprints for op in b.operations)
    return kept


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return json_response(_document())


@bp.get("/docs")
def docs() -> str:
    return render_template("docs.html", spec=_document())
