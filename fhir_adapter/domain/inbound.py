"""What EHRs sent us: each message as received, with what became of it, and the state of each EHR
subscription that notifies us.

The states are `StrEnum`s: a member is the very string stored in the database and written in JSON."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fhir_adapter.domain.events import Event


class InboundState(StrEnum):
    RECEIVED = "received"  # stored, not yet acted on
    APPLIED = "applied"
    NEEDS_MATCH = "needs_match"  # matches no client: waits for a person
    REPORTED = "reported"  # not applied: a person must act (a merge, a visit of another client)
    IGNORED = "ignored"  # stored, nothing to do
    REJECTED = "rejected"  # could not be read
    DISMISSED = "dismissed"  # a person said it is about nobody we serve


STATES = tuple(s.value for s in InboundState)  # plain strings, for what lists them


@dataclass(frozen=True)
class Inbound:
    seq: int
    org_id: str
    ehr_id: str
    channel: str
    control_id: str
    event: Event
    state: InboundState
    detail: str | None
    client_id: str | None
    matched_by: str | None
    received_at: str
    resolved_at: str | None
    resolved_by: str | None
    body: str


@dataclass(frozen=True)
class Subscription:
    subscription: str
    topic: str | None
    status: str
    events_seen: int
    last_event_at: str | None
    generation: int = 0  # how many times the EHR started its count again
