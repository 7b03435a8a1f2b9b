"""A Goal an EHR writes on /fhir. A goal of one of our plans (identified "<plan id>/<goal id>") is changed
in its plan, which makes the plan's next version; a goal of the hospital's own joins the client's plan of
hospital goals (`hospital-goals-<client id>`, a hospital plan), made with the first of them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fhir_adapter.domain.records import Goal
from fhir_adapter.mapping.kinds import RECORD_KINDS
from fhir_adapter.service import records
from fhir_adapter.service.context import Principal, stamp
from fhir_adapter.service.errors import invalid
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps

PLAN = RECORD_KINDS["service-plan"]


def hospital_plan_id(client_id: str) -> str:
    return f"hospital-goals-{client_id}"[:128]


def receive_goal(
    work: Work, deps: Deps, principal: Principal, goal: Goal, ours: str | None, client_id: str
) -> tuple[bool, str]:
    """Store the goal in its plan; (created, "<plan id>/<goal id>")."""
    plan_id, goal_id = ours.rsplit("/", 1) if ours and "/" in ours else (hospital_plan_id(client_id), goal.id)
    goal = replace(goal, id=goal_id)
    old = work.records.get(principal.org.id, PLAN.name, plan_id, for_update=True)
    if old is None and ours:
        raise invalid(f"no service plan {plan_id} holds goal {goal_id}", "identifier")
    if old is not None and old.client_id != client_id:
        raise invalid(f"service plan {plan_id} is not of this patient", "subject")
    if old is None:
        records.create(work, deps, principal, PLAN, _new_plan(deps, plan_id, client_id, goal))
        return True, f"{plan_id}/{goal_id}"
    goals = [g for g in old.data.get("goals", []) if g["id"] != goal_id]
    created = len(goals) == len(old.data.get("goals", []))
    mine = deps.contract.dump(goal)
    kept = [mine if g["id"] == goal_id else g for g in old.data.get("goals", [])]
    payload = {**old.data, "goals": kept if not created else [*goals, mine]}
    payload.pop("version", None)
    records.update(work, deps, principal, PLAN, plan_id, payload, lifecycle=False)
    return created, f"{plan_id}/{goal_id}"


def _new_plan(deps: Deps, plan_id: str, client_id: str, goal: Goal) -> dict[str, Any]:
    start = goal.start_date or stamp(deps.clock())[:10]
    return {
        "id": plan_id,
        "client_id": client_id,
        "plan_type": "hospital",
        "status": "active",
        "title": "Goals the hospital set",
        "period": {"start": start},
        "goals": [deps.contract.dump(goal)],
    }
