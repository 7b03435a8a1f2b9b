"""What another system said and a record keeps whole, back as FHIR: its identifiers beside ours, coded
concepts, notes, references to what we do not hold, task outputs. The values a hospital sent come back
in the FHIR we make of the record, as it sent them."""

from __future__ import annotations

from typing import Any

from fhir_adapter.domain.concepts import Note, Output, Reference, Schedule, SourceIdentifier
from fhir_adapter.mapping.engine import JSON, Scope, mapping_function
from fhir_adapter.mapping.to_fhir_common import business_identifier, to_fhir_concept


def to_fhir_source_identifier(ident: SourceIdentifier) -> JSON:
    fhir: JSON = {}
    if ident.use:
        fhir["use"] = ident.use
    if ident.type:
        fhir["type"] = to_fhir_concept(ident.type)
    if ident.system:
        fhir["system"] = ident.system
    fhir["value"] = ident.value
    if ident.assigner:
        fhir["assigner"] = {"display": ident.assigner}
    return fhir


@mapping_function
def kept_identifiers(scope: Scope) -> list[JSON]:
    """Our business identifier first, then the sender's own (its order number, plan number, ...)."""
    kept: tuple[SourceIdentifier, ...] = getattr(scope.record, "identifiers", ())
    return [business_identifier(scope), *(to_fhir_source_identifier(i) for i in kept)]


def to_fhir_note(note: Note) -> JSON:
    fhir: JSON = {}
    if note.author:
        fhir["authorString"] = note.author
    if note.time:
        fhir["time"] = note.time
    return fhir | {"text": note.text}


def to_fhir_reference(ref: Reference) -> JSON:
    fhir: JSON = {}
    for key, value in (("reference", ref.reference), ("type", ref.type), ("display", ref.display)):
        if value:
            fhir[key] = value
    if ref.identifier:
        fhir["identifier"] = to_fhir_source_identifier(ref.identifier)
    return fhir


def to_fhir_output(output: Output) -> JSON:
    fhir: JSON = {"type": to_fhir_concept(output.type)}
    if output.text:
        fhir["valueString"] = output.text
    elif output.concept:
        fhir["valueCodeableConcept"] = to_fhir_concept(output.concept)
    elif output.reference:
        fhir["valueReference"] = to_fhir_reference(output.reference)
    return fhir


@mapping_function
def kept_notes(scope: Scope) -> list[JSON]:
    notes: tuple[Note, ...] = scope.record.notes
    return [to_fhir_note(n) for n in notes]


@mapping_function
def kept_addresses(scope: Scope) -> list[JSON]:
    return [to_fhir_reference(r) for r in scope.record.addresses]


def concepts(values: tuple[Any, ...]) -> list[JSON]:
    return [to_fhir_concept(c) for c in values]


def to_fhir_timing(schedule: Schedule) -> JSON:
    """A Schedule back as the Timing it was sent as."""
    repeat: JSON = {}
    if schedule.bounds_start or schedule.bounds_end:
        bounds = (("start", schedule.bounds_start), ("end", schedule.bounds_end))
        repeat["boundsPeriod"] = {k: v for k, v in bounds if v}
    for key, value in (
        ("count", schedule.count),
        ("duration", schedule.duration),
        ("durationUnit", schedule.duration_unit),
        ("frequency", schedule.frequency),
        ("period", schedule.period),
        ("periodUnit", schedule.period_unit),
        ("dayOfWeek", list(schedule.days_of_week)),
        ("timeOfDay", list(schedule.times_of_day)),
        ("when", list(schedule.when)),
    ):
        if value or (value == 0 and not isinstance(value, list)):
            repeat[key] = value
    timing: JSON = {}
    if schedule.events:
        timing["event"] = list(schedule.events)
    if repeat:
        timing["repeat"] = repeat
    if schedule.code:
        timing["code"] = to_fhir_concept(schedule.code)
    return timing
