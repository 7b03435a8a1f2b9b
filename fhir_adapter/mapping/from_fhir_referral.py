"""ServiceRequest (+ the Task that tracks it) → referral; a Task alone → a referral status update
(from_fhir_task.py).

https://hl7.org/fhir/R4/servicerequest.html . What the hospital said is kept whole beside what our
vocabulary makes of it: the code, the categories, the reasons, its identifiers, the schedule, the notes.
"""

from __future__ import annotations

from typing import Any, cast

from fhir_adapter.domain.records import (
    Coding,
    Concept,
    Organization,
    Referral,
    ReferralReason,
    ReferralStatus,
)
from fhir_adapter.mapping.from_fhir_common import (
    JSON,
    ReverseContext,
    coding_from,
    concept_text,
    identifier_from,
    is_sensitive,
    key_for_concept,
    report_extensions,
    report_unhandled,
)
from fhir_adapter.mapping.from_fhir_task import from_fhir_task
from fhir_adapter.mapping.from_fhir_values import (
    concept_from,
    concepts_from,
    identifiers_from,
    notes_from,
    period_of,
    references_from,
    schedule_from,
)
from fhir_adapter.mapping.to_fhir_common import EPISODE_EXTENSION, to_fhir_coding
from fhir_adapter.mapping.to_fhir_referral import PERTAINS_TO_GOAL

__all__ = ["from_fhir_service_request", "from_fhir_task"]

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
        "occurrenceDateTime",
        "occurrenceTiming",
        "authoredOn",
        "requester",
        "performer",
        "reasonCode",
        "reasonReference",
        "note",
        "encounter",
    }
)
PRIORITIES = frozenset({"routine", "urgent", "asap", "stat"})


def from_fhir_service_request(
    resource: JSON, ctx: ReverseContext, task: JSON | None = None, path: str = "ServiceRequest"
) -> Referral | None:
    report_unhandled(ctx, resource, HANDLED, path)
    report_extensions(ctx, resource, frozenset({EPISODE_EXTENSION, PERTAINS_TO_GOAL}), path)
    _intent_and_encounter(resource, ctx, path)
    update = from_fhir_task(task, ctx, f"{path}→Task") if task else None
    status = update.status if update else _status(resource, ctx, path)
    authored = resource.get("authoredOn") or (task or {}).get("authoredOn")
    if status is None or not authored or not resource.get("code"):
        ctx.report(
            path, "a referral needs a status with a referral meaning, an authoredOn and a code: not carried"
        )
        return None
    service_type, service_coding, code = _service(resource, ctx, path)
    notes = notes_from(resource.get("note"), ctx, f"{path}.note")
    return Referral(
        **_as_sent(resource, ctx, path),
        id=ctx.record_id(resource, "referral", path),
        client_id=ctx.client_of(resource.get("subject"), f"{path}.subject"),
        service_type=service_type,
        status=cast(ReferralStatus, status),
        authored_on=str(authored),
        priority=_priority(resource, ctx, path),
        service_coding=service_coding,
        reason=_reason(resource, ctx, path),
        target=_target(resource, task, ctx, path),
        period=period_of(resource.get("occurrencePeriod"), ctx, f"{path}.occurrencePeriod"),
        episode_id=ctx.episode_of(resource, path),
        requester=ctx.person(resource.get("requester"), f"{path}.requester"),
        note="\n".join(n.text for n in notes) or None,
        sensitive=is_sensitive(resource),
        code=code,
        categories=_categories(resource, service_type, ctx, path),
        notes=notes if any(n.author or n.time for n in notes) or len(notes) > 1 else (),
        **_from_update(update),
    )


def _as_sent(resource: JSON, ctx: ReverseContext, path: str) -> dict[str, Any]:
    """What the records keep of the request only as the hospital sent it."""
    return {
        "identifiers": identifiers_from(resource, ctx, path, "referral"),
        "reason_codes": _beyond_reason(resource, ctx, path),
        "reason_references": references_from(resource.get("reasonReference"), ctx, f"{path}.reasonReference"),
        "occurrence": resource.get("occurrenceDateTime"),
        "occurrence_timing": schedule_from(resource.get("occurrenceTiming"), ctx, f"{path}.occurrenceTiming"),
    }


