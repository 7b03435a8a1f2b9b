"""CarePlan (+ its Goals) → service plan; Goal → plan goal.

https://hl7.org/fhir/R4/careplan.html ; https://hl7.org/fhir/R4/goal.html
"""

from __future__ import annotations

from datetime import date

from fhir_adapter.domain.errors import DomainError
from fhir_adapter.domain.plans import default_next_review
from fhir_adapter.domain.records import Activity, Goal, GoalTarget, Period, ServicePlan
from fhir_adapter.domain.vocabulary import ACTIVITY_STATUSES, GOAL_LIFECYCLE, PLAN_STATUSES
from fhir_adapter.mapping.from_fhir_common import (
    JSON,
    ReverseContext,
    concept_text,
    is_sensitive,
    key_for_concept,
    period_from,
    report_extensions,
    report_unhandled,
)
from fhir_adapter.mapping.to_fhir_care_plan import CAREPLAN_CATEGORY, next_review_url, plan_version_url
from fhir_adapter.mapping.to_fhir_common import EPISODE_EXTENSION

HANDLED = frozenset(
    {
        "extension",
        "identifier",
        "status",
        "intent",
        "category",
        "title",
        "subject",
        "period",
        "author",
        "goal",
        "activity",
    }
)
GOAL_HANDLED = frozenset(
    {"identifier", "lifecycleStatus", "achievementStatus", "description", "subject", "startDate", "target"}
)


def from_fhir_care_plan(
    resource: JSON, ctx: ReverseContext, path: str = "CarePlan", today: date | None = None
) -> ServicePlan | None:
    report_unhandled(ctx, resource, HANDLED, path)
    known = frozenset({next_review_url(ctx.catalogue), plan_version_url(ctx.catalogue), EPISODE_EXTENSION})
    report_extensions(ctx, resource, known, path)
    status = resource.get("status")
    if status not in PLAN_STATUSES:
        ctx.report(f"{path}.status", f"status {status} is not a plan status: not carried")
        return None
    ext = {e.get("url"): e for e in resource.get("extension", [])}
    period = period_from(resource.get("period")) or Period()
    next_review = ext.get(next_review_url(ctx.catalogue), {}).get("valueDate")
    if not next_review:
        try:
            next_review = default_next_review(period.start, today or date.today())
        except DomainError:
            next_review = (period.start or (today or date.today()).isoformat())[:10]
        ctx.report(
            f"{path}.extension", "no next review date: set a year after the plan starts", "information"
        )
    plan_id = ctx.record_id(resource, "service-plan", path)
    goals = _goals(resource, plan_id, ctx, path)
    return ServicePlan(
        id=plan_id,
        client_id=ctx.client_of(resource.get("subject"), f"{path}.subject"),
        status=str(status),
        period=period,
        next_review=str(next_review),
        plan_type=_plan_type(resource, ctx, path),
        version=int(ext.get(plan_version_url(ctx.catalogue), {}).get("valuePositiveInt", 1)),
        title=resource.get("title"),
        episode_id=ctx.episode_of(resource, path),
        author=ctx.person(resource.get("author"), f"{path}.author"),
        goals=tuple(goals),
        activities=tuple(_activities(resource, {g.id for g in goals}, ctx, path)),
        sensitive=is_sensitive(resource),
    )


def _plan_type(resource: JSON, ctx: ReverseContext, path: str) -> str | None:
    plan_type = None
    for i, concept in enumerate(resource.get("category", [])):
        key = key_for_concept(ctx, "plan_types", concept)
        plan_type = plan_type or key
        codes = {c.get("system") for c in concept.get("coding", [])}
        if key is None and codes != {CAREPLAN_CATEGORY}:
            ctx.report(
                f"{path}.category[{i}]", f"category {concept_text(concept) or ''} is not carried".strip()
            )
    return plan_type


def _goals(resource: JSON, plan_id: str, ctx: ReverseContext, path: str) -> list[Goal]:
    goals = []
    for i, ref in enumerate(resource.get("goal", [])):
        found = ctx.resolve(ref)
        if found is None:
            ctx.report(f"{path}.goal[{i}]", "the goal is not in the input: not carried")
            continue
        goal = from_fhir_goal(found, ctx, f"{path}.goal[{i}]")
        if goal:
            goals.append(goal)
    return goals


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
    for key in target:
        if key.startswith("detail") and key not in ("detailString", "detailCodeableConcept"):
            ctx.report(f"{path}.target[0].{key}", "only text or coded target details are carried")
    achievement = resource.get("achievementStatus")
    achievement_key = key_for_concept(ctx, "goal_achievement", achievement) if achievement else None
    if achievement and achievement_key is None:
        ctx.report(f"{path}.achievementStatus", "not a goal-achievement code: not carried")
    return Goal(
        id=goal_id_of(resource, ctx, path),
        description=description,
        lifecycle_status=str(lifecycle),
        achievement_status=achievement_key,
        target=GoalTarget(measure=measure, detail=detail) if measure else None,
        start_date=resource.get("startDate"),
        due_date=target.get("dueDate"),
    )


def _activities(resource: JSON, goal_ids: set[str], ctx: ReverseContext, path: str) -> list[Activity]:
    activities = []
    for i, activity in enumerate(resource.get("activity", [])):
        where = f"{path}.activity[{i}]"
        report_extensions(ctx, activity, frozenset(), where)
        detail = activity.get("detail")
        if detail is None:
            ctx.report(where, "an activity given only as a reference is not carried")
            continue
        report_extensions(ctx, detail, frozenset(), f"{where}.detail")
        kind = key_for_concept(ctx, "activity_kinds", detail.get("code"))
        if kind is None:
            ctx.report(
                f"{where}.detail.code", f"activity {concept_text(detail.get('code')) or ''} kept as other"
            )
        status = detail.get("status")
        if status not in ACTIVITY_STATUSES:
            ctx.report(f"{where}.detail.status", f"status {status} kept as unknown")
        timing = detail.get("scheduledTiming", {})
        refs = [(j, ctx.resolve(g)) for j, g in enumerate(detail.get("goal", []))]
        linked = [goal_id_of(g, ctx, f"{where}.detail.goal[{j}]") for j, g in refs if g is not None]
        activities.append(
            Activity(
                id=str(activity.get("id") or f"activity-{i + 1}"),
                kind=kind or "other",
                status=str(status) if status in ACTIVITY_STATUSES else "unknown",
                description=detail.get("description") or (None if kind else concept_text(detail.get("code"))),
                responsible=next(
                    (p.get("display") for p in detail.get("performer", []) if p.get("display")), None
                ),
                schedule=(timing.get("code") or {}).get("text") or detail.get("scheduledString"),
                period=period_from(
                    timing.get("repeat", {}).get("boundsPeriod") or detail.get("scheduledPeriod")
                ),
                goal_ids=tuple(g for g in linked if g in goal_ids),
            )
        )
    return activities
