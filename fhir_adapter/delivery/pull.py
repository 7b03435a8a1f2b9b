"""A discharge's read-back: what the EHR holds for the patient since the admission began becomes part of
the case record.

Read: the Encounter's discharge disposition, the patient's ServiceRequests and QuestionnaireResponses
(new referrals and assessments), with the Questionnaires of the hospital's own that they answer
(delivery/instruments.py), Tasks (the status of the referrals we sent), CarePlans, and the discharge
packet: the stay's discharge summaries (DocumentReference of LOINC 18842-5, their attachments' bytes read
with the EHR's credentials: delivery/attachments.py) and the follow-up Appointments from the admission's
first day on. Each resource read is kept as an inbound message, once per version, with what became of it;
one that cannot be carried is kept with the reason and does not hold up the others. What we sent (our
resources, the documents we wrote for records the EHR would not take) is recognised and left. What comes
back is not echoed to the EHR it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection, Engine

from fhir_adapter.adapters import (
    admission_store,
    audit_store,
    ehr_store,
    inbound_store,
    org_store,
    outbox_lease,
)
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.unit_of_work import SqlWork
from fhir_adapter.config import Settings
from fhir_adapter.delivery import instruments
from fhir_adapter.delivery.attachments import with_bytes
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.delivery.writes import rewrite
from fhir_adapter.domain.audit import AuditRow
from fhir_adapter.domain.events import Coded, ContentError, Event, Patient
from fhir_adapter.domain.inbound import InboundState
from fhir_adapter.domain.packet import DISCHARGE_SUMMARY
from fhir_adapter.domain.sync import Admission, Job
from fhir_adapter.events.fhir_events import coded
from fhir_adapter.mapping.kinds import RESOURCE_KINDS
from fhir_adapter.mapping.paging import pages
from fhir_adapter.service import fhir_intake
from fhir_adapter.service.audit import by_service
from fhir_adapter.service.auth import to_org
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import ServiceError
from fhir_adapter.service.projection import patient_id
from fhir_adapter.service.records import Deps

JSON = dict[str, Any]
READ_BACK = tuple(t for t, k in RESOURCE_KINDS.items() if k.read_back)
MAX_PAGES = 20


def _query(rtype: str, patient: str, since: str | None) -> dict[str, str]:
    """The search of one read-back type: changed since `since`; documents only discharge summaries,
    appointments those from the admission's first day on."""
    params = {"patient": f"Patient/{patient}", "_count": "100"}
    if rtype == "DocumentReference":
        params["type"] = f"{DISCHARGE_SUMMARY.system}|{DISCHARGE_SUMMARY.code}"
    if since and rtype == "Appointment":
        params["date"] = f"ge{since[:10]}"
    elif since:
        params["_lastUpdated"] = f"ge{since[:19]}Z"
    return params


