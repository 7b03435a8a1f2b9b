"""The kinds of case-management record the service stores, with their contract schema and FHIR face."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

from fhir_adapter.api.schemas.assessment import AssessmentSchema
from fhir_adapter.api.schemas.client import ClientSchema
from fhir_adapter.api.schemas.episode import CaseEpisodeSchema
from fhir_adapter.api.schemas.plan import ServicePlanSchema
from fhir_adapter.api.schemas.referral import ReferralSchema


@dataclass(frozen=True)
class Kind:
    name: str  # the record kind, as in business identifiers: client, episode, ...
    collection: str  # the API path segment: clients, episodes, ...
    label: str
    schema: type[Schema]
    fhir_type: str  # the resource the record mainly shows as; its scopes guard the API collection
    subtype: str | None = None  # the field a list can be filtered by besides status


KINDS = {
    k.name: k
    for k in (
        Kind("client", "clients", "client", ClientSchema, "Patient"),
        Kind("episode", "episodes", "case episode", CaseEpisodeSchema, "EpisodeOfCare", "case_type"),
        Kind("assessment", "assessments", "assessment", AssessmentSchema, "QuestionnaireResponse", "kind"),
        Kind("service-plan", "service-plans", "service plan", ServicePlanSchema, "CarePlan", "plan_type"),
        Kind("referral", "referrals", "referral", ReferralSchema, "ServiceRequest", "service_type"),
    )
}

# The resource type each identity kind becomes (identity kinds include the records' parts: goal, task...).
RESOURCE_TYPES = {
    "client": "Patient",
    "episode": "EpisodeOfCare",
    "care-team": "CareTeam",
    "assessment": "QuestionnaireResponse",
    "observation": "Observation",
    "service-plan": "CarePlan",
    "goal": "Goal",
    "referral": "ServiceRequest",
    "referral-task": "Task",
}
