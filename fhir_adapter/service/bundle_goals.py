"""The Goals a CarePlan of a Bundle names by fullUrl are read with that plan, as its goals (as `map
--reverse` reads them), not each on its own into the plan of hospital goals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from fhir_adapter.mapping.from_fhir_common import ReverseContext
from fhir_adapter.mapping.to_fhir_care_plan import goal_record_id
from fhir_adapter.service.context import Principal
from fhir_adapter.service.errors import not_found
from fhir_adapter.service.fhir_intake import Received
from fhir_adapter.service.ports import Work
from fhir_adapter.service.records import Deps

if TYPE_CHECKING:
    from fhir_adapter.service.bundle_intake import Entry, EntryResult

JSON = dict[str, Any]


def goals_of_plans(found: list[Entry]) -> dict[int, list[int]]:
    """For each CarePlan entry, the Goal entries its `goal` names."""
    index = {e.full_url: i for i, e in enumerate(found) if e.full_url}
    plans: dict[int, list[int]] = {}
    for i, entry in enumerate(found):
        if entry.resource["resourceType"] != "CarePlan":
            continue
        named = [index.get(ref.get("reference")) for ref in entry.resource.get("goal") or []]
        goals = [g for g in named if g is not None and found[g].resource["resourceType"] == "Goal"]
        if goals:
            plans[i] = goals
    return plans


def goal_local_id(goal: JSON, full_url: str) -> str:
    """The id a Goal's record takes: its own id, or the UUID of its urn:uuid fullUrl."""
    return str(goal.get("id") or full_url.removeprefix("urn:uuid:"))


def goal_result(work: Work, deps: Deps, principal: Principal, plan: EntryResult, goal: Entry) -> EntryResult:
    """What became of a Goal read with its plan: the Goal the plan's record now has, or the plan's refusal."""
    from fhir_adapter.service.bundle_intake import EntryResult

    if plan.received is None:
        return EntryResult(error=plan.error)
    org = principal.org
    plan_id = ReverseContext(deps.catalogue, org.identity).our_id(
        orjson.loads(plan.received.stored.data), "service-plan"
    )
    goal_id = goal_record_id(str(plan_id), goal_local_id(goal.resource, str(goal.full_url)))
    stored = work.resources.read(org.id, "Goal", org.identity.uuid("goal", goal_id))
    if stored is None:  # the plan's projection holds every goal it was read with
        raise not_found(f"Goal of {goal.path}")
    return EntryResult(Received(plan.received.created, stored, []))
