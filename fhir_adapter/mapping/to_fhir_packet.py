"""Hospital document → DocumentReference, follow-up appointment → Appointment: what the hospital sent, as it
sent it, with our business identifier beside its own and the client's Patient named as ours.

https://hl7.org/fhir/R4/documentreference.html ; https://hl7.org/fhir/R4/appointment.html
"""

from __future__ import annotations

from fhir_adapter.domain.concepts import Concept, Reference, SourceIdentifier
from fhir_adapter.domain.packet import Appointment, DocumentContent, HospitalDocument, Participant
from fhir_adapter.mapping.engine import JSON, MapContext, Scope, apply_structure, mapping_function
from fhir_adapter.mapping.strict import reference_type
from fhir_adapter.mapping.to_fhir_common import (
    business_identifier,
    to_fhir_coding,
    to_fhir_concept,
    to_fhir_period,
)


def to_fhir_document_reference(document: HospitalDocument, ctx: MapContext) -> JSON:
    structure = ctx.catalogue.structures["hospital_document_to_documentreference"]
    return apply_structure(Scope(document, ctx, structure))


def to_fhir_appointment(appointment: Appointment, ctx: MapContext) -> JSON:
    return apply_structure(Scope(appointment, ctx, ctx.catalogue.structures["appointment_to_appointment"]))


def _drop_empty(value: JSON) -> JSON:
    return {k: v for k, v in value.items() if v not in (None, "", [], {})}


def to_fhir_source_identifier(ident: SourceIdentifier) -> JSON:
    return _drop_empty(
        {
            "use": ident.use,
            "type": to_fhir_concept(ident.type) if ident.type else None,
            "system": ident.system,
            "value": ident.value,
            "assigner": {"display": ident.assigner} if ident.assigner else None,
        }
    )


# The types each element's references may name (R4); a reference kept of another type (a record written
# through the API may hold any) shows by its display (else its words) and identifier only.
PRACTITIONERS = frozenset({"Practitioner", "PractitionerRole", "Organization"})
TARGETS = {
    "author": PRACTITIONERS | {"Device", "Patient", "RelatedPerson"},
    "authenticator": PRACTITIONERS,
    "custodian": frozenset({"Organization"}),
    "encounter": frozenset({"Encounter", "EpisodeOfCare"}),
    "actor": frozenset(
        {
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "RelatedPerson",
            "Device",
            "HealthcareService",
            "Location",
        }
    ),
    "reasonReference": frozenset({"Condition", "Procedure", "Observation", "ImmunizationRecommendation"}),
    "basedOn": frozenset({"ServiceRequest"}),
}


def to_fhir_reference(ref: Reference, element: str) -> JSON | None:
    """The reference as kept, but for a literal reference or type that the element cannot name."""
    allowed = TARGETS[element]
    literal = ref.reference if ref.reference and reference_type(ref.reference) in (None, *allowed) else None
    ident = to_fhir_source_identifier(ref.identifier) if ref.identifier else None
    kind = ref.type if ref.type in allowed else None
    display = ref.display or (ref.reference if literal is None else None)  # by its words, at least
    return _drop_empty({"reference": literal, "type": kind, "identifier": ident, "display": display}) or None


def _concepts(concepts: tuple[Concept, ...]) -> list[JSON]:
    return [to_fhir_concept(c) for c in concepts]


def _references(refs: tuple[Reference, ...], element: str) -> list[JSON]:
    found = (to_fhir_reference(r, element) for r in refs)
    return [r for r in found if r]


@mapping_function
def hospital_identifiers(scope: Scope) -> list[JSON]:
    """Ours first (the record's), then the hospital's own."""
    theirs = [to_fhir_source_identifier(i) for i in scope.record.identifiers]
    return [business_identifier(scope), *theirs]


@mapping_function
def concept_type(scope: Scope) -> JSON | None:
    return to_fhir_concept(scope.record.type) if scope.record.type else None


@mapping_function
def concept_categories(scope: Scope) -> list[JSON]:
    return _concepts(scope.record.categories)


