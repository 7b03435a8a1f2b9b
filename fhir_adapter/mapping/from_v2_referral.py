"""What an HL7 v2 REF^I12 says (events/v2_referral.py) → a referral record, the hospital's meaning kept whole.

RF1-3 becomes our service type when it is one of our codes; otherwise the service type is `other` with the
code, text and coding system as sent. RF1-1 and RF1-2 are read through the v2 tables (0283, 0280), and RF1-1
is kept as sent as the business status. RF1-6 and RF1-11 are the referral's identifiers, assigned by their
namespace or, when they name none, the provider's organisation. DG1 diagnoses and PR1 procedures are the
reason codes; the referring provider is the requester, the referred-to provider's organisation the target,
and each provider's address, phone and identifiers a note, as are the NTEs.
https://terminology.hl7.org/CodeSystem-v2-0396.html names the coding systems.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import cast

from fhir_adapter.domain.events import Coded, EntityId, Provider, ReferralMessage
from fhir_adapter.domain.records import (
    Coding,
    Concept,
    Note,
    Organization,
    Period,
    Person,
    Referral,
    ReferralReason,
    ReferralStatus,
    SourceIdentifier,
)
from fhir_adapter.mapping.terminology import CodeTable

Tables = Mapping[str, CodeTable]
V2_TABLE = re.compile(r"^HL7(\d{4})$")
URI = re.compile(r"^(https?://\S+|urn:[a-z0-9][a-z0-9-]*:\S+)$", re.IGNORECASE)
# HL7 table 0396 names of coding systems and their FHIR URIs.
SYSTEMS = {
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "LN": "http://loinc.org",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
    "I10P": "http://www.cms.gov/Medicare/Coding/ICD10",
    "C4": "http://www.ama-assn.org/go/cpt",
    "CPT4": "http://www.ama-assn.org/go/cpt",
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "UCUM": "http://unitsofmeasure.org",
}
IDENTIFIER_TYPES = "http://terminology.hl7.org/CodeSystem/v2-0203"
PLACER = Concept((Coding("PLAC", IDENTIFIER_TYPES, "Placer Identifier"),), "originating referral identifier")
FILLER = Concept((Coding("FILL", IDENTIFIER_TYPES, "Filler Identifier"),), "external referral identifier")


def system_uri(name: str | None, said: list[str]) -> str | None:
    """The FHIR URI of a CWE.3 coding system; a name with none is said and left out (its code kept)."""
    if not name:
        return None
    if URI.match(name):
        return name
    table = V2_TABLE.match(name)
    if table:
        return f"http://terminology.hl7.org/CodeSystem/v2-{table.group(1)}"
    if name in SYSTEMS:
        return SYSTEMS[name]
    said.append(f"coding system {name} has no URI: its codes are kept without one")
    return None


def concept(coded: Coded, said: list[str]) -> Concept:
    system = system_uri(coded.system, said)
    if not coded.code:
        return Concept(text=coded.display)
    return Concept((Coding(coded.code, system, coded.display),), coded.display)


def status_of(message: ReferralMessage, tables: Tables, said: list[str]) -> ReferralStatus:
    """The referral's status the message gives: RF1-1 through table 0283, sent when it gives none."""
    table = tables["v2_referral_status"]
    status = message.status
    key = table.key_for_coding(status.system, status.code) if status else None
    if status and key is None:
        said.append(f"RF1-1 {status.code} is no status of table 0283: read as sent, kept as sent")
    return cast(ReferralStatus, key or "sent")  # the table's keys are our statuses


def _priority(message: ReferralMessage, tables: Tables, said: list[str]) -> str:
    table = tables["v2_referral_priority"]
    priority = message.priority
    key = table.key_for_coding(priority.system, priority.code) if priority else None
    if priority and key is None:
        said.append(f"RF1-2 {priority.code} is no priority of table 0280: read as routine, not kept")
    return key or "routine"


Service = tuple[str, Coding | None, Concept | None]  # service type, its coding as sent, the concept as sent


