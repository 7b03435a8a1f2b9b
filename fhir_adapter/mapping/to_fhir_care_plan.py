"""Service plan → CarePlan with a generated narrative, and its goals → Goal.

https://hl7.org/fhir/R4/careplan.html ; https://hl7.org/fhir/R4/goal.html
"""

from __future__ import annotations

import copy
from html import escape

from fhir_adapter.domain.records import Activity, Goal, ServicePlan
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.engine import JSON, MapContext, Scope, apply_structure, mapping_function
from fhir_adapter.mapping.to_fhir_common import episode_reference_extension, to_fhir_concept, to_fhir_period
from fhir_adapter.mapping.to_fhir_kept import to_fhir_timing

CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
XHTML = "http://www.w3.org/1999/xhtml"
ASSESS_PLAN = {
    "coding": [{"system": CAREPLAN_CATEGORY, "code": "assess-plan", "display": "Assessment and Plan"}]
}


def next_review_url(catalogue: Catalogue) -> str:
    return f"{catalogue.canonical_base}/StructureDefinition/careplan-next-review"


def plan_version_url(catalogue: Catalogue) -> str:
    return f"{catalogue.canonical_base}/StructureDefinition/service-plan-version"


def to_fhir_care_plan(plan: ServicePlan, ctx: MapContext) -> JSON:
    return apply_structure(Scope(plan, ctx, ctx.catalogue.structures["plan_to_careplan"]))


def to_fhir_goal(goal: Goal, plan: ServicePlan, ctx: MapContext) -> JSON:
    return apply_structure(Scope(goal, ctx, ctx.catalogue.structures["goal_to_goal"], parent=plan))


def goal_record_id(plan_id: str, goal_id: str) -> str:
    return f"{plan_id}/{goal_id}"


@mapping_function
def care_plan_extensions(scope: Scope) -> list[JSON]:
    plan: ServicePlan = scope.record
    extensions: list[JSON] = [
        {"url": next_review_url(scope.ctx.catalogue), "valueDate": plan.next_review},
        {"url": plan_version_url(scope.ctx.catalogue), "valuePositiveInt": plan.version},
    ]
    episode = episode_reference_extension(scope, plan)
    if episode:
        extensions.append(episode)
    return extensions


@mapping_function
def care_plan_category(scope: Scope) -> list[JSON]:
    assess_plan = copy.deepcopy(ASSESS_PLAN)
    if scope.record.categories:  # the hospital's own, as it sent them
        return [to_fhir_concept(c) for c in scope.record.categories]
    if scope.record.plan_type is None:
        return [assess_plan]
    return [assess_plan, scope.ctx.catalogue.tables["plan_types"].concept(scope.record.plan_type)]


@mapping_function
def care_plan_goals(scope: Scope) -> list[JSON]:
    plan: ServicePlan = scope.record
    return [scope.ctx.reference("goal", goal_record_id(plan.id, g.id), "Goal") for g in plan.goals]


def _activity(activity: Activity, plan: ServicePlan, scope: Scope) -> JSON:
    kind = scope.ctx.catalogue.tables["activity_kinds"].concept(activity.kind)
    detail: JSON = {"code": to_fhir_concept(activity.code) if activity.code else kind}
    if activity.goal_ids:
        detail["goal"] = [
            scope.ctx.reference("goal", goal_record_id(plan.id, g), "Goal") for g in activity.goal_ids
        ]
    detail["status"] = activity.status
    timing: JSON = to_fhir_timing(activity.timing) if activity.timing else {}
    if activity.period and "repeat" not in timing:
        timing["repeat"] = {"boundsPeriod": to_fhir_period(activity.period)}
    if activity.schedule and "code" not in timing:
        timing["code"] = {"text": activity.schedule}
    if timing:
        detail["scheduledTiming"] = timing
    if activity.responsible:
        detail["performer"] = [{"display": activity.responsible}]
    if activity.description:
        detail["description"] = activity.description
    return {"id": activity.id, "detail": detail}


@mapping_function
def care_plan_activities(scope: Scope) -> list[JSON]:
    return [_activity(a, scope.record, scope) for a in scope.record.activities]


@mapping_function
def care_plan_narrative(scope: Scope) -> JSON:
    """A human-readable summary (US Core requires CarePlan.text); every value is escaped."""
    plan: ServicePlan = scope.record
    tables = scope.ctx.catalogue.tables
    kind = tables["plan_types"].entry(plan.plan_type)["display"] if plan.plan_type else "Care plan"
    parts = [
        f"<p><b>{escape(plan.title or kind)}</b> ({escape(kind)}, version {plan.version}, {plan.status})</p>"
    ]
    span = " to ".join(x for x in (plan.period.start, plan.period.end) if x)
    parts.append(f"<p>Period: {escape(span or 'open')}; next review {escape(plan.next_review)}</p>")
    if plan.goals:
        goals = "".join(f"<li>{escape(g.description)} ({g.lifecycle_status})</li>" for g in plan.goals)
        parts.append(f"<p>Goals</p><ul>{goals}</ul>")
    if plan.activities:
        rows = []
        for a in plan.activities:
            what = a.description or tables["activity_kinds"].entry(a.kind)["display"]
            who = f" — {a.responsible}" if a.responsible else ""
            rows.append(f"<li>{escape(what)}{escape(who)} ({a.status})</li>")
        parts.append(f"<p>Activities</p><ul>{''.join(rows)}</ul>")
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{"".join(parts)}</div>'}


@mapping_function
def goal_description(scope: Scope) -> JSON:
    """The hospital's coded description whole when it sent one; our words in either case."""
    goal: Goal = scope.record
    coded = to_fhir_concept(goal.description_code) if goal.description_code else {}
    return coded | {"text": goal.description}


@mapping_function
def goal_categories(scope: Scope) -> list[JSON]:
    return [to_fhir_concept(c) for c in scope.record.categories]


@mapping_function
def goal_target(scope: Scope) -> list[JSON]:
    goal: Goal = scope.record
    target: JSON = {}
    if goal.target:
        target["measure"] = {"text": goal.target.measure}
        if goal.target.detail:
            target["detailString"] = goal.target.detail
    if goal.due_date:
        target["dueDate"] = goal.due_date
    return [target] if target else []
