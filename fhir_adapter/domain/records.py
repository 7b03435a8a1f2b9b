"""Case-management records: client, case episode, assessment, service plan, referral."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fhir_adapter.domain.concepts import Coding, Concept, Note, Output, Reference, Schedule, SourceIdentifier

__all__ = ["Coding", "Concept", "Note", "Output", "Reference", "Schedule", "SourceIdentifier"]

Gender = Literal["male", "female", "other", "unknown"]
AnswerKind = Literal[
    "text",
    "boolean",
    "integer",
    "decimal",
    "date",
    "choice",
    "coding",
    "quantity",
    "datetime",
    "time",
    "uri",
    "reference",
]
ReferralStatus = Literal["draft", "sent", "accepted", "declined", "in-progress", "completed", "cancelled"]


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    system: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Period:
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class Identifier:
    """An identifier another system gave the client, e.g. a hospital MRN and its assigning authority."""

    system: str
    value: str
    type: str = "MR"
    assigner: str | None = None


@dataclass(frozen=True)
class Name:
    text: str | None = None
    family: str | None = None
    given: tuple[str, ...] = ()
    use: str | None = None


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...] = ()
    city: str | None = None
    district: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    use: str | None = None


@dataclass(frozen=True)
class Telecom:
    system: str
    value: str
    use: str | None = None


@dataclass(frozen=True)
class Contact:
    """A family member or other person to contact about the client."""

    relationship: str
    name: Name | None = None
    telecom: tuple[Telecom, ...] = ()
    address: Address | None = None


@dataclass(frozen=True)
class Client:
    id: str
    names: tuple[Name, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    birth_date: str | None = None
    gender: Gender | None = None
    language: str | None = None
    addresses: tuple[Address, ...] = ()
    telecom: tuple[Telecom, ...] = ()
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True)
class Person:
    """Someone acting in a case: a case manager, a provider, an assessor."""

    name: str
    id: str | None = None


@dataclass(frozen=True)
class CareTeamMember:
    """A current provider from the health assessment: primary care, dentist, psychiatrist, ..."""

    role: str
    name: str
    organization: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class CaseEpisode:
    id: str
    client_id: str
    case_type: str
    status: str = "active"
    case_manager: Person | None = None
    period: Period | None = None
    care_team: tuple[CareTeamMember, ...] = ()
    sensitive: bool = False


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    value: str | bool | int | float | Coding | Quantity | Reference


@dataclass(frozen=True)
class AssessmentItem:
    link_id: str
    answers: tuple[Answer, ...] = ()
    # An external instrument's item: its words, and the linkIds of the items it is nested in.
    text: str | None = None
    parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    id: str
    client_id: str
    kind: str
    status: str
    date: str
    items: tuple[AssessmentItem, ...] = ()
    episode_id: str | None = None
    author: Person | None = None
    sensitive: bool = False
    # kind "external": a response to an instrument we do not hold, named by its canonical.
    questionnaire: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class GoalTarget:
    """What success looks like: the measure tracked and the value hoped for."""

    measure: str
    detail: str | None = None


@dataclass(frozen=True)
class Goal:
    id: str
    description: str
    lifecycle_status: str = "active"
    achievement_status: str | None = None
    target: GoalTarget | None = None
    start_date: str | None = None
    due_date: str | None = None
    # As the EHR sent it: the description's codings, its categories, its identifiers.
    description_code: Concept | None = None
    categories: tuple[Concept, ...] = ()
    identifiers: tuple[SourceIdentifier, ...] = ()


@dataclass(frozen=True)
class Activity:
    """An intervention or activity of the plan, with who is responsible and when."""

    id: str
    kind: str
    status: str
    description: str | None = None
    responsible: str | None = None
    schedule: str | None = None
    period: Period | None = None
    goal_ids: tuple[str, ...] = ()
    code: Concept | None = None  # the activity's code as the EHR sent it
    timing: Schedule | None = None  # its scheduledTiming whole


@dataclass(frozen=True)
class ServicePlan:
    id: str
    client_id: str
    status: str
    period: Period
    next_review: str
    plan_type: str | None = None
    version: int = 1
    title: str | None = None
    episode_id: str | None = None
    author: Person | None = None
    goals: tuple[Goal, ...] = ()
    activities: tuple[Activity, ...] = ()
    sensitive: bool = False
    # As the EHR sent it: its identifiers, categories, description, what it addresses, notes.
    identifiers: tuple[SourceIdentifier, ...] = ()
    categories: tuple[Concept, ...] = ()
    description: str | None = None
    addresses: tuple[Reference, ...] = ()
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Organization:
    name: str
    identifier: Identifier | None = None


@dataclass(frozen=True)
class ReferralReason:
    """Why the referral was made: a goal of a plan, a coded problem, or words."""

    plan_id: str | None = None
    goal_id: str | None = None
    problem: Coding | None = None
    text: str | None = None


@dataclass(frozen=True)
class Referral:
    id: str
    client_id: str
    service_type: str
    status: ReferralStatus
    authored_on: str
    priority: str = "routine"
    service_coding: Coding | None = None
    reason: ReferralReason | None = None
    target: Organization | None = None
    status_reason: str | None = None
    outcome: str | None = None
    status_changed_at: str | None = None
    period: Period | None = None
    episode_id: str | None = None
    requester: Person | None = None
    note: str | None = None
    sensitive: bool = False
    # As the EHR sent it, beside what our vocabulary makes of it.
    identifiers: tuple[SourceIdentifier, ...] = ()
    code: Concept | None = None
    categories: tuple[Concept, ...] = ()
    reason_codes: tuple[Concept, ...] = ()
    reason_references: tuple[Reference, ...] = ()
    occurrence: str | None = None
    occurrence_timing: Schedule | None = None
    notes: tuple[Note, ...] = ()
    status_reason_code: Concept | None = None
    business_status: Concept | None = None
    outputs: tuple[Output, ...] = ()
    # The EHR owns its Task's status: its word is recorded, and the steps it skipped are named.
    status_by_ehr: bool = False
    skipped_statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReferralUpdate:
    """What the receiving side says of a referral: its state, why, the outcome and when."""

    referral_id: str
    status: ReferralStatus
    status_reason: str | None = None
    outcome: str | None = None
    changed_at: str | None = None
    status_reason_code: Concept | None = None
    business_status: Concept | None = None
    outputs: tuple[Output, ...] = ()


@dataclass(frozen=True)
class CaseFile:
    """One client with the records to carry: what `fhir-adapter map` takes."""

    client: Client
    episodes: tuple[CaseEpisode, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    service_plans: tuple[ServicePlan, ...] = ()
    referrals: tuple[Referral, ...] = ()