def _service(message: ReferralMessage, tables: Tables, said: list[str]) -> Service:
    """Our service type for RF1-3; `other` with the coding as sent when it is none of ours."""
    sent = message.referral_type
    if sent is None:
        said.append("RF1-3 (referral type) is empty: the service is other, named by the message")
        return "other", None, Concept(text=f"{message.message_type}^I12 referral")
    system = system_uri(sent.system, said)
    key = tables["service_types"].key_for_coding(system, sent.code) if sent.code else None
    if key and key != "other":
        return key, None, concept(sent, said)
    if not sent.code:
        return "other", None, Concept(text=sent.display)
    return "other", Coding(sent.code, system, sent.display), None


def _reason(reason: Coded | None, said: list[str]) -> ReferralReason | None:
    """RF1-10 as the referral's reason: its coding and its words."""
    if reason is None:
        return None
    codings = concept(reason, said).codings
    return ReferralReason(problem=codings[0] if codings else None, text=reason.display or reason.code)


def _provider(message: ReferralMessage, role: str) -> Provider | None:
    return next((p for p in message.providers if p.role_code == role), None)


def _identifier(
    ident: EntityId | None, kind: Concept, owner: Provider | None, facility: str | None
) -> list[SourceIdentifier]:
    if ident is None:
        return []
    system = None
    if ident.universal and (ident.universal_type or "").upper() == "ISO":
        system = f"urn:oid:{ident.universal}"
    elif ident.universal and URI.match(ident.universal):
        system = ident.universal
    assigner = ident.namespace or (owner.organization if owner else None) or facility
    return [SourceIdentifier(ident.value, system, "official", kind, assigner)]


def identifiers(message: ReferralMessage) -> tuple[SourceIdentifier, ...]:
    """RF1-6 (the placer's) and RF1-11 (the filler's), each with who assigned it."""
    referring, referred = _provider(message, "RP"), _provider(message, "RT")
    placer = _identifier(message.originating, PLACER, referring, message.facility)
    filler = _identifier(message.external, FILLER, referred, None)
    return (*placer, *filler)


def _provider_note(provider: Provider) -> Note:
    role = provider.role.display or provider.role.code if provider.role else "Provider"
    said = [provider.name, provider.organization, provider.address, provider.phone, *provider.identifiers]
    return Note(f"{role}: " + "; ".join(s for s in said if s))


def _notes(message: ReferralMessage) -> tuple[Note, ...]:
    return (*(Note(n) for n in message.notes), *(_provider_note(p) for p in message.providers))


def from_v2_referral(
    message: ReferralMessage, client_id: str, record_id: str, now: str, tables: Tables
) -> tuple[Referral, list[str]]:
    """The referral a REF^I12 makes, and what of the message it does not carry (each said)."""
    said: list[str] = []
    referring, referred = _provider(message, "RP"), _provider(message, "RT")
    target_name = (referred.organization or referred.name) if referred else None
    notes = _notes(message)
    service_type, service_coding, code = _service(message, tables, said)
    period = (
        Period(message.effective, message.expiration) if message.effective or message.expiration else None
    )
    referral = Referral(
        id=record_id,
        client_id=client_id,
        service_type=service_type,
        service_coding=service_coding,
        code=code,
        status=status_of(message, tables, said),
        authored_on=message.sent_at or now,
        priority=_priority(message, tables, said),
        reason=_reason(message.reason, said),
        target=Organization(target_name) if target_name else None,
        period=period,
        requester=Person(referring.name or referring.organization or "referring provider")
        if referring
        else None,
        note="\n".join(n.text for n in notes) or None,
        identifiers=identifiers(message),
        categories=(concept(message.category, said),) if message.category else (),
        reason_codes=tuple(concept(c, said) for c in (*message.diagnoses, *message.procedures)),
        notes=notes if len(notes) > 1 else (),
        business_status=concept(message.status, said) if message.status else None,
        status_by_ehr=True,
    )
    if message.unread:
        said.append("not carried: " + ", ".join(message.unread))
    return referral, list(dict.fromkeys(said))
