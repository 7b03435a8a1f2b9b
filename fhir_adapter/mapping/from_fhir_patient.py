"""Patient → Client: identity, names in any script, contacts (https://hl7.org/fhir/R4/patient.html).

The client record holds what a case file needs of a person; every part of a Patient it does not hold (a
name's suffix, an address's period, a second relationship, a telecom's rank, ...) is named by its path.
"""

from __future__ import annotations

from fhir_adapter.domain.records import Address, Client, Contact, Identifier, Name, Telecom
from fhir_adapter.mapping.from_fhir_common import (
    JSON,
    ReverseContext,
    identifier_from,
    report_unhandled,
)
from fhir_adapter.mapping.from_fhir_values import rest
from fhir_adapter.mapping.to_fhir_common import V2_0203
from fhir_adapter.mapping.to_fhir_patient import BCP47, V2_0131

HANDLED = frozenset(
    {"identifier", "name", "telecom", "gender", "birthDate", "address", "contact", "communication"}
)
CONTACT_RELATIONSHIPS = frozenset({"C", "E", "F", "I", "N", "S", "U"})
NAME_KEPT = frozenset({"text", "family", "given", "use"})
ADDRESS_KEPT = frozenset({"line", "city", "district", "state", "postalCode", "country", "use"})
TELECOM_KEPT = frozenset({"system", "value", "use"})
CONTACT_KEPT = frozenset({"relationship", "name", "telecom", "address"})


def from_fhir_patient(resource: JSON, ctx: ReverseContext, path: str = "Patient") -> Client:
    report_unhandled(ctx, resource, HANDLED, path)
    return Client(
        id=ctx.record_id(resource, "client", path),
        names=tuple(
            from_fhir_name(n, ctx, f"{path}.name[{i}]") for i, n in enumerate(resource.get("name", []))
        ),
        identifiers=_identifiers(resource, ctx, path),
        birth_date=resource.get("birthDate"),
        gender=resource.get("gender"),
        language=_language(resource, ctx, path),
        addresses=tuple(
            from_fhir_address(a, ctx, f"{path}.address[{i}]")
            for i, a in enumerate(resource.get("address", []))
        ),
        telecom=_telecoms(resource.get("telecom", []), ctx, f"{path}.telecom"),
        contacts=tuple(
            _contact(c, ctx, f"{path}.contact[{i}]") for i, c in enumerate(resource.get("contact", []))
        ),
    )


def _identifiers(resource: JSON, ctx: ReverseContext, path: str) -> tuple[Identifier, ...]:
    """The hospital's identifiers (ours is the record id itself), each with its type and assigner."""
    kept = []
    for i, ident in enumerate(resource.get("identifier", [])):
        if ident.get("system") == ctx.identity.system("client"):
            continue
        where = f"{path}.identifier[{i}]"
        rest(ctx, ident, frozenset({"use", "system", "value", "type", "assigner"}), where, "Identifier")
        found = identifier_from(ident, ctx, where)
        if found is None:
            continue
        _identifier_use(ident, found, ctx, where)
        _identifier_type(ident, found, ctx, f"{where}.type")
        rest(ctx, ident.get("assigner") or {}, frozenset({"display"}), f"{where}.assigner", "Reference")
        kept.append(found)
    return tuple(kept)


def _identifier_use(ident: JSON, found: Identifier, ctx: ReverseContext, path: str) -> None:
    """The client's FHIR face says `official` for an MRN and `secondary` for any other identifier."""
    if "use" not in ident:
        return
    projected = "official" if found.type == "MR" else "secondary"
    if ident["use"] == projected:
        ctx.report(f"{path}.use", f"kept by the identifier's type ({found.type})", "information")
    else:
        ctx.report(
            f"{path}.use", f"the identifier's use {ident['use']!r} is not kept: it is shown as {projected}"
        )


def _identifier_type(ident: JSON, found: Identifier, ctx: ReverseContext, path: str) -> None:
    """The type is kept as its HL7 v2-0203 code; its words and other codings are named."""
    id_type = ident.get("type")
    if not id_type:
        return
    codings = id_type.get("coding", [])
    chosen = next(
        (j for j, c in enumerate(codings) if c.get("system") == V2_0203 and c.get("code") == found.type), None
    )
    if chosen is None:
        ctx.report(path, f"the identifier's type is not kept: it is shown as {found.type}")
    else:
        _concept_kept_as(id_type, chosen, ctx, path, "HL7 v2-0203")


def from_fhir_name(name: JSON, ctx: ReverseContext, path: str) -> Name:
    rest(ctx, name, NAME_KEPT, path, "HumanName")
    return Name(
        text=name.get("text"),
        family=name.get("family"),
        given=tuple(name.get("given", ())),
        use=name.get("use"),
    )


