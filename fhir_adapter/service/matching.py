"""Which client an event is about: the EHR's patient as linked before, or the medical record number and its
assigning authority on a client's identifiers; by name, birth date and sex only when configured, and said so.
Anything else matches nobody: the message waits for a person, it is never guessed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Select, select

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.tables import fhir_resources as res
from fhir_adapter.adapters.tables import fhir_tokens as tok
from fhir_adapter.domain.events import Patient
from fhir_adapter.domain.sync import Ehr, Link

JSON = dict[str, Any]


@dataclass(frozen=True)
class Match:
    client_id: str | None
    by: str | None  # link | identifier | demographics
    why: str  # what was found, for the needs-a-match list


def _authority_of(identifier: JSON, ehr: Ehr, said: str | None) -> bool:
    """Whether a client's identifier was assigned by the authority the message names (the EHR's own when
    it names none or the EHR's)."""
    system = identifier.get("system")
    assigner = (identifier.get("assigner") or {}).get("display")
    if said is None or said in (ehr.mrn_authority, ehr.mrn_system):
        if ehr.mrn_system and system == ehr.mrn_system:
            return True
        said = ehr.mrn_authority
    return bool(said) and (assigner == said or system in (said, f"urn:oid:{said}"))


def _patients(conn: Connection, query: Select[Any]) -> list[tuple[str, JSON]]:
    rows = conn.execute(query)
    return [(row.record_id, orjson.loads(row.data)) for row in rows]


def by_identifier(conn: Connection, ehr: Ehr, patient: Patient) -> list[str]:
    """Clients whose identifiers hold the MRN as assigned by the EHR's authority."""
    query = (
        select(res.c.record_id, res.c.data)
        .join(
            tok,
            (tok.c.org_id == res.c.org_id)
            & (tok.c.resource_type == res.c.resource_type)
            & (tok.c.id == res.c.id),
        )
        .where(
            res.c.org_id == ehr.org_id,
            res.c.resource_type == "Patient",
            res.c.deleted.is_(False),
            tok.c.param == "identifier",
            tok.c.value == patient.mrn,
        )
    )
    found = []
    for client_id, data in _patients(conn, query):
        idents = [i for i in data.get("identifier", []) if i.get("value") == patient.mrn]
        if any(_authority_of(i, ehr, patient.authority) for i in idents) and client_id not in found:
            found.append(client_id)
    return found


def by_demographics(conn: Connection, ehr: Ehr, patient: Patient) -> list[str]:
    """Clients with the same family and given name, birth date and sex (all four must be known)."""
    if not (patient.family and patient.given and patient.birth_date and patient.gender):
        return []
    query = select(res.c.record_id, res.c.data).where(
        res.c.org_id == ehr.org_id,
        res.c.resource_type == "Patient",
        res.c.deleted.is_(False),
        res.c.data.contains(f'"birthDate":"{patient.birth_date}"'),
    )
    found = []
    for client_id, data in _patients(conn, query):
        if data.get("gender") != patient.gender:
            continue
        for name in data.get("name", []):
            family = (name.get("family") or "").casefold()
            given = {g.casefold() for g in name.get("given", [])}
            if family == patient.family.casefold() and patient.given.casefold() in given:
                found.append(client_id)
                break
    return found


def _same_authority(link: Link, ehr: Ehr, patient: Patient) -> bool:
    """An MRN names the linked patient only when it was assigned by the EHR or by the link's authority."""
    said = patient.authority
    return said is None or said in (link.assigner, ehr.mrn_authority, ehr.mrn_system)


def match(conn: Connection, ehr: Ehr, patient: Patient, demographics: bool) -> Match:
    link = ehr_store.link_by_patient(conn, ehr.org_id, ehr.id, patient.ehr_patient_id, patient.mrn)
    by_id = link is not None and bool(patient.ehr_patient_id) and link.patient_id == patient.ehr_patient_id
    if link is not None and not by_id and not _same_authority(link, ehr, patient):
        link = None  # found by an MRN another authority assigned
    if link is not None:
        return Match(link.client_id, "link", f"linked to client {link.client_id}")
    found = by_identifier(conn, ehr, patient) if patient.mrn else []
    if len(found) == 1:
        return Match(found[0], "identifier", f"MRN {patient.mrn} is client {found[0]}'s")
    if len(found) > 1:
        return Match(None, None, f"MRN {patient.mrn} is on {len(found)} clients: {', '.join(found[:5])}")
    if demographics:
        alike = by_demographics(conn, ehr, patient)
        if len(alike) == 1:
            return Match(alike[0], "demographics", f"name, birth date and sex are client {alike[0]}'s")
        if alike:
            return Match(None, None, f"name, birth date and sex fit {len(alike)} clients")
    who = f"MRN {patient.mrn}" if patient.mrn else f"EHR patient {patient.ehr_patient_id}"
    return Match(
        None, None, f"no client has {who}" + (f" of {patient.authority}" if patient.authority else "")
    )
