"""Case episode → EpisodeOfCare and CareTeam (https://hl7.org/fhir/R4/episodeofcare.html, careteam.html)."""

from __future__ import annotations

from fhir_adapter.domain.records import CaseEpisode
from fhir_adapter.mapping.engine import JSON, MapContext, Scope, apply_structure, mapping_function
from fhir_adapter.mapping.to_fhir_common import person_reference


def to_fhir_episode_of_care(episode: CaseEpisode, ctx: MapContext) -> JSON:
    return apply_structure(Scope(episode, ctx, ctx.catalogue.structures["episode_to_episodeofcare"]))


def to_fhir_care_team(episode: CaseEpisode, ctx: MapContext) -> JSON | None:
    """The episode's care team, or None when the episode names no providers."""
    if not episode.care_team:
        return None
    return apply_structure(Scope(episode, ctx, ctx.catalogue.structures["episode_to_careteam"]))


@mapping_function
def episode_type(scope: Scope) -> list[JSON]:
    return [scope.ctx.catalogue.tables["case_types"].concept(scope.record.case_type)]


@mapping_function
def case_manager_reference(scope: Scope) -> JSON | None:
    return person_reference(scope.record.case_manager, scope)


@mapping_function
def episode_team(scope: Scope) -> list[JSON]:
    if not scope.record.care_team:
        return []
    return [scope.ctx.reference("care-team", scope.record.id, "CareTeam")]


@mapping_function
def care_team_name(scope: Scope) -> str:
    display = scope.ctx.catalogue.tables["case_types"].entry(scope.record.case_type)["display"]
    return f"Care team: {display}"


@mapping_function
def care_team_practitioners(scope: Scope) -> list[JSON]:
    """Providers are contained Practitioners, so each participant's member resolves (ctm-1)."""
    contained = []
    for i, member in enumerate(scope.record.care_team, start=1):
        practitioner: JSON = {
            "resourceType": "Practitioner",
            "id": f"member-{i}",
            "name": [{"text": member.name}],
        }
        if member.phone:
            practitioner["telecom"] = [{"system": "phone", "value": member.phone}]
        contained.append(practitioner)
    return contained


@mapping_function
def care_team_participants(scope: Scope) -> list[JSON]:
    roles = scope.ctx.catalogue.tables["care_team_roles"]
    participants = []
    for i, member in enumerate(scope.record.care_team, start=1):
        participant: JSON = {
            "role": [roles.concept(member.role)],
            "member": {"reference": f"#member-{i}", "display": member.name},
        }
        if member.organization:
            participant["onBehalfOf"] = {"display": member.organization}
        participants.append(participant)
    return participants
