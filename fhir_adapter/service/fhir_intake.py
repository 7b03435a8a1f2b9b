"""What an EHR creates or updates on /fhir (QuestionnaireResponse, ServiceRequest, Task, CarePlan) becomes
case-management records through the reverse mapping; the stored resource is then the record's own FHIR face.

References to our resources (`Patient/<id>`) are given their business identifiers first, so the reverse
mapping knows which client, episode, plan or referral they name. Nothing is guessed: a subject that is not
one of our patients is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import Connection

from fhir_adapter.adapters import fhir_store, record_store
from fhir_adapter.api.schemas.dump import to_contract
from fhir_adapter.domain.records import Referral
from fhir_adapter.mapping.errors import InvalidFhirInput, MappingError
from fhir_adapter.mapping.from_fhir_bundle import Reversed, from_fhir
from fhir_adapter.mapping.from_fhir_common import Finding
from fhir_adapter.service import history, records
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import Problem, ServiceError, invalid, not_found
from fhir_adapter.service.kinds import KINDS, RESOURCE_TYPES
from fhir_adapter.service.records import Deps

JSON = dict[str, Any]
SUBJECT = {
    "QuestionnaireResponse": "subject",
    "ServiceRequest": "subject",
    "CarePlan": "subject",
    "Task": "for",
}
KIND_OF = {"QuestionnaireResponse": "assessment", "ServiceRequest": "referral", "CarePlan": "service-plan"}


@dataclass(frozen=True)
class Received:
    """The record the resource became, the resource now stored for it, and what was not carried."""

    created: bool
    stored: fhir_store.Stored
    findings: list[Finding]


def _link_references(conn: Connection, org_id: str, node: Any) -> None:
    """Give each relative reference to one of our resources the business identifier of what it names."""
    if isinstance(node, list):
        for item in node:
            _link_references(conn, org_id, item)
        return
    if not isinstance(node, dict):
        return
    url = node.get("reference")
    if isinstance(url, str) and url.count("/") == 1 and "identifier" not in node:
        rtype, rid = url.split("/")
        found = fhir_store.read(conn, org_id, rtype, rid) if rtype in RESOURCE_TYPES.values() else None
        if found is not None and not found.deleted:
            identifiers = orjson.loads(found.data).get("identifier")
            if isinstance(identifiers, list) and identifiers:
                node["identifier"] = identifiers[0]
    for key, value in node.items():
        if key != "contained":
            _link_references(conn, org_id, value)


def _client_of(conn: Connection, principal: Principal, resource: JSON) -> str:
    element = SUBJECT[resource["resourceType"]]
    ref = resource.get(element) or {}
    ident = ref.get("identifier") or {}
    if ident.get("system") == principal.org.identity.system("client"):
        client_id = str(ident.get("value"))
        if record_store.exists(conn, principal.org.id, "client", client_id):
            return client_id
    raise invalid(f"{ref.get('reference') or 'the subject'} is not a patient of this service", element)


def _with_our_goals(conn: Connection, org_id: str, resource: JSON) -> JSON:
    """A CarePlan names its goals by reference; the reverse mapping needs them whole, or the plan would
    lose them. Ours are taken from the store and read with the plan, as a collection Bundle."""
    if resource["resourceType"] != "CarePlan":
        return resource
    goals = []
    for ref in resource.get("goal", []):
        url = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(url, str) and url.startswith("Goal/") and url.count("/") == 1:
            found = fhir_store.read(conn, org_id, "Goal", url.split("/")[1])
            if found is not None and not found.deleted:
                goals.append({"resource": orjson.loads(found.data)})
    if not goals:
        return resource
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}, *goals]}


def _reverse(deps: Deps, principal: Principal, resource: JSON, client_id: str) -> Reversed:
    try:
        return from_fhir(resource, deps.catalogue, principal.org.identity, client_id)
    except InvalidFhirInput as err:
        raise ServiceError(422, [Problem(i.path, i.message) for i in err.issues]) from err
    except MappingError as err:
        raise invalid(err.message, err.path) from err


def _record_of(reversed_: Reversed, rtype: str) -> Any:
    by_type: dict[str, list[Any]] = {
        "QuestionnaireResponse": reversed_.assessments,
        "ServiceRequest": reversed_.referrals,
        "CarePlan": reversed_.service_plans,
        "Task": reversed_.referral_updates,
    }
    found = by_type[rtype]
    if not found:
        reasons = "; ".join(f"{f.path}: {f.message}" for f in reversed_.findings if f.severity == "warning")
        raise invalid(
            f"the {rtype} cannot be read as a case-management record ({reasons or 'no reason given'})"
        )
    return found[0]


def receive(
    conn: Connection, deps: Deps, principal: Principal, resource: JSON, target_id: str | None = None
) -> Received:
    """Create (target_id None) or update one resource an EHR sent; 404 when the target is not ours."""
    org = principal.org.id
    rtype = resource["resourceType"]
    target = fhir_store.record_of(conn, org, rtype, target_id) if target_id else None
    if target_id and (target is None or (target[2] and not principal.restricted_access)):
        raise not_found(f"{rtype}/{target_id}")
    resource = orjson.loads(orjson.dumps(resource))
    if not target_id and not resource.get("id"):
        resource["id"] = str(uuid.uuid4())  # the server names what it is given to create
    _link_references(conn, org, resource)
    client_id = _client_of(conn, principal, resource)
    reversed_ = _reverse(deps, principal, _with_our_goals(conn, org, resource), client_id)
    record = _record_of(reversed_, rtype)
    if rtype == "Task":
        kind, record_id = "referral", record.referral_id
    else:
        kind, record_id = KIND_OF[rtype], target[1] if target else record.id
    if target and target[0] != kind:
        raise invalid(f"{rtype}/{target_id} belongs to a {target[0]}, not a {kind}")
    try:
        created = _save(conn, deps, principal, kind, record_id, record)
    except ServiceError as err:
        if err.status != 422:
            raise
        label = KINDS[kind].label
        problems = [
            Problem(rtype, f"read as a {label}, {p.path or 'it'}: {p.message}", p.code) for p in err.problems
        ]
        raise ServiceError(422, problems) from err
    main = "referral-task" if rtype == "Task" else kind
    stored = fhir_store.read(conn, org, rtype, principal.org.identity.uuid(main, record_id))
    if stored is None:  # the record's projection always holds its main resource
        raise not_found(f"{rtype} of {kind} {record_id}")
    return Received(created, stored, reversed_.findings)


def _keep_finer_status(conn: Connection, deps: Deps, org_id: str, referral: Referral) -> Referral:
    """A ServiceRequest's status is coarser than the referral's (active is sent, accepted or in-progress):
    one that agrees with the stored referral leaves its finer status, reason and time as they are."""
    old = record_store.get(conn, org_id, "referral", referral.id)
    if old is None:
        return referral
    table = deps.catalogue.tables["referral_status"]
    if table.code(old.data["status"], "servicerequest") != table.code(referral.status, "servicerequest"):
        return referral
    return replace(
        referral,
        status=old.data["status"],
        status_reason=old.data.get("status_reason"),
        status_changed_at=old.data.get("status_changed_at"),
    )


def _save(conn: Connection, deps: Deps, principal: Principal, kind: str, record_id: str, record: Any) -> bool:
    """Store the record; True when it is new."""
    org = principal.org.id
    if kind == "referral" and not hasattr(record, "service_type"):  # a Task: a status change
        old = record_store.get(conn, org, "referral", record_id)
        if old is None:
            raise invalid(f"no referral {record_id} to update", "focus")
        if old.data["status"] != record.status:
            change = {"status": record.status, "reason": record.status_reason, "at": record.changed_at}
            history.change_status(conn, deps, principal, record_id, {k: v for k, v in change.items() if v})
        return False
    if kind == "referral":
        record = _keep_finer_status(conn, deps, org, replace(record, id=record_id))
    payload = to_contract(record) | {"id": record_id}
    payload.pop("version", None)
    if record_store.exists(conn, org, kind, record_id):
        records.update(conn, deps, principal, KINDS[kind], record_id, payload)
        return False
    records.create(conn, deps, principal, KINDS[kind], payload)
    return True
