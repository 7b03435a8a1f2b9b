"""ServiceRequest (+ the Task that tracks it) → referral; a Task alone → a referral status update.

https://hl7.org/fhir/R4/servicerequest.html ; https://hl7.org/fhir/R4/task.html
"""

from __future__ import annotations

from typing import cast

from fhir_adapter.domain.records import (
    Coding,
    Organization,
    Referral,
    ReferralReason,
    ReferralStatus,
    ReferralUpdate,
)
from fhir_adapter.mapping.from_fhir_common import (
    JSON,
    ReverseContext,
    coding_from,
    concept_text,
    identifier_from,
    is_sensitive,
    key_for_concept,
    period_from,
    report_extensions,
    report_unhandled,
)
from fhir_adapter.mapping.to_fhir_common import EPISODE_EXTENSION
from fhir_adapter.mapping.to_fhir_referral import PERTAINS_TO_GOAL, RESULTING_ACTIVITY

HANDLED = frozenset(
    {
        "extension",
        "identifier",
        "status",
        "intent",
        "category",
        "priority",
        "code",
        "subject",
        "occurrencePeriod",
        "authoredOn",
        "requester",
        "performer",
        "reasonCode",
        "reasonReference",
        "note",
    }
)
TASK_HANDLED = frozenset(
    {
        "identifier",
        "status",
        "statusReason",
        "intent",
        "priority",
        "code",
        "focus",
        "for",
        "authoredOn",
        "lastModified",
        "requester",
        "owner",
        "output",
        "businessStatus",
    }
)
PRIORITIES = frozenset({"routine", "urgent", "asap", "stat"})


def from_fhir_task(task: JSON, ctx: ReverseContext, path: str = "Task") -> ReferralUpdate | None:
    report_unhandled(ctx, task, TASK_HANDLED, path)
    referral_id = ctx.ref_id(task.get("focus"), "referral")
    focus = ctx.resolve(task.get("focus"))
    if referral_id is None and focus is not None and focus.get("resourceType") == "ServiceRequest":
        referral_id = ctx.record_id(focus, "referral", f"{path}.focus")
    literal = str((task.get("focus") or {}).get("reference", ""))
    if referral_id is None and literal.startswith("ServiceRequest/"):
        referral_id = literal.split("/")[1]
        ctx.report(f"{path}.focus", f"updates the referral the EHR created as {literal}", "information")
    if referral_id is None:
        ctx.report(f"{path}.focus", "the Task's ServiceRequest is neither ours nor in the input: not carried")
        return None
    status = ctx.catalogue.tables["referral_status"].key_for_code("task", task.get("status", ""))
    if status is None:
        ctx.report(f"{path}.status", f"Task status {task.get('status')} has no referral meaning: not carried")
        return None
    if task.get("businessStatus"):
        ctx.report(
            f"{path}.businessStatus", f"business status {concept_text(task['businessStatus'])} is not carried"
        )
    return ReferralUpdate(
        referral_id=referral_id,
        status=cast(ReferralStatus, status),
        status_reason=concept_text(task.get("statusReason")),
        outcome=_outcome(task, ctx, path),
        changed_at=task.get("lastModified"),
    )


def _outcome(task: JSON, ctx: ReverseContext, path: str) -> str | None:
    """The Task's text outputs, joined; one of a type other than Gravity's resulting-activity is noted."""
    outcomes = []
    for i, output in enumerate(task.get("output", [])):
        text = output.get("valueString")
        if not text:
            ctx.report(f"{path}.output[{i}]", "only text outputs are carried as the outcome")
            continue
        outcomes.append(str(text))
        if output.get("type", {}).get("coding") != RESULTING_ACTIVITY["coding"]:
            ctx.report(
                f"{path}.output[{i}].type",
                "an output of another type is carried as the outcome",
                "information",
            )
    return "; ".join(outcomes) or None


