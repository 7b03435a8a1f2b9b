"""A case file → one FHIR R4 transaction Bundle whose entries are idempotent writes.

Every entry's fullUrl is urn:uuid:<UUIDv5 of the record>, so references inside the Bundle resolve and
re-sending the same case file produces the same Bundle. Two write modes (DESIGN.md §5):
- "conditional": PUT Type?identifier=system|value — the server finds or creates by business identifier;
- "put": PUT Type/<uuid> with resource.id = <uuid>, for servers that accept client-assigned ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import orjson

from fhir_adapter.domain.records import CaseFile
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.engine import JSON, MapContext
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.to_fhir_assessment import (
    questionnaire_for,
    to_fhir_observations,
    to_fhir_questionnaire_response,
)
from fhir_adapter.mapping.to_fhir_care_plan import goal_record_id, to_fhir_care_plan, to_fhir_goal
from fhir_adapter.mapping.to_fhir_episode import to_fhir_care_team, to_fhir_episode_of_care
from fhir_adapter.mapping.to_fhir_external import is_external
from fhir_adapter.mapping.to_fhir_patient import to_fhir_patient
from fhir_adapter.mapping.to_fhir_referral import to_fhir_service_request, to_fhir_task

WriteMode = Literal["conditional", "put"]


@dataclass(frozen=True)
class Mapped:
    """One resource with the identity it was written under."""

    kind: str
    record_id: str
    resource: JSON


def _index(case: CaseFile, identity: Identity) -> dict[tuple[str, str], str]:
    """The fullUrl of every record the Bundle will hold, so references can be made before resources exist."""
    keys = [("client", case.client.id)]
    for e in case.episodes:
        keys.append(("episode", e.id))
        if e.care_team:
            keys.append(("care-team", e.id))
    keys += [("assessment", a.id) for a in case.assessments]
    for p in case.service_plans:
        keys.append(("service-plan", p.id))
        keys += [("goal", goal_record_id(p.id, g.id)) for g in p.goals]
    for r in case.referrals:
        keys += [("referral", r.id), ("referral-task", r.id)]
    return {key: f"urn:uuid:{identity.uuid(*key)}" for key in keys}


def map_case_file(case: CaseFile, ctx: MapContext) -> Iterator[Mapped]:
    """Every resource of the case file, referenced resources first."""
    kinds_used: dict[str, None] = {}
    for i, assessment in enumerate(case.assessments):
        if is_external(assessment):  # its Questionnaire is the hospital's, not ours to publish
            continue
        kinds_used.setdefault(questionnaire_for(assessment, ctx, f"assessments[{i}].kind").kind)
    for kind in kinds_used:
        q = ctx.catalogue.questionnaires[kind]
        # A copy, so that whoever edits the Bundle cannot edit the catalogue (orjson: 6x faster than deepcopy).
        yield Mapped(
            "questionnaire",
            f"{q.kind}-{q.version}",
            orjson.loads(orjson.dumps(ctx.catalogue.published[kind])),
        )
    yield Mapped("client", case.client.id, to_fhir_patient(case.client, ctx))
    for episode in case.episodes:
        care_team = to_fhir_care_team(episode, ctx)
        if care_team:
            yield Mapped("care-team", episode.id, care_team)
        yield Mapped("episode", episode.id, to_fhir_episode_of_care(episode, ctx))
    for i, assessment in enumerate(case.assessments):
        path = f"assessments[{i}]"
        yield Mapped("assessment", assessment.id, to_fhir_questionnaire_response(assessment, ctx, path))
        for obs in to_fhir_observations(assessment, ctx, path):
            yield Mapped("observation", obs["identifier"][0]["value"], obs)
    for plan in case.service_plans:
        for goal in plan.goals:
            yield Mapped("goal", goal_record_id(plan.id, goal.id), to_fhir_goal(goal, plan, ctx))
        yield Mapped("service-plan", plan.id, to_fhir_care_plan(plan, ctx))
    for referral in case.referrals:
        yield Mapped("referral", referral.id, to_fhir_service_request(referral, ctx))
        yield Mapped("referral-task", referral.id, to_fhir_task(referral, ctx))


def escape_token(value: str) -> str:
    """A search token value with FHIR's escapes for \\, |, $ and , (https://hl7.org/fhir/R4/search.html#escaping)."""
    for char in ("\\", "|", "$", ","):
        value = value.replace(char, "\\" + char)
    return value


def request_for(mapped: Mapped, identity: Identity, mode: WriteMode, uuid: str) -> JSON:
    rtype = mapped.resource["resourceType"]
    if mode == "put":
        return {"method": "PUT", "url": f"{rtype}/{uuid}"}
    if rtype == "Questionnaire":
        url, version = mapped.resource["url"], mapped.resource["version"]
        return {
            "method": "PUT",
            "url": f"Questionnaire?url={quote(url, safe=':/')}&version={quote(version, safe='')}",
        }
    token = (
        f"{quote(identity.system(mapped.kind), safe=':/')}|{quote(escape_token(mapped.record_id), safe='')}"
    )
    return {"method": "PUT", "url": f"{rtype}?identifier={token}"}


def to_fhir_bundle(
    case: CaseFile, catalogue: Catalogue, identity: Identity, mode: WriteMode = "conditional"
) -> JSON:
    """The transaction Bundle for a case file. Raises MappingError naming the input field at fault."""
    ctx = MapContext(catalogue, identity, case.client.id, _index(case, identity))
    entries = []
    for mapped in map_case_file(case, ctx):
        uuid = identity.uuid(mapped.kind, mapped.record_id)
        resource = mapped.resource
        if mode == "put":
            resource = {"resourceType": resource["resourceType"], "id": uuid, **resource}
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid}",
                "resource": resource,
                "request": request_for(mapped, identity, mode, uuid),
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
