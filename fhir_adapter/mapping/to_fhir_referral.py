"""Referral → ServiceRequest and its referral-management Task (Gravity SDOH Clinical Care shape).

https://hl7.org/fhir/R4/servicerequest.html ; https://hl7.org/fhir/R4/task.html ;
https://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition-SDOHCC-TaskForReferralManagement.html
"""

from __future__ import annotations

import copy

from fhir_adapter.domain.records import Organization, Referral
from fhir_adapter.mapping.engine import JSON, MapContext, Scope, apply_structure, mapping_function
from fhir_adapter.mapping.to_fhir_care_plan import goal_record_id
from fhir_adapter.mapping.to_fhir_common import (
    episode_reference_extension,
    to_fhir_coding,
    to_fhir_concept,
    to_fhir_identifier,
)
from fhir_adapter.mapping.to_fhir_kept import (
    concepts,
    to_fhir_note,
    to_fhir_output,
    to_fhir_reference,
    to_fhir_timing,
)

PERTAINS_TO_GOAL = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal"
SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
RESULTING_ACTIVITY = {
    "coding": [{"system": SDOHCC_CODES, "code": "resulting-activity", "display": "Resulting Activity"}]
}


def to_fhir_service_request(referral: Referral, ctx: MapContext) -> JSON:
    return apply_structure(Scope(referral, ctx, ctx.catalogue.structures["referral_to_servicerequest"]))


def to_fhir_task(referral: Referral, ctx: MapContext) -> JSON:
    return apply_structure(Scope(referral, ctx, ctx.catalogue.structures["referral_to_task"]))


@mapping_function
def referral_extensions(scope: Scope) -> list[JSON]:
    referral: Referral = scope.record
    extensions = []
    reason = referral.reason
    if reason and reason.plan_id and reason.goal_id:
        ref = scope.ctx.reference("goal", goal_record_id(reason.plan_id, reason.goal_id), "Goal")
        extensions.append({"url": PERTAINS_TO_GOAL, "valueReference": ref})
    episode = episode_reference_extension(scope, referral)
    if episode:
        extensions.append(episode)
    return extensions


@mapping_function
def referral_category(scope: Scope) -> list[JSON]:
    if scope.record.categories:
        return [to_fhir_concept(c) for c in scope.record.categories]
    entry = scope.ctx.catalogue.tables["service_types"].entry(scope.record.service_type)
    if "category" not in entry:
        return []
    return [scope.ctx.catalogue.tables["observation_categories"].concept(entry["category"])]


@mapping_function
def referral_code(scope: Scope) -> JSON:
    """The service's code; a referral for another coded service carries the coding it came with."""
    referral: Referral = scope.record
    if referral.code:  # the hospital's concept, as it sent it
        return to_fhir_concept(referral.code)
    concept = scope.ctx.catalogue.tables["service_types"].concept(referral.service_type)
    if referral.service_coding:
        concept = {"coding": [to_fhir_coding(referral.service_coding)]}
        if referral.service_coding.display:
            concept["text"] = referral.service_coding.display
    return concept


@mapping_function
def referral_performer(scope: Scope) -> list[JSON]:
    target = scope.record.target
    if target is None:
        return []
    return [organization_reference(target, scope)]


def organization_reference(target: Organization, scope: Scope) -> JSON:
    ref: JSON = {"type": "Organization", "display": target.name}
    if target.identifier:
        ref["identifier"] = to_fhir_identifier(target.identifier)
    return ref


@mapping_function
def referral_reason_code(scope: Scope) -> list[JSON]:
    """Every reasonCode the hospital sent, whole; otherwise the coded problem or words of our reason."""
    if scope.record.reason_codes:
        return concepts(scope.record.reason_codes)
    reason = scope.record.reason
    if reason is None or not (reason.problem or reason.text):
        return []
    concept: JSON = {}
    if reason.problem:
        concept["coding"] = [to_fhir_coding(reason.problem)]
    if reason.text:
        concept["text"] = reason.text
    return [concept]


@mapping_function
def referral_reason_reference(scope: Scope) -> list[JSON]:
    return [to_fhir_reference(r) for r in scope.record.reason_references]


@mapping_function
def referral_note(scope: Scope) -> list[JSON]:
    """The notes as written (author, time) when the record keeps them; otherwise the note's words."""
    if scope.record.notes:
        return [to_fhir_note(n) for n in scope.record.notes]
    return [{"text": scope.record.note}] if scope.record.note else []


@mapping_function
def referral_occurrence(scope: Scope) -> str | None:
    """When the hospital said it happens, where the referral has no period (one occurrence[x] only)."""
    referral: Referral = scope.record
    return referral.occurrence if referral.period is None else None


@mapping_function
def referral_occurrence_timing(scope: Scope) -> JSON | None:
    referral: Referral = scope.record
    if referral.period is not None or referral.occurrence or referral.occurrence_timing is None:
        return None
    return to_fhir_timing(referral.occurrence_timing)


@mapping_function
def task_status_reason(scope: Scope) -> JSON | None:
    """The hospital's coded reason whole (with our words for it), or the words alone."""
    referral: Referral = scope.record
    if referral.status_reason_code is not None:
        concept = to_fhir_concept(referral.status_reason_code)
        if referral.status_reason and "text" not in concept:
            concept["text"] = referral.status_reason
        return concept
    return {"text": referral.status_reason} if referral.status_reason else None


@mapping_function
def task_business_status(scope: Scope) -> JSON | None:
    status = scope.record.business_status
    return to_fhir_concept(status) if status is not None else None


@mapping_function
def task_focus(scope: Scope) -> JSON:
    return scope.ctx.reference("referral", scope.record.id, "ServiceRequest")


@mapping_function
def task_last_modified(scope: Scope) -> str | None:
    referral: Referral = scope.record
    return referral.status_changed_at


@mapping_function
def task_owner(scope: Scope) -> JSON | None:
    target = scope.record.target
    return organization_reference(target, scope) if target else None


@mapping_function
def task_output(scope: Scope) -> list[JSON]:
    """The outputs the hospital's Task reported, whole; otherwise the outcome as a resulting activity."""
    if scope.record.outputs:
        return [to_fhir_output(o) for o in scope.record.outputs]
    outcome = scope.record.outcome
    return [{"type": copy.deepcopy(RESULTING_ACTIVITY), "valueString": outcome}] if outcome else []
