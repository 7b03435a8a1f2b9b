"""One attempt at a job's writes, after the EHR's capabilities: the resources of the types it takes, as one
transaction Bundle or one by one; the records of the types it does not, as documents (documents_out.py);
then the Provenance. Refusals and conflicts are the worker's to handle (it re-reads and tries again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog
from sqlalchemy import Engine

from fhir_adapter.delivery import writes
from fhir_adapter.delivery.capabilities import Capabilities
from fhir_adapter.delivery.documents_out import send_documents
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.delivery.outgoing import Prepared
from fhir_adapter.delivery.questionnaires_out import send_questionnaires
from fhir_adapter.delivery.writes import Outgoing, Written, without
from fhir_adapter.domain.sync import Job, LedgerAction, Sent
from fhir_adapter.mapping.catalogue import Catalogue

log = structlog.get_logger("fhir_adapter.delivery")
Known = dict[tuple[str, str], Sent]


@dataclass(frozen=True)
class Routed:
    resources: list[Outgoing]  # written as resources; references to what goes as documents taken out
    documented: list[Outgoing]  # carried in their records' documents


def route(items: list[Outgoing], caps: Capabilities) -> Routed:
    """Which of the job's resources the EHR takes as themselves, and which go in documents."""
    documented = [o for o in items if caps.way(o.resource_type) == "document"]
    refs = {o.ref for o in documented}
    resources = [
        o if o.deleted or not refs else replace(o, resource=without(o.resource, refs))
        for o in items
        if o.ref not in refs
    ]
    return Routed(resources, documented)


@dataclass(frozen=True)
class Context:
    engine: Engine
    catalogue: Callable[[], Catalogue]  # our Questionnaires: read when a response first needs one
    at: str  # when the attempt is made: the Provenance's `recorded`
    side_by_side: bool = True  # a job's documents sent at once (a preview: one after another, in order)


def write(
    ctx: Context, job: Job, client: EhrClient, prepared: Prepared, known: Known, caps: Capabilities
) -> list[Written]:
    """The job's writes and its Provenance; what the EHR accepted."""
    engine = ctx.engine
    routed = route(prepared.send, caps)
    written = []
    if any(o.resource_type == "QuestionnaireResponse" for o in prepared.send):
        written += send_questionnaires(engine, client, prepared, prepared.send, caps, ctx.catalogue())
    if caps.transaction_for(o.resource_type for o in routed.resources) and routed.resources:
        written += writes.send_transaction(client, routed.resources, prepared.refs, known)
    else:
        written += writes.send_each(client, routed.resources, prepared.refs, known, caps.way)
    written += send_documents(engine, client, prepared, routed.documented, caps, job.cause, ctx.side_by_side)
    _provenance(job, client, written, known, caps, ctx.at)
    return written


def _provenance(
    job: Job, client: EhrClient, written: list[Written], known: Known, caps: Capabilities, at: str
) -> None:
    way = "put" if caps.way("Provenance") == "put" else "create" if caps.creates("Provenance") else None
    for activity, targets in writes.provenance_targets(written, known).items():
        if way is None:
            log.info("delivery.provenance_not_taken", job=job.id)
            return
        prov_id = writes.provenance_id(job.org_id, job.ehr_id, job.id, activity)
        prov = writes.provenance(prov_id, targets, at, job.org_id, activity)
        try:
            writes.send_provenance(client, prov, way)
        except Failure as failure:
            if failure.action == "retry":
                raise  # sent again with the job: its writes are idempotent
            # The records are in the EHR: an EHR that refuses our Provenance does not undo that.
            log.warning("delivery.provenance_refused", job=job.id, status=failure.status)


def reread(client: EhrClient, prepared: Prepared, known: Known) -> Known:
    """The EHR's current version of each resource we write: the next attempt's If-Match. What the job only
    names keeps what the ledger said."""
    sending = {(o.resource_type, o.id) for o in prepared.send}
    fresh = {k: v for k, v in known.items() if k not in sending}
    for item in prepared.send:
        sent = known.get((item.resource_type, item.id))
        if sent is not None and sent.action is not LedgerAction.PUT:
            fresh[(item.resource_type, item.id)] = sent
            continue
        ehr_id = sent.ehr_resource_id if sent and sent.ehr_resource_id else item.id
        response = client.raw("GET", f"{item.resource_type}/{ehr_id}")
        if response.status_code == 200:
            version = response.json().get("meta", {}).get("versionId")
            fresh[(item.resource_type, item.id)] = Sent(ehr_id, version, LedgerAction.PUT)
    return fresh
