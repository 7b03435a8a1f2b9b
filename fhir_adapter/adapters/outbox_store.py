"""The outbox: jobs written with the change that caused them, claimed by workers under a lease.

A lane is one patient in one EHR. Only the lowest pending or leased job of a lane can be claimed, so a
lane's jobs go one at a time and in order, whatever the number of workers. The claim takes the jobs queued
behind it in the lane too (a backlog after an outage): they go together, as one write of the resources as
they are now, and share their outcome. On PostgreSQL a claim locks its rows with `FOR UPDATE SKIP
LOCKED`; on SQLite the writer's `BEGIN IMMEDIATE` serialises claims. A lease that runs out (its worker
died) makes the jobs claimable again; the lease token fences the old worker out of recording anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from fhir_adapter.adapters.tables import delivery_attempts as att
from fhir_adapter.adapters.tables import outbox_jobs as jobs
from fhir_adapter.domain.sync import OPEN, REPLAYABLE, Job, JobAction, JobState


def _job(row: Any) -> Job:
    return Job(
        row.id,
        row.org_id,
        row.ehr_id,
        row.client_id,
        row.cause,
        [tuple(k) for k in orjson.loads(row.resources)],
        JobState(row.state),
        row.attempts,
        row.not_before,
        row.lease_token,
        row.last_reason,
        orjson.loads(row.last_error) if row.last_error else None,
        row.replayed_by,
        row.created_at,
        row.finished_at,
        row.claimed_at,
        row.batch_head if row.batch_head != row.id else None,
        JobAction(row.action),
        orjson.loads(row.context) if row.context else None,
    )


def lane(org_id: str, ehr_id: str, client_id: str) -> str:
    return f"{org_id}|{ehr_id}|{client_id}"


def enqueue(
    conn: Connection,
    org_id: str,
    ehr_id: str,
    client_id: str,
    cause: str,
    resources: Sequence[tuple[str, str]],
    now: str,
    action: JobAction = JobAction.PUSH,
    context: dict[str, Any] | None = None,
) -> int:
    row = {
        "org_id": org_id,
        "ehr_id": ehr_id,
        "client_id": client_id,
        "lane": lane(org_id, ehr_id, client_id),
        "cause": cause[:200],
        "resources": orjson.dumps([list(k) for k in resources]).decode(),
        "state": JobState.PENDING,
        "attempts": 0,
        "not_before": now,
        "created_at": now,
        "action": action,
        "context": orjson.dumps(context).decode() if context else None,
    }
    return int(conn.execute(insert(jobs).values(**row).returning(jobs.c.id)).scalar_one())


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
    first = conn.execute(query).first()
    if first is None:
        return None
    ids = [first.id, *_behind(conn, first, now, skip_locked, batch_limit - 1)]
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
            batch_head=first.id,
        )
        .returning(*jobs.c)
    ).all()
    claimed = sorted((_job(row) for row in rows), key=lambda j: j.id)
    resources = list(dict.fromkeys(key for job in claimed for key in job.resources))
    members = tuple((j.id, tuple(j.resources)) for j in claimed)
    return replace(claimed[0], resources=resources, members=members)


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


def _failure(reason: str, error: Any) -> dict[str, Any]:
    return {"last_reason": reason, "last_error": orjson.dumps(error).decode() if error else None}


def dead(conn: Connection, job: Job, now: str, reason: str, error: Any) -> bool:
    """The claim's jobs are dead letters. False when the lease was lost: record nothing."""
    values = {"state": JobState.DEAD, "finished_at": now, **_failure(reason, error)}
    return _settle(conn, job, values) == len(job.members)


def delivered(conn: Connection, job: Job, withheld: set[tuple[str, str]], now: str) -> bool:
    """The claim was sent: each job delivered, or withheld when the EHR's policy held back every resource
    it carried. False when the lease was lost."""
    held_back = [i for i, keys in job.members if keys and set(keys) <= withheld]
    done = _settle(conn, job, {"state": JobState.DELIVERED, "finished_at": now}, jobs.c.id.not_in(held_back))
    if held_back:
        why = _failure("restricted", "labelled restricted; this EHR's policy does not allow it")
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
        **_failure(reason, error),
    }
    return _settle(conn, job, values) == len(job.members)


