"""Clients' Patient resources found by what a hospital's message says of the patient: an identifier's
value (through the search index), or a birth date, for matching, which decides which of them match; and
the clients that look alike, for a person to compare."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, Select, or_, select

from fhir_adapter.adapters.tables import fhir_resources as res
from fhir_adapter.adapters.tables import fhir_tokens as tok
from fhir_adapter.domain.events import Patient

JSON = dict[str, Any]


def _patients(conn: Connection, query: Select[Any]) -> list[tuple[str, JSON]]:
    return [(row.record_id, orjson.loads(row.data)) for row in conn.execute(query)]


def with_identifier(conn: Connection, org_id: str, value: str) -> list[tuple[str, JSON]]:
    """(client id, Patient) of every client with an identifier of this value, whoever assigned it."""
    query = (
        select(res.c.record_id, res.c.data)
        .join(
            tok,
            (tok.c.org_id == res.c.org_id)
            & (tok.c.resource_type == res.c.resource_type)
            & (tok.c.id == res.c.id),
        )
        .where(
            res.c.org_id == org_id,
            res.c.resource_type == "Patient",
            res.c.deleted.is_(False),
            tok.c.param == "identifier",
            tok.c.value == value,
        )
    )
    return _patients(conn, query)


def born_on(conn: Connection, org_id: str, birth_date: str) -> list[tuple[str, JSON]]:
    """(client id, Patient) of every client born on that day."""
    query = select(res.c.record_id, res.c.data).where(
        res.c.org_id == org_id,
        res.c.resource_type == "Patient",
        res.c.deleted.is_(False),
        res.c.data.contains(f'"birthDate":"{birth_date}"'),
    )
    return _patients(conn, query)


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
