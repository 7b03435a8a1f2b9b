"""What reaches the EHRs: a change to a client's records becomes one job per EHR the client is linked to,
in the same transaction; a new link sends what the client has; a dead letter can be sent again."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from fhir_adapter.adapters import ehr_store, fhir_store, outbox_store, record_store
from fhir_adapter.domain.sync import REPLAYABLE, Job, Link
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import conflict, not_found, unknown_reference
from fhir_adapter.service.projection import patient_id


def changed(
    conn: Connection,
    org_id: str,
    client_id: str,
    cause: str,
    keys: Sequence[tuple[str, str]],
    now: str,
    source_ehr: str | None = None,
) -> None:
    """Queue the changed resources for every EHR the client is linked to (links not ended), except the one
    they came from."""
    keys = [k for k in keys if k[0] != "Patient"]  # the EHR keeps its own Patient
    if not keys:
        return
    for link in ehr_store.links_of(conn, org_id, client_id, active=True):
        if link.ehr_id != source_ehr:
            outbox_store.enqueue(conn, org_id, link.ehr_id, client_id, cause, keys, now)


def link(conn: Connection, principal: Principal, link: Link) -> int | None:
    """Link a client to its patient in an EHR and queue what the client has; the job id, or None."""
    org = principal.org
    if ehr_store.get_ehr(conn, org.id, link.ehr_id) is None:
        raise unknown_reference(f"no EHR {link.ehr_id} is registered", "ehr")
    if record_store.get(conn, org.id, "client", link.client_id) is None:
        raise not_found(f"client {link.client_id}")
    before = ehr_store.get_link(conn, org.id, link.client_id, link.ehr_id)
    if before is not None and before.active:
        raise conflict(f"client {link.client_id} is linked to a patient in {link.ehr_id} already", "ehr")
    ehr_store.put_link(conn, link, before)  # or links again one a cancelled admission ended
    keys = fhir_store.of_patient(conn, org.id, patient_id(link.client_id, org.identity))
    if not keys:
        return None
    return outbox_store.enqueue(conn, org.id, link.ehr_id, link.client_id, "link", keys, link.created_at)


def replay(conn: Connection, org_id: str, job_id: int, now: str) -> list[tuple[int, int]]:
    """Queue a dead or withheld job again, behind its lane's newer jobs, as the resources are now;
    [(the job, its replay)]."""
    job = outbox_store.get(conn, org_id, job_id)
    if job is None:
        raise not_found(f"delivery job {job_id}")
    if job.state not in REPLAYABLE:
        raise conflict(
            f"delivery job {job_id} is {job.state}: only dead or withheld jobs are replayed", "state"
        )
    return [(job.id, _again(conn, job, now))]


def replay_dead(conn: Connection, org_id: str, now: str) -> list[tuple[int, int]]:
    """Every dead letter of the organisation queued again: [(the job, its replay)]."""
    return [(job.id, _again(conn, job, now)) for job in outbox_store.dead_letters(conn, org_id)]


def _again(conn: Connection, job: Job, now: str) -> int:
    new_id = outbox_store.enqueue(
        conn,
        job.org_id,
        job.ehr_id,
        job.client_id,
        f"replay of {job.id}",
        job.resources,
        now,
        job.action,
        job.context,
    )
    outbox_store.mark_replayed(conn, job, new_id, now)
    return new_id
