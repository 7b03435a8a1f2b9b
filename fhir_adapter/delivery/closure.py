"""What a job's resources name outside the job, so that every reference resolves in the EHR.

A reference to a resource the EHR already holds from an earlier job is rewritten to the EHR's id (the
ledger knows it). One the EHR has never been sent goes along in this job. One that cannot go (withheld by
the EHR's policy, removed, or no longer ours to send) is taken out of the referring resource, keeping its
display and identifier where it has them. And what the EHR holds that names a resource this job removes is
sent again without that reference: the EHR is never left a reference to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection

from fhir_adapter.adapters import ehr_store, fhir_store
from fhir_adapter.delivery.outgoing import outgoing
from fhir_adapter.delivery.writes import Outgoing, references, without
from fhir_adapter.domain.sync import Ehr, LedgerAction, Sent

Known = dict[tuple[str, str], Sent]
ADDRESSED = ("Patient/", "Encounter/")  # the EHR's own, put in when the job is addressed


@dataclass(frozen=True)
class Closed:
    send: list[Outgoing]  # the job's resources and those they need, referenced ones free of dead ends
    known: Known  # the ledger's word on all of them and on what they name
    left_out: frozenset[str]  # references taken out: they could not resolve in the EHR


def _named(items: list[Outgoing]) -> set[str]:
    named = {ref for o in items if not o.deleted for ref in references(o.resource)}
    return {ref for ref in named if not ref.startswith(ADDRESSED)}


def _naming_removed(
    conn: Connection, org_id: str, ehr: Ehr, patient_id: str | None, send: list[Outgoing], known: Known
) -> list[Outgoing]:
    """The patient's resources the EHR holds from earlier jobs that name one this job removes."""
    removed = {o.ref for o in send if o.deleted}
    if not removed or not patient_id:
        return []
    in_job = {(o.resource_type, o.id) for o in send}
    keys = [k for k in fhir_store.of_patient(conn, org_id, patient_id) if k not in in_job]
    sendable = [
        outgoing(s)
        for s in fhir_store.read_many(conn, org_id, keys)
        if not s.deleted and (ehr.send_restricted or not s.restricted)
    ]
    naming = [o for o in sendable if references(o.resource) & removed]
    sent = ehr_store.last_sent(conn, org_id, ehr.id, [(o.resource_type, o.id) for o in naming])
    known |= sent
    return [
        o
        for o in naming
        if (o.resource_type, o.id) in sent and sent[o.resource_type, o.id].action is LedgerAction.PUT
    ]


def close(
    conn: Connection, org_id: str, ehr: Ehr, send: list[Outgoing], known: Known, patient_id: str | None = None
) -> Closed:
    """The job's resources, with what they name outside the job either known to the EHR or sent along, and
    what the EHR holds naming a resource the job removes sent again without that reference."""
    known = dict(known)
    send = send + _naming_removed(conn, org_id, ehr, patient_id, send, known)
    removed = {o.ref for o in send if o.deleted}
    seen = {o.ref for o in send if not o.deleted}
    left_out = _named(send) & removed
    pending = _named(send) - seen - removed
    extra: list[Outgoing] = []
    while pending:
        seen |= pending
        keys = [(ref.split("/", 1)[0], ref.split("/", 1)[1]) for ref in sorted(pending)]
        known |= ehr_store.last_sent(conn, org_id, ehr.id, keys)
        missing = [k for k in keys if k not in known or known[k].action is not LedgerAction.PUT]
        stored = {(s.resource_type, s.id): s for s in fhir_store.read_many(conn, org_id, missing)}
        found = []
        for key in missing:
            item = stored.get(key)
            if item is None or item.deleted or (item.restricted and not ehr.send_restricted):
                left_out.add(f"{key[0]}/{key[1]}")
                continue
            found.append(outgoing(item))
        extra += found
        pending = _named(found) - seen
    items = send + extra
    if left_out:
        items = [o if o.deleted else replace(o, resource=without(o.resource, left_out)) for o in items]
    return Closed(items, known, frozenset(left_out))
