"""Stored case-management records: the current version of each, and every version."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, tuple_, update

from fhir_adapter.adapters.tables import record_versions as ver
from fhir_adapter.adapters.tables import records as rec
from fhir_adapter.domain.stored import StoredRecord


def _row(row: Any) -> StoredRecord:
    return StoredRecord(
        row.kind,
        row.record_id,
        row.client_id,
        row.version,
        orjson.loads(row.data),
        row.created_at,
        row.updated_at,
    )


def get(
    conn: Connection, org_id: str, kind: str, record_id: str, for_update: bool = False
) -> StoredRecord | None:
    query = select(rec).where(rec.c.org_id == org_id, rec.c.kind == kind, rec.c.record_id == record_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return _row(row) if row else None


def exists(conn: Connection, org_id: str, kind: str, record_id: str) -> bool:
    query = select(rec.c.seq).where(rec.c.org_id == org_id, rec.c.kind == kind, rec.c.record_id == record_id)
    return conn.execute(query).first() is not None


def add(
    conn: Connection,
    org_id: str,
    kind: str,
    data: dict[str, Any],
    fields: dict[str, Any],
    stamp: str,
    agent: str,
    version: int = 1,
) -> StoredRecord:
    text = orjson.dumps(data).decode()
    conn.execute(
        insert(rec).values(
            org_id=org_id,
            kind=kind,
            record_id=data["id"],
            version=version,
            data=text,
            created_at=stamp,
            updated_at=stamp,
            **fields,
        )
    )
    _version(conn, org_id, kind, data["id"], version, text, stamp, agent)
    return StoredRecord(kind, data["id"], fields["client_id"], version, data, stamp, stamp)


def replace(
    conn: Connection,
    org_id: str,
    old: StoredRecord,
    data: dict[str, Any],
    fields: dict[str, Any],
    stamp: str,
    agent: str,
) -> StoredRecord:
    text = orjson.dumps(data).decode()
    version = old.version + 1
    conn.execute(
        update(rec)
        .where(rec.c.org_id == org_id, rec.c.kind == old.kind, rec.c.record_id == old.record_id)
        .values(version=version, data=text, updated_at=stamp, **fields)
    )
    _version(conn, org_id, old.kind, old.record_id, version, text, stamp, agent)
    return StoredRecord(old.kind, old.record_id, fields["client_id"], version, data, old.created_at, stamp)


def _version(
    conn: Connection, org_id: str, kind: str, record_id: str, version: int, text: str, stamp: str, agent: str
) -> None:
    conn.execute(
        insert(ver).values(
            org_id=org_id,
            kind=kind,
            record_id=record_id,
            version=version,
            data=text,
            created_at=stamp,
            api_client_id=agent,
        )
    )


def versions(conn: Connection, org_id: str, kind: str, record_id: str) -> list[tuple[int, str, str | None]]:
    """(version, created_at, api client) of every version, oldest first."""
    rows = conn.execute(
        select(ver.c.version, ver.c.created_at, ver.c.api_client_id)
        .where(ver.c.org_id == org_id, ver.c.kind == kind, ver.c.record_id == record_id)
        .order_by(ver.c.version)
    )
    return [(r.version, r.created_at, r.api_client_id) for r in rows]


def version(conn: Connection, org_id: str, kind: str, record_id: str, number: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(ver.c.data).where(
            ver.c.org_id == org_id, ver.c.kind == kind, ver.c.record_id == record_id, ver.c.version == number
        )
    ).first()
    return orjson.loads(row.data) if row else None


def listing(
    conn: Connection, org_id: str, kind: str, filters: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[StoredRecord]]:
    where = [rec.c.org_id == org_id, rec.c.kind == kind]
    where += [getattr(rec.c, column) == value for column, value in filters.items()]
    total = conn.execute(select(func.count()).select_from(rec).where(*where)).scalar_one()
    rows = conn.execute(select(rec).where(*where).order_by(rec.c.seq).limit(limit).offset(offset))
    return total, [_row(r) for r in rows]


def owners(conn: Connection, org_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The client of each (kind, record id) that exists, in one query."""
    if not keys:
        return {}
    query = select(rec.c.kind, rec.c.record_id, rec.c.client_id).where(
        rec.c.org_id == org_id, tuple_(rec.c.kind, rec.c.record_id).in_(keys)
    )
    return {(row.kind, row.record_id): row.client_id for row in conn.execute(query)}


def of_client(conn: Connection, org_id: str, client_id: str) -> list[StoredRecord]:
    """Every record of one client, the client's own included, in the order they were made."""
    query = select(rec).where(rec.c.org_id == org_id, rec.c.client_id == client_id).order_by(rec.c.seq)
    return [_row(r) for r in conn.execute(query)]
