"""The one table of kinds: every kind of case-management record the service keeps, and every kind of FHIR
resource it makes of them. The rest reads from here: projection (record → resources), the search index and
/fhir search, the CapabilityStatement, what an EHR may write on /fhir, what admission and discharge carry,
which resources name the admission's Encounter, the API's collections and filters, and the mapping
structures the loader requires.

Write order is not in the table: what is written first follows from the references the resources
themselves hold (delivery/writes.py `ordered`), so a new kind that references another is ordered without an entry.

Adding a resource kind: a domain record (domain/records.py), a mapping file (mappings/resources/) with its
to_fhir_* function, a projector in to_fhir_records.py, and one ResourceKind below (and one RecordKind if it
is a new kind of record). tests/mappings/test_kinds.py checks the table against the mapping files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fhir_adapter.domain import packet
from fhir_adapter.domain import vocabulary as v
from fhir_adapter.mapping.engine import JSON, MapContext
from fhir_adapter.mapping.to_fhir_records import (
    Part,
    appointment_parts,
    assessment_parts,
    client_parts,
    document_parts,
    episode_parts,
    plan_parts,
    referral_parts,
)


@dataclass(frozen=True)
class ResourceKind:
    """One kind of FHIR resource we make: https://hl7.org/fhir/R4/resourcelist.html"""

    fhir_type: str
    identity: str  # the business identifier's kind: its system, and the resource's deterministic id
    record: str  # the kind of record it is part of
    structure: str  # the mapping structure (mappings/resources/<structure>.yaml) that makes it
    # the element naming the Patient (None: it is the Patient); a path through backbone elements
    # ("participant.actor") when the Patient is one of several actors
    patient: str | None
    tokens: Mapping[str, str] = field(default_factory=dict)  # token search parameter → element
    includes: Mapping[str, str] = field(default_factory=dict)  # _include parameter → element (beyond patient)
    # reference parameters indexed so that a search of the type they name can _revinclude this one:
    # parameter → (element, the type it names)
    referrers: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    status: str | None = "status"  # the element the `status` search parameter reads (None: no status)
    encounter: bool = False  # has an `encounter` element: sent, it names the admission's Encounter
    writable: bool = False  # an EHR's create and update on /fhir are read into records
    read_back: bool = False  # at discharge, the EHR's resources of this kind are read into records


@dataclass(frozen=True)
class Selection:
    """Which of a client's records of one kind an admission or a discharge carries to the EHR."""

    statuses: tuple[str, ...] = ()  # only in one of these states (empty: any state but `excluded`)
    excluded: tuple[str, ...] = ()
    latest_by: tuple[str, str] | None = None  # (field, date field): only the newest per value of field
    since_admission: str | None = None  # a date field: only those on or after the admission's first day


@dataclass(frozen=True)
class RecordKind:
    """One kind of case-management record: an API collection, and the resources it shows as."""

    name: str  # as in business identifiers: client, episode, ...
    collection: str  # the API path segment: clients, episodes, ...
    label: str
    fhir_type: str  # the resource the record mainly shows as; its scopes guard the API collection
    parts: Callable[[Any, MapContext], list[Part]]
    statuses: tuple[str, ...] = ()  # the values of its `status` filter (empty: none)
    subtype: str | None = None  # the field a list can be filtered by besides status
    subtypes: tuple[str, ...] | str = ()  # that field's values, or a pattern they match
    admission: Selection | None = None
    discharge: Selection | None = None


OPEN_EPISODES = ("planned", "active", "on-hold")
SETTLED_ASSESSMENTS = ("completed", "amended")
OPEN_REFERRALS = ("sent", "accepted", "in-progress")
ACTIVE = ("active",)

RECORD_KINDS: dict[str, RecordKind] = {
    k.name: k
    for k in (
        RecordKind("client", "clients", "client", "Patient", client_parts),
        RecordKind(
            "episode",
            "episodes",
            "case episode",
            "EpisodeOfCare",
            episode_parts,
            v.EPISODE_STATUSES,
            "case_type",
            v.CASE_TYPES,
            admission=Selection(OPEN_EPISODES),
        ),
        RecordKind(
            "assessment",
            "assessments",
            "assessment",
            "QuestionnaireResponse",
            assessment_parts,
            v.ASSESSMENT_STATUSES,
            "kind",
            "^[a-z0-9][a-z0-9-]{0,63}$",
            admission=Selection(SETTLED_ASSESSMENTS, latest_by=("kind", "date")),
        ),
        RecordKind(
            "service-plan",
            "service-plans",
            "service plan",
            "CarePlan",
            plan_parts,
            v.PLAN_STATUSES,
            "plan_type",
            v.PLAN_TYPES,
            admission=Selection(ACTIVE),
            discharge=Selection(ACTIVE),
        ),
        RecordKind(
            "referral",
            "referrals",
            "referral",
            "ServiceRequest",
            referral_parts,
            v.REFERRAL_STATUSES,
            "service_type",
            v.SERVICE_TYPES,
            admission=Selection(OPEN_REFERRALS),
            discharge=Selection(excluded=("draft",), since_admission="authored_on"),
        ),
        RecordKind(
            "hospital-document",
            "documents",
            "hospital document",
            "DocumentReference",
            document_parts,
            packet.DOCUMENT_STATUSES,
        ),
        RecordKind(
            "appointment",
            "appointments",
            "follow-up appointment",
            "Appointment",
            appointment_parts,
            packet.APPOINTMENT_STATUSES,
        ),
    )
}

