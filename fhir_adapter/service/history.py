"""Service plan versions and the difference between two of them; referral status changes."""

from __future__ import annotations

from typing import Any, cast

from fhir_adapter.domain.errors import DomainError, IllegalTransition
from fhir_adapter.domain.records import ReferralStatus, ReferralUpdate
from fhir_adapter.domain.referrals import transition, with_update
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.mapping.kinds import RECORD_KINDS
from fhir_adapter.service.context import Principal, stamp
from fhir_adapter.service.errors import conflict, invalid, not_found
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps, get, save_version

PLAN = RECORD_KINDS["service-plan"]
REFERRAL = RECORD_KINDS["referral"]


def plan(work: Work, principal: Principal, plan_id: str) -> StoredRecord:
    """The current service plan, whose versions the functions below read; 404 when there is none."""
    return get(work, principal, PLAN, plan_id)


def versions(work: Work, principal: Principal, current: StoredRecord) -> list[dict[str, Any]]:
    return [
        {"version": v, "recorded": at, **({"by": who} if who else {})}
        for v, at, who in work.records.versions(principal.org.id, PLAN.name, current.record_id)
    ]


def version(work: Work, principal: Principal, current: StoredRecord, number: int) -> dict[str, Any]:
    data = work.records.version(principal.org.id, PLAN.name, current.record_id, number)
    if data is None:
        raise not_found(f"version {number} of service plan {current.record_id}")
    return data


def difference(
    work: Work, principal: Principal, current: StoredRecord, old: int, new: int
) -> list[dict[str, Any]]:
    return diff(version(work, principal, current, old), version(work, principal, current, new))


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """What changed from `old` to `new`, as JSON-Pointer-like paths; list items with an id are matched by it."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}/{key}"
            if key not in new:
                changes.append({"op": "remove", "path": sub, "old": old[key]})
            elif key not in old:
                changes.append({"op": "add", "path": sub, "new": new[key]})
            else:
                changes += diff(old[key], new[key], sub)
        return changes
    if isinstance(old, list) and isinstance(new, list) and _keyed(old) and _keyed(new):
        return diff({i["id"]: i for i in old}, {i["id"]: i for i in new}, path)
    if old != new:
        return [{"op": "replace", "path": path or "/", "old": old, "new": new}]
    return []


def _keyed(items: list[Any]) -> bool:
    ids = [i.get("id") for i in items if isinstance(i, dict)]
    return len(ids) == len(items) and None not in ids and len(set(ids)) == len(ids)


def change_status(
    work: Work, deps: Deps, principal: Principal, referral_id: str, payload: Any
) -> StoredRecord:
    """Move a referral along its lifecycle: draft → sent → accepted | declined → in-progress → completed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("status"), str):
        raise invalid("a status change needs a status", "status")
    unknown = sorted(set(payload) - {"status", "reason", "at"})
    if unknown:
        raise invalid("unknown field", unknown[0])
    old = work.records.get(principal.org.id, REFERRAL.name, referral_id, for_update=True)
    if old is None:
        raise not_found(f"referral {referral_id}")
    return apply_status(
        work, deps, principal, old, payload["status"], payload.get("reason"), payload.get("at")
    )


def apply_update(
    work: Work, deps: Deps, principal: Principal, old: StoredRecord, update: ReferralUpdate
) -> StoredRecord:
    """What the EHR that owns a referral's Task says of it, recorded as its word (no lifecycle check: the
    steps it skipped are named in the record)."""
    referral = deps.contract.load(REFERRAL.name, old.data)
    changed = with_update(referral, update)
    if changed == referral:
        return old
    checked = deps.contract.load(REFERRAL.name, deps.contract.dump(changed))
    return save_version(work, deps, principal, REFERRAL, old, checked)


def apply_status(
    work: Work,
    deps: Deps,
    principal: Principal,
    old: StoredRecord,
    status: str,
    reason: str | None = None,
    at: str | None = None,
) -> StoredRecord:
    """The stored referral `old`, moved to `status` (at `at`, or now) if its lifecycle allows it."""
    referral = deps.contract.load(REFERRAL.name, old.data)
    try:
        changed = transition(referral, cast(ReferralStatus, status), at or stamp(deps.clock()), reason)
    except IllegalTransition as err:
        raise conflict(err.message, "status") from err
    except DomainError as err:
        raise invalid(err.message, "reason" if err.path == "status_reason" else err.path) from err
    checked = deps.contract.load(
        REFERRAL.name, deps.contract.dump(changed)
    )  # the reason and time stamp obey the contract too
    return save_version(work, deps, principal, REFERRAL, old, checked)
