"""Claiming outbox jobs under a lease, and recording what became of a claim only while it is still held.

A lane is one patient in one EHR. Only the lowest pending or leased job of a lane can be claimed, so a
lane's jobs go one at a time and in order, whatever the number of workers. The claim takes the jobs queued
behind it in the lane too (a backlog after an outage): they go together, as one write of the resources as
they are now, and share their outcome. On PostgreSQL a claim locks its rows with `FOR UPDATE SKIP
LOCKED`; on SQLite the writer's `BEGIN IMMEDIATE` serialises claims. A lease that runs out (its worker
died) makes the jobs claimable again; the lease token fences the old worker out of recording anything.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from fhir_adapter.adapters.outbox_store import failure, to_job
from fhir_adapter.adapters.sync_tables import delivery_attempts as att
from fhir_adapter.adapters.sync_tables import outbox_jobs as jobs
from fhir_adapter.domain.sync import OPEN, Job, JobAction, JobState


def claim(
    conn: Connection,
    now: str,
    lease_until: str,
    skip_locked: bool,
    org_id: str | None = None,
    batch_limit: int = 1,
) -> Job | None:
    """The oldest job that is due and heads its lane, leased to the caller with up to `batch_limit - 1`
    jobs behind it in the lane; None when there is none. With `org_id`, only that organisation's jobs."""
    first = _head(conn, now, skip_locked, org_id)
    if first is None:
        return None
    ids = [first.id, *_behind(conn, first, now, skip_locked, batch_limit - 1)]
    claimed = _lease(conn, ids, first.id, now, lease_until)
    resources = list(dict.fromkeys(key for job in claimed for key in job.resources))
    members = tuple((j.id, tuple(j.resources)) for j in claimed)
    return replace(claimed[0], resources=resources, members=members)


def _head(conn: Connection, now: str, skip_locked: bool, org_id: str | None) -> Any:
    """The oldest due job that heads its lane (of `org_id`'s lanes, when given): its id, lane, action and
    context; None when there is none."""
    other = jobs.alias("other")
    heads = select(func.min(other.c.id)).where(other.c.state.in_(OPEN)).group_by(other.c.lane)
    if org_id is not None:
        heads = heads.where(other.c.org_id == org_id)
    due = or_(
        and_(jobs.c.state == JobState.PENDING, jobs.c.not_before <= now),
        and_(jobs.c.state == JobState.LEASED, jobs.c.lease_until < now),
    )
    query = (
        select(jobs.c.id, jobs.c.lane, jobs.c.action, jobs.c.context)
        .where(jobs.c.id.in_(heads), due)
        .order_by(jobs.c.id)
        .limit(1)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return conn.execute(query).first()


def _lease(conn: Connection, ids: list[int], head: int, now: str, lease_until: str) -> list[Job]:
    """These jobs leased under one new token, claimed together with `head`; oldest first."""
    token = str(uuid.uuid4())
    rows = conn.execute(
        update(jobs)
        .where(jobs.c.id.in_(ids))
        .values(
            state=JobState.LEASED,
            claimed_at=now,
            lease_until=lease_until,
            lease_token=token,
            attempts=jobs.c.attempts + 1,
            batch_head=head,
        )
        .returning(*jobs.c)
    ).all()
    return sorted((to_job(row) for row in rows), key=lambda j: j.id)


def _behind(conn: Connection, head: Any, now: str, skip_locked: bool, limit: int) -> list[int]:
    """The plain pushes waiting behind a lane's head (or left leased by a worker that died), oldest
    first, up to the first job of another kind: only plain pushes go together, and in order."""
    if limit <= 0 or head.action != JobAction.PUSH or head.context:
        return []
    waiting = or_(
        jobs.c.state == JobState.PENDING, and_(jobs.c.state == JobState.LEASED, jobs.c.lease_until < now)
    )
    query = (
        select(jobs.c.id, jobs.c.action, jobs.c.context)
        .where(jobs.c.lane == head.lane, jobs.c.id > head.id, waiting)
        .order_by(jobs.c.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    taken = []
    for row in conn.execute(query):
        if row.action != JobAction.PUSH or row.context:
            break
        taken.append(int(row.id))
    return taken


def _fenced(job: Job) -> Any:
    return and_(jobs.c.lease_token == job.lease_token, jobs.c.state == JobState.LEASED)


def _settle(conn: Connection, job: Job, values: dict[str, Any], only: Any = None) -> int:
    """Update the claim's jobs (those in `only`, when given) that it still holds; how many."""
    where = _fenced(job) if only is None else and_(_fenced(job), only)
    return int(conn.execute(update(jobs).where(where).values(lease_until=None, **values)).rowcount)


def dead(conn: Connection, job: Job, now: str, reason: str, error: Any) -> bool:
    """The claim's jobs are dead letters. False when the lease was lost: record nothing."""
    values = {"state": JobState.DEAD, "finished_at": now, **failure(reason, error)}
    return _settle(conn, job, values) == len(job.members)


def delivered(conn: Connection, job: Job, withheld: set[tuple[str, str]], now: str) -> bool:
    """The claim was sent: each job delivered, or withheld when the EHR's policy held back every resource
    it carried. False when the lease was lost."""
    held_back = [i for i, keys in job.members if keys and set(keys) <= withheld]
    done = _settle(conn, job, {"state": JobState.DELIVERED, "finished_at": now}, jobs.c.id.not_in(held_back))
    if held_back:
        why = failure("restricted", "labelled restricted; this EHR's policy does not allow it")
        done += _settle(
            conn, job, {"state": JobState.WITHHELD, "finished_at": now, **why}, jobs.c.id.in_(held_back)
        )
    return done == len(job.members)


def split(conn: Connection, job: Job, now: str, reason: str, error: Any) -> bool:
    """Put a claim's jobs back, due now, each to be claimed alone (a context no batch takes). False when
    the lease was lost."""
    alone = orjson.dumps({"alone": f"sent with jobs {', '.join(str(i) for i, _ in job.members)}: {reason}"})
    values = {
        "state": JobState.PENDING,
        "not_before": now,
        "context": alone.decode(),
        **failure(reason, error),
    }
    return _settle(conn, job, values) == len(job.members)


def retry_later(conn: Connection, job: Job, not_before: str, reason: str, error: Any) -> bool:
    """Put a claim's jobs back, due again at `not_before`. False when the lease was lost."""
    values = {"state": JobState.PENDING, "not_before": not_before, **failure(reason, error)}
    return _settle(conn, job, values) == len(job.members)


def record_attempt(
    conn: Connection, job: Job, now: str, reason: str, status: int | None, detail: Any
) -> None:
    conn.execute(
        insert(att).values(
            job_id=job.id,
            ehr_id=job.ehr_id,
            at=now,
            reason=reason,
            status_code=status,
            detail=orjson.dumps(detail).decode() if detail is not None else None,
        )
    )
