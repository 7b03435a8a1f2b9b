"""One client's case timeline: admissions and discharges, what was sent to each EHR and its delivery
state, what came back (the messages, and the discharge packet: the hospital's documents and follow-up
appointments): what a discharge planner asks "did it arrive?" against."""

from __future__ import annotations

from typing import Any

from fhir_adapter.domain.packet import DISCHARGE_SUMMARY
from fhir_adapter.domain.sync import Admission, JobAction, JobState
from fhir_adapter.service.ports import Work

JSON = dict[str, Any]
MOST = 500  # messages, and jobs, shown: the newest
DONE = {JobAction.PUSH: "sent", JobAction.RETRACT: "retracted", JobAction.PULL: "read back"}


def _admission(a: Admission) -> JSON:
    out: JSON = {"id": a.id, "ehr": a.ehr_id, "visit": a.visit_number, "state": a.state}
    optional = {
        "encounter": f"Encounter/{a.encounter_id}" if a.encounter_id else None,
        "class": a.class_code,
        "location": a.location,
        "admit_source": a.admit_source,
        "admitted_at": a.admitted_at,
        "discharged_at": a.discharged_at,
        "disposition": {k: v for k, v in a.disposition.__dict__.items() if v} if a.disposition else None,
        "jobs": a.jobs or None,
    }
    return out | {k: v for k, v in optional.items() if v}


def _entry(at: str, what: str, **fields: Any) -> JSON:
    return {"at": at, "what": what} | {k: v for k, v in fields.items() if v not in (None, [], "", False)}


def _messages(work: Work, org_id: str, client_id: str) -> tuple[list[JSON], bool]:
    found = work.messages.of_client(org_id, client_id, MOST + 1)
    entries = [
        _entry(
            m.received_at,
            "received" if m.channel != "query" else "read back",
            ehr=m.ehr_id,
            event=m.event.event,
            kind=m.event.kind,
            visit=m.event.visit_key,
            state=m.state,
            detail=m.detail,
            inbound=m.seq,
        )
        for m in found[-MOST:]
    ]
    return entries, len(found) > MOST


def _jobs(work: Work, org_id: str, client_id: str) -> tuple[list[JSON], bool]:
    found = work.outbox.of_client(org_id, client_id, MOST + 1)
    jobs = found[-MOST:]
    # A job delivered together with others is in the ledger under the first of them.
    ledger = work.ehrs.sent_by_jobs([j.batch_head or j.id for j in jobs if j.state is JobState.DELIVERED])
    entries = []
    for job in jobs:
        own = [f"{t}/{i}" for t, i in job.resources]
        sent = ledger.get(job.batch_head or job.id, []) if job.state is JobState.DELIVERED else []
        entries.append(
            _entry(
                job.created_at,
                DONE[job.action],
                ehr=job.ehr_id,
                cause=job.cause,
                job=job.id,
                state=job.state,
                finished_at=job.finished_at,
                reason=job.last_reason,
                resources=own,
                in_ehr=[s["ehr_resource"] for s in sent if s["resource"] in own and s["ehr_resource"]],
            )
        )
    return entries, len(found) > MOST


def _words(concept: JSON | None) -> str | None:
    """A concept as a person reads it: its text, else a coding's display, else its code."""
    if not concept:
        return None
    codings = concept.get("codings", [])
    return (
        concept.get("text")
        or next((c["display"] for c in codings if c.get("display")), None)
        or (codings[0]["code"] if codings else None)
    )


def _document(data: JSON) -> JSON:
    codings = (data.get("type") or {}).get("codings", [])
    summary = any(
        c.get("code") == DISCHARGE_SUMMARY.code and c.get("system") == DISCHARGE_SUMMARY.system
        for c in codings
    )
    contents = data.get("contents", [])
    return _entry(
        data.get("date") or "",
        "document",
        id=data["id"],
        title=_words(data.get("type")) or data.get("description") or "document",
        description=data.get("description"),
        summary=summary,
        status=data["status"],
        content_type=contents[0].get("content_type") if contents else None,
        content=bool(contents and contents[0].get("sha256")),
    )


def _appointment(data: JSON) -> JSON:
    types = data.get("service_types") or data.get("specialties") or []
    with_whom = [
        p["actor"]["display"]
        for p in data.get("participants", [])
        if not p.get("patient") and p.get("actor", {}).get("display")
    ]
    return _entry(
        data.get("start") or "",
        "appointment",
        id=data["id"],
        title=(_words(types[0]) if types else None) or data.get("description") or "appointment",
        description=data.get("description"),
        status=data["status"],
        end=data.get("end"),
        with_whom=with_whom,
        instruction=data.get("patient_instruction"),
    )


def _returned(work: Work, org_id: str, client_id: str) -> list[JSON]:
    """The hospital's documents and follow-up appointments the case record holds, in time order."""
    shown = {"hospital-document": _document, "appointment": _appointment}
    found = [shown[r.kind](r.data) for r in work.records.of_client(org_id, client_id) if r.kind in shown]
    return sorted(found, key=lambda e: e["at"])


def of_client(work: Work, org_id: str, client_id: str) -> JSON:
    """Links, admissions, and the newest messages and jobs (at most MOST of each) in time order; `earlier`
    says that older ones were left out."""
    messages, more_messages = _messages(work, org_id, client_id)
    jobs, more_jobs = _jobs(work, org_id, client_id)
    links = [
        {"ehr": link.ehr_id, "patient": link.patient_id or None, "mrn": link.mrn, "ended_at": link.ended_at}
        for link in work.ehrs.links_of(org_id, client_id)
    ]
    out = {
        "client_id": client_id,
        "links": links,
        "admissions": [_admission(a) for a in work.admissions.of_client(org_id, client_id)],
        "entries": sorted(messages + jobs, key=lambda e: e["at"]),
        "returned": _returned(work, org_id, client_id),
    }
    return out | ({"earlier": True} if more_messages or more_jobs else {})
