"""Responses kept under their Idempotency-Key, so that a repeated POST gets the first answer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from fhir_adapter.adapters.tables import idempotency_keys as keys


@dataclass(frozen=True)
class Kept:
    fingerprint: str
    status_code: int
    headers: str
    body: str


def get(conn: Connection, org_id: str, key: str) -> Kept | None:
    row = conn.execute(select(keys).where(keys.c.org_id == org_id, keys.c.key == key)).first()
    return Kept(row.fingerprint, row.status_code, row.headers, row.body) if row else None


def claim(conn: Connection, org_id: str, key: str, fingerprint: str, stamp: str) -> None:
    """Take the key for this transaction; a concurrent claim waits for it and then fails (unique key)."""
    conn.execute(
        insert(keys).values(
            org_id=org_id,
            key=key,
            fingerprint=fingerprint,
            status_code=0,
            headers="{}",
            body="",
            created_at=stamp,
        )
    )


def keep(conn: Connection, org_id: str, key: str, status: int, headers: str, body: str) -> None:
    conn.execute(
        update(keys)
        .where(keys.c.org_id == org_id, keys.c.key == key)
        .values(status_code=status, headers=headers, body=body)
    )


def prune(conn: Connection, before: str) -> int:
    return conn.execute(delete(keys).where(keys.c.created_at < before)).rowcount