def from_fhir_service_request(
    resource: JSON, ctx: ReverseContext, task: JSON | None = None, path: str = "ServiceRequest"
) -> Referral | None:
    report_unhandled(ctx, resource, HANDLED, path)
    report_extensions(ctx, resource, frozenset({EPISODE_EXTENSION, PERTAINS_TO_GOAL}), path)
    if resource.get("intent") not in ("order", "original-order", "plan", "proposal", "directive"):
        ctx.report(f"{path}.intent", f"intent {resource.get('intent')} is kept as a referral")
    update = from_fhir_task(task, ctx, f"{path}→Task") if task else None
    status = update.status if update else _status(resource, ctx, path)
    authored = resource.get("authoredOn") or (task or {}).get("authoredOn")
    if status is None or not authored:
        ctx.report(path, "a referral needs a status with a referral meaning and an authoredOn: not carried")
        return None
    service_type, service_coding = _service(resource, ctx, path)
    priority = resource.get("priority", "routine")
    notes = [n["text"] for n in resource.get("note", []) if n.get("text")]
    if len(notes) > 1:
        ctx.report(f"{path}.note", "notes are joined into one", "information")
    return Referral(
        id=ctx.record_id(resource, "referral", path),
        client_id=ctx.client_of(resource.get("subject"), f"{path}.subject"),
        service_type=service_type,
        status=cast(ReferralStatus, status),
        authored_on=str(authored),
        priority=priority if priority in PRIORITIES else "routine",
        service_coding=service_coding,
        reason=_reason(resource, ctx, path),
        target=_target(resource, task, ctx, path),
        status_reason=update.status_reason if update else None,
        outcome=update.outcome if update else None,
        status_changed_at=update.changed_at if update else None,
        period=period_from(resource.get("occurrencePeriod")),
        episode_id=ctx.episode_of(resource, path),
        requester=ctx.person(resource.get("requester"), f"{path}.requester"),
        note="\n".join(notes) or None,
        sensitive=is_sensitive(resource),
    )


def _status(resource: JSON, ctx: ReverseContext, path: str) -> str | None:
    found = ctx.catalogue.tables["referral_status"].key_for_code("servicerequest", resource.get("status", ""))
    if found is None:
        ctx.report(f"{path}.status", f"status {resource.get('status')} has no referral meaning")
    return found


def _service(resource: JSON, ctx: ReverseContext, path: str) -> tuple[str, Coding | None]:
    code = resource.get("code") or {}
    key = key_for_concept(ctx, "service_types", code)
    if key and key != "other":
        return key, None
    codings = code.get("coding", [])
    if not codings:
        ctx.report(f"{path}.code", f"service {concept_text(code) or '(none)'} has no code: kept as other")
        return "other", None
    if len(codings) > 1:
        ctx.report(f"{path}.code", "only the first coding of the service is carried")
    coding = coding_from(codings[0], ctx, f"{path}.code.coding[0]")
    if coding is None:
        return "other", None
    if coding.display is None and code.get("text"):
        coding = Coding(code=coding.code, system=coding.system, display=str(code["text"]))
    return "other", coding


def _reason(resource: JSON, ctx: ReverseContext, path: str) -> ReferralReason | None:
    plan_id = goal_id = None
    for ext in resource.get("extension", []):
        if ext.get("url") == PERTAINS_TO_GOAL:
            qualified = ctx.ref_id(ext.get("valueReference"), "goal")
            if qualified and "/" in qualified:
                plan_id, goal_id = qualified.rsplit("/", 1)
            else:
                ctx.report(f"{path}.extension", "the goal is not one of our plan goals: not carried")
    codes = resource.get("reasonCode", [])
    if len(codes) > 1:
        ctx.report(f"{path}.reasonCode", "only the first reason is carried")
    first = codes[0] if codes else {}
    problem = (
        coding_from(first["coding"][0], ctx, f"{path}.reasonCode[0].coding[0]")
        if first.get("coding")
        else None
    )
    text = first.get("text")
    for i, ref in enumerate(resource.get("reasonReference", [])):
        ctx.report(
            f"{path}.reasonReference[{i}]",
            f"reason {ref.get('display') or ref.get('reference')} is not carried",
        )
    if not (goal_id or problem or text):
        return None
    return ReferralReason(plan_id=plan_id, goal_id=goal_id, problem=problem, text=text)


def _target(resource: JSON, task: JSON | None, ctx: ReverseContext, path: str) -> Organization | None:
    performers = resource.get("performer", [])
    if len(performers) > 1:
        ctx.report(f"{path}.performer", "only the first performer is carried")
    ref = performers[0] if performers else (task or {}).get("owner")
    if not ref:
        return None
    resolved = ctx.resolve(ref) or {}
    name = ref.get("display") or resolved.get("name")
    if not name:
        ctx.report(f"{path}.performer", "a performer without a name is not carried")
        return None
    ident = ref.get("identifier")
    kept = identifier_from(ident, ctx, f"{path}.performer.identifier", default_type="XX") if ident else None
    return Organization(name=str(name), identifier=kept)
