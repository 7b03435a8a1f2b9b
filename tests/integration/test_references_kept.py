"""A record another record names keeps what it is named by: whatever plan edits and referral reasons the API
accepts, in whatever order, every reference in the organisation's FHIR resources resolves to one of them."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fhir_adapter.adapters.db import reading
from fhir_adapter.adapters.tables import fhir_resources as res
from tests.integration.conftest import seed
from tests.support.ehr_server import literal_references

PLAN = "SP-3307"


def dangling(service: Any, org_id: str) -> list[tuple[str, str, str]]:
    """Every literal reference in the org's current FHIR resources that names none of them."""
    with reading(service.engine) as conn:
        rows = conn.execute(select(res.c.data).where(res.c.org_id == org_id, res.c.deleted.is_(False)))
        held = [orjson.loads(row.data) for row in rows]
    present = {f"{r['resourceType']}/{r['id']}" for r in held}
    return [
        (f"{r['resourceType']}/{r['id']}", path, ref)
        for r in held
        for path, ref in literal_references(r)
        if ref.split("/_history/")[0] not in present
    ]


def plan_with(kim: dict[str, Any], goals: list[str]) -> dict[str, Any]:
    """The case's plan with only `goals` (each activity keeps the goals of those it had)."""
    plan = copy.deepcopy(kim["service_plans"][0])
    base = {g["id"]: g for g in plan["goals"]}
    plan["goals"] = [base.get(g) or {**base["G1"], "id": g, "description": f"goal {g}"} for g in goals]
    for activity in plan.get("activities", []):
        activity["goal_ids"] = [g for g in activity.get("goal_ids", []) if g in goals]
    return plan


def test_a_plan_cannot_drop_a_goal_a_referral_names(client, service, new_org, kim):
    headers = new_org()
    seed(client, headers, kim)
    refused = client.put(f"/api/v1/service-plans/{PLAN}", json=plan_with(kim, ["G2"]), headers=headers)
    assert refused.status_code == 409
    [issue] = refused.json["issue"]
    assert issue["expression"] == ["goals"] and "referral RF-7710" in issue["diagnostics"]
    referral = next(r for r in kim["referrals"] if r["id"] == "RF-7710")
    referral["reason"]["goal_id"] = "G2"
    assert client.put("/api/v1/referrals/RF-7710", json=referral, headers=headers).status_code == 200
    dropped = client.put(f"/api/v1/service-plans/{PLAN}", json=plan_with(kim, ["G2"]), headers=headers)
    assert dropped.status_code == 200 and [g["id"] for g in dropped.json["goals"]] == ["G2"]
    assert dangling(service, new_org.org_id) == []


GOALS = ["G1", "G2", "G3"]
edits = st.lists(
    st.one_of(
        st.tuples(st.just("plan"), st.lists(st.sampled_from(GOALS), min_size=1, max_size=3, unique=True)),
        st.tuples(st.just("reason"), st.sampled_from(GOALS)),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=edits)
def test_whatever_edits_are_accepted_every_reference_resolves(client, service, new_org, kim, steps) -> None:
    org = f"org-{uuid.uuid4().hex[:10]}"  # an organisation of its own for each example
    headers = new_org(org=org)
    kim = copy.deepcopy(kim)
    seed(client, headers, kim)
    referral = next(r for r in kim["referrals"] if r["id"] == "RF-7710")
    for what, value in steps:
        if what == "plan":
            answer = client.put(f"/api/v1/service-plans/{PLAN}", json=plan_with(kim, value), headers=headers)
        else:
            referral["reason"]["goal_id"] = value
            answer = client.put("/api/v1/referrals/RF-7710", json=referral, headers=headers)
        assert answer.status_code in (200, 409, 422), answer.json
        assert dangling(service, org) == [], (what, value, answer.status_code)
