"""The outbox: jobs written with the change that caused them, one lane per patient per EHR; what the API,
the services and the metrics read of them, replays and withdrawals. Workers claim them in outbox_lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, insert, select, update

from fhir_adapter.adapters.sync_tables import delivery_attempts as att
from fhir_adapter.adapters.sync_tables import outbox_jobs as jobs
from fhir_adapter.domain.sync import OPEN, REPLAYABLE, Job, JobAction, JobState


def to_job(row: Any) -> Job:
    """The job a row of outbox_jobs holds."""
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


def failure(reason: str, error: Any) -> dict[str, Any]:
    """The columns that say why a job stopped: its reason, and the error as JSON."""
    return {"last_reason": reason, "last_error": orjson.dumps(error).decode() if error else None}


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


def get(conn: Connection, org_id: str, job_id: int) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.org_id == org_id, jobs.c.id == job_id)).first()
    return to_job(row) if row else None


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
    return [to_job(row) for row in conn.execute(query.order_by(jobs.c.id).limit(limit))]


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
    return [to_job(row) for row in conn.execute(query)]


def withdraw(conn: Connection, org_id: str, ids: Sequence[int], now: str, why: str) -> list[int]:
    """The jobs among `ids` not yet sent (pending) taken back: state withdrawn. Those withdrawn."""
    if not ids:
        return []
    where = and_(jobs.c.org_id == org_id, jobs.c.id.in_(list(ids)), jobs.c.state == JobState.PENDING)
    values = {"state": JobState.WITHDRAWN, "finished_at": now, **failure("withdrawn", why)}
    return [
        int(i)
        for i in conn.execute(update(jobs).where(where).values(**values).returning(jobs.c.id)).scalars()
    ]


def of_ids(conn: Connection, org_id: str, ids: Sequence[int]) -> list[Job]:
    if not ids:
        return []
    query = select(jobs).where(jobs.c.org_id == org_id, jobs.c.id.in_(list(ids))).order_by(jobs.c.id)
    return [to_job(row) for row in conn.execute(query)]


def lane_since(conn: Connection, org_id: str, ehr_id: str, client_id: str, since: str) -> list[int]:
    """The ids of the lane's jobs queued at or after `since`."""
    query = select(jobs.c.id).where(
        jobs.c.lane == lane(org_id, ehr_id, client_id), jobs.c.created_at >= since
    )
    return [int(i) for i in conn.execute(query.order_by(jobs.c.id)).scalars()]


def of_client(conn: Connection, org_id: str, client_id: str, limit: int) -> list[Job]:
    """The client's newest `limit` jobs, oldest first."""
    query = select(jobs).where(jobs.c.org_id == org_id, jobs.c.client_id == client_id)
    return [to_job(row) for row in conn.execute(query.order_by(jobs.c.id.desc()).limit(limit))][::-1]


def open_of_org(conn: Connection, org_id: str) -> tuple[int, str | None]:
    """How many of the organisation's jobs are still to be sent, and when the oldest of them was queued."""
    row = conn.execute(
        select(func.count(), func.min(jobs.c.created_at)).where(
            jobs.c.org_id == org_id, jobs.c.state.in_(OPEN)
        )
    ).one()
    return int(row[0]), row[1]
