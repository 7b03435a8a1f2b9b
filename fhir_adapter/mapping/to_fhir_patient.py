"""Client → Patient (https://hl7.org/fhir/R4/patient.html)."""

from __future__ import annotations

from fhir_adapter.domain.records import Address, Client, Name, Telecom
from fhir_adapter.mapping.engine import JSON, MapContext, Scope, apply_structure, mapping_function
from fhir_adapter.mapping.to_fhir_common import business_identifier, to_fhir_identifier

US_CORE_PATIENT = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
BCP47 = "urn:ietf:bcp:47"


def to_fhir_patient(client: Client, ctx: MapContext) -> JSON:
    scope = Scope(client, ctx, ctx.catalogue.structures["client_to_patient"])
    return apply_structure(scope)


@mapping_function
def client_identifiers(scope: Scope) -> list[JSON]:
    """Our case-management id first, then the hospital MRNs with their assigning authority."""
    ids = [{"use": "usual", **business_identifier(scope)}]
    for ident in scope.record.identifiers:
        ids.append({"use": "official" if ident.type == "MR" else "secondary", **to_fhir_identifier(ident)})
    return ids


def to_fhir_name(name: Name) -> JSON:
    fhir: JSON = {}
    for key, value in (("use", name.use), ("text", name.text), ("family", name.family)):
        if value:
            fhir[key] = value
    if name.given:
        fhir["given"] = list(name.given)
    return fhir


@mapping_function
def client_names(scope: Scope) -> list[JSON]:
    return [to_fhir_name(n) for n in scope.record.names]


def to_fhir_telecom(telecom: Telecom) -> JSON:
    fhir = {"system": telecom.system, "value": telecom.value}
    if telecom.use:
        fhir["use"] = telecom.use
    return fhir


@mapping_function
def client_telecom(scope: Scope) -> list[JSON]:
    return [to_fhir_telecom(t) for t in scope.record.telecom]


def to_fhir_address(address: Address) -> JSON:
    fhir: JSON = {}
    if address.use:
        fhir["use"] = address.use
    if address.lines:
        fhir["line"] = list(address.lines)
    for key, value in (
        ("city", address.city),
        ("district", address.district),
        ("state", address.state),
        ("postalCode", address.postal_code),
        ("country", address.country),
    ):
        if value:
            fhir[key] = value
    return fhir


@mapping_function
def client_addresses(scope: Scope) -> list[JSON]:
    return [to_fhir_address(a) for a in scope.record.addresses]


@mapping_function
def client_contacts(scope: Scope) -> list[JSON]:
    contacts = []
    for contact in scope.record.contacts:
        fhir: JSON = {"relationship": [{"coding": [{"system": V2_0131, "code": contact.relationship}]}]}
        if contact.name:
            fhir["name"] = to_fhir_name(contact.name)
        if contact.telecom:
            fhir["telecom"] = [to_fhir_telecom(t) for t in contact.telecom]
        if contact.address:
            fhir["address"] = to_fhir_address(contact.address)
        contacts.append(fhir)
    return contacts


@mapping_function
def client_communication(scope: Scope) -> list[JSON]:
    if not scope.record.language:
        return []
    return [{"language": {"coding": [{"system": BCP47, "code": scope.record.language}]}, "preferred": True}]


@mapping_function
def client_meta(scope: Scope) -> JSON:
    """US Core Patient needs a gender and, in every name, a family or given name: claim it only then."""
    client: Client = scope.record
    if client.gender and client.names and all(n.family or n.given for n in client.names):
        return {"profile": [US_CORE_PATIENT]}
    return {}
