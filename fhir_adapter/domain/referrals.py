"""The referral lifecycle: draft → sent → accepted | declined → in-progress → completed | cancelled."""

from __future__ import annotations

from dataclasses import replace

from fhir_adapter.domain.errors import DomainError, IllegalTransition
from fhir_adapter.domain.records import Referral, ReferralStatus

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
    return replace(referral, status=new_status, status_reason=reason, status_changed_at=at)


def check_status(referral: Referral) -> None:
    """A stored referral in a closing state must say why."""
    if referral.status in NEEDS_REASON and not referral.status_reason:
        raise DomainError(f"a referral that is {referral.status} needs a reason", "status_reason")
