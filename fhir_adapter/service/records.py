"""Create, update, read and list case-management records; each write also updates their FHIR resources.

Every function takes the open unit of work (`work`): the caller commits, so a record, its FHIR resources,
its versions and the idempotency key of the request that made it are stored together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from fhir_adapter.domain import records as r
from fhir_adapter.domain.attachments import DEFAULT_LIMIT
from fhir_adapter.domain.errors import IllegalTransition
from fhir_adapter.domain.referrals import check_move
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.errors import FhirValidationError, MappingError
from fhir_adapter.mapping.kinds import RecordKind
from fhir_adapter.service import outbox
from fhir_adapter.service.context import Clock, Principal, stamp
from fhir_adapter.service.errors import (
    Invalid,
    Problem,
    StaleVersion,
    conflict,
    not_found,
    rule_broken,
    unknown_reference,
)
from fhir_adapter.service.ports import Contract, Work
from fhir_adapter.service.projection import client_of, patient_id, project


@dataclass(frozen=True)
class Deps:
    """What the record use cases need from outside."""

    catalogue: Catalogue
    clock: Clock
    contract: Contract
    attachment_limit: int = DEFAULT_LIMIT  # bytes of one attachment kept at most


def _fields(kind: RecordKind, record: Any) -> dict[str, Any]:
    return {
        "client_id": client_of(record),
        "status": getattr(record, "status", None),
        "subtype": getattr(record, kind.subtype) if kind.subtype else None,
    }


def _check_references(
    work: Work, principal: Principal, kind: RecordKind, record: Any, new: bool = False
) -> None:
    """A record refers only to records of its own client that exist: references in FHIR must resolve.
    A new record must not exist yet. One query answers all of it."""
    org = principal.org.id
    client_id = client_of(record)
    episode_id = getattr(record, "episode_id", None)
    reason = getattr(record, "reason", None)
    plan_id = reason.plan_id if reason is not None else None
    keys = [("client", client_id)]
    keys += [("episode", episode_id)] if episode_id else []
    keys += [("service-plan", plan_id)] if plan_id else []
    keys += [(kind.name, record.id)] if new and kind.name != "client" else []
    found = work.records.owners(org, keys)
    if new and (kind.name, record.id) in found:
        raise conflict(f"{kind.label} {record.id} exists: update it with PUT", "id")
    if kind.name == "client":
        return
    if ("client", client_id) not in found:
        raise unknown_reference(f"no client {client_id}", "client_id")
    if episode_id and found.get(("episode", episode_id)) != client_id:
        raise unknown_reference(f"no case episode {episode_id} of client {client_id}", "episode_id")
    if plan_id:
        _check_goal(work, org, found.get(("service-plan", plan_id)) == client_id, record)


def _check_goal(work: Work, org: str, plan_found: bool, record: Any) -> None:
    reason = record.reason
    # Locked as a plan update locks it: a plan dropping the goal and a referral taking it up never both pass.
    plan = work.records.get(org, "service-plan", reason.plan_id, for_update=True) if plan_found else None
    if plan is None:
        raise unknown_reference(
            f"no service plan {reason.plan_id} of client {record.client_id}", "reason.plan_id"
        )
    if reason.goal_id not in {g["id"] for g in plan.data.get("goals", [])}:
        raise unknown_reference(
            f"service plan {reason.plan_id} has no goal {reason.goal_id}", "reason.goal_id"
        )


def _store_fhir(
    work: Work, deps: Deps, principal: Principal, kind: RecordKind, record: Any, when: str
) -> None:
    identity = principal.org.identity
    try:
        resources = project(kind.name, record, deps.catalogue, identity)
    except MappingError as err:
        raise rule_broken(err.message, err.path.lstrip(".")) from err
    except FhirValidationError as err:
        problems = [Problem(i.path, f"would not be valid FHIR: {i.message}") for i in err.issues]
        raise Invalid(problems) from err
    changed = work.resources.save(
        principal.org.id,
        (kind.name, record.id),
        patient_id(client_of(record), identity),
        resources,
        when,
    )
    cause = f"{kind.name} {record.id}"
    outbox.changed(work, principal.org.id, client_of(record), cause, changed, when, principal.ehr_id)


def create(work: Work, deps: Deps, principal: Principal, kind: RecordKind, payload: Any) -> StoredRecord:
    record = deps.contract.load(kind.name, payload)
    org = principal.org.id
    _check_references(work, principal, kind, record, new=True)
    when = stamp(deps.clock())
    _store_fhir(work, deps, principal, kind, record, when)
    data = deps.contract.dump(record)
    version = record.version if isinstance(record, r.ServicePlan) else 1
    return work.records.add(org, kind.name, data, _fields(kind, record), when, principal.agent_id, version)


def update(
    work: Work,
    deps: Deps,
    principal: Principal,
    kind: RecordKind,
    record_id: str,
    payload: Any,
    if_match: int | None = None,
    lifecycle: bool = True,
) -> StoredRecord:
    """Replace a record with a new version; `lifecycle` False: a referral's status is the EHR's word."""
    old = work.records.get(principal.org.id, kind.name, record_id, for_update=True)
    if old is None:
        raise not_found(f"{kind.label} {record_id}")
    if if_match is not None and if_match != old.version:
        message = f"{kind.label} {record_id} is at version {old.version}, not {if_match}"
        raise StaleVersion([Problem("", message, "conflict")])
    record = deps.contract.load(kind.name, payload)
    _check_update(kind, old, record, "version" in payload)
    if _unversioned(deps.contract.dump(record)) == _unversioned(old.data):
        return old  # a re-send changes nothing: no new version of the record or of its FHIR resources
    record = _next_version(kind, old, record, deps, lifecycle)
    _check_references(work, principal, kind, record)
    if isinstance(record, r.ServicePlan):
        _check_goals_kept(work, principal.org.id, old, record)
    return save_version(work, deps, principal, kind, old, record)


def _check_goals_kept(work: Work, org: str, old: StoredRecord, plan: r.ServicePlan) -> None:
    """A plan keeps every goal a referral names as its reason: without it the referral, and the reason
    its ServiceRequest gives, would point at nothing."""
    removed = {g["id"] for g in old.data.get("goals", [])} - {g.id for g in plan.goals}
    if not removed:
        return
    for referral in work.records.of_client(org, old.client_id):
        reason = (referral.data.get("reason") or {}) if referral.kind == "referral" else {}
        if reason.get("plan_id") == plan.id and reason.get("goal_id") in removed:
            raise conflict(
                f"goal {reason['goal_id']} is the reason of referral {referral.record_id}: give that referral "
                "another reason before the plan drops the goal",
                "goals",
            )


def _check_update(kind: RecordKind, old: StoredRecord, record: Any, says_version: bool) -> None:
    """The body is the record the URL names, of the same client; a plan's version, if given, is current or next."""
    if record.id != old.record_id:
        raise rule_broken(f"the body is {kind.label} {record.id}, the URL names {old.record_id}", "id")
    if kind.name != "client" and record.client_id != old.client_id:
        raise rule_broken(f"a {kind.label} cannot move from client {old.client_id} to another", "client_id")
    if (
        isinstance(record, r.ServicePlan)
        and says_version
        and record.version not in (old.version, old.version + 1)
    ):
        raise conflict(
            f"service plan {old.record_id} is at version {old.version}: an update makes version {old.version + 1}",
            "version",
        )


