"""What delivery works with: the EHRs, the links from clients to their patients there, the ledger of what
was sent, the outbox's jobs and the admissions that queue them, each with its states.

The states are `StrEnum`s: a member is the very string stored in the database and written in JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fhir_adapter.domain.events import Coded


class JobState(StrEnum):
    PENDING = "pending"
    LEASED = "leased"  # claimed by a worker until its lease runs out
    DELIVERED = "delivered"
    DEAD = "dead"  # a dead letter: listed, explained, replayable
    WITHHELD = "withheld"  # every resource it carried is one the EHR's policy holds back
    REPLAYED = "replayed"  # a dead or withheld job queued again as a new one
    WITHDRAWN = "withdrawn"  # taken back before it was sent


OPEN = (JobState.PENDING, JobState.LEASED)  # a job still to be sent
REPLAYABLE = (JobState.DEAD, JobState.WITHHELD)
STATES = tuple(s.value for s in JobState)  # plain strings, for what lists them (argparse shows their repr)


class JobAction(StrEnum):
    PUSH = "push"  # write the resources as they are now
    RETRACT = "retract"  # take back what was sent
    PULL = "pull"  # read back what the EHR has


class LedgerAction(StrEnum):
    """What a ledger row says became of one resource in one EHR."""

    PUT = "PUT"
    DELETE = "DELETE"
    WITHHELD = "WITHHELD"  # not sent: the EHR's policy holds it back
    NOT_SENT = "NOT_SENT"  # the EHR takes no resource of its type (a Questionnaire our responses name)
    DOCUMENT = "DOCUMENT"  # carried in its record's document (the row names the DocumentReference's id)


class AdmissionState(StrEnum):
    ADMITTED = "admitted"
    REGISTERED = "registered"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Ehr:
    org_id: str
    id: str
    base_url: str
    auth: str  # smart | bearer | none
    client_id: str | None = None
    scope: str | None = None
    token_url: str | None = None
    bearer_token: str | None = None
    send_restricted: bool = False
    mrn_system: str | None = None  # the FHIR identifier system of its medical record numbers
    mrn_authority: str | None = None  # their HL7 v2 assigning authority (PID-3.4)


@dataclass(frozen=True)
class Link:
    org_id: str
    client_id: str
    ehr_id: str
    patient_id: str  # the EHR's Patient id; empty until found by the MRN in the EHR
    mrn: str | None
    assigner: str | None
    created_at: str
    made_by_visit: str | None = None  # made by that visit's admission (a person's link: None)
    ended_at: str | None = None  # that admission was cancelled: nothing more is sent to the EHR

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class Sent:
    """The last thing the ledger knows about one of our resources in one EHR."""

    ehr_resource_id: str | None
    ehr_version_id: str | None
    action: LedgerAction


@dataclass(frozen=True)
class Job:
    id: int
    org_id: str
    ehr_id: str
    client_id: str
    cause: str
    resources: list[tuple[str, str]]
    state: JobState
    attempts: int
    not_before: str
    lease_token: str | None
    last_reason: str | None
    last_error: Any
    replayed_by: int | None
    created_at: str
    finished_at: str | None
    claimed_at: str | None
    batch_head: int | None = None  # the job it was last claimed with, when not itself
    action: JobAction = JobAction.PUSH
    context: dict[str, Any] | None = None  # the EHR's encounter, the time a pull reads from
    # A claim: every job it holds with its own resources, this one first (`resources` is their union).
    members: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = ()


@dataclass(frozen=True)
class Admission:
    """One hospital visit of a client in an EHR, with the jobs its events queued (to undo)."""

    id: int
    org_id: str
    ehr_id: str
    client_id: str
    visit_number: str
    state: AdmissionState
    encounter_id: str | None = None
    class_code: str | None = None
    location: str | None = None
    admit_source: str | None = None
    admitted_at: str | None = None
    discharged_at: str | None = None
    disposition: Coded | None = None
    jobs: dict[str, list[int]] = field(default_factory=dict)
    updated_at: str = ""
    encounter_sought_at: str | None = None  # the EHR had no Encounter with the visit number then
