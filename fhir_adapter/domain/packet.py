"""What the hospital hands over at discharge, kept with the case record: its documents (the discharge
summary among them) and the follow-up appointments it made. Both are the hospital's own words, kept whole:
its concepts, identifiers and references, beside the few values the case record reads."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_adapter.domain.concepts import Coding, Concept, Reference, SourceIdentifier
from fhir_adapter.domain.records import Period

# https://hl7.org/fhir/R4/valueset-document-reference-status.html
DOCUMENT_STATUSES = ("current", "superseded", "entered-in-error")
# https://hl7.org/fhir/R4/valueset-composition-status.html
DOC_STATUSES = ("preliminary", "final", "amended", "entered-in-error")
# https://hl7.org/fhir/R4/valueset-appointmentstatus.html
APPOINTMENT_STATUSES = (
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
)
# https://hl7.org/fhir/R4/valueset-participationstatus.html
PARTICIPATION_STATUSES = ("accepted", "declined", "tentative", "needs-action")
# https://hl7.org/fhir/R4/valueset-participantrequired.html
PARTICIPANT_REQUIRED = ("required", "optional", "information-only")


@dataclass(frozen=True)
class DocumentContent:
    """One attachment of a document as the hospital described it, and where its bytes are kept here
    (`sha256`, when they were received and accepted)."""

    content_type: str | None = None
    language: str | None = None
    title: str | None = None
    creation: str | None = None
    size: int | None = None
    hash: str | None = None  # the hospital's SHA-1, base64, as it sent it
    url: str | None = None  # where the hospital keeps the bytes
    format: Coding | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class HospitalDocument:
    """A document the hospital holds for the client: a discharge summary (LOINC 18842-5), a note, a letter."""

    id: str
    client_id: str
    status: str
    type: Concept | None = None
    categories: tuple[Concept, ...] = ()
    doc_status: str | None = None
    date: str | None = None
    description: str | None = None
    authors: tuple[Reference, ...] = ()
    authenticator: Reference | None = None
    custodian: Reference | None = None
    identifiers: tuple[SourceIdentifier, ...] = ()
    master_identifier: SourceIdentifier | None = None
    encounters: tuple[Reference, ...] = ()
    period: Period | None = None
    facility_type: Concept | None = None
    practice_setting: Concept | None = None
    security_labels: tuple[Concept, ...] = ()
    contents: tuple[DocumentContent, ...] = ()
    sensitive: bool = False


@dataclass(frozen=True)
class Participant:
    """Who takes part in an appointment; `patient`: the client (whose Patient the actor is)."""

    status: str
    actor: Reference | None = None
    patient: bool = False
    types: tuple[Concept, ...] = ()
    required: str | None = None
    period: Period | None = None


@dataclass(frozen=True)
class Appointment:
    """A follow-up appointment the hospital made for the client: with whom, when, and what to bring."""

    id: str
    client_id: str
    status: str
    participants: tuple[Participant, ...] = ()
    identifiers: tuple[SourceIdentifier, ...] = ()
    service_categories: tuple[Concept, ...] = ()
    service_types: tuple[Concept, ...] = ()
    specialties: tuple[Concept, ...] = ()
    appointment_type: Concept | None = None
    reason_codes: tuple[Concept, ...] = ()
    reason_references: tuple[Reference, ...] = ()
    cancelation_reason: Concept | None = None
    priority: int | None = None
    description: str | None = None
    start: str | None = None
    end: str | None = None
    minutes_duration: int | None = None
    created: str | None = None
    comment: str | None = None
    patient_instruction: str | None = None
    based_on: tuple[Reference, ...] = ()
    sensitive: bool = False


DISCHARGE_SUMMARY = Coding("18842-5", "http://loinc.org", "Discharge summary")


def is_discharge_summary(document: HospitalDocument) -> bool:
    codings = document.type.codings if document.type else ()
    return any(c.code == DISCHARGE_SUMMARY.code and c.system == DISCHARGE_SUMMARY.system for c in codings)
