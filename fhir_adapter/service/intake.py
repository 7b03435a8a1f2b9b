"""Receiving an event from an EHR: store it, once, then act on it, in one transaction.

The sender hears "accepted" (AA, 2xx) only after that transaction commits. A control id seen before is
accepted again and not acted on twice. A message that cannot be read is stored as rejected, once however
often it is sent, and answered AE / 4xx with the reason; one that matches no client waits in the
needs-a-match list; when the database cannot be reached the answer is AR / 503 and the sender keeps the
message to send again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from fhir_adapter.domain.audit import AuditRow
from fhir_adapter.domain.events import ContentError, Event, Patient
from fhir_adapter.domain.inbound import Inbound, InboundState
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.events import hl7v2, v2_ack, v2_referral
from fhir_adapter.logs import raised_at
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.service import admissions, matching, v2_referrals
from fhir_adapter.service.audit import by_service
from fhir_adapter.service.context import Clock, Org, Principal, stamp
from fhir_adapter.service.errors import conflict, not_found
from fhir_adapter.service.ports import Storage, StorageUnavailable, TooCostly, Work
from fhir_adapter.service.records import Deps
from fhir_adapter.service.v2_referrals import Side

log = structlog.get_logger("fhir_adapter.intake")


@dataclass(frozen=True)
class Outcome:
    ack: str  # AA | AE | AR
    state: str  # applied | needs_match | reported | ignored | rejected | duplicate | unavailable
    detail: str
    seq: int | None = None
    where: str = ""  # the field a content error is about


Same = Callable[[str, str], bool]  # whether two bodies under one control id are one message sent again


def _repeat(
    work: Work, ehr: Ehr, event: Event, body: str, same: Same | None
) -> tuple[Event, Inbound | None, str]:
    """The message stored before under the event's control id when this is it sent again. A control id
    used before by another message (a sender that starts its numbering again) does not make this one a
    repeat: it is kept under a key of its own, and said so."""
    before = work.messages.seen(ehr.org_id, ehr.id, event.control_id)
    if before is None or same is None or (before.event.event == event.event and same(before.body, body)):
        return event, before, ""
    digest = hashlib.sha256(body.encode()).hexdigest()[:12]
    own = replace(event, control_id=f"{event.control_id}~{digest}")
    said = f"the control id {event.control_id} came before with another message (inbound {before.seq}): taken as new; "
    return own, work.messages.seen(ehr.org_id, ehr.id, own.control_id), said


def receive(
    storage: Storage,
    ehr: Ehr,
    event: Event,
    body: str,
    clock: Clock,
    demographics: bool,
    same: Same | None = None,
    side: Side | None = None,
) -> Outcome:
    """Store and act on one event. With `same`, a control id seen before is a repeat only when `same`
    says the two bodies are one message; `side` keeps the referrals of referral messages."""
    now = stamp(clock())
    try:
        with storage.writing() as work:
            event, before, said = _repeat(work, ehr, event, body, same)
            seq = None if before else work.messages.add(ehr.org_id, ehr.id, event, body, now)
            if seq is None:
                first = before.received_at if before else "before"
                return Outcome(
                    "AA",
                    "duplicate",
                    f"{event.control_id} was received {first}: not processed again",
                    before.seq if before else None,
                )
            outcome = _act(work, ehr, event, seq, said, demographics, now, side)
    except (StorageUnavailable, TooCostly) as err:
        log.warning("intake.storage_unavailable", ehr=ehr.id, error=type(err).__name__)
        return Outcome("AR", "unavailable", "the message could not be stored: send it again")
    log.info("intake.received", ehr=ehr.id, trigger=event.event, seq=outcome.seq, state=outcome.state)
    return outcome


def _act(
    work: Work, ehr: Ehr, event: Event, seq: int, said: str, demographics: bool, now: str, side: Side | None
) -> Outcome:
    """A stored message matched and applied, or left for a person when it matches nobody."""
    found = matching.match(work, ehr, event.patient, demographics)
    if found.client_id is None:
        work.messages.settle(seq, InboundState.NEEDS_MATCH, said + found.why)
        why = f"{said}stored; it matches no client ({found.why}) and waits for a person"
        return Outcome("AA", InboundState.NEEDS_MATCH, why, seq)
    state, detail = _apply(work, ehr, event, seq, found.client_id, found.by, now, said, side)
    return Outcome("AA", state, detail, seq)


def _apply(
    work: Work,
    ehr: Ehr,
    event: Event,
    seq: int,
    client_id: str,
    by: str | None,
    now: str,
    said: str = "",
    side: Side | None = None,
) -> tuple[InboundState, str]:
    """A stored message about a client acted on, settled and audited: its state and detail."""
    if event.referral is not None and side is not None:
        applied = v2_referrals.apply(work, side, ehr, client_id, event, now)
    else:
        applied = admissions.apply(work, ehr, client_id, event, now)
    detail = said + applied.detail
    work.messages.settle(seq, applied.state, detail, client_id, by)
    work.audit.add_many([received(work, ehr, event, client_id, now)])
    return applied.state, detail


def received(work: Work, ehr: Ehr, event: Event, client_id: str, now: str) -> AuditRow:
    """What an EHR told us about a client's patient: an AuditEvent of the message's effect."""
    patient = next(
        (i for t, i in work.resources.of_records(ehr.org_id, [("client", client_id)]) if t == "Patient"),
        None,
    )
    method = {"mllp": "MLLP", "query": "GET"}.get(event.channel, "POST")
    agent = (f"ehr:{ehr.id}", f"EHR {ehr.id} ({event.channel})")
    return by_service(ehr.org_id, agent, "create", method, f"{event.event} {event.control_id}", patient, now)


def reject(storage: Storage, ehr: Ehr, channel: str, body: str, err: ContentError, clock: Clock) -> Outcome:
    """Keep a message that could not be read, with the reason, once: the same body sent again is known by
    its hash and not stored again (a corrected resend is taken as new). AR when nothing can be stored."""
    reason = f"{err.where}: {err.reason}" if err.where else err.reason
    digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
    event = Event(channel, f"rejected:{digest}", "unreadable", "other", Patient())
    now = stamp(clock())
    try:
        with storage.writing() as work:
            seq = work.messages.add(ehr.org_id, ehr.id, event, body, now)
            if seq is None:
                before = work.messages.seen(ehr.org_id, ehr.id, event.control_id)
                return Outcome(
                    "AE", InboundState.REJECTED, err.reason, before.seq if before else None, err.where
                )
            work.messages.settle(seq, InboundState.REJECTED, reason)
    except (StorageUnavailable, TooCostly) as down:
        log.warning("intake.storage_unavailable", ehr=ehr.id, error=type(down).__name__)
        return Outcome("AR", "unavailable", "the message could not be stored: send it again")
    log.info("intake.rejected", ehr=ehr.id, seq=seq)
    return Outcome("AE", InboundState.REJECTED, err.reason, seq, err.where)


def _read_v2(text: str, channel: str, ehr: Ehr, catalogue: Catalogue) -> Event:
    """The event an ADT or referral message carries; ContentError when it cannot be read, whatever the
    reason."""
    try:
        message = hl7v2.parse(text)
        read = v2_referral.to_event if hl7v2.header(message)[1] in v2_referral.KINDS else hl7v2.to_event
        return read(message, channel, ehr.mrn_authority, catalogue.tables)
    except ContentError:
        raise
    except Exception as err:  # a shape no rule foresaw: resending the same bytes would fail the same way
        log.error("intake.unreadable", ehr=ehr.id, error=type(err).__name__, where=raised_at(err))
        raise ContentError("the message could not be read", "", "207") from err


def take_v2(
    storage: Storage,
    deps: Deps,
    org: Org,
    demographics: bool,
    ehr: Ehr,
    text: str,
    channel: str,
) -> tuple[Outcome, str]:
    """Read, store and act on one ADT or referral message (HTTP or MLLP) of the organisation's EHR: the
    outcome and the ACK to send back, which can be built whatever the text."""
    clock = deps.clock
    try:
        event = _read_v2(text, channel, ehr, deps.catalogue)
    except ContentError as err:
        outcome = reject(storage, ehr, channel, hl7v2.normalise(text), err, clock)
        return outcome, v2_ack.ack(text, outcome.ack, outcome.detail, err.code, err.where)
    body, side = hl7v2.normalise(text), Side(deps, org)
    outcome = receive(storage, ehr, event, body, clock, demographics, hl7v2.same_message, side)
    return outcome, v2_ack.ack(text, outcome.ack, outcome.detail if outcome.ack != "AA" else "")


def _waiting(work: Work, org: str, seq: int, verb: str) -> Inbound:
    """The message a person decides about; it must still need a match."""
    msg = work.messages.get(org, seq)
    if msg is None:
        raise not_found(f"inbound message {seq}")
    if msg.state is not InboundState.NEEDS_MATCH:
        raise conflict(
            f"inbound message {seq} is {msg.state}: only messages that need a match are {verb}", "state"
        )
    return msg


def resolve(storage: Storage, principal: Principal, seq: int, client_id: str, deps: Deps) -> list[Inbound]:
    """A person says whom a waiting message is about: it and the messages waiting for the same patient of
    the same EHR are applied, oldest first. The messages as they are now."""
    org, who = principal.org.id, principal.agent_id
    now, side = stamp(deps.clock()), Side(deps, principal.org)
    with storage.writing() as work:
        msg = _waiting(work, org, seq, "resolved")
        if work.records.get(org, "client", client_id) is None:
            raise not_found(f"client {client_id}")
        ehr = work.ehrs.get_ehr(org, msg.ehr_id)
        if ehr is None:
            raise conflict(f"the EHR {msg.ehr_id} is no longer registered", "ehr")
        done = []
        for m in work.messages.waiting(org, msg.ehr_id, msg.event.patient.mrn):
            if m.seq != seq and not _same_patient(m.event.patient, msg.event.patient):
                continue
            state, detail = _apply(work, ehr, m.event, m.seq, client_id, "person", now, side=side)
            work.messages.resolved(m.seq, who, now)
            done.append(
                replace(
                    m,
                    state=state,
                    detail=detail,
                    client_id=client_id,
                    matched_by="person",
                    resolved_at=now,
                    resolved_by=who,
                )
            )
        return done


def dismiss(storage: Storage, principal: Principal, seq: int, reason: str, clock: Clock) -> Inbound:
    """A person says a waiting message is about nobody we serve: it stays stored, marked dismissed."""
    with storage.writing() as work:
        msg = _waiting(work, principal.org.id, seq, "dismissed")
        work.messages.settle(seq, InboundState.DISMISSED, reason)
        work.messages.resolved(seq, principal.agent_id, stamp(clock()))
        return replace(msg, state=InboundState.DISMISSED, detail=reason)


def _same_patient(a: Patient, b: Patient) -> bool:
    if a.ehr_patient_id or b.ehr_patient_id:
        return a.ehr_patient_id == b.ehr_patient_id
    return bool(a.mrn) and a.mrn == b.mrn and a.authority == b.authority
