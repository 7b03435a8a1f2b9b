"""Task → a referral's status update, as the EHR that owns the Task says it.

https://hl7.org/fhir/R4/task.html ; the referral-management Task of the Gravity SDOH Clinical Care IG:
https://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition-SDOHCC-TaskForReferralManagement.html
"""

from __future__ import annotations

from typing import cast

from fhir_adapter.domain.records import Concept, ReferralStatus, ReferralUpdate
from fhir_adapter.mapping.from_fhir_common import JSON, ReverseContext, concept_text, report_unhandled
from fhir_adapter.mapping.from_fhir_values import concept_from, outputs_from
from fhir_adapter.mapping.to_fhir_referral import RESULTING_ACTIVITY

TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
# What the Task's ServiceRequest (ours, or read with it) already says: read as part of the referral.
TASK_HANDLED = frozenset(
    {
        "status",
        "statusReason",
        "focus",
        "for",
        "lastModified",
        "output",
        "businessStatus",
        "identifier",
        "intent",
        "code",
        "authoredOn",
        "requester",
        "owner",
        "priority",
        "basedOn",
        "encounter",
    }
)


def from_fhir_task(task: JSON, ctx: ReverseContext, path: str = "Task") -> ReferralUpdate | None:
    report_unhandled(ctx, task, TASK_HANDLED, path)
    referral_id = _referral_of(task, ctx, path)
    if referral_id is None:
        ctx.report(
            path, "the Task's ServiceRequest is neither ours nor in the input: the Task is not carried"
        )
        return None
    status = ctx.catalogue.tables["referral_status"].key_for_code("task", task.get("status", ""))
    if status is None:
        ctx.report(path, f"Task status {task.get('status')} has no referral meaning: the Task is not carried")
        return None
    if task.get("status") != status:
        ctx.report(f"{path}.status", f"Task status {task['status']} is kept as {status}", "information")
    _same_as_request(task, ctx, path)
    plain = all(
        set(o) == {"type", "valueString"} and o["type"] == RESULTING_ACTIVITY for o in task.get("output", [])
    )
    outputs = () if plain else outputs_from(task, ctx, path)  # plain text outputs: the outcome says all
    return ReferralUpdate(
        referral_id=referral_id,
        status=cast(ReferralStatus, status),
        status_reason=concept_text(task.get("statusReason")),
        outcome=_outcome(task, ctx, path),
        changed_at=task.get("lastModified"),
        status_reason_code=_coded(task.get("statusReason"), ctx, f"{path}.statusReason"),
        business_status=concept_from(task.get("businessStatus"), ctx, f"{path}.businessStatus"),
        outputs=outputs,
    )


def _coded(concept: JSON | None, ctx: ReverseContext, path: str) -> Concept | None:
    """The concept whole when it has codings (its text alone is the status reason)."""
    kept = concept_from(concept, ctx, path)
    return kept if kept is not None and kept.codings else None


def _referral_of(task: JSON, ctx: ReverseContext, path: str) -> str | None:
    referral_id = ctx.ref_id(task.get("focus"), "referral")
    focus = ctx.resolve(task.get("focus"))
    if referral_id is None and focus is not None and focus.get("resourceType") == "ServiceRequest":
        referral_id = ctx.record_id(focus, "referral", f"{path}.focus")
    literal = str((task.get("focus") or {}).get("reference", ""))
    if referral_id is None and literal.startswith("ServiceRequest/"):
        referral_id = literal.split("/")[1]
        ctx.report(f"{path}.focus", f"updates the referral the EHR created as {literal}", "information")
    return referral_id


def _same_as_request(task: JSON, ctx: ReverseContext, path: str) -> None:
    """What a referral's Task repeats of its ServiceRequest is read from the request; a Task that says
    something else there is named."""
    codes = [(c.get("system"), c.get("code")) for c in (task.get("code") or {}).get("coding", [])]
    if task.get("code") and (TASK_CODE, "fulfill") not in codes:
        ctx.report(
            f"{path}.code", f"a Task of code {concept_text(task['code'])} is read as fulfilling a referral"
        )
    for i, ident in enumerate(task.get("identifier", [])):
        if ident.get("system") != ctx.identity.system("referral-task"):
            ctx.report(f"{path}.identifier[{i}]", "the Task's own identifier is not carried")
    if any(i.get("system") == ctx.identity.system("referral-task") for i in task.get("identifier", [])):
        return  # our own Task: it says what we wrote from the referral
    if task.get("code") and (TASK_CODE, "fulfill") in codes:
        ctx.report(
            f"{path}.code", "a Task that fulfils the referral: its status is the referral's", "information"
        )
    for key in ("intent", "authoredOn", "requester", "owner", "priority", "basedOn", "encounter"):
        if key in task:
            ctx.report(
                f"{path}.{key}", f"Task.{key} is read from the referral's ServiceRequest", "information"
            )


def _outcome(task: JSON, ctx: ReverseContext, path: str) -> str | None:
    """The Task's text outputs, joined: the referral's outcome; every output is also kept whole."""
    outcomes = []
    for i, output in enumerate(task.get("output", [])):
        text = output.get("valueString") or output.get("valueMarkdown")
        if not text:
            continue
        outcomes.append(str(text))
        if output.get("type", {}).get("coding") != RESULTING_ACTIVITY["coding"]:
            ctx.report(
                f"{path}.output[{i}].type",
                "an output of another type is also read as the outcome",
                "information",
            )
    return "; ".join(outcomes) or None
