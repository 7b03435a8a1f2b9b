"""A case-management record → every FHIR resource it shows as, each with the identity it is written under:
(identity kind, record id, resource). The projectors the table of kinds (mapping/kinds.py) names."""

from __future__ import annotations

from fhir_adapter.domain.packet import Appointment, HospitalDocument
from fhir_adapter.domain.records import Assessment, CaseEpisode, Client, Referral, ServicePlan
from fhir_adapter.mapping.engine import JSON, MapContext
from fhir_adapter.mapping.to_fhir_assessment import (
    questionnaire_for,
    to_fhir_observations,
    to_fhir_questionnaire_response,
)
from fhir_adapter.mapping.to_fhir_care_plan import goal_record_id, to_fhir_care_plan, to_fhir_goal
from fhir_adapter.mapping.to_fhir_episode import to_fhir_care_team, to_fhir_episode_of_care
from fhir_adapter.mapping.to_fhir_external import is_external
from fhir_adapter.mapping.to_fhir_packet import to_fhir_appointment, to_fhir_document_reference
from fhir_adapter.mapping.to_fhir_patient import to_fhir_patient
from fhir_adapter.mapping.to_fhir_referral import to_fhir_service_request, to_fhir_task

Part = tuple[str, str, JSON]


def client_parts(client: Client, ctx: MapContext) -> list[Part]:
    return [("client", client.id, to_fhir_patient(client, ctx))]


def episode_parts(episode: CaseEpisode, ctx: MapContext) -> list[Part]:
    team = to_fhir_care_team(episode, ctx)
    parts = [("episode", episode.id, to_fhir_episode_of_care(episode, ctx))]
    return parts + ([("care-team", episode.id, team)] if team else [])


def assessment_parts(assessment: Assessment, ctx: MapContext) -> list[Part]:
    if not is_external(assessment):
        questionnaire_for(assessment, ctx, "kind")  # an unknown kind is the `kind` field's fault
    parts = [("assessment", assessment.id, to_fhir_questionnaire_response(assessment, ctx, ""))]
    observations = to_fhir_observations(assessment, ctx, "")
    return parts + [("observation", o["identifier"][0]["value"], o) for o in observations]


def plan_parts(plan: ServicePlan, ctx: MapContext) -> list[Part]:
    goals = [("goal", goal_record_id(plan.id, g.id), to_fhir_goal(g, plan, ctx)) for g in plan.goals]
    return [("service-plan", plan.id, to_fhir_care_plan(plan, ctx)), *goals]


def referral_parts(referral: Referral, ctx: MapContext) -> list[Part]:
    return [
        ("referral", referral.id, to_fhir_service_request(referral, ctx)),
        ("referral-task", referral.id, to_fhir_task(referral, ctx)),
    ]


def document_parts(document: HospitalDocument, ctx: MapContext) -> list[Part]:
    return [("hospital-document", document.id, to_fhir_document_reference(document, ctx))]


def appointment_parts(appointment: Appointment, ctx: MapContext) -> list[Part]:
    return [("appointment", appointment.id, to_fhir_appointment(appointment, ctx))]
