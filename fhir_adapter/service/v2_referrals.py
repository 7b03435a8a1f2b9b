"""A hospital's HL7 v2 referral (REF^I12) made, or updated, as a referral of the client it matched; its
answer (RRI^I12) recorded on the referral it names as the hospital's word on its status.

A referral is found among the client's referrals by the hospital's identifiers (RF1-6, RF1-11, with who
assigned them) or, for one we sent, by RF1-6 holding our referral's id; a new one is named by a hash of its
first identifier, so a repeat of it finds it again. An answer naming no referral of the client is reported:
stored for a person, never refused (the sender would resend it for ever).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from fhir_adapter.domain.events import Event, ReferralMessage
from fhir_adapter.domain.inbound import InboundState
from fhir_adapter.domain.records import Referral, SourceIdentifier
from fhir_adapter.domain.referrals import NEEDS_REASON, by_ehr
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.mapping.from_v2_referral import concept, from_v2_referral, identifiers, status_of
from fhir_adapter.mapping.kinds import RECORD_KINDS
from fhir_adapter.service import records
from fhir_adapter.service.admissions import Applied
from fhir_adapter.service.context import Org, Principal
from fhir_adapter.service.errors import ServiceError
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps

REFERRAL = RECORD_KINDS["referral"]


@dataclass(frozen=True)
class Side:
    """What keeping a referral needs: the record use cases' dependencies, and the organisation's identity."""

    deps: Deps
    org: Org


def _same(a: SourceIdentifier, b: SourceIdentifier) -> bool:
    if a.value != b.value:
        return False
    return a.system == b.system if a.system and b.system else a.assigner == b.assigner


def _held(work: Work, org_id: str, client_id: str, message: ReferralMessage) -> StoredRecord | None:
    """The client's referral the message names, if we hold it."""
    said = identifiers(message)
    ours = message.originating.value if message.originating else None
    for found in work.records.of_client(org_id, client_id):
        if found.kind != "referral":
            continue
        kept = [SourceIdentifier(**{**i, "type": None}) for i in found.data.get("identifiers", [])]
        if found.record_id == ours or any(_same(replace(s, type=None), k) for s in said for k in kept):
            return found
    return None


def _new_id(ehr: Ehr, message: ReferralMessage) -> str:
    first = identifiers(message)[0]
    key = f"{ehr.org_id}|{ehr.id}|{first.system or first.assigner or ''}|{first.value}"
    return "v2-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _named(message: ReferralMessage) -> str:
    return ", ".join(f"{i.value} of {i.system or i.assigner or 'no assigner'}" for i in identifiers(message))


def _principal(side: Side, ehr: Ehr) -> Principal:
    """The EHR as the author of what its messages change: what it sent is not sent back to it."""
    return Principal(f"ehr:{ehr.id}", f"EHR {ehr.id}", side.org, frozenset({("*", "*")}), True, ehr.id)


def _save(work: Work, side: Side, ehr: Ehr, old: StoredRecord | None, referral: Referral) -> None:
    payload = side.deps.contract.dump(referral) | {"id": referral.id}
    if old is None:
        records.create(work, side.deps, _principal(side, ehr), REFERRAL, payload)
    else:
        records.update(
            work, side.deps, _principal(side, ehr), REFERRAL, referral.id, payload, lifecycle=False
        )


def _merged(side: Side, old: StoredRecord, sent: Referral) -> Referral:
    """A referral sent again: what the message says replaces what it said before; what we added (episode,
    outcome, outputs, sensitivity) stays; a pending status leaves a referral that moved on as it is."""
    held: Referral = side.deps.contract.load("referral", old.data)
    mine = replace(
        sent,
        episode_id=held.episode_id,
        outcome=held.outcome,
        outputs=held.outputs,
        sensitive=held.sensitive,
        status_reason=held.status_reason,
        status_changed_at=held.status_changed_at,
        status_by_ehr=held.status_by_ehr,
        skipped_statuses=held.skipped_statuses,
        status=held.status,
    )
    if sent.status in ("sent", held.status):
        return mine
    return by_ehr(mine, sent.status, sent.authored_on, _reason(sent.status, sent))


def _reason(status: str, referral: Referral) -> str | None:
    """Why a referral the hospital closed is closed: the words of its status (Rejected, Expired)."""
    said = referral.business_status
    return said.text if said and status in NEEDS_REASON else None


def _refer(work: Work, side: Side, ehr: Ehr, client_id: str, event: Event, now: str) -> Applied:
    message = event.referral
    assert message is not None  # noqa: S101 - apply() sends only referral events here
    old = _held(work, ehr.org_id, client_id, message)
    record_id = old.record_id if old else _new_id(ehr, message)
    sent, said = from_v2_referral(message, client_id, record_id, now, side.deps.catalogue.tables)
    referral = _merged(side, old, sent) if old else sent
    _save(work, side, ehr, old, referral)
    done = f"referral {record_id} {'updated' if old else 'created'} ({_named(message)}), {referral.status}"
    return Applied(InboundState.APPLIED, "; ".join([done, *said]))


def _answer(work: Work, side: Side, ehr: Ehr, client_id: str, event: Event) -> Applied:
    message = event.referral
    assert message is not None and message.status is not None  # noqa: S101 - the reader requires RF1-1
    old = _held(work, ehr.org_id, client_id, message)
    if old is None:
        return Applied(
            InboundState.REPORTED,
            f"{event.event} answers referral {_named(message)}, none of client {client_id}'s: "
            "stored, a person must look",
        )
    said: list[str] = []
    status = status_of(message, side.deps.catalogue.tables, said)
    held: Referral = side.deps.contract.load("referral", old.data)
    word = concept(message.status, said)
    moved = held
    if status != held.status:
        moved = by_ehr(held, status, message.sent_at, word.text if status in NEEDS_REASON else None)
    kept = list(held.identifiers)
    kept += [
        i
        for i in identifiers(message)
        if not any(_same(replace(i, type=None), replace(k, type=None)) for k in kept)
    ]
    _save(work, side, ehr, old, replace(moved, business_status=word, identifiers=tuple(kept)))
    skipped = (
        f", skipping {', '.join(moved.skipped_statuses)}"
        if status != held.status and moved.skipped_statuses
        else ""
    )
    done = f"referral {old.record_id} is {status} ({event.event} {message.status.code}: the hospital's word{skipped})"
    return Applied(InboundState.APPLIED, "; ".join([done, *said]))


def apply(work: Work, side: Side, ehr: Ehr, client_id: str, event: Event, now: str) -> Applied:
    """Act on one matched referral message, in the caller's transaction. A referral the records refuse
    (a value the contract does not take) is reported with the reason, the message kept."""
    try:
        if event.kind == "referral-answer":
            return _answer(work, side, ehr, client_id, event)
        return _refer(work, side, ehr, client_id, event, now)
    except ServiceError as err:
        reasons = "; ".join(f"{p.path or 'it'}: {p.message}" for p in err.problems)
        return Applied(
            InboundState.REPORTED, f"{event.event} not applied, the referral is refused: {reasons}"
        )
