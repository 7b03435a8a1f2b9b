"""What an EHR creates or updates on /fhir (QuestionnaireResponse, ServiceRequest, Task, CarePlan, Goal,
DocumentReference, Appointment) becomes case-management records through the reverse mapping; the stored
resource is then the record's own FHIR face. A document's inline attachment bytes are kept apart
(service/attachments.py).

References to our resources (`Patient/<id>`, `Goal/<id>`) are resolved against the store, so the reverse
mapping knows which client, episode, plan, goal or referral they name. Nothing is guessed: a subject that is
not one of our patients is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from fhir_adapter.domain.packet import HospitalDocument
from fhir_adapter.domain.records import Referral, ReferralUpdate
from fhir_adapter.domain.referrals import skipped
from fhir_adapter.domain.stored import Stored, StoredRecord
from fhir_adapter.mapping.errors import InvalidFhirInput, MappingError
from fhir_adapter.mapping.from_fhir_bundle import Reversed, from_fhir
from fhir_adapter.mapping.from_fhir_common import Finding, ReverseContext
from fhir_adapter.mapping.kinds import RECORD_KINDS, RESOURCE_KINDS, RESOURCE_TYPES, patient_references
from fhir_adapter.service import attachments, goal_intake, history, records
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import (
    Invalid,
    Problem,
    RuleBroken,
    UnknownReference,
    invalid,
    not_found,
)
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps

JSON = dict[str, Any]
WRITABLE = {t: k for t, k in RESOURCE_KINDS.items() if k.writable}
SUBJECT = {t: str(k.patient) for t, k in WRITABLE.items()}
Lookup = Callable[[str], JSON | None]
# The record each kind is read into (a Task's is a change to its referral, handled on its own).
KIND_OF = {t: k.record for t, k in WRITABLE.items() if t != "Task"}


@dataclass(frozen=True)
class Received:
    """The record the resource became, the resource now stored for it, and what was not carried."""

    created: bool
    stored: Stored
    findings: list[Finding]


def _holdings(work: Work, principal: Principal, along: dict[str, JSON] | None = None) -> Lookup:
    """Our current resources by relative reference (Type/id), each read once: what the reverse mapping
    resolves the input's references against (the client, the episode, a plan's goals, a task's request).
    `along` holds resources sent with the input (a plan's Goals in the same Bundle), found first."""
    cache: dict[str, JSON | None] = dict(along or {})

    def lookup(ref: str) -> JSON | None:
        if ref not in cache:
            rtype, rid = ref.split("/")
            found = (
                work.resources.read(principal.org.id, rtype, rid)
                if rtype in RESOURCE_TYPES.values()
                else None
            )
            visible = (
                found is not None
                and not found.deleted
                and (principal.restricted_access or not found.restricted)
            )
            cache[ref] = orjson.loads(found.data) if found is not None and visible else None
        return cache[ref]

    return lookup


def _client_of(work: Work, deps: Deps, principal: Principal, resource: JSON, lookup: Lookup) -> str:
    """The client the resource's patient element names (an Appointment's: one of its actors)."""
    element = SUBJECT[resource["resourceType"]]
    refs = [r for r in patient_references(resource) if isinstance(r, dict)] or [{}]
    ctx = ReverseContext(deps.catalogue, principal.org.identity, lookup=lookup)
    for ref in refs:
        client_id = ctx.ref_id(ref, "client")
        if client_id is not None and work.records.exists(principal.org.id, "client", client_id):
            return client_id
    named = next((r["reference"] for r in refs if str(r.get("reference", "")).startswith("Patient/")), None)
    named = named or refs[0].get("reference") or "the subject"
    raise invalid(f"{named} is not a patient of this service", element)


def _reverse(
    deps: Deps,
    principal: Principal,
    resource: JSON,
    client_id: str,
    lookup: Lookup,
    instruments: Mapping[str, JSON] | None,
) -> Reversed:
    try:
        return from_fhir(resource, deps.catalogue, principal.org.identity, client_id, lookup, instruments)
    except InvalidFhirInput as err:
        raise Invalid([Problem(i.path, i.message) for i in err.issues]) from err
    except MappingError as err:
        raise invalid(err.message, err.path) from err


def _record_of(reversed_: Reversed, rtype: str) -> Any:
    by_type: dict[str, list[Any]] = {
        "QuestionnaireResponse": reversed_.assessments,
        "ServiceRequest": reversed_.referrals,
        "CarePlan": reversed_.service_plans,
        "Task": reversed_.referral_updates,
        "Goal": reversed_.goals,
        "DocumentReference": reversed_.documents,
        "Appointment": reversed_.appointments,
    }
    found = by_type[rtype]
    if not found:
        reasons = "; ".join(f"{f.path}: {f.message}" for f in reversed_.findings if f.severity == "warning")
        raise invalid(
            f"the {rtype} cannot be read as a case-management record ({reasons or 'no reason given'})"
        )
    return found[0]


def _target(work: Work, principal: Principal, rtype: str, target_id: str | None) -> Any:
    """The record an update names (kind, record id, restricted); 404 when it is not ours to see."""
    target = work.resources.record_of(principal.org.id, rtype, target_id) if target_id else None
    if target_id and (target is None or (target[2] and not principal.restricted_access)):
        raise not_found(f"{rtype}/{target_id}")
    return target


def receive(
    work: Work,
    deps: Deps,
    principal: Principal,
    resource: JSON,
    target_id: str | None = None,
    along: dict[str, JSON] | None = None,
    instruments: Mapping[str, JSON] | None = None,
) -> Received:
    """Create (target_id None) or update one resource an EHR sent, with what comes `along` and the
    `instruments` (Questionnaires) its EHR serves; 404 when the target is not ours."""
    org = principal.org.id
    rtype = resource["resourceType"]
    target = _target(work, principal, rtype, target_id)
    if not target_id and not resource.get("id"):
        resource = {**resource, "id": str(uuid.uuid4())}  # the server names what it is given to create
    lookup = _holdings(work, principal, along)
    client_id = _client_of(work, deps, principal, resource, lookup)
    reversed_ = _reverse(deps, principal, resource, client_id, lookup, instruments)
    record = _record_of(reversed_, rtype)
    if rtype == "Goal":
        return _goal(work, deps, principal, resource, record, client_id, reversed_)
    if rtype == "Task":
        kind, record_id = "referral", record.referral_id
    else:
        kind, record_id = KIND_OF[rtype], target[1] if target else record.id
    if target and target[0] != kind:
        raise invalid(f"{rtype}/{target_id} belongs to a {target[0]}, not a {kind}")
    findings = reversed_.findings
    if isinstance(record, HospitalDocument):
        old = work.records.get(org, kind, record_id)
        record, findings = attachments.keep(work, deps, principal, resource, record, findings, old)
    created = _save_read(work, deps, principal, rtype, kind, record_id, record)
    main = "referral-task" if rtype == "Task" else kind
    stored = work.resources.read(org, rtype, principal.org.identity.uuid(main, record_id))
    if stored is None:  # the record's projection always holds its main resource
        raise not_found(f"{rtype} of {kind} {record_id}")
    return Received(created, stored, findings)


def _save_read(
    work: Work, deps: Deps, principal: Principal, rtype: str, kind: str, record_id: str, record: Any
) -> bool:
    """The record a resource was read as, saved; when the record is at fault, the resource is, and says so."""
    try:
        return _save(work, deps, principal, kind, record_id, record)
    except (Invalid, UnknownReference, RuleBroken) as err:
        label = RECORD_KINDS[kind].label
        problems = [
            Problem(rtype, f"read as a {label}, {p.path or 'it'}: {p.message}", p.code) for p in err.problems
        ]
        raise Invalid(problems) from err


def _goal(
    work: Work,
    deps: Deps,
    principal: Principal,
    resource: JSON,
    goal: Any,
    client_id: str,
    got: Reversed,
) -> Received:
    ours = ReverseContext(deps.catalogue, principal.org.identity).our_id(resource, "goal")
    created, record_id = goal_intake.receive_goal(work, deps, principal, goal, ours, client_id)
    stored = work.resources.read(principal.org.id, "Goal", principal.org.identity.uuid("goal", record_id))
    if stored is None:  # the plan's projection always holds its goals
        raise not_found(f"Goal {record_id}")
    return Received(created, stored, got.findings)


def _keep_finer_status(deps: Deps, old: StoredRecord, referral: Referral) -> Referral:
    """A ServiceRequest's status is coarser than the referral's (active is sent, accepted or in-progress):
    one that agrees with the stored referral leaves its finer status, reason and time as they are."""
    table = deps.catalogue.tables["referral_status"]
    if table.code(old.data["status"], "servicerequest") != table.code(referral.status, "servicerequest"):
        return referral
    return replace(
        referral,
        status=old.data["status"],
        status_reason=old.data.get("status_reason"),
        status_changed_at=old.data.get("status_changed_at"),
    )


def _save(work: Work, deps: Deps, principal: Principal, kind: str, record_id: str, record: Any) -> bool:
    """Store the record; True when it is new."""
    old = work.records.get(principal.org.id, kind, record_id, for_update=True)
    if isinstance(record, ReferralUpdate):  # a Task: a status change of a referral we have
        if old is None:
            raise invalid(f"no referral {record_id} to update", "focus")
        history.apply_update(work, deps, principal, old, record)
        return False
    if isinstance(record, Referral) and old is not None:
        record = _keep_finer_status(deps, old, replace(record, id=record_id))
        if record.status != old.data["status"]:  # the EHR's word, with the steps it skipped
            record = replace(
                record, status_by_ehr=True, skipped_statuses=skipped(old.data["status"], record.status)
            )
    payload = deps.contract.dump(record) | {"id": record_id}
    payload.pop("version", None)
    if old is not None:
        records.update(work, deps, principal, RECORD_KINDS[kind], record_id, payload, lifecycle=False)
        return False
    records.create(work, deps, principal, RECORD_KINDS[kind], payload)
    return True