IDENTIFIER = {"identifier": "identifier"}
RESOURCE_KINDS: dict[str, ResourceKind] = {
    k.fhir_type: k
    for k in (
        ResourceKind("Patient", "client", "client", "client_to_patient", None, IDENTIFIER, status=None),
        ResourceKind(
            "EpisodeOfCare",
            "episode",
            "episode",
            "episode_to_episodeofcare",
            "patient",
            IDENTIFIER | {"type": "type"},
            {"team": "team"},
        ),
        ResourceKind(
            "CareTeam",
            "care-team",
            "episode",
            "episode_to_careteam",
            "subject",
            IDENTIFIER | {"category": "category"},
            encounter=True,
        ),
        ResourceKind(
            "QuestionnaireResponse",
            "assessment",
            "assessment",
            "assessment_to_questionnaireresponse",
            "subject",
            IDENTIFIER,
            encounter=True,
            writable=True,
            read_back=True,
        ),
        ResourceKind(
            "Observation",
            "observation",
            "assessment",
            "answer_to_observation",
            "subject",
            IDENTIFIER | {"category": "category", "code": "code"},
            {"derived-from": "derivedFrom"},
            encounter=True,
        ),
        ResourceKind(
            "CarePlan",
            "service-plan",
            "service-plan",
            "plan_to_careplan",
            "subject",
            IDENTIFIER | {"category": "category"},
            {"goal": "goal"},
            encounter=True,
            writable=True,
            read_back=True,
        ),
        ResourceKind(
            "Goal",
            "goal",
            "service-plan",
            "goal_to_goal",
            "subject",
            IDENTIFIER | {"category": "category"},
            status="lifecycleStatus",
            writable=True,
        ),
        ResourceKind(
            "ServiceRequest",
            "referral",
            "referral",
            "referral_to_servicerequest",
            "subject",
            IDENTIFIER | {"category": "category", "code": "code"},
            encounter=True,
            writable=True,
            read_back=True,
        ),
        ResourceKind(
            "Task",
            "referral-task",
            "referral",
            "referral_to_task",
            "for",
            IDENTIFIER | {"code": "code"},
            {"focus": "focus"},
            {"focus": ("focus", "ServiceRequest"), "based-on": ("basedOn", "ServiceRequest")},
            encounter=True,
            writable=True,
            read_back=True,
        ),
        ResourceKind(
            "DocumentReference",
            "hospital-document",
            "hospital-document",
            "hospital_document_to_documentreference",
            "subject",
            IDENTIFIER | {"category": "category", "type": "type"},
            writable=True,
            read_back=True,
        ),
        ResourceKind(
            "Appointment",
            "appointment",
            "appointment",
            "appointment_to_appointment",
            "participant.actor",
            IDENTIFIER | {"service-type": "serviceType", "specialty": "specialty"},
            writable=True,
            read_back=True,
        ),
    )
}

# The resource type of each identity kind (the records' own and their parts': goal, referral-task, ...).
RESOURCE_TYPES: dict[str, str] = {k.identity: k.fhir_type for k in RESOURCE_KINDS.values()}
STRUCTURES: tuple[str, ...] = tuple(k.structure for k in RESOURCE_KINDS.values())


def at_path(resource: JSON, path: str) -> list[Any]:
    """The values at a dotted element path ("participant.actor"), through repeating elements."""
    found: list[Any] = [resource]
    for step in path.split("."):
        values = [item.get(step) for item in found if isinstance(item, dict)]
        found = [x for v in values for x in (v if isinstance(v, list) else [v]) if x is not None]
    return found


def patient_references(resource: JSON) -> list[Any]:
    """The references that may name the resource's Patient (an Appointment's: every actor)."""
    kind = RESOURCE_KINDS.get(resource.get("resourceType", ""))
    return at_path(resource, kind.patient) if kind and kind.patient else []


def of_record(record_kind: str) -> list[ResourceKind]:
    return [k for k in RESOURCE_KINDS.values() if k.record == record_kind]


def status_of(resource: JSON) -> Any:
    """The value the `status` search parameter reads (Goal's is lifecycleStatus)."""
    kind = RESOURCE_KINDS.get(resource.get("resourceType", ""))
    element = kind.status if kind else "status"
    return resource.get(element) if element else None
