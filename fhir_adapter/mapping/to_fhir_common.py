"""Named functions every structure uses: meta, identifiers, subject, period, people."""

from __future__ import annotations

from typing import Any

from fhir_adapter.domain.records import Coding, Concept, Identifier, Period, Person
from fhir_adapter.mapping.engine import JSON, Scope, mapping_function

EPISODE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RESTRICTED = {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def record_id(scope: Scope) -> str:
    """The record id the business identifier carries; nested records are qualified by their parent."""
    if scope.detail is not None and hasattr(scope.detail, "record_id"):
        return str(scope.detail.record_id)
    if scope.parent is not None:
        return f"{scope.parent.id}/{scope.record.id}"
    return str(scope.record.id)


def sensitive(scope: Scope) -> bool:
    return bool(getattr(scope.record, "sensitive", False) or getattr(scope.parent, "sensitive", False))


@mapping_function
def meta(scope: Scope) -> JSON:
    """Profiles the output conforms to, and a restricted label on sensitive records (DESIGN.md §7)."""
    result: JSON = {}
    if scope.structure.profile:
        result["profile"] = [scope.structure.profile]
    if sensitive(scope):
        result["security"] = [dict(RESTRICTED)]
    return result


@mapping_function
def business_identifiers(scope: Scope) -> list[JSON]:
    return [business_identifier(scope)]


@mapping_function
def business_identifier(scope: Scope) -> JSON:
    return scope.ctx.identity.identifier(scope.structure.identity, record_id(scope))


@mapping_function
def subject(scope: Scope) -> JSON:
    return scope.ctx.reference("client", scope.ctx.client_id, "Patient")


def to_fhir_coding(coding: Coding) -> JSON:
    pairs = (
        ("system", coding.system),
        ("version", coding.version),
        ("code", coding.code),
        ("display", coding.display),
    )
    return {k: v for k, v in pairs if v}


def to_fhir_concept(concept: Concept) -> JSON:
    """A concept kept as another system sent it, back as a CodeableConcept."""
    out: JSON = {}
    if concept.codings:
        out["coding"] = [to_fhir_coding(c) for c in concept.codings]
    if concept.text:
        out["text"] = concept.text
    return out


def to_fhir_identifier(ident: Identifier) -> JSON:
    """Another system's identifier, typed (MR, XX, ...) and with its assigning authority."""
    fhir: JSON = {
        "type": {"coding": [{"system": V2_0203, "code": ident.type}]},
        "system": ident.system,
        "value": ident.value,
    }
    if ident.assigner:
        fhir["assigner"] = {"display": ident.assigner}
    return fhir


def to_fhir_period(period: Period | None) -> JSON | None:
    if period is None:
        return None
    return {k: v for k, v in (("start", period.start), ("end", period.end)) if v}


@mapping_function
def period(scope: Scope) -> JSON | None:
    return to_fhir_period(scope.record.period)


def person_reference(person: Person | None, scope: Scope, resource_type: str = "Practitioner") -> JSON | None:
    """People we do not publish as resources are logical references: identifier (when known) and name."""
    if person is None:
        return None
    ref: JSON = {"type": resource_type, "display": person.name}
    if person.id:
        ref["identifier"] = scope.ctx.identity.identifier("person", person.id)
    return ref


@mapping_function
def author_reference(scope: Scope) -> JSON | None:
    return person_reference(scope.record.author, scope)


@mapping_function
def requester_reference(scope: Scope) -> JSON | None:
    return person_reference(scope.record.requester, scope)


def episode_reference_extension(scope: Scope, record: Any) -> JSON | None:
    if not getattr(record, "episode_id", None):
        return None
    ref = scope.ctx.reference("episode", record.episode_id, "EpisodeOfCare")
    return {"url": EPISODE_EXTENSION, "valueReference": ref}


@mapping_function
def episode_extension(scope: Scope) -> list[JSON]:
    ext = episode_reference_extension(scope, scope.record)
    return [ext] if ext else []
