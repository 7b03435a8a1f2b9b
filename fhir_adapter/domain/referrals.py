"""The referral lifecycle: draft → sent → accepted | declined → in-progress → completed | cancelled."""

from __future__ import annotations

from dataclasses import replace

from fhir_adapter.domain.errors import DomainError, IllegalTransition
from fhir_adapter.domain.records import Referral, ReferralStatus, ReferralUpdate

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"sent", "cancelled"}),
    "sent": frozenset({"accepted", "declined", "cancelled"}),
    "accepted": frozenset({"in-progress", "cancelled"}),
    "declined": frozenset(),
    "in-progress": frozenset({"completed", "cancelled"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
}
NEEDS_REASON = frozenset({"declined", "cancelled"})


def check_move(old_status: str, new_status: str) -> None:
    """Raise IllegalTransition, naming both states and the allowed ones, unless the lifecycle allows it."""
    allowed = TRANSITIONS[old_status]
    if new_status not in allowed:
        choices = ", ".join(sorted(allowed)) or "none: it is final"
        raise IllegalTransition(
            f"a referral cannot go from {old_status} to {new_status} (allowed: {choices})", "status"
        )


def transition(
    referral: Referral, new_status: ReferralStatus, at: str, reason: str | None = None
) -> Referral:
    """Move a referral to `new_status`, or raise IllegalTransition naming both states."""
    check_move(referral.status, new_status)
    if new_status in NEEDS_REASON and not reason:
        raise DomainError(f"a referral that is {new_status} needs a reason", "status_reason")
    return replace(
        referral,
        status=new_status,
        status_reason=reason,
        status_changed_at=at,
        status_by_ehr=False,
        skipped_statuses=(),
    )


def skipped(old_status: str, new_status: str) -> tuple[str, ...]:
    """The states the lifecycle passes through between two states, on its shortest way; none when the
    lifecycle has no way from one to the other (the EHR went back, or left a final state)."""
    ways: dict[str, tuple[str, ...]] = {old_status: ()}
    frontier = [old_status]
    while frontier:
        step = frontier.pop(0)
        for nxt in sorted(TRANSITIONS[step]):
            if nxt not in ways:
                ways[nxt] = (*ways[step], nxt)
                frontier.append(nxt)
    return ways.get(new_status, (new_status,))[:-1]


def by_ehr(
    referral: Referral, new_status: ReferralStatus, at: str | None, reason: str | None = None
) -> Referral:
    """The EHR owns its Task's status: its word is recorded as it is, with the steps it skipped named,
    where a change through our API must follow the lifecycle (transition)."""
    return replace(
        referral,
        status=new_status,
        status_reason=reason,
        status_changed_at=at or referral.status_changed_at,
        status_by_ehr=True,
        skipped_statuses=skipped(referral.status, new_status),
    )


def with_update(referral: Referral, update: ReferralUpdate) -> Referral:
    """What the EHR's Task says of a referral: its status as the EHR's word, its reason, business status,
    outputs and outcome; what the Task does not say stays as it was."""
    moved = referral
    if update.status != referral.status:
        moved = by_ehr(referral, update.status, update.changed_at, update.status_reason)
    return replace(
        moved,
        status_reason=update.status_reason or moved.status_reason,
        status_reason_code=update.status_reason_code or moved.status_reason_code,
        business_status=update.business_status or moved.business_status,
        outputs=update.outputs or moved.outputs,
        outcome=update.outcome or moved.outcome,
    )


def check_status(referral: Referral) -> None:
    """A stored referral in a closing state must say why, unless the EHR closed it without a word."""
    if referral.status in NEEDS_REASON and not referral.status_reason and not referral.status_by_ehr:
        raise DomainError(f"a referral that is {referral.status} needs a reason", "status_reason")
