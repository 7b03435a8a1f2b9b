"""Records the EHR will not take as resources go as documents: one DocumentReference per record (the plan
with its goals, an assessment with its findings, a referral with its task), made from the record's current
resources, with the page as HTML and PDF, replacing the document sent for the record before.

Created once per version (If-None-Exist on the version's masterIdentifier): a resend after a lost answer
finds the document already there. The ledger gets a row for the document and one for each of the job's
resources it carries (DOCUMENT, naming the document's id in the EHR). A job's documents are independent of
one another: up to SENDERS of them wait on the EHR at once while their PDFs are made by the renderer
processes (documents/renderers.py); what was written is reported in the records' order.

Such an EHR cannot delete: a record taken back (its admission cancelled) gets a last document that says it
was withdrawn and why, replacing the one the EHR shows, and the ledger marks its resources removed.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection, Engine

from fhir_adapter.adapters import ehr_store, fhir_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.adapters.fhir_store import content
from fhir_adapter.delivery.capabilities import Capabilities
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.delivery.outgoing import Prepared
from fhir_adapter.delivery.writes import Outgoing, Written, business_identifier
from fhir_adapter.documents import narrative, reference, renderers
from fhir_adapter.domain.stored import Stored
from fhir_adapter.domain.sync import Sent
from fhir_adapter.mapping.kinds import RECORD_KINDS, RESOURCE_KINDS

Record = tuple[str, str]  # (kind of record, record id)
SENDERS = 4  # a job's documents waiting on the EHR at once
_pools_lock = threading.Lock()
_pools: list[ThreadPoolExecutor] = []


def _records(conn: Connection, org_id: str, items: list[Outgoing]) -> dict[Record, list[Outgoing]]:
    found: dict[Record, list[Outgoing]] = defaultdict(list)
    for item in items:
        record = fhir_store.record_of(conn, org_id, item.resource_type, item.id)
        if record is not None and record[0] in reference.TYPES:
            found[(record[0], record[1])].append(item)
    return dict(found)


def _title(kind: str, main: dict[str, object]) -> str:
    label = reference.TYPES[kind][1]
    name = main.get("title") or narrative.text_of(main.get("code")) or business_identifier(main).get("value")
    return f"{label}: {name}" if name else label


def page(
    conn: Connection, prepared: Prepared, org_id: str, record: Record, withdrawn: str | None = None
) -> reference.Page | None:
    """A record's page from its current resources (those the EHR's policy allows), its main one first;
    with `withdrawn` (why), the notice that the record was taken back instead of what it says."""
    keys = fhir_store.of_records(conn, org_id, [record])
    stored = [
        s
        for s in fhir_store.read_many(conn, org_id, keys)
        if not s.deleted and (prepared.ehr.send_restricted or not s.restricted)
    ]
    main_type = RECORD_KINDS[record[0]].fhir_type
    stored.sort(key=lambda s: (s.resource_type != main_type, keys.index((s.resource_type, s.id))))
    if not stored or stored[0].resource_type != main_type:
        return None
    resources = [content(orjson.loads(s.data)) for s in stored]
    patient = _patient(conn, org_id, prepared.patient_id)
    title = _title(record[0], resources[0])
    label = RECORD_KINDS[record[0]].label
    note = f"{label} {record[1]}, sent as a document: the EHR does not take it as FHIR"
    if withdrawn is not None:
        title, resources = f"Withdrawn — {title}", []
        note = (
            f"The {label} was withdrawn ({withdrawn}): it no longer stands, and replaces the document before."
        )
    return reference.Page(
        record[0],
        business_identifier(resources[0] if resources else orjson.loads(stored[0].data)),
        title,
        narrative.render(title, patient, resources, note),
        tuple(f"{s.resource_type}/{s.id}/{s.version_id}" for s in stored),
        max(s.last_updated for s in stored),
        narrative.language(patient),
    )


def _patient(conn: Connection, org_id: str, patient_id: str | None) -> dict[str, object] | None:
    found: Stored | None = fhir_store.read(conn, org_id, "Patient", patient_id) if patient_id else None
    return orjson.loads(found.data) if found and not found.deleted else None


@dataclass(frozen=True)
class _Plan:
    """The documents a job sends: the records' resources it carries, their pages, our ids for them and what
    the ledger says was sent for each."""

    carried: dict[Record, list[Outgoing]]
    pages: dict[Record, reference.Page | None]
    ids: dict[Record, str]
    last: dict[tuple[str, str], Sent]


def _plan(engine: Engine, prepared: Prepared, items: list[Outgoing], why: str) -> _Plan:
    """Each record with resources that go; each record whose resources are all taken back, with the notice
    of its withdrawal, when a document of it was sent (none: nothing there to withdraw)."""
    org, ehr_id = prepared.ehr.org_id, prepared.ehr.id
    with reading(engine) as conn:
        records = _records(conn, org, [o for o in items if not o.deleted])
        gone = _records(conn, org, [o for o in items if o.deleted])
        gone = {r: carried for r, carried in gone.items() if r not in records}
        pages = {r: page(conn, prepared, org, r) for r in records}
        pages |= {r: page(conn, prepared, org, r, why or "taken back") for r in gone}
        ids = {r: reference.document_id(org, r[0], r[1]) for r in pages}
        last = ehr_store.last_sent(conn, org, ehr_id, [("DocumentReference", i) for i in ids.values()])
    gone = {r: c for r, c in gone.items() if ("DocumentReference", ids[r]) in last}
    return _Plan(records | gone, pages, ids, last)


def send_documents(
    engine: Engine,
    client: EhrClient,
    prepared: Prepared,
    items: list[Outgoing],
    caps: Capabilities,
    why: str = "",
    side_by_side: bool = True,
) -> list[Written]:
    """Each record of `items` as its document; the resources of `items` it carries, as written in it. A
    record whose resources are all taken back (`why`: the job's cause) gets the notice of its withdrawal.
    Not `side_by_side`: one document after another, in the records' order (what a preview shows)."""
    plan = _plan(engine, prepared, items, why) if items else None
    if plan is None or not plan.carried:
        return []
    if not caps.creates("DocumentReference"):
        types = sorted({o.resource_type for o in items})
        raise Failure(
            "dead",
            "documents_refused",
            None,
            f"The EHR accepts neither {', '.join(types)} as FHIR resources nor a DocumentReference in their "
            "place: nothing can be delivered there until it does (or a site override says how).",
        )
    subject = prepared.refs.get(f"Patient/{prepared.patient_id}", f"Patient/{prepared.link.patient_id}")
    author = f"fhir-adapter for {prepared.ehr.org_id}"
    todo = [(record, got) for record, got in plan.pages.items() if got is not None and record in plan.carried]
    pdfs = [renderers.pdf_of(got.html) for _, got in todo]

    def send(record: Record, got: reference.Page, pdf: Future[bytes]) -> list[Written]:
        carried = plan.carried[record]
        sent = plan.last.get(("DocumentReference", plan.ids[record]))
        encounter = next((o.resource["encounter"] for o in carried if "encounter" in o.resource), None)
        replaces = sent.ehr_resource_id if sent else None
        doc = reference.document(got, pdf.result(), subject, author, replaces, encounter)
        return _create(client, plan.ids[record], got, doc, carried)

    return _each(send, list(zip(todo, pdfs, strict=True)), side_by_side)


Send = Callable[[Record, reference.Page, "Future[bytes]"], list[Written]]


def _each(
    send: Send, work: list[tuple[tuple[Record, reference.Page], Future[bytes]]], side_by_side: bool
) -> list[Written]:
    """Every document sent, at once or one after another; what was written, in the records' order. The
    first failure ends the job: the documents and PDFs not begun are not made, and nothing of the job still
    talks to the EHR when it returns."""
    try:
        if not side_by_side:
            return [w for (record, got), pdf in work for w in send(record, got, pdf)]
        sending = [_senders().submit(send, record, got, pdf) for (record, got), pdf in work]
        try:
            return [w for done in sending for w in done.result()]
        finally:
            for future in sending:
                future.cancel()
            wait(sending)
    finally:
        for _, pdf in work:
            pdf.cancel()


def _senders() -> ThreadPoolExecutor:
    """The threads that wait on the EHR for a job's documents, kept for the process."""
    with _pools_lock:
        if not _pools:
            _pools.append(ThreadPoolExecutor(SENDERS, thread_name_prefix="sending"))
        return _pools[0]


def _create(
    client: EhrClient, doc_id: str, got: reference.Page, doc: dict[str, object], carried: list[Outgoing]
) -> list[Written]:
    master = reference.version_identifier(got)
    once = {"If-None-Exist": urlencode({"identifier": f"{master['system']}|{master['value']}"})}
    try:
        answer = client.request("POST", "DocumentReference", doc, once)
    except Failure as failure:
        failure.resource_type = "DocumentReference"
        raise
    ehr_id = answer.get("id")
    version = max(int(part.rsplit("/", 1)[1]) for part in got.made_of)
    item = Outgoing("DocumentReference", doc_id, version, False, doc)
    out = [Written(item, ehr_id, answer.get("meta", {}).get("versionId"))]
    return out + [Written(o, ehr_id, None, as_document=True) for o in carried]


def documented_type(rtype: str) -> bool:
    """Whether resources of this type belong to a kind of record that has a document type."""
    kind = RESOURCE_KINDS.get(rtype)
    return kind is not None and kind.record in reference.TYPES
