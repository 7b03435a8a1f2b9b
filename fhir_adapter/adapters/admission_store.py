"""Admissions: one row per hospital visit of a client in an EHR, with what its events queued (to undo)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from fhir_adapter.adapters.sync_tables import admissions as adm
from fhir_adapter.domain.events import Coded
from fhir_adapter.domain.sync import Admission, AdmissionState


def _admission(row: Any) -> Admission:
    disposition = orjson.loads(row.disposition) if row.disposition else None
    return Admission(
        row.id,
        row.org_id,
        row.ehr_id,
        row.client_id,
        row.visit_number,
        AdmissionState(row.state),
        row.encounter_id,
        row.class_code,
        row.location,
        row.admit_source,
        row.admitted_at,
        row.discharged_at,
        Coded(**disposition) if disposition else None,
        orjson.loads(row.jobs),
        row.updated_at,
        row.encounter_sought_at,
    )


def _values(a: Admission) -> dict[str, Any]:
    return {
        "client_id": a.client_id,
        "state": a.state,
        "encounter_id": a.encounter_id,
        "class_code": a.class_code,
        "location": a.location,
        "admit_source": a.admit_source,
        "admitted_at": a.admitted_at,
        "discharged_at": a.discharged_at,
        "disposition": orjson.dumps(a.disposition.__dict__).decode() if a.disposition else None,
        "jobs": orjson.dumps(a.jobs).decode(),
        "updated_at": a.updated_at,
    }


def find(conn: Connection, org_id: str, ehr_id: str, visit_number: str) -> Admission | None:
    row = conn.execute(
        select(adm)
        .where(adm.c.org_id == org_id, adm.c.ehr_id == ehr_id, adm.c.visit_number == visit_number)
        .with_for_update()
    ).first()
    return _admission(row) if row else None


def get(conn: Connection, org_id: str, admission_id: int) -> Admission | None:
    row = conn.execute(select(adm).where(adm.c.org_id == org_id, adm.c.id == admission_id)).first()
    return _admission(row) if row else None


def save(conn: Connection, a: Admission) -> Admission:
    """Insert (id 0) or update; the admission as stored."""
    if a.id:
        conn.execute(update(adm).where(adm.c.id == a.id).values(**_values(a)))
        return a
    row = {"org_id": a.org_id, "ehr_id": a.ehr_id, "visit_number": a.visit_number, **_values(a)}
    new_id = int(conn.execute(insert(adm).values(**row).returning(adm.c.id)).scalar_one())
    return Admission(**{**a.__dict__, "id": new_id})


def of_client(conn: Connection, org_id: str, client_id: str) -> list[Admission]:
    query = select(adm).where(adm.c.org_id == org_id, adm.c.client_id == client_id).order_by(adm.c.id)
    return [_admission(row) for row in conn.execute(query)]


def set_encounter(conn: Connection, admission_id: int, encounter_id: str) -> None:
    conn.execute(update(adm).where(adm.c.id == admission_id).values(encounter_id=encounter_id))


def discharged_to(conn: Connection, admission_id: int, disposition: Coded, now: str) -> None:
    """The EHR's discharge disposition, read back: written only while the admission is still discharged (an
    A13 may have cancelled the discharge while it was being read)."""
    conn.execute(
        update(adm)
        .where(adm.c.id == admission_id, adm.c.state == AdmissionState.DISCHARGED)
        .values(disposition=orjson.dumps(disposition.__dict__).decode(), updated_at=now)
    )


def sought_encounter(conn: Connection, admission_id: int, now: str) -> None:
    """The EHR has no Encounter with the admission's visit number (yet)."""
    conn.execute(update(adm).where(adm.c.id == admission_id).values(encounter_sought_at=now))


def current(conn: Connection, org_id: str, ehr_id: str, client_id: str) -> Admission | None:
    """The client's latest admission in the EHR that was not cancelled: what our resources are linked to."""
    row = conn.execute(
        select(adm)
        .where(
            adm.c.org_id == org_id,
            adm.c.ehr_id == ehr_id,
            adm.c.client_id == client_id,
            adm.c.state != AdmissionState.CANCELLED,
        )
        .order_by(adm.c.id.desc())
        .limit(1)
    ).first()
    return _admission(row) if row else None


def between(conn: Connection, org_id: str, start: str, end: str, limit: int) -> list[Admission]:
    """The organisation's admissions admitted or discharged in [start, end), the latest first."""
    admitted = (adm.c.admitted_at >= start) & (adm.c.admitted_at < end)
    discharged = (adm.c.discharged_at >= start) & (adm.c.discharged_at < end)
    query = (
        select(adm)
        .where(adm.c.org_id == org_id, admitted | discharged)
        .order_by(adm.c.updated_at.desc(), adm.c.id.desc())
        .limit(limit)
    )
    return [_admission(row) for row in conn.execute(query)]
