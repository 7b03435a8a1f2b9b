"""A stored record → the FHIR R4 resources it shows as on /fhir (and, later, in the EHR).

References between our resources are literal and relative (`Patient/<uuid>`): every record a record
refers to is checked to exist before it is stored, and ids are derived from business identifiers.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter.domain import records as r
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.engine import JSON, MapContext
from fhir_adapter.mapping.errors import FhirValidationError
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.to_fhir_assessment import (
    questionnaire_for,
    to_fhir_observations,
    to_fhir_questionnaire_response,
)
from fhir_adapter.mapping.to_fhir_care_plan import goal_record_id, to_fhir_care_plan, to_fhir_goal
from fhir_adapter.mapping.to_fhir_episode import to_fhir_care_team, to_fhir_episode_of_care
from fhir_adapter.mapping.to_fhir_patient import to_fhir_patient
from fhir_adapter.mapping.to_fhir_referral import to_fhir_service_request, to_fhir_task
from fhir_adapter.mapping.validation import validate_resource
from fhir_adapter.service.kinds import RESOURCE_TYPES


class StoredContext(MapContext):
    """References to our records are literal: Type/<uuid of the record>."""

    def reference(self, kind: str, record_id: str, resource_type: str, display: str | None = None) -> JSON:
        ref: JSON = {"reference": f"{RESOURCE_TYPES[kind]}/{self.identity.uuid(kind, record_id)}"}
        if display:
            ref["display"] = display
        return ref


def _parts(kind: str, record: Any, ctx: MapContext) -> list[tuple[str, str, JSON]]:
    """(identity kind, record id, resource) for every resource of one record."""
    if kind == "client":
        return [("client", record.id, to_fhir_patient(record, ctx))]
    if kind == "episode":
        team = to_fhir_care_team(record, ctx)
        parts = [("episode", record.id, to_fhir_episode_of_care(record, ctx))]
        return parts + ([("care-team", record.id, team)] if team else [])
    if kind == "assessment":
        questionnaire_for(record, ctx, "kind")  # an unknown kind is the `kind` field's fault
        parts = [("assessment", record.id, to_fhir_questionnaire_response(record, ctx, ""))]
        obs = to_fhir_observations(record, ctx, "")
        return parts + [("observation", o["identifier"][0]["value"], o) for o in obs]
    if kind == "service-plan":
        goals = [
            ("goal", goal_record_id(record.id, g.id), to_fhir_goal(g, record, ctx)) for g in record.goals
        ]
        return [("service-plan", record.id, to_fhir_care_plan(record, ctx)), *goals]
    if kind == "referral":
        return [
            ("referral", record.id, to_fhir_service_request(record, ctx)),
            ("referral-task", record.id, to_fhir_task(record, ctx)),
        ]
    raise ValueError(f"no projection for {kind}")


def project(kind: str, record: Any, catalogue: Catalogue, identity: Identity) -> list[JSON]:
    """The resources of one record, with their deterministic ids, each validated in every layer.

    Raises MappingError naming the record's field at fault (paths relative to the record: `.items[2]`),
    FhirValidationError when a resource would not be valid."""
    ctx = StoredContext(catalogue, identity, client_of(record))
    out = []
    issues = []
    for part_kind, record_id, resource in _parts(kind, record, ctx):
        resource = {
            "resourceType": resource["resourceType"],
            "id": identity.uuid(part_kind, record_id),
            **resource,
        }
        issues += [i for i in validate_resource(resource, catalogue) if i.severity == "error"]
        out.append(resource)
    if issues:
        raise FhirValidationError(issues)
    return out


def patient_id(client_id: str, identity: Identity) -> str:
    return identity.uuid("client", client_id)


def client_of(record: Any) -> str:
    """The client a record belongs to: a client record is its own."""
    return record.id if isinstance(record, r.Client) else str(record.client_id)
