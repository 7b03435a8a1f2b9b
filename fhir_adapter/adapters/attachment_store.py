"""Attachment bytes by organisation and SHA-256: kept once, however often a hospital sends them."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from fhir_adapter.adapters.tables import attachments


def put(conn: Connection, org_id: str, sha256: str, content_type: str, data: bytes, now: str) -> bool:
    """Keep the bytes; False when they were kept already."""
    if has(conn, org_id, sha256):
        return False
    row = {
        "org_id": org_id,
        "sha256": sha256,
        "content_type": content_type,
        "size": len(data),
        "data": data,
        "created_at": now,
    }
    try:
        with conn.begin_nested():  # another writer kept the same bytes first: the unit of work goes on
            conn.execute(insert(attachments).values(**row))
    except IntegrityError:
        return False
    return True


def has(conn: Connection, org_id: str, sha256: str) -> bool:
    found = conn.execute(
        select(attachments.c.sha256).where(attachments.c.org_id == org_id, attachments.c.sha256 == sha256)
    ).first()
    return found is not None


def get(conn: Connection, org_id: str, sha256: str) -> tuple[str, bytes] | None:
    """(content type, bytes), or None."""
    row = conn.execute(
        select(attachments.c.content_type, attachments.c.data).where(
            attachments.c.org_id == org_id, attachments.c.sha256 == sha256
        )
    ).first()
    return (row.content_type, bytes(row.data)) if row else None
