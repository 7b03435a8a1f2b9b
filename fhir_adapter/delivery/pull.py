"""A discharge's read-back: what the EHR holds for the patient since the admission began becomes part of
the case record.

Read: the Encounter's discharge disposition, the patient's ServiceRequests and QuestionnaireResponses
(new referrals and assessments), with the Questionnaires of the hospital's own that they answer
(delivery/instruments.py), and Tasks (the status of the referrals we sent). Each resource read is kept
as an inbound message, once per version, with what became of it; one that cannot be carried is kept with
the reason and does not hold up the others. What comes back is not echoed to the EHR it came from.
"""

from __future__ import annotations

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
from fhir_adapter.delivery.ehr_client import EhrClient, Failure
from fhir_adapter.delivery.writes import rewrite
from fhir_adapter.domain.audit import AuditRow
from fhir_adapter.domain.events import Coded, ContentError, Event, Patient
from fhir_adapter.domain.inbound import InboundState
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


def fetch(client: EhrClient, patient: str, since: str | None) -> list[JSON]:
    """The patient's resources of the read-back types changed since `since`, every page."""
    found: list[JSON] = []
    for rtype in READ_BACK:
        params = {"patient": f"Patient/{patient}", "_count": "100"}
        if since:
            params["_lastUpdated"] = f"ge{since[:19]}Z"
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


def _ours(resource: JSON, principal: Principal, mine: dict[str, str]) -> bool:
    """Sent by us: its id is in the ledger, or it carries our business identifier."""
    if f"{resource['resourceType']}/{resource.get('id')}" in mine:
        return True
    idents = resource.get("identifier") or []
    system = principal.org.identity.system(RESOURCE_KINDS[resource["resourceType"]].identity)
    return any(i.get("system") == system for i in (idents if isinstance(idents, list) else [idents]))


def _take(
    conn: Connection,
    deps: Deps,
    principal: Principal,
    job: Job,
    resource: JSON,
    refs: dict[str, str],
    mine: dict[str, str],
    now: str,
    instruments: dict[str, JSON],
) -> None:
    """One resource read back: kept as an inbound message, once per version, and carried into the case
    record unless it is not for us to take."""
    rtype = resource["resourceType"]
    version = (resource.get("meta") or {}).get("versionId", "")
    event = Event(
        "query", f"pull:{rtype}/{resource.get('id')}/{version}", f"{rtype} read back", "other", Patient()
    )
    seq = inbound_store.add(conn, job.org_id, job.ehr_id, event, orjson.dumps(resource).decode(), now)
    if seq is None:
        return  # this version was read back before
    ignored = _ignored(rtype, _ours(resource, principal, mine))
    if ignored:
        inbound_store.settle(conn, seq, InboundState.IGNORED, ignored, job.client_id)
        return
    _carry(conn, deps, principal, job, seq, resource, refs, instruments)


def _ignored(rtype: str, ours: bool) -> str | None:
    """Why a resource read back is not taken (one we sent, a Task of the EHR's own); None: it is taken."""
    if ours and rtype != "Task":
        return f"{rtype} we sent"
    if not ours and rtype == "Task":
        return "a Task of the EHR's own, not about a referral we sent"
    return None


def _carry(
    conn: Connection,
    deps: Deps,
    principal: Principal,
    job: Job,
    seq: int,
    resource: JSON,
    refs: dict[str, str],
    instruments: dict[str, JSON],
) -> None:
    """The resource carried into the case record, or refused with the reasons; its message settled so."""
    rtype = resource["resourceType"]
    translated = rewrite({k: v for k, v in resource.items() if k != "meta"}, refs)
    try:
        with conn.begin_nested():
            got = fhir_intake.receive(SqlWork(conn), deps, principal, translated, instruments=instruments)
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
    inbound_store.settle(
        conn, seq, InboundState.APPLIED, f"{record} from {rtype}/{resource.get('id')}", job.client_id, "link"
    )


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
            for resource in found:
                _take(conn, self.deps, principal, job, resource, refs, mine, now, questionnaires)
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
