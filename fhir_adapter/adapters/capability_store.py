"""What each EHR lets us write (delivery/capabilities.py), as last read, and a site's overrides."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from fhir_adapter.adapters.sync_tables import ehrs


def read(
    conn: Connection, org_id: str, ehr_id: str
) -> tuple[dict[str, Any] | None, str | None, dict[str, str]]:
    """(the capabilities as last read, when, the site's overrides)."""
    row = conn.execute(
        select(ehrs.c.capabilities, ehrs.c.capabilities_read_at, ehrs.c.capability_overrides).where(
            ehrs.c.org_id == org_id, ehrs.c.id == ehr_id
        )
    ).first()
    if row is None:
        return None, None, {}
    found = orjson.loads(row.capabilities) if row.capabilities else None
    overrides = orjson.loads(row.capability_overrides) if row.capability_overrides else {}
    return found, row.capabilities_read_at, overrides


def store(conn: Connection, org_id: str, ehr_id: str, capabilities: dict[str, Any], read_at: str) -> None:
    conn.execute(
        update(ehrs)
        .where(ehrs.c.org_id == org_id, ehrs.c.id == ehr_id)
        .values(capabilities=orjson.dumps(capabilities).decode(), capabilities_read_at=read_at)
    )


def set_overrides(conn: Connection, org_id: str, ehr_id: str, overrides: dict[str, str]) -> bool:
    """The site's word on how types are written (an empty map: the statement's alone); False: no such EHR."""
    text = orjson.dumps(overrides, option=orjson.OPT_SORT_KEYS).decode() if overrides else None
    done = conn.execute(
        update(ehrs).where(ehrs.c.org_id == org_id, ehrs.c.id == ehr_id).values(capability_overrides=text)
    )
    return done.rowcount == 1
