"""Patient → Client: identity, names in any script, contacts (https://hl7.org/fhir/R4/patient.html)."""

from __future__ import annotations

from fhir_adapter.domain.records import Address, Client, Contact, Name, Telecom
from fhir_adapter.mapping.from_fhir_common import JSON, ReverseContext, identifier_from, report_unhandled
from fhir_adapter.mapping.to_fhir_patient import BCP47, V2_0131

HANDLED = frozenset(
    {"identifier", "name", "telecom", "gender", "birthDate", "address", "contact", "communication"}
)
CONTACT_RELATIONSHIPS = frozenset({"C", "E", "F", "I", "N", "S", "U"})


def from_fhir_patient(resource: JSON, ctx: ReverseContext, path: str = "Patient") -> Client:
    report_unhandled(ctx, resource, HANDLED, path)
    identifiers = []
    for i, ident in enumerate(resource.get("identifier", [])):
        if ident.get("system") == ctx.identity.system("client"):
            continue
        kept = identifier_from(ident, ctx, f"{path}.identifier[{i}]")
        if kept:
            identifiers.append(kept)
    return Client(
        id=ctx.record_id(resource, "client", path),
        names=tuple(from_fhir_name(n) for n in resource.get("name", [])),
        identifiers=tuple(identifiers),
        birth_date=resource.get("birthDate"),
        gender=resource.get("gender"),
        language=_language(resource, ctx, path),
        addresses=tuple(from_fhir_address(a) for a in resource.get("address", [])),
        telecom=tuple(from_fhir_telecom(t) for t in resource.get("telecom", []) if t.get("value")),
        contacts=tuple(_contacts(resource, ctx, path)),
    )


def from_fhir_name(name: JSON) -> Name:
    return Name(
        text=name.get("text"),
        family=name.get("family"),
        given=tuple(name.get("given", ())),
        use=name.get("use"),
    )


def from_fhir_address(address: JSON) -> Address:
    return Address(
        lines=tuple(address.get("line", ())),
        city=address.get("city"),
        district=address.get("district"),
        state=address.get("state"),
        postal_code=address.get("postalCode"),
        country=address.get("country"),
        use=address.get("use"),
    )


def from_fhir_telecom(telecom: JSON) -> Telecom:
    return Telecom(system=telecom.get("system", "other"), value=telecom["value"], use=telecom.get("use"))


def _language(resource: JSON, ctx: ReverseContext, path: str) -> str | None:
    comms = resource.get("communication", [])
    chosen = next((c for c in comms if c.get("preferred")), comms[0] if comms else None)
    if chosen is None:
        return None
    if len(comms) > 1:
        ctx.report(f"{path}.communication", "only the preferred language is kept", "information")
    codes = [
        c["code"]
        for c in chosen.get("language", {}).get("coding", [])
        if c.get("system") == BCP47 and c.get("code")
    ]
    if not codes:
        ctx.report(f"{path}.communication", "a language without a BCP-47 code is not kept")
        return None
    return str(codes[0])


def _contacts(resource: JSON, ctx: ReverseContext, path: str) -> list[Contact]:
    contacts = []
    for i, contact in enumerate(resource.get("contact", [])):
        codes = [
            c.get("code")
            for rel in contact.get("relationship", [])
            for c in rel.get("coding", [])
            if c.get("system") == V2_0131 and c.get("code") in CONTACT_RELATIONSHIPS
        ]
        if not codes:
            ctx.report(
                f"{path}.contact[{i}].relationship",
                "no HL7 v2-0131 relationship: kept as U (unknown)",
                "warning" if contact.get("relationship") else "information",
            )
        if contact.get("organization"):
            ctx.report(f"{path}.contact[{i}].organization", "a contact's organization is not carried")
        contacts.append(
            Contact(
                relationship=str(codes[0]) if codes else "U",
                name=from_fhir_name(contact["name"]) if contact.get("name") else None,
                telecom=tuple(from_fhir_telecom(t) for t in contact.get("telecom", []) if t.get("value")),
                address=from_fhir_address(contact["address"]) if contact.get("address") else None,
            )
        )
    return contacts