def retry_later(conn: Connection, job: Job, not_before: str, reason: str, error: Any) -> bool:
    """Put a claim's jobs back, due again at `not_before`. False when the lease was lost."""
    values = {"state": JobState.PENDING, "not_before": not_before, **_failure(reason, error)}
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


def get(conn: Connection, org_id: str, job_id: int) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.org_id == org_id, jobs.c.id == job_id)).first()
    return _job(row) if row else None


def listing(
    conn: Connection,
    org_id: str,
    state: str | None,
    client_id: str | None,
    after: int,
    limit: int,
) -> list[Job]:
    query = select(jobs).where(jobs.c.org_id == org_id, jobs.c.id > after)
    if state:
        query = query.where(jobs.c.state == state)
    if client_id:
        query = query.where(jobs.c.client_id == client_id)
    return [_job(row) for row in conn.execute(query.order_by(jobs.c.id).limit(limit))]


def attempts_of(conn: Connection, job_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(att).where(att.c.job_id == job_id).order_by(att.c.seq))
    return [
        {
            "at": row.at,
            "reason": row.reason,
            "status": row.status_code,
            "detail": orjson.loads(row.detail) if row.detail else None,
        }
        for row in rows
    ]


def mark_replayed(conn: Connection, job: Job, new_id: int, now: str) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job.id, jobs.c.state.in_(REPLAYABLE))
        .values(state=JobState.REPLAYED, replayed_by=new_id, finished_at=job.finished_at or now)
    )


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state))
    return {state: int(n) for state, n in rows}


def oldest_open(conn: Connection) -> str | None:
    created: str | None = conn.execute(
        select(func.min(jobs.c.created_at)).where(jobs.c.state.in_(OPEN))
    ).scalar()
    return created


def failures_by_reason(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(att.c.reason, func.count()).group_by(att.c.reason))
    return {reason: int(n) for reason, n in rows}


def dead_letters(conn: Connection, org_id: str) -> list[Job]:
    query = select(jobs).where(jobs.c.org_id == org_id, jobs.c.state == JobState.DEAD).order_by(jobs.c.id)
    return [_job(row) for row in conn.execute(query)]


def withdraw(conn: Connection, org_id: str, ids: Sequence[int], now: str, why: str) -> list[int]:
    """The jobs among `ids` not yet sent (pending) taken back: state withdrawn. Those withdrawn."""
    if not ids:
        return []
    where = and_(jobs.c.org_id == org_id, jobs.c.id.in_(list(ids)), jobs.c.state == JobState.PENDING)
    values = {"state": JobState.WITHDRAWN, "finished_at": now, **_failure("withdrawn", why)}
    return [
        int(i)
        for i in conn.execute(update(jobs).where(where).values(**values).returning(jobs.c.id)).scalars()
    ]


def of_ids(conn: Connection, org_id: str, ids: Sequence[int]) -> list[Job]:
    if not ids:
        return []
    query = select(jobs).where(jobs.c.org_id == org_id, jobs.c.id.in_(list(ids))).order_by(jobs.c.id)
    return [_job(row) for row in conn.execute(query)]


def lane_since(conn: Connection, org_id: str, ehr_id: str, client_id: str, since: str) -> list[int]:
    """The ids of the lane's jobs queued at or after `since`."""
    query = select(jobs.c.id).where(
        jobs.c.lane == lane(org_id, ehr_id, client_id), jobs.c.created_at >= since
    )
    return [int(i) for i in conn.execute(query.order_by(jobs.c.id)).scalars()]


def of_client(conn: Connection, org_id: str, client_id: str, limit: int) -> list[Job]:
    """The client's newest `limit` jobs, oldest first."""
    query = select(jobs).where(jobs.c.org_id == org_id, jobs.c.client_id == client_id)
    return [_job(row) for row in conn.execute(query.order_by(jobs.c.id.desc()).limit(limit))][::-1]
