"""Service plan versions and differences; referral status changes."""

from __future__ import annotations

from flask import Response

from fhir_adapter.api.http import int_arg, json_body, json_response, require, services, touched
from fhir_adapter.api.http_errors import bad_request
from fhir_adapter.api.idempotency import run_write
from fhir_adapter.api.records import record_response
from fhir_adapter.api.registry import ApiBlueprint, Operation, path_param, query
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.mapping.kinds import RECORD_KINDS
from fhir_adapter.service import history
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import not_found
from fhir_adapter.service.ports import Work
from fhir_adapter.service.projection import patient_id

PLAN, REFERRAL = RECORD_KINDS["service-plan"], RECORD_KINDS["referral"]
bp = ApiBlueprint("history", __name__)
PLAN_ID = path_param("record_id", "the service plan's id")
MAX_VERSION = 2**31 - 1
NUMBER = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}


def _plan(work: Work, principal: Principal, record_id: str) -> StoredRecord:
    current = history.plan(work, principal, record_id)
    touched(patient_id(current.client_id, principal.org.identity))
    return current


def plan_versions(record_id: str) -> Response:
    principal = require(PLAN.fhir_type, "read", "history-instance")
    with services().storage.reading() as work:
        found = history.versions(work, principal, _plan(work, principal, record_id))
    return json_response({"id": record_id, "versions": found})


def plan_version(record_id: str, number: int) -> Response:
    principal = require(PLAN.fhir_type, "read", "vread")
    if not 1 <= number <= MAX_VERSION:
        raise not_found(f"version {number} of service plan {record_id}")
    with services().storage.reading() as work:
        return json_response(history.version(work, principal, _plan(work, principal, record_id), number))


def plan_diff(record_id: str) -> Response:
    principal = require(PLAN.fhir_type, "read", "vread")
    old, new = int_arg("from", 0, 1, MAX_VERSION), int_arg("to", 0, 1, MAX_VERSION)
    if not old or not new:
        raise bad_request("give both versions: ?from=1&to=2", "from" if not old else "to")
    with services().storage.reading() as work:
        changes = history.difference(work, principal, _plan(work, principal, record_id), old, new)
    return json_response({"id": record_id, "from": old, "to": new, "changes": changes})


def referral_status(record_id: str) -> Response:
    principal = require(REFERRAL.fhir_type, "update", "update")
    payload = json_body()
    return run_write(
        principal,
        lambda work: record_response(
            principal, history.change_status(work, services().deps, principal, record_id, payload), REFERRAL
        ),
    )


plans, tag = "/service-plans/{record_id}", PLAN.label
bp.add_operation(
    "/service-plans/<record_id>/versions",
    Operation(
        f"{plans}/versions",
        "get",
        "List the versions of a service plan",
        tag,
        "system/CarePlan.read",
        None,
        "PlanVersions",
        parameters=(PLAN_ID,),
    ),
    "plan_versions",
    plan_versions,
)
bp.add_operation(
    "/service-plans/<record_id>/versions/<int:number>",
    Operation(
        f"{plans}/versions/{{number}}",
        "get",
        "Read one version of a service plan",
        tag,
        "system/CarePlan.read",
        None,
        "ServicePlan",
        parameters=(PLAN_ID, path_param("number", "the version", NUMBER)),
    ),
    "plan_version",
    plan_version,
)
bp.add_operation(
    "/service-plans/<record_id>/diff",
    Operation(
        f"{plans}/diff",
        "get",
        "What changed between two versions of a service plan",
        tag,
        "system/CarePlan.read",
        None,
        "PlanDiff",
        parameters=(
            PLAN_ID,
            {**query("from", "the older version", NUMBER), "required": True},
            {**query("to", "the newer version", NUMBER), "required": True},
        ),
    ),
    "plan_diff",
    plan_diff,
)
bp.add_operation(
    "/referrals/<record_id>/status",
    Operation(
        "/referrals/{record_id}/status",
        "post",
        "Move a referral along its lifecycle",
        REFERRAL.label,
        "system/ServiceRequest.write",
        "StatusChange",
        "Referral",
        parameters=(path_param("record_id", "the referral's id"),),
        errors=(400, 401, 403, 404, 409, 413, 415, 422),
        idempotent=True,
        description="draft → sent → accepted | declined → in-progress → completed; any open state → "
        "cancelled. declined and cancelled need a reason. An illegal change answers 409.",
    ),
    "referral_status",
    referral_status,
)