def from_fhir_address(address: JSON, ctx: ReverseContext, path: str) -> Address:
    rest(ctx, address, ADDRESS_KEPT, path, "Address")
    return Address(
        lines=tuple(address.get("line", ())),
        city=address.get("city"),
        district=address.get("district"),
        state=address.get("state"),
        postal_code=address.get("postalCode"),
        country=address.get("country"),
        use=address.get("use"),
    )


def _telecoms(values: list[JSON], ctx: ReverseContext, path: str) -> tuple[Telecom, ...]:
    kept = []
    for i, telecom in enumerate(values):
        where = f"{path}[{i}]"
        rest(ctx, telecom, TELECOM_KEPT, where, "ContactPoint")
        if not telecom.get("value"):
            ctx.report(where, "a contact point without a value is not carried")
            continue
        kept.append(
            Telecom(system=telecom.get("system", "other"), value=telecom["value"], use=telecom.get("use"))
        )
        if "system" not in telecom:
            ctx.report(f"{where}.value", "a contact point without a system is kept as 'other'", "information")
    return tuple(kept)


def _language(resource: JSON, ctx: ReverseContext, path: str) -> str | None:
    """The preferred language (or the only one) as its BCP-47 code; every other communication is named."""
    comms = resource.get("communication", [])
    chosen = next((i for i, c in enumerate(comms) if c.get("preferred")), 0 if comms else None)
    if chosen is None:
        return None
    for i in (i for i in range(len(comms)) if i != chosen):
        ctx.report(f"{path}.communication[{i}]", "only the preferred language is kept")
    where = f"{path}.communication[{chosen}]"
    rest(ctx, comms[chosen], frozenset({"language", "preferred"}), where, "Patient.communication")
    if "preferred" in comms[chosen]:
        ctx.report(f"{where}.preferred", "the language kept is the client's preferred one", "information")
    language = comms[chosen].get("language") or {}
    codings = language.get("coding", [])
    code = next((j for j, c in enumerate(codings) if c.get("system") == BCP47 and c.get("code")), None)
    if code is None:
        ctx.report(f"{where}.language", "a language without a BCP-47 code is not kept")
        return None
    _concept_kept_as(language, code, ctx, f"{where}.language", "BCP-47")
    return str(codings[code]["code"])


def _concept_kept_as(concept: JSON, chosen: int, ctx: ReverseContext, path: str, code_system: str) -> None:
    """A concept kept as the code of its `chosen` coding: that coding's words and the text are said to be
    carried as the code; other codings are named as not carried."""
    rest(ctx, concept, frozenset({"coding", "text"}), path, "CodeableConcept")
    code = concept["coding"][chosen]["code"]
    for j, coding in enumerate(concept.get("coding", [])):
        where = f"{path}.coding[{j}]"
        if j == chosen:
            rest(ctx, coding, frozenset({"system", "code", "display"}), where, "Coding")
            ctx.report(where, f"kept as its {code_system} code {code}", "information")
        else:
            ctx.report(where, f"only one {code_system} code is kept")
    if concept.get("text"):
        ctx.report(f"{path}.text", f"kept as its {code_system} code {code}", "information")


def _contact(contact: JSON, ctx: ReverseContext, path: str) -> Contact:
    rest(ctx, contact, CONTACT_KEPT, path, "Patient.contact")
    return Contact(
        relationship=_relationship(contact.get("relationship", []), ctx, f"{path}.relationship"),
        name=from_fhir_name(contact["name"], ctx, f"{path}.name") if contact.get("name") else None,
        telecom=_telecoms(contact.get("telecom", []), ctx, f"{path}.telecom"),
        address=from_fhir_address(contact["address"], ctx, f"{path}.address")
        if contact.get("address")
        else None,
    )


def _relationship(concepts: list[JSON], ctx: ReverseContext, path: str) -> str:
    """The first HL7 v2-0131 relationship; the others are named, and none at all is kept as U (unknown)."""
    for i, concept in enumerate(concepts):
        codings = concept.get("coding", [])
        j = next(
            (
                j
                for j, c in enumerate(codings)
                if c.get("system") == V2_0131 and c.get("code") in CONTACT_RELATIONSHIPS
            ),
            None,
        )
        if j is None:
            continue
        _concept_kept_as(concept, j, ctx, f"{path}[{i}]", "HL7 v2-0131")
        for k in (k for k in range(len(concepts)) if k != i):
            ctx.report(f"{path}[{k}]", "only one HL7 v2-0131 relationship of a contact is kept")
        return str(codings[j]["code"])
    ctx.report(
        path, "no HL7 v2-0131 relationship: kept as U (unknown)", "warning" if concepts else "information"
    )
    return "U"