def _unversioned(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "version"}


def save_version(
    work: Work, deps: Deps, principal: Principal, kind: RecordKind, old: StoredRecord, record: Any
) -> StoredRecord:
    """Store a new version of a record that was checked, and its FHIR resources."""
    when = stamp(deps.clock())
    _store_fhir(work, deps, principal, kind, record, when)
    return work.records.replace(
        principal.org.id,
        old,
        deps.contract.dump(record),
        _fields(kind, record),
        when,
        principal.agent_id,
    )


def _next_version(kind: RecordKind, old: StoredRecord, record: Any, deps: Deps, lifecycle: bool) -> Any:
    """Plans number their versions; referrals follow their lifecycle (unless the status is the EHR's word)."""
    if isinstance(record, r.ServicePlan):
        return replace(record, version=old.version + 1)
    if isinstance(record, r.Referral) and record.status != old.data["status"] and lifecycle:
        try:
            check_move(old.data["status"], record.status)
        except IllegalTransition as err:
            raise conflict(err.message, err.path) from err
        record = replace(record, status_by_ehr=False, skipped_statuses=())
        if record.status_changed_at is None:
            return replace(record, status_changed_at=stamp(deps.clock()))
    return record


def get(work: Work, principal: Principal, kind: RecordKind, record_id: str) -> StoredRecord:
    found = work.records.get(principal.org.id, kind.name, record_id)
    if found is None:
        raise not_found(f"{kind.label} {record_id}")
    return found


def listing(
    work: Work, principal: Principal, kind: RecordKind, filters: dict[str, str], limit: int, offset: int
) -> tuple[int, list[StoredRecord]]:
    columns = {"client_id": "client_id", "status": "status"}
    if kind.subtype:
        columns[kind.subtype] = "subtype"
    return work.records.listing(
        principal.org.id, kind.name, {columns[k]: v for k, v in filters.items()}, limit, offset
    )
