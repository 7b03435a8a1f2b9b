"""CarePlan (+ its Goals) → service plan; Goal → plan goal.

https://hl7.org/fhir/R4/careplan.html ; https://hl7.org/fhir/R4/goal.html
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fhir_adapter.domain.errors import DomainError
from fhir_adapter.domain.plans import default_next_review
from fhir_adapter.domain.records import Activity, Concept, Goal, Period, ServicePlan
from fhir_adapter.domain.vocabulary import ACTIVITY_STATUSES, PLAN_STATUSES
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
from fhir_adapter.mapping.from_fhir_goal import from_fhir_goal, goal_id_of
from fhir_adapter.mapping.from_fhir_values import (
    concept_from,
    concepts_from,
    identifiers_from,
    notes_from,
    period_of,
    references_from,
    schedule_from,
)
from fhir_adapter.mapping.to_fhir_care_plan import (
    ASSESS_PLAN,
    next_review_url,
    plan_version_url,
)
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
        "description",
        "addresses",
        "note",
        "encounter",
    }
)
DETAIL_KEPT = frozenset(
    {
        "code",
        "status",
        "description",
        "performer",
        "scheduledTiming",
        "scheduledString",
        "scheduledPeriod",
        "goal",
        "extension",
    }
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
    period = period_of(resource.get("period"), ctx, f"{path}.period") or Period()
    if resource.get("encounter"):
        ctx.report(f"{path}.encounter", "the stay is the admission the plan was read in", "information")
    next_review = _next_review(ext, period, ctx, path, today)
    if resource.get("intent"):
        ctx.report(f"{path}.intent", f"intent {resource['intent']} is read as a service plan", "information")
    plan_id = ctx.record_id(resource, "service-plan", path)
    goals = _goals(resource, plan_id, ctx, path)
    plan_type = _plan_type(resource, ctx, path)
    return ServicePlan(
        id=plan_id,
        client_id=ctx.client_of(resource.get("subject"), f"{path}.subject"),
        status=str(status),
        period=period,
        next_review=str(next_review),
        plan_type=plan_type,
        version=int(ext.get(plan_version_url(ctx.catalogue), {}).get("valuePositiveInt", 1)),
        title=resource.get("title"),
        episode_id=ctx.episode_of(resource, path),
        author=ctx.person(resource.get("author"), f"{path}.author"),
        goals=tuple(goals),
        activities=tuple(_activities(resource, {g.id for g in goals}, ctx, path)),
        sensitive=is_sensitive(resource),
        identifiers=identifiers_from(resource, ctx, path, "service-plan"),
        categories=_categories(resource, plan_type, ctx, path),
        description=resource.get("description"),
        addresses=references_from(resource.get("addresses"), ctx, f"{path}.addresses"),
        notes=notes_from(resource.get("note"), ctx, f"{path}.note"),
    )


def _next_review(
    ext: dict[Any, JSON], period: Period, ctx: ReverseContext, path: str, today: date | None
) -> str:
    found = ext.get(next_review_url(ctx.catalogue), {}).get("valueDate")
    if found:
        return str(found)
    ctx.report(f"{path}.extension", "no next review date: set a year after the plan starts", "information")
    try:
        return default_next_review(period.start, today or date.today())
    except DomainError:
        return (period.start or (today or date.today()).isoformat())[:10]


def _plan_type(resource: JSON, ctx: ReverseContext, path: str) -> str:
    """Our plan type the categories name; a plan that names none is the hospital's own plan."""
    for concept in resource.get("category", []):
        key = key_for_concept(ctx, "plan_types", concept)
        if key:
            return key
    ctx.report(
        f"{path}.category", "the plan names none of our plan types: it is a hospital plan", "information"
    )
    return "hospital"


def _categories(resource: JSON, plan_type: str, ctx: ReverseContext, path: str) -> tuple[Concept, ...]:
    """The categories as sent, unless they are exactly the ones we write for the plan type."""
    ours = [ASSESS_PLAN, ctx.catalogue.tables["plan_types"].concept(plan_type)]
    sent = resource.get("category", [])
    return () if sent == ours else concepts_from(sent, ctx, f"{path}.category")


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


