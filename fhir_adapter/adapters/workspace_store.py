"""What the workspace looks up beyond the other stores: the clients a waiting message may be about."""

from __future__ import annotations

from sqlalchemy import Connection, or_, select

from fhir_adapter.adapters.tables import fhir_resources as res
from fhir_adapter.domain.events import Patient


def clients_alike(conn: Connection, org_id: str, patient: Patient, limit: int) -> list[str]:
    """Clients whose Patient shares the birth date, the family name or the MRN of `patient`: candidates for a
    person to compare, never a match by themselves."""
    said = (("birthDate", patient.birth_date), ("family", patient.family), ("value", patient.mrn))
    # As stored (compact JSON); a value with a quote or a backslash is stored escaped: not looked for.
    texts = [f'"{k}":"{v}"' for k, v in said if v and '"' not in v and "\\" not in v]
    if not texts:
        return []
    query = (
        select(res.c.record_id)
        .where(
            res.c.org_id == org_id,
            res.c.resource_type == "Patient",
            res.c.deleted.is_(False),
            or_(*(res.c.data.contains(t) for t in texts)),
        )
        .order_by(res.c.record_id)
        .limit(limit)
    )
    return [row.record_id for row in conn.execute(query)]