def fetch(client: EhrClient, patient: str, since: str | None) -> list[JSON]:
    """The patient's resources of the read-back types changed since `since`, every page."""
    found: list[JSON] = []
    for rtype in READ_BACK:
        params = _query(rtype, patient, since)
        read = partial(client.request, "GET")
        for bundle in pages(read, f"{rtype}?{urlencode(params)}", client.base, MAX_PAGES):
            found += [e["resource"] for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
    return found


def disposition(client: EhrClient, admission: Admission) -> Coded | None:
    if admission.disposition or not admission.encounter_id:
        return None
    encounter = client.request("GET", f"Encounter/{admission.encounter_id}")
    concept = (encounter.get("hospitalization") or {}).get("dischargeDisposition")
    try:
        return coded(concept, "Encounter.hospitalization.dischargeDisposition")
    except ContentError:  # the EHR's own odd shape: no disposition rather than a failed read-back
        return None


def _references(value: Any) -> set[tuple[str, str]]:
    if isinstance(value, dict):
        found = set().union(*(_references(v) for v in value.values())) if value else set()
        ref = value.get("reference")
        if isinstance(ref, str) and ref.count("/") == 1:
            found.add(tuple(ref.split("/")))  # type: ignore[arg-type]
        return found
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    return set()


def sent_by_us(resource: JSON, principal: Principal, mine: dict[str, str]) -> bool:
    """Sent by us: its id is in the ledger, or it carries our business identifier, or (a document we wrote
    for a record the EHR would not take: documents_out.py) our identifier of a record's document."""
    if f"{resource['resourceType']}/{resource.get('id')}" in mine:
        return True
    idents = resource.get("identifier") or []
    identity = principal.org.identity
    system = identity.system(RESOURCE_KINDS[resource["resourceType"]].identity)
    for ident in idents if isinstance(idents, list) else [idents]:
        kind = identity.kind_of(str(ident.get("system", "")))
        if ident.get("system") == system or (kind or "").endswith("/document"):
            return True
    return False


@dataclass(frozen=True)
class Reading:
    """One read-back under way: where it is kept, who it is for, and what of the EHR's is ours."""

    conn: Connection
    deps: Deps
    principal: Principal
    job: Job
    client: EhrClient
    refs: dict[str, str]  # the EHR's references → ours
    mine: dict[str, str]  # the EHR's resources we sent → ours
    now: str
    instruments: dict[str, JSON]  # the hospital's Questionnaires its responses name


def _take(reading: Reading, resource: JSON) -> None:
    """One resource read back: kept as an inbound message, once per version, and carried into the case
    record unless it is not for us to take."""
    conn, job = reading.conn, reading.job
    rtype = resource["resourceType"]
    version = (resource.get("meta") or {}).get("versionId", "")
    event = Event(
        "query", f"pull:{rtype}/{resource.get('id')}/{version}", f"{rtype} read back", "other", Patient()
    )
    body = orjson.dumps(resource).decode()
    seq = inbound_store.add(conn, job.org_id, job.ehr_id, event, body, reading.now)
    if seq is None:
        return  # this version was read back before
    ignored = _ignored(rtype, sent_by_us(resource, reading.principal, reading.mine))
    if ignored:
        inbound_store.settle(conn, seq, InboundState.IGNORED, ignored, job.client_id)
        return
    _carry(reading, seq, resource)


def _ignored(rtype: str, ours: bool) -> str | None:
    """Why a resource read back is not taken (one we sent, a Task of the EHR's own); None: it is taken."""
    if ours and rtype != "Task":
        return f"{rtype} we sent"
    if not ours and rtype == "Task":
        return "a Task of the EHR's own, not about a referral we sent"
    return None


def _carry(reading: Reading, seq: int, resource: JSON) -> None:
    """The resource carried into the case record, or refused with the reasons; its message settled so,
    with what became of a document's attachments."""
    conn, job = reading.conn, reading.job
    rtype = resource["resourceType"]
    translated = rewrite({k: v for k, v in resource.items() if k != "meta"}, reading.refs)
    notes: list[str] = []
    if rtype == "DocumentReference":
        translated, notes = with_bytes(reading.client, translated, reading.deps.attachment_limit)
    try:
        with conn.begin_nested():
            got = fhir_intake.receive(
                SqlWork(conn), reading.deps, reading.principal, translated, instruments=reading.instruments
            )
    except ServiceError as err:
        reasons = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in err.problems)
        inbound_store.settle(
            conn, seq, InboundState.REJECTED, f"not carried into the case record: {reasons}", job.client_id
        )
        return
    record = (
        "referral status"
        if rtype == "Task"
        else ("new " if got.created else "updated ") + RESOURCE_KINDS[rtype].identity
    )
    notes += [f"{f.path}: {f.message}" for f in got.findings if ".attachment" in f.path]
    detail = "; ".join([f"{record} from {rtype}/{resource.get('id')}", *notes])
    inbound_store.settle(conn, seq, InboundState.APPLIED, detail, job.client_id, "link")


def _read_back(job: Job, base: str, patient: str, now: str) -> AuditRow:
    """The EHR's discharge information taken into the case record: who read it, from where, about whom."""
    agent = (f"delivery:{job.ehr_id}", f"fhir-adapter read-back from {job.ehr_id}")
    return by_service(job.org_id, agent, "search-type", "GET", base, patient, now)


class Puller:
    def __init__(self, engine: Engine, settings: Settings, deps: Deps) -> None:
        self.engine = engine
        self.settings = settings
        self.deps = deps

    def run(self, job: Job, client: EhrClient, ehr_patient: str, now: str) -> bool:
        """Read back and store; False when the job's lease was lost."""
        context = job.context or {}
        with reading(self.engine) as conn:
            admission = admission_store.get(conn, job.org_id, int(context.get("admission", 0)))
        found = fetch(client, ehr_patient, context.get("since"))
        coded = disposition(client, admission) if admission else None
        questionnaires = instruments.served(client, found, self.deps.catalogue)
        with writing(self.engine) as conn:
            principal = self._principal(conn, job)
            our_patient = patient_id(job.client_id, principal.org.identity)
            named = _references(found) | {(r["resourceType"], str(r.get("id"))) for r in found}
            mine = ehr_store.ours_of(conn, job.org_id, job.ehr_id, named)
            refs = {**mine, f"Patient/{ehr_patient}": f"Patient/{our_patient}"}
            under_way = Reading(conn, self.deps, principal, job, client, refs, mine, now, questionnaires)
            for resource in found:
                _take(under_way, resource)
            if coded and admission:
                admission_store.discharged_to(conn, admission.id, coded, now)
            audit_store.add_many(conn, [_read_back(job, client.base, our_patient, now)])
            return outbox_lease.delivered(conn, job, set(), now)

    def _principal(self, conn: Connection, job: Job) -> Principal:
        row = org_store.get_org(conn, job.org_id)
        if row is None:
            raise Failure("dead", "not_configured", None, f"organisation {job.org_id} no longer exists")
        org = to_org(row, self.settings)
        return Principal(
            f"ehr:{job.ehr_id}", f"EHR {job.ehr_id}", org, frozenset({("*", "*")}), True, job.ehr_id
        )
