"""Which client an event is about: the EHR's patient as linked before, or the medical record number and its
assigning authority on a client's identifiers; by name, birth date and sex only when configured, and said so.
Anything else matches nobody: the message waits for a person, it is never guessed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_adapter.domain.events import Patient
from fhir_adapter.domain.sync import Ehr, Link
from fhir_adapter.service.ports import Work

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


def by_identifier(work: Work, ehr: Ehr, patient: Patient) -> list[str]:
    """Clients whose identifiers hold the MRN as assigned by the EHR's authority."""
    found = []
    for client_id, data in work.patients.with_identifier(ehr.org_id, patient.mrn or ""):
        idents = [i for i in data.get("identifier", []) if i.get("value") == patient.mrn]
        if any(_authority_of(i, ehr, patient.authority) for i in idents) and client_id not in found:
            found.append(client_id)
    return found


def by_demographics(work: Work, ehr: Ehr, patient: Patient) -> list[str]:
    """Clients with the same family and given name, birth date and sex (all four must be known)."""
    if not (patient.family and patient.given and patient.birth_date and patient.gender):
        return []
    found = []
    for client_id, data in work.patients.born_on(ehr.org_id, patient.birth_date):
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


def match(work: Work, ehr: Ehr, patient: Patient, demographics: bool) -> Match:
    link = work.ehrs.link_by_patient(ehr.org_id, ehr.id, patient.ehr_patient_id, patient.mrn)
    by_id = link is not None and bool(patient.ehr_patient_id) and link.patient_id == patient.ehr_patient_id
    if link is not None and not by_id and not _same_authority(link, ehr, patient):
        link = None  # found by an MRN another authority assigned
    if link is not None:
        return Match(link.client_id, "link", f"linked to client {link.client_id}")
    found = by_identifier(work, ehr, patient) if patient.mrn else []
    if len(found) == 1:
        return Match(found[0], "identifier", f"MRN {patient.mrn} is client {found[0]}'s")
    if len(found) > 1:
        return Match(None, None, f"MRN {patient.mrn} is on {len(found)} clients: {', '.join(found[:5])}")
    if demographics:
        alike = by_demographics(work, ehr, patient)
        if len(alike) == 1:
            return Match(alike[0], "demographics", f"name, birth date and sex are client {alike[0]}'s")
        if alike:
            return Match(None, None, f"name, birth date and sex fit {len(alike)} clients")
    who = f"MRN {patient.mrn}" if patient.mrn else f"EHR patient {patient.ehr_patient_id}"
    return Match(
        None, None, f"no client has {who}" + (f" of {patient.authority}" if patient.authority else "")
    )