def _activities(resource: JSON, goal_ids: set[str], ctx: ReverseContext, path: str) -> list[Activity]:
    activities = []
    for i, activity in enumerate(resource.get("activity", [])):
        where = f"{path}.activity[{i}]"
        report_extensions(ctx, activity, frozenset(), where)
        for key in [k for k in activity if k not in ("detail", "id", "extension", "modifierExtension")]:
            ctx.report(f"{where}.{key}", f"CarePlan.activity.{key} is not carried into the case record")
        detail = activity.get("detail")
        if detail is None:
            continue
        activities.append(_activity(activity, detail, i, goal_ids, ctx, where))
    return activities


def _activity(
    activity: JSON, detail: JSON, i: int, goal_ids: set[str], ctx: ReverseContext, where: str
) -> Activity:
    report_extensions(ctx, detail, frozenset(), f"{where}.detail")
    for key in [k for k in detail if k not in DETAIL_KEPT and k != "modifierExtension"]:
        ctx.report(
            f"{where}.detail.{key}", f"CarePlan.activity.detail.{key} is not carried into the case record"
        )
    code = detail.get("code")
    kind = key_for_concept(ctx, "activity_kinds", code)
    if kind is None:
        ctx.report(
            f"{where}.detail.code",
            f"activity {concept_text(code) or ''} kept as other, as sent",
            "information",
        )
    ours = ctx.catalogue.tables["activity_kinds"].concept(kind) if kind else None
    status = detail.get("status")
    if status not in ACTIVITY_STATUSES:
        ctx.report(f"{where}.detail.status", f"status {status} kept as unknown")
    timing = detail.get("scheduledTiming", {})
    responsible = _responsible(detail, ctx, where)
    schedule = (timing.get("code") or {}).get("text") or detail.get("scheduledString")
    period = period_from(timing.get("repeat", {}).get("boundsPeriod")) or period_of(
        detail.get("scheduledPeriod"), ctx, f"{where}.detail.scheduledPeriod"
    )
    return Activity(
        id=str(activity.get("id") or f"activity-{i + 1}"),
        kind=kind or "other",
        status=str(status) if status in ACTIVITY_STATUSES else "unknown",
        description=detail.get("description") or (None if kind else concept_text(code)),
        responsible=responsible,
        schedule=schedule,
        period=period,
        goal_ids=_linked_goals(detail, goal_ids, ctx, where),
        code=concept_from(code, ctx, f"{where}.detail.code") if code and code != ours else None,
        timing=_timing(timing, schedule, period, ctx, f"{where}.detail.scheduledTiming"),
    )


def _responsible(detail: JSON, ctx: ReverseContext, where: str) -> str | None:
    performers = [p.get("display") for p in detail.get("performer", []) if p.get("display")]
    if performers:
        ctx.said_of_reference(detail["performer"][0], f"{where}.detail.performer[0]", performers[0], False)
    if len(detail.get("performer", [])) > 1 or len(performers) < len(detail.get("performer", [])):
        ctx.report(f"{where}.detail.performer", "only the first performer's name is carried")
    return str(performers[0]) if performers else None


def _linked_goals(detail: JSON, goal_ids: set[str], ctx: ReverseContext, where: str) -> tuple[str, ...]:
    linked = []
    for j, ref in enumerate(detail.get("goal", [])):
        goal = ctx.resolve(ref)
        found = goal_id_of(goal, ctx, f"{where}.detail.goal[{j}]") if goal is not None else None
        if found is None or found not in goal_ids:
            ctx.report(f"{where}.detail.goal[{j}]", "the goal is not in the plan: the link is not carried")
        else:
            linked.append(found)
    return tuple(linked)


def _timing(timing: JSON, schedule: str | None, period: Period | None, ctx: ReverseContext, path: str) -> Any:
    """The scheduledTiming whole, unless schedule words and a period already say all of it."""
    plain: JSON = {}
    if period is not None:
        plain["repeat"] = {"boundsPeriod": timing.get("repeat", {}).get("boundsPeriod")}
    if (timing.get("code") or {}).get("text") and set(timing.get("code", {})) == {"text"}:
        plain["code"] = {"text": schedule}
    return None if not timing or timing == plain else schedule_from(timing, ctx, path)