@mapping_function
def document_master_identifier(scope: Scope) -> JSON | None:
    master = scope.record.master_identifier
    return to_fhir_source_identifier(master) if master else None


@mapping_function
def document_authors(scope: Scope) -> list[JSON]:
    return _references(scope.record.authors, "author")


@mapping_function
def document_authenticator(scope: Scope) -> JSON | None:
    found = scope.record.authenticator
    return to_fhir_reference(found, "authenticator") if found else None


@mapping_function
def document_custodian(scope: Scope) -> JSON | None:
    return to_fhir_reference(scope.record.custodian, "custodian") if scope.record.custodian else None


@mapping_function
def document_security_labels(scope: Scope) -> list[JSON]:
    return _concepts(scope.record.security_labels)


def _attachment(content: DocumentContent) -> JSON:
    return _drop_empty(
        {
            "contentType": content.content_type,
            "language": content.language,
            "url": content.url,
            "size": content.size,
            "hash": content.hash,
            "title": content.title,
            "creation": content.creation,
        }
    )


@mapping_function
def document_content(scope: Scope) -> list[JSON]:
    """Each attachment described as the hospital described it (the bytes are served by the API)."""
    out = []
    for content in scope.record.contents:
        item: JSON = {"attachment": _attachment(content)}
        if content.format:
            item["format"] = to_fhir_coding(content.format)
        out.append(item)
    return out


@mapping_function
def document_context(scope: Scope) -> JSON:
    document: HospitalDocument = scope.record
    return _drop_empty(
        {
            "encounter": _references(document.encounters, "encounter"),
            "period": to_fhir_period(document.period),
            "facilityType": to_fhir_concept(document.facility_type) if document.facility_type else None,
            "practiceSetting": (
                to_fhir_concept(document.practice_setting) if document.practice_setting else None
            ),
        }
    )


def _participant(participant: Participant, scope: Scope) -> JSON:
    actor = to_fhir_reference(participant.actor, "actor") if participant.actor else None
    if participant.patient:  # the client: our Patient, by the name the hospital gave
        actor = scope.ctx.reference("client", scope.ctx.client_id, "Patient")
        if participant.actor and participant.actor.display:
            actor["display"] = participant.actor.display
    return _drop_empty(
        {
            "type": _concepts(participant.types),
            "actor": actor,
            "required": participant.required,
            "status": participant.status,
            "period": to_fhir_period(participant.period),
        }
    )


@mapping_function
def appointment_participants(scope: Scope) -> list[JSON]:
    appointment: Appointment = scope.record
    out = [_participant(p, scope) for p in appointment.participants]
    if not any(p.patient for p in appointment.participants):
        out.append(
            {"actor": scope.ctx.reference("client", scope.ctx.client_id, "Patient"), "status": "accepted"}
        )
    return out


@mapping_function
def appointment_service_categories(scope: Scope) -> list[JSON]:
    return _concepts(scope.record.service_categories)


@mapping_function
def appointment_service_types(scope: Scope) -> list[JSON]:
    return _concepts(scope.record.service_types)


@mapping_function
def appointment_specialties(scope: Scope) -> list[JSON]:
    return _concepts(scope.record.specialties)


@mapping_function
def appointment_type(scope: Scope) -> JSON | None:
    found = scope.record.appointment_type
    return to_fhir_concept(found) if found else None


@mapping_function
def appointment_reason_codes(scope: Scope) -> list[JSON]:
    return _concepts(scope.record.reason_codes)


@mapping_function
def appointment_reason_references(scope: Scope) -> list[JSON]:
    return _references(scope.record.reason_references, "reasonReference")


@mapping_function
def appointment_cancelation_reason(scope: Scope) -> JSON | None:
    found = scope.record.cancelation_reason
    return to_fhir_concept(found) if found else None


@mapping_function
def appointment_based_on(scope: Scope) -> list[JSON]:
    return _references(scope.record.based_on, "basedOn")
