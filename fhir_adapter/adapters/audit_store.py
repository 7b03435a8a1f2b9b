"""Audit records: one per request that read or wrote patient data, whatever its outcome."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select

from fhir_adapter.adapters.tables import audit_events as audit
from fhir_adapter.domain.audit import AuditRow


def add_many(conn: Connection, rows: list[AuditRow]) -> None:
    """Store audit records in the open transaction."""
    conn.execute(
        insert(audit), [{**row.__dict__, "entities": orjson.dumps(row.entities).decode()} for row in rows]
    )


def search(
    conn: Connection, org_id: str, filters: dict[str, Any], count: int, offset: int
) -> tuple[int, list[AuditRow]]:
    where = [audit.c.org_id == org_id]
    if "patient" in filters:
        where.append(audit.c.patient_id.in_(filters["patient"]))
    if "action" in filters:
        where.append(audit.c.action.in_(filters["action"]))
    for op, value in filters.get("date", ()):
        where.append(audit.c.recorded >= value if op == "ge" else audit.c.recorded < value)
    total = conn.execute(select(func.count()).select_from(audit).where(*where)).scalar_one()
    rows = conn.execute(select(audit).where(*where).order_by(audit.c.seq.desc()).limit(count).offset(offset))
    return total, [_from_row(r) for r in rows]


def read(conn: Connection, org_id: str, audit_id: str) -> AuditRow | None:
    row = conn.execute(select(audit).where(audit.c.org_id == org_id, audit.c.id == audit_id)).first()
    return _from_row(row) if row else None


def _from_row(row: Any) -> AuditRow:
    values = {k: getattr(row, k) for k in AuditRow.__dataclass_fields__}
    values["entities"] = orjson.loads(row.entities)
    return AuditRow(**values)
