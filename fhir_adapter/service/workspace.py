"""What the workspace's pages show, read in one place per page: the admissions and discharges of a period
with their delivery state, one client's picture, the messages waiting for a person with the clients they
may be about, and the delivery problems. Reads only; the pages' actions call intake and outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.domain.inbound import Inbound, InboundState
from fhir_adapter.domain.sync import Admission, Job, JobState
from fhir_adapter.service import timeline
from fhir_adapter.service.errors import not_found
from fhir_adapter.service.ports import Work

JSON = dict[str, Any]
MOST_ADMISSIONS = 200
MOST_WAITING = 100
MOST_CANDIDATES = 6
MOST_REPLAYS = 10  # replays of replays followed to find where a delivery is now


@dataclass(frozen=True)
class Stay:
    admission: Admission
    client: JSON  # the client record; {"id": ...} alone when it is gone
    delivery: str  # delivered | pending | failed | nothing


@dataclass(frozen=True)
class Waiting:
    message: Inbound
    candidates: list[JSON] = field(default_factory=list)  # client records


@dataclass(frozen=True)
class Problems:
    dead: list[tuple[Job, list[JSON]]]  # each dead letter with its failed attempts
    open_jobs: int
    oldest_open: str | None


def latest(work: Work, org_id: str, ids: list[int]) -> list[Job]:
    """The jobs, each replayed one replaced by its replay (and that by its own, a few times over)."""
    jobs = work.outbox.of_ids(org_id, ids) if ids else []
    for _ in range(MOST_REPLAYS):
        again = [j.replayed_by for j in jobs if j.state is JobState.REPLAYED and j.replayed_by]
        if not again:
            break
        jobs = [j for j in jobs if j.state is not JobState.REPLAYED] + work.outbox.of_ids(org_id, again)
    return jobs


def delivery_state(jobs: list[Job]) -> str:
    """One word for a set of jobs: failed when any is a dead letter, pending while any is to be sent."""
    states = {j.state for j in jobs}
    if JobState.DEAD in states:
        return "failed"
    if states & {JobState.PENDING, JobState.LEASED}:
        return "pending"
    return "delivered" if states else "nothing"


def _client(work: Work, org_id: str, client_id: str) -> JSON:
    found = work.records.get(org_id, "client", client_id)
    return found.data if found else {"id": client_id}


def today(work: Work, org_id: str, start: str, end: str) -> list[Stay]:
    """The admissions admitted or discharged in [start, end), each with its client and delivery state."""
    stays = []
    for a in work.admissions.between(org_id, start, end, MOST_ADMISSIONS):
        jobs = latest(work, org_id, [i for ids in a.jobs.values() for i in ids])
        stays.append(Stay(a, _client(work, org_id, a.client_id), delivery_state(jobs)))
    return stays


def client(work: Work, org_id: str, client_id: str) -> JSON:
    """A client's record, its other records by kind, its timeline, its links to patients in the EHRs and
    the EHRs it may still be linked to (those it has no link in force with); NotFound for another's client."""
    found = work.records.get(org_id, "client", client_id)
    if found is None:
        raise not_found(f"client {client_id}")
    by_kind: dict[str, list[JSON]] = {}
    for r in work.records.of_client(org_id, client_id):
        if r.kind != "client":
            by_kind.setdefault(r.kind, []).append(r.data)
    links = work.ehrs.links_of(org_id, client_id)
    linked = {link.ehr_id for link in links if link.active}
    return {
        "client": found.data,
        "records": by_kind,
        "timeline": timeline.of_client(work, org_id, client_id),
        "links": links,
        "ehrs": [e.id for e in work.ehrs.list_ehrs(org_id) if e.id not in linked],
    }


def needs_match(work: Work, org_id: str) -> list[Waiting]:
    """The messages that match no client, oldest first, each with the clients that look alike."""
    found = work.messages.listing(org_id, InboundState.NEEDS_MATCH, None, 0, MOST_WAITING)
    out = []
    for m in found:
        ids = work.patients.clients_alike(org_id, m.event.patient, MOST_CANDIDATES)
        out.append(Waiting(m, [_client(work, org_id, i) for i in ids]))
    return out


def problems(work: Work, org_id: str) -> Problems:
    """The dead letters with their failures, and how deep and how old the queue is."""
    dead = [(j, work.outbox.attempts_of(j.id)) for j in work.outbox.dead_letters(org_id)]
    depth, oldest = work.outbox.open_of_org(org_id)
    return Problems(dead, depth, oldest)
