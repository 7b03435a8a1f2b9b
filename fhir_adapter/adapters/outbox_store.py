"""The outbox: jobs written with the change that caused them, claimed by workers under a lease.

A lane is one patient in one EHR. Only the lowest pending or leased job of a lane can be claimed, so a
lane's jobs go one at a time and in order, whatever the number of workers. On PostgreSQL a claim locks
its row with `FOR UPDATE SKIP LOCKED`; on SQLite the writer's `BEGIN IMMEDIATE` serialises claims.
A lease that runs out (its worker died) makes the job claimable again; the lease token fences the old
worker out of recording anything afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from fhir_adapter.adapters.tables import delivery_attempts as att
from fhir_adapter.adapters.tables import outbox_jobs as jobs

OPEN = ("pending", "leased")
STATES = ("pending", "leased", "delivered", "dead", "withheld", "replayed")


@dataclass(frozen=True)
class Job:
    id: int
    org_id: str
    ehr_id: str
    client_id: str
    cause: str
    resources: list[tuple[str, str]]
    state: str
    attempts: int
    reconciles: int
    not_before: str
    lease_token: str | None
    last_reason: str | None
    last_error: Any
    replayed_by: int | None
    created_at: str
    finished_at: str | None
    claimed_at: str | None


def _job(row: Any) -> Job:
    return Job(
        row.id,
        row.org_id,
        row.ehr_id,
        row.client_id,
        row.cause,
        [tuple(k) for k in orjson.loads(row.resources)],
        row.state,
        row.attempts,
        row.reconciles,
        row.not_before,
        row.lease_token,
        row.last_reason,
        orjson.loads(row.last_error) if row.last_error else None,
        row.replayed_by,
        row.created_at,
        row.finished_at,
        row.claimed_at,
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
) -> int:
    row = {
        "org_id": org_id,
        "ehr_id": ehr_id,
        "client_id": client_id,
        "lane": lane(org_id, ehr_id, client_id),
        "cause": cause[:200],
        "resources": orjson.dumps([list(k) for k in resources]).decode(),
        "state": "pending",
        "attempts": 0,
        "reconciles": 0,
        "not_before": now,
        "created_at": now,
    }
    return int(conn.execute(insert(jobs).values(**row).returning(jobs.c.id)).scalar_one())


def claim(
    conn: Connection, now: str, lease_until: str, skip_locked: bool, org_id: str | None = None
) -> Job | None:
    """The oldest job that is due and heads its lane, leased to the caller; None when there is none.
    With `org_id`, only that organisation's jobs."""
    other = jobs.alias("other")
    head = (
        select(func.min(other.c.id))
        .where(other.c.lane == jobs.c.lane, other.c.state.in_(OPEN))
        .scalar_subquery()
    )
    due = or_(
        and_(jobs.c.state == "pending", jobs.c.not_before <= now),
        and_(jobs.c.state == "leased", jobs.c.lease_until < now),
    )
    query = select(jobs.c.id).where(due, jobs.c.id == head).order_by(jobs.c.id).limit(1)
    if org_id is not None:
        query = query.where(jobs.c.org_id == org_id)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    job_id = conn.execute(query).scalar()
    if job_id is None:
        return None
    token = str(uuid.uuid4())
    row = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(
            state="leased",
            claimed_at=now,
            lease_until=lease_until,
            lease_token=token,
            attempts=jobs.c.attempts + 1,
        )
        .returning(*jobs.c)
    ).one()
    return _job(row)


def _fenced(job: Job) -> Any:
    return and_(jobs.c.id == job.id, jobs.c.state == "leased", jobs.c.lease_token == job.lease_token)


def finish(
    conn: Connection, job: Job, state: str, now: str, reason: str | None = None, error: Any = None
) -> bool:
    """Close a leased job (delivered, dead, withheld). False when the lease was lost: record nothing."""
    values: dict[str, Any] = {"state": state, "finished_at": now, "lease_until": None}
    if reason is not None:
        values |= {"last_reason": reason, "last_error": orjson.dumps(error).decode() if error else None}
    return conn.execute(update(jobs).where(_fenced(job)).values(**values)).rowcount == 1


def retry_later(
    conn: Connection, job: Job, not_before: str, reason: str, error: Any, reconcile: bool = False
) -> bool:
    values: dict[str, Any] = {
        "state": "pending",
        "not_before": not_before,
        "lease_until": None,
        "last_reason": reason,
        "last_error": orjson.dumps(error).decode() if error else None,
    }
    if reconcile:
        values["reconciles"] = jobs.c.reconciles + 1
    return conn.execute(update(jobs).where(_fenced(job)).values(**values)).rowcount == 1


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
        .where(jobs.c.id == job.id, jobs.c.state.in_(("dead", "withheld")))
        .values(state="replayed", replayed_by=new_id, finished_at=job.finished_at or now)
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


def dead_ids(conn: Connection, org_id: str) -> list[int]:
    query = select(jobs.c.id).where(jobs.c.org_id == org_id, jobs.c.state == "dead").order_by(jobs.c.id)
    return [int(i) for i in conn.execute(query).scalars()]
