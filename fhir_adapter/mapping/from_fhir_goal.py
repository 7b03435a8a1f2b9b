"""Goal → plan goal (https://hl7.org/fhir/R4/goal.html): the description, its codings, categories and
identifiers as sent, lifecycle and achievement, the first target."""

from __future__ import annotations

from fhir_adapter.domain.records import Concept, Goal, GoalTarget
from fhir_adapter.domain.vocabulary import GOAL_LIFECYCLE
from fhir_adapter.mapping.from_fhir_common import (
    JSON,
    ReverseContext,
    concept_text,
    key_for_concept,
    report_unhandled,
)
from fhir_adapter.mapping.from_fhir_values import concept_from, concepts_from, identifiers_from

GOAL_HANDLED = frozenset(
    {
        "identifier",
        "lifecycleStatus",
        "achievementStatus",
        "description",
        "subject",
        "startDate",
        "target",
        "category",
    }
)


def goal_id_of(resource: JSON, ctx: ReverseContext, path: str) -> str:
    """A goal's id within its plan: ours are identified as "<plan id>/<goal id>"."""
    return ctx.record_id(resource, "goal", path).rsplit("/", 1)[-1]


def from_fhir_goal(resource: JSON, ctx: ReverseContext, path: str = "Goal") -> Goal | None:
    report_unhandled(ctx, resource, GOAL_HANDLED, path)
    lifecycle = resource.get("lifecycleStatus")
    description = concept_text(resource.get("description"))
    if lifecycle not in GOAL_LIFECYCLE or not description:
        ctx.report(path, "a goal needs a known lifecycleStatus and a description: not carried")
        return None
    targets = resource.get("target", [])
    if len(targets) > 1:
        ctx.report(f"{path}.target", "only the first target is carried")
    target = targets[0] if targets else {}
    measure = concept_text(target.get("measure"))
    detail = target.get("detailString") or concept_text(target.get("detailCodeableConcept"))
    _name_target_rest(target, ctx, f"{path}.target[0]")
    if detail and not measure:
        said = "detailString" if target.get("detailString") else "detailCodeableConcept"
        ctx.report(f"{path}.target[0].{said}", "a target without words for its measure is not carried")
    achievement = resource.get("achievementStatus")
    achievement_key = key_for_concept(ctx, "goal_achievement", achievement) if achievement else None
    if achievement and achievement_key is None:
        ctx.report(f"{path}.achievementStatus", "not a goal-achievement code: not carried")
    elif achievement:
        ctx.report(f"{path}.achievementStatus", f"read as {achievement_key}", "information")
    return Goal(
        id=goal_id_of(resource, ctx, path),
        description=description,
        lifecycle_status=str(lifecycle),
        achievement_status=achievement_key,
        target=GoalTarget(measure=measure, detail=detail) if measure else None,
        start_date=resource.get("startDate"),
        due_date=target.get("dueDate"),
        description_code=_description_code(resource, ctx, path),
        categories=concepts_from(resource.get("category"), ctx, f"{path}.category"),
        identifiers=identifiers_from(resource, ctx, path, "goal"),
    )


def _name_target_rest(target: JSON, ctx: ReverseContext, where: str) -> None:
    """The target keeps the measure's and the detail's words and the due date; the rest is named."""
    for key in target.get("measure") or {}:
        if key not in ("text", "coding"):
            ctx.report(f"{where}.measure.{key}", f"CodeableConcept.{key} is not carried")
    if set(target.get("detailCodeableConcept") or {}) - {"text"}:
        ctx.report(f"{where}.detailCodeableConcept", "the detail is kept by its words only")
    if (target.get("measure") or {}).get("coding"):
        ctx.report(f"{where}.measure.coding", "the measure is kept by its words; its codings are not")
    for key in target:
        if key not in ("measure", "detailString", "detailCodeableConcept", "dueDate"):
            ctx.report(f"{where}.{key}", f"Goal.target.{key} is not carried into the case record")


def _description_code(resource: JSON, ctx: ReverseContext, path: str) -> Concept | None:
    """The description's codings as sent (ours is text alone, kept as the description)."""
    description = resource.get("description") or {}
    if set(description) <= {"text"}:
        return None
    kept = concept_from(description, ctx, f"{path}.description")
    return kept if kept is not None and kept.codings else None
