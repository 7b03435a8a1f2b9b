"""EpisodeOfCare (+ its CareTeam) → case episode (https://hl7.org/fhir/R4/episodeofcare.html)."""

from __future__ import annotations

from fhir_adapter.domain.records import CareTeamMember, CaseEpisode
from fhir_adapter.mapping.from_fhir_common import (
    JSON,
    ReverseContext,
    is_sensitive,
    key_for_concept,
    period_from,
    report_unhandled,
)

HANDLED = frozenset({"identifier", "status", "type", "patient", "period", "careManager", "team"})
TEAM_HANDLED = frozenset({"contained", "identifier", "status", "name", "subject", "period", "participant"})


def from_fhir_episode_of_care(
    resource: JSON, ctx: ReverseContext, path: str = "EpisodeOfCare"
) -> CaseEpisode | None:
    report_unhandled(ctx, resource, HANDLED, path)
    types = (key_for_concept(ctx, "case_types", concept) for concept in resource.get("type", []))
    case_type = next((t for t in types if t), None)
    if case_type is None:
        ctx.report(path, "no case type we know (EpisodeOfCare.type): the episode is not carried")
        return None
    status = ctx.catalogue.tables["episode_status"].key_for_code("episodeofcare", resource.get("status", ""))
    if status is None:
        ctx.report(
            f"{path}.status", f"status {resource.get('status')} has no case-episode meaning: kept as active"
        )
    return CaseEpisode(
        id=ctx.record_id(resource, "episode", path),
        client_id=ctx.client_of(resource.get("patient"), f"{path}.patient"),
        case_type=case_type,
        status=status or "active",
        case_manager=ctx.person(resource.get("careManager"), f"{path}.careManager"),
        period=period_from(resource.get("period")),
        care_team=tuple(_team(resource, ctx, path)),
        sensitive=is_sensitive(resource),
    )


def _team(resource: JSON, ctx: ReverseContext, path: str) -> list[CareTeamMember]:
    members: list[CareTeamMember] = []
    for i, ref in enumerate(resource.get("team", [])):
        team = ctx.resolve(ref)
        if team is None:
            ctx.report(f"{path}.team[{i}]", "the care team is not in the input: its members are not carried")
            continue
        members += from_fhir_care_team(team, ctx, f"{path}.team[{i}]")
    return members


def from_fhir_care_team(team: JSON, ctx: ReverseContext, path: str) -> list[CareTeamMember]:
    report_unhandled(ctx, team, TEAM_HANDLED, path)
    contained = {f"#{c.get('id')}": c for c in team.get("contained", [])}
    members = []
    for i, participant in enumerate(team.get("participant", [])):
        where = f"{path}.participant[{i}]"
        member = participant.get("member") or {}
        practitioner = contained.get(member.get("reference", "")) or ctx.resolve(member) or {}
        name = member.get("display") or next((n.get("text") for n in practitioner.get("name", [])), None)
        if not name:
            ctx.report(where, "a participant without a name is not carried")
            continue
        role = None
        for concept in participant.get("role", []):
            role = role or key_for_concept(ctx, "care_team_roles", concept)
        if role is None:
            ctx.report(f"{where}.role", "no role we know: kept as other")
        phone = next(
            (t.get("value") for t in practitioner.get("telecom", []) if t.get("system") == "phone"), None
        )
        members.append(
            CareTeamMember(
                role=role or "other",
                name=str(name),
                organization=(participant.get("onBehalfOf") or {}).get("display"),
                phone=phone,
            )
        )
    return members
