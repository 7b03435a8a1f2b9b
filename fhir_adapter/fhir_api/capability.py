"""The CapabilityStatement: exactly what /fhir implements, generated from the same tables the routes use."""

from __future__ import annotations

import copy
from typing import Any

from fhir_adapter import __version__
from fhir_adapter.fhir_api.questionnaires import QUESTIONNAIRE
from fhir_adapter.fhir_api.search_params import INCLUDES, PATIENT_ELEMENT, READABLE, REVINCLUDES
from fhir_adapter.mapping.kinds import RESOURCE_KINDS
from fhir_adapter.mapping.search_index import TOKEN_PARAMS

WRITABLE = tuple(t for t, k in RESOURCE_KINDS.items() if k.writable)
AUDIT_PARAMS = (
    ("date", "date", "when the access happened"),
    ("patient", "reference", "whose data"),
    ("action", "token", "C, R, U or E"),
)


def _param(name: str, kind: str, doc: str) -> dict[str, str]:
    return {"name": name, "type": kind, "documentation": doc}


def _search_params(rtype: str) -> list[dict[str, str]]:
    params = [
        _param("_id", "token", "the resource id"),
        _param("_lastUpdated", "date", "eq, ge, gt, le, lt"),
    ]
    if rtype in PATIENT_ELEMENT:
        params += [
            _param("patient", "reference", f"the Patient in {rtype}.{PATIENT_ELEMENT[rtype]}"),
            _param("subject", "reference", "the same as patient"),
            _param("status", "token", f"{rtype}.{RESOURCE_KINDS[rtype].status}"),
        ]
    for name in TOKEN_PARAMS.get(rtype, {}):
        params.append(_param(name, "token", "system|code, |code, system| or code; comma means or"))
    return params


def _resource(rtype: str) -> dict[str, Any]:
    interactions = ["read", "vread", "search-type"] + (["create", "update"] if rtype in WRITABLE else [])
    out: dict[str, Any] = {
        "type": rtype,
        "interaction": [{"code": code} for code in interactions],
        "versioning": "versioned",
        "readHistory": True,
        "updateCreate": False,
        "conditionalCreate": False,
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchParam": _search_params(rtype),
    }
    includes = [f"{t}:{p}" for (t, p) in sorted(INCLUDES) if t == rtype]
    revincludes = [f"{t}:{p}" for (t, p), target in sorted(REVINCLUDES.items()) if target == rtype]
    if includes:
        out["searchInclude"] = includes
    if revincludes:
        out["searchRevInclude"] = revincludes
    if rtype in WRITABLE:
        out["documentation"] = (
            "create and update are read into case-management records; the stored resource "
            "is the record's own FHIR face, under its deterministic id"
        )
    return out


AUDIT_EVENT = {
    "type": "AuditEvent",
    "interaction": [{"code": "read"}, {"code": "search-type"}],
    "documentation": "needs the scope system/AuditEvent.read by name; newest first",
    "searchParam": [_param(*p) for p in AUDIT_PARAMS],
}
SECURITY = {
    "service": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR",
                }
            ]
        }
    ],
    "description": "Bearer tokens with SMART system scopes (system/CarePlan.read, "
    "system/*.write); each client sees only its own organisation's records. Every "
    "resource in an answer passes the token's scopes for its own type: resources a search "
    "would add through _include or _revinclude are left out when the token may not read "
    "their type, and the answer to a create or update carries the resource only when the "
    "token may read it.",
}
VALIDATE = {"name": "validate", "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"}


def capability_statement(base: str, date: str) -> dict[str, Any]:
    """The CapabilityStatement of the endpoint at `base`, dated `date`."""
    resources = [*(_resource(t) for t in READABLE), copy.deepcopy(AUDIT_EVENT), copy.deepcopy(QUESTIONNAIRE)]
    resources.sort(key=lambda r: r["type"])
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "fhir-adapter",
        "kind": "instance",
        "software": {"name": "fhir-adapter", "version": __version__},
        "implementation": {"description": "fhir-adapter FHIR R4 endpoint", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": copy.deepcopy(SECURITY),
                "resource": resources,
                "interaction": [
                    {"code": "transaction", "documentation": "of the writable types: every entry or none"},
                    {
                        "code": "batch",
                        "documentation": "of the writable types (and collections): entry by entry",
                    },
                ],
                "operation": [dict(VALIDATE)],
            }
        ],
    }
