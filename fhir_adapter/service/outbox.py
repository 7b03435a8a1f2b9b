"""What reaches the EHRs: a change to a client's records becomes one job per EHR the client is linked to,
in the same transaction; a new link sends what the client has; a dead letter can be sent again."""

from __future__ import annotations

from collections.abc import Sequence

from fhir_adapter.domain.sync import REPLAYABLE, Job, Link
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import conflict, not_found, unknown_reference
from fhir_adapter.service.ports import Work
from fhir_adapter.service.projection import patient_id


def changed(
    work: Work,
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
    for link in work.ehrs.links_of(org_id, client_id, active=True):
        if link.ehr_id != source_ehr:
            work.outbox.enqueue(org_id, link.ehr_id, client_id, cause, keys, now)


def link(work: Work, principal: Principal, link: Link) -> int | None:
    """Link a client to its patient in an EHR and queue what the client has; the job id, or None."""
    org = principal.org
    if work.ehrs.get_ehr(org.id, link.ehr_id) is None:
        raise unknown_reference(f"no EHR {link.ehr_id} is registered", "ehr")
    if work.records.get(org.id, "client", link.client_id) is None:
        raise not_found(f"client {link.client_id}")
    before = work.ehrs.get_link(org.id, link.client_id, link.ehr_id)
    if before is not None and before.active:
        raise conflict(f"client {link.client_id} is linked to a patient in {link.ehr_id} already", "ehr")
    work.ehrs.put_link(link, before)  # or links again one a cancelled admission ended
    keys = work.resources.of_patient(org.id, patient_id(link.client_id, org.identity))
    if not keys:
        return None
    return work.outbox.enqueue(org.id, link.ehr_id, link.client_id, "link", keys, link.created_at)


def replay(work: Work, org_id: str, job_id: int, now: str) -> list[tuple[int, int]]:
    """Queue a dead or withheld job again, behind its lane's newer jobs, as the resources are now;
    [(the job, its replay)]."""
    job = work.outbox.get(org_id, job_id)
    if job is None:
        raise not_found(f"delivery job {job_id}")
    if job.state not in REPLAYABLE:
        raise conflict(
            f"delivery job {job_id} is {job.state}: only dead or withheld jobs are replayed", "state"
        )
    return [(job.id, _again(work, job, now))]


def replay_dead(work: Work, org_id: str, now: str) -> list[tuple[int, int]]:
    """Every dead letter of the organisation queued again: [(the job, its replay)]."""
    return [(job.id, _again(work, job, now)) for job in work.outbox.dead_letters(org_id)]


def _again(work: Work, job: Job, now: str) -> int:
    new_id = work.outbox.enqueue(
        job.org_id,
        job.ehr_id,
        job.client_id,
        f"replay of {job.id}",
        job.resources,
        now,
        job.action,
        job.context,
    )
    work.outbox.mark_replayed(job, new_id, now)
    return new_id
