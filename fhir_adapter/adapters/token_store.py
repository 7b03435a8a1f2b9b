"""The ids of external tokens already used, kept until the tokens expire."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert
from sqlalchemy.exc import IntegrityError

from fhir_adapter.adapters.tables import seen_tokens
from fhir_adapter.service.ports import AlreadyUsed


def remember(conn: Connection, key: str, expires_at: str, now: str) -> None:
    """Keep `key` until `expires_at`; AlreadyUsed when it is kept already (the token is replayed).
    Forgets the keys of tokens that have expired, which the expiry check refuses anyway."""
    conn.execute(delete(seen_tokens).where(seen_tokens.c.expires_at < now))
    try:
        with conn.begin_nested():  # the unit of work goes on, on PostgreSQL too
            conn.execute(insert(seen_tokens).values(key=key, expires_at=expires_at))
    except IntegrityError as err:
        raise AlreadyUsed(key) from err