def _from_update(update: Any) -> dict[str, Any]:
    if update is None:
        return {}
    return {
        "status_reason": update.status_reason,
        "outcome": update.outcome,
        "status_changed_at": update.changed_at,
        "status_reason_code": update.status_reason_code,
        "business_status": update.business_status,
        "outputs": update.outputs,
    }


def _intent_and_encounter(resource: JSON, ctx: ReverseContext, path: str) -> None:
    if resource.get("intent") not in ("order", "original-order", "plan", "proposal", "directive"):
        ctx.report(f"{path}.intent", f"intent {resource.get('intent')} is kept as a referral")
    else:
        ctx.report(f"{path}.intent", f"intent {resource['intent']} is read as a referral", "information")
    if resource.get("encounter"):
        ctx.report(f"{path}.encounter", "the stay is the admission the referral was read in", "information")


def _priority(resource: JSON, ctx: ReverseContext, path: str) -> str:
    priority = resource.get("priority", "routine")
    if priority not in PRIORITIES:
        ctx.report(f"{path}.priority", f"priority {priority} is kept as routine")
        return "routine"
    return str(priority)


def _status(resource: JSON, ctx: ReverseContext, path: str) -> str | None:
    table = ctx.catalogue.tables["referral_status"]
    found = table.key_for_code("servicerequest", resource.get("status", ""))
    if found is None:
        ctx.report(f"{path}.status", f"status {resource.get('status')} has no referral meaning")
    elif found != resource.get("status"):
        ctx.report(f"{path}.status", f"status {resource['status']} is read as {found}", "information")
    return found


def _service(resource: JSON, ctx: ReverseContext, path: str) -> tuple[str, Coding | None, Concept | None]:
    """Our service type; the concept as sent is kept too whenever it is not exactly ours."""
    code = resource.get("code") or {}
    key = key_for_concept(ctx, "service_types", code)
    ours = ctx.catalogue.tables["service_types"].concept(key) if key else None
    kept = concept_from(code, ctx, f"{path}.code") if code != ours else None
    if key and key != "other":
        return key, None, kept
    codings = code.get("coding", [])
    coding = None
    if codings and codings[0].get("code"):
        coding = coding_from(codings[0], ctx, f"{path}.code.coding[0]")
    if coding is not None and coding.display is None and code.get("text"):
        coding = Coding(code=coding.code, system=coding.system, display=str(code["text"]))
    if coding is not None and code == _as_we_write(coding):
        kept = None
    ctx.report(
        f"{path}.code", f"service {concept_text(code) or '(none)'} is kept as other, as sent", "information"
    )
    return "other", coding, kept


def _as_we_write(coding: Coding) -> JSON:
    concept: JSON = {"coding": [to_fhir_coding(coding)]}
    if coding.display:
        concept["text"] = coding.display
    return concept


def _categories(resource: JSON, service_type: str, ctx: ReverseContext, path: str) -> tuple[Concept, ...]:
    """The categories as sent, unless they are exactly the one our service type implies."""
    entry = ctx.catalogue.tables["service_types"].entry(service_type)
    ours = (
        [ctx.catalogue.tables["observation_categories"].concept(entry["category"])]
        if "category" in entry
        else []
    )
    sent = resource.get("category", [])
    return () if sent == ours else concepts_from(sent, ctx, f"{path}.category")


def _beyond_reason(resource: JSON, ctx: ReverseContext, path: str) -> tuple[Concept, ...]:
    """Every reasonCode whole when there is more than the one coding and text `reason` keeps."""
    codes = resource.get("reasonCode", [])
    if not codes:
        return ()
    codings = codes[0].get("coding", [])
    plain = (
        len(codes) == 1
        and set(codes[0]) <= {"coding", "text"}
        and len(codings) <= 1
        and all(set(c) <= {"system", "code", "display"} and c.get("code") for c in codings)
    )
    return () if plain else concepts_from(codes, ctx, f"{path}.reasonCode")


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
    first = codes[0] if codes else {}
    coded = [c for c in first.get("coding", []) if c.get("code")]
    problem = coding_from(coded[0], ctx, f"{path}.reasonCode[0].coding[0]") if coded else None
    text = first.get("text")
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
    where = f"{path}.performer[0]" if performers else f"{path}→Task.owner"
    ctx.said_of_reference({k: v for k, v in ref.items() if k != "identifier"}, where, str(name), True)
    kept = identifier_from(ident, ctx, f"{path}.performer.identifier", default_type="XX") if ident else None
    return Organization(name=str(name), identifier=kept)
