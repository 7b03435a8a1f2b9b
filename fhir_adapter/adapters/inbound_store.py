"""Inbound messages as received (ADT, notifications, Da Vinci messages), kept whatever became of them, and
the state of each EHR subscription that notifies us."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from fhir_adapter.adapters.sync_tables import inbound_messages as msgs
from fhir_adapter.adapters.sync_tables import subscriptions as subs
from fhir_adapter.domain.events import Event
from fhir_adapter.domain.inbound import Inbound, InboundState, Subscription


def _inbound(row: Any) -> Inbound:
    return Inbound(
        row.seq,
        row.org_id,
        row.ehr_id,
        row.channel,
        row.control_id,
        Event.from_json(orjson.loads(row.event_json)),
        InboundState(row.state),
        row.detail,
        row.client_id,
        row.matched_by,
        row.received_at,
        row.resolved_at,
        row.resolved_by,
        row.body,
    )


def seen(conn: Connection, org_id: str, ehr_id: str, control_id: str) -> Inbound | None:
    row = conn.execute(
        select(msgs).where(msgs.c.org_id == org_id, msgs.c.ehr_id == ehr_id, msgs.c.control_id == control_id)
    ).first()
    return _inbound(row) if row else None


def add(conn: Connection, org_id: str, ehr_id: str, event: Event, body: str, now: str) -> int | None:
    """Store a message as received (state `received`); None when its control id was stored already."""
    row = {
        "org_id": org_id,
        "ehr_id": ehr_id,
        "channel": event.channel,
        "control_id": event.control_id[:300],
        "event": event.event[:40],
        "kind": event.kind,
        "state": InboundState.RECEIVED,
        "mrn": event.patient.mrn,
        "visit_number": event.visit_key,
        "event_json": orjson.dumps(event.to_json()).decode(),
        "body": body.replace("\x00", "\ufffd"),  # PostgreSQL text holds no NUL (one is rejected for it)
        "received_at": now,
    }
    try:
        with conn.begin_nested():
            return int(conn.execute(insert(msgs).values(**row).returning(msgs.c.seq)).scalar_one())
    except IntegrityError:
        return None


def settle(
    conn: Connection,
    seq: int,
    state: InboundState,
    detail: str | None = None,
    client_id: str | None = None,
    matched_by: str | None = None,
) -> None:
    values = {"state": state, "detail": detail, "client_id": client_id, "matched_by": matched_by}
    conn.execute(update(msgs).where(msgs.c.seq == seq).values(**values))


def resolved(conn: Connection, seq: int, by: str, now: str) -> None:
    conn.execute(update(msgs).where(msgs.c.seq == seq).values(resolved_at=now, resolved_by=by))


def get(conn: Connection, org_id: str, seq: int) -> Inbound | None:
    row = conn.execute(select(msgs).where(msgs.c.org_id == org_id, msgs.c.seq == seq)).first()
    return _inbound(row) if row else None


def listing(
    conn: Connection,
    org_id: str,
    state: str | None = None,
    client_id: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Inbound]:
    query = select(msgs).where(msgs.c.org_id == org_id, msgs.c.seq > after)
    if state:
        query = query.where(msgs.c.state == state)
    if client_id:
        query = query.where(msgs.c.client_id == client_id)
    return [_inbound(row) for row in conn.execute(query.order_by(msgs.c.seq).limit(limit))]


def of_client(conn: Connection, org_id: str, client_id: str, limit: int) -> list[Inbound]:
    """The newest `limit` messages about the client, oldest first."""
    query = select(msgs).where(msgs.c.org_id == org_id, msgs.c.client_id == client_id)
    return [_inbound(row) for row in conn.execute(query.order_by(msgs.c.seq.desc()).limit(limit))][::-1]


def waiting(conn: Connection, org_id: str, ehr_id: str, mrn: str | None) -> list[Inbound]:
    """The messages from one EHR that need a match, oldest first; with `mrn`, those for that MRN."""
    query = select(msgs).where(
        msgs.c.org_id == org_id, msgs.c.ehr_id == ehr_id, msgs.c.state == InboundState.NEEDS_MATCH
    )
    if mrn:
        query = query.where(msgs.c.mrn == mrn)
    return [_inbound(row) for row in conn.execute(query.order_by(msgs.c.seq))]


# --- subscriptions ---


def subscription(conn: Connection, org_id: str, ehr_id: str, ref: str) -> Subscription | None:
    query = select(subs).where(subs.c.org_id == org_id, subs.c.ehr_id == ehr_id, subs.c.subscription == ref)
    row = conn.execute(query).first()
    if row is None:
        return None
    return Subscription(
        row.subscription, row.topic, row.status, row.events_seen, row.last_event_at, row.generation
    )


def _greater(column: Any, value: int) -> Any:
    return case((column < value, value), else_=column)


def save_subscription(
    conn: Connection, org_id: str, ehr_id: str, sub: Subscription, now: str, restarted: bool = False
) -> None:
    """What a notification told us. The count only grows (notifications handled at the same time each save
    theirs) unless the EHR started its count again: then the new generation and its count replace ours.
    The time of the last event is where a recovery starts: an earlier one only makes it read more."""
    values: dict[str, Any] = {
        "topic": sub.topic,
        "status": sub.status,
        "last_event_at": sub.last_event_at,
        "updated_at": now,
    }
    key = [subs.c.org_id == org_id, subs.c.ehr_id == ehr_id, subs.c.subscription == sub.subscription]
    if restarted:
        values |= {"events_seen": sub.events_seen, "generation": sub.generation}
    else:  # a notification of an older generation leaves the new count alone
        key.append(subs.c.generation == sub.generation)
        values["events_seen"] = _greater(subs.c.events_seen, sub.events_seen)
    if conn.execute(update(subs).where(*key).values(**values)).rowcount > 0:
        return
    first = {
        "org_id": org_id,
        "ehr_id": ehr_id,
        "subscription": sub.subscription,
        "topic": sub.topic,
        "status": sub.status,
        "events_seen": sub.events_seen,
        "last_event_at": sub.last_event_at,
        "generation": sub.generation,
        "updated_at": now,
    }
    try:
        with conn.begin_nested():
            conn.execute(insert(subs).values(**first))
    except IntegrityError:  # saved at the same moment by another notification: add ours to it
        conn.execute(update(subs).where(*key).values(**values))
