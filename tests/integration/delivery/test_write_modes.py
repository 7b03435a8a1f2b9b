"""How the worker writes follows the EHR's CapabilityStatement: a transaction Bundle of PUTs to our ids when
the server can create on update; without transactions, each resource PUT to our id in reference order;
otherwise conditional updates on the business identifier, with our references rewritten to the ids the EHR
gave."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ROOT, read_json
from tests.integration.conftest import COLLECTIONS
from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import Fault, FaultProxy


@pytest.fixture(params=["transaction", "conditional", "no-transaction"])
def moded(request: pytest.FixtureRequest, harness: Harness, conditional_ehr: EhrServer) -> Iterator[Harness]:
    if request.param == "transaction":
        yield harness
        return
    # conditional: no updateCreate, conditional updates; no-transaction: each resource PUT to our id
    server = (
        conditional_ehr if request.param == "conditional" else request.getfixturevalue("no_transaction_ehr")
    )
    server.reset()
    proxy = FaultProxy(server.url).start()
    h = Harness(harness.service, harness.client, harness.headers, harness.org_id, server, proxy)
    h.ehr_id = f"{request.param}-ehr"
    h.register_ehr()
    yield h
    proxy.stop()


def by_type(resources: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == rtype]


def test_references_resolve_in_the_ehr_and_a_removed_goal_is_removed(moded: Harness) -> None:
    h = moded
    client_id = h.new_client("pt-mode")
    h.drain()
    resources = h.assert_exactly_once(client_id)
    (plan,) = by_type(resources, "CarePlan")
    goal_ids = {g["id"] for g in by_type(resources, "Goal")}
    assert {ref["reference"] for ref in plan["goal"]} == {f"Goal/{i}" for i in goal_ids}
    ours = {r["id"] for r in h.ours(client_id)}
    assert (plan["id"] in ours) == (h.ehr_id != "conditional-ehr")  # our ids, or the EHR's own
    assert len(h.ehr.search("Provenance")) == 1

    path = f"/api/v1/service-plans/SP-{client_id}"
    body = h.client.get(path, headers=h.headers).json
    body["goals"] = [g for g in body["goals"] if g["id"] == "G1"]
    body["activities"] = [a | {"goal_ids": ["G1"]} for a in body["activities"] if "G1" in a["goal_ids"]]
    body.pop("version")
    assert h.client.put(path, json=body, headers=h.headers).status_code == 200
    h.drain()
    resources = h.assert_exactly_once(client_id)
    assert len(by_type(resources, "Goal")) == 1
    assert len(h.ehr.search("Goal", subject="Patient/pt-mode")) == 1


def test_a_reset_after_commit_makes_no_duplicate_in_either_mode(moded: Harness) -> None:
    h = moded
    h.proxy.inject(Fault("reset_after_commit", method="PUT"), Fault("reset_after_commit", method="POST"))
    client_id = h.new_client()
    h.drain()
    assert h.jobs()[0].state == "delivered"
    assert len(h.assert_exactly_once(client_id)) == 3
    assert len(h.ehr.search("Provenance")) == 1  # the resent one too: found by its tag


def _put(h: Harness, path: str, change: dict[str, Any]) -> None:
    body = h.client.get(path, headers=h.headers).json
    body.pop("version", None)
    response = h.client.put(path, json=body | change, headers=h.headers)
    assert response.status_code == 200, response.json


def test_every_reference_resolves_in_the_ehr_after_every_job(moded: Harness) -> None:
    """Each record goes in a job of its own, then a referral's status and the plan change alone: the later
    jobs name resources that earlier jobs wrote (the episode's care team, the referral's request, the plan's
    episode), and each such reference must name what the EHR holds, in both write modes."""
    h = moded
    case = copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json"))
    client_id = case["client"]["id"]
    h.post("/api/v1/clients", case["client"])
    h.ehr.put({"resourceType": "Patient", "id": "pt-refs", "identifier": [{"value": client_id}]})
    h.post(f"/api/v1/clients/{client_id}/ehr-links", {"ehr": h.ehr_id, "patient_id": "pt-refs"})
    for key, collection in COLLECTIONS:
        for record in case[key]:
            h.post(f"/api/v1/{collection}", record)
            h.drain()
            assert h.ehr.dangling(h.ehr.everything()) == [], (collection, record["id"])
    referral = case["referrals"][0]["id"]
    _put(h, f"/api/v1/referrals/{referral}", {"status": "in-progress"})
    h.drain()
    plan = case["service_plans"][0]["id"]
    _put(h, f"/api/v1/service-plans/{plan}", {"title": "Housing first, then work"})
    h.drain()
    assert {j.state for j in h.jobs()} == {"delivered"}
    resources = h.assert_exactly_once(client_id)  # which also finds no dangling reference
    assert "in-progress" in {t["status"] for t in by_type(resources, "Task")}


def _referral_for(client_id: str, plan_id: str, goal_id: str) -> dict[str, Any]:
    """A housing referral the case manager makes for one goal of a plan."""
    return {
        "id": f"RF-{client_id}",
        "client_id": client_id,
        "service_type": "housing",
        "status": "sent",
        "authored_on": "2099-01-01T09:00:00Z",
        "reason": {"plan_id": plan_id, "goal_id": goal_id, "text": "needs housing"},
    }


def test_a_reference_to_a_withheld_record_is_taken_out_not_left_dangling(moded: Harness) -> None:
    """The plan is sensitive (withheld); a referral made for one of its goals is not: the referral goes
    without the reference to the goal the EHR will never hold."""
    h = moded
    client_id = h.new_client("pt-4")
    plan = h.client.get(f"/api/v1/service-plans/SP-{client_id}", headers=h.headers).json
    plan = {k: v for k, v in plan.items() if k != "version"} | {"sensitive": True}
    assert (
        h.client.put(f"/api/v1/service-plans/SP-{client_id}", json=plan, headers=h.headers).status_code == 200
    )
    goal = plan["goals"][0]["id"]
    referral = _referral_for(client_id, plan["id"], goal)
    h.post("/api/v1/referrals", referral)
    h.drain()
    (request,) = h.ehr.search("ServiceRequest", subject="Patient/pt-4")
    assert "Goal/" not in str(request)
    ours = next(r for r in h.ours(client_id) if r["resourceType"] == "ServiceRequest")
    assert "Goal/" in str(ours)  # kept in the case record; only what went to the EHR leaves it out
    h.assert_sound()


def test_a_goal_leaves_its_plan_after_its_referral_has_another_reason_and_the_ehr_follows(
    moded: Harness,
) -> None:
    """A referral made for goal G1 is in the EHR. G1 cannot leave the plan while the referral gives it as its
    reason (409); once the referral has another, it can, and the EHR's referral names no Goal that is gone."""
    h = moded
    client_id = h.new_client()
    path = f"/api/v1/service-plans/SP-{client_id}"
    plan = h.client.get(path, headers=h.headers).json
    goal = plan["goals"][0]["id"]
    referral = _referral_for(client_id, plan["id"], goal)
    h.post("/api/v1/referrals", referral)
    h.drain()
    (before,) = h.ehr.search("ServiceRequest", identifier=referral["id"])
    assert "Goal/" in str(before)
    plan.pop("version")
    plan["goals"] = [g for g in plan["goals"] if g["id"] != goal]
    plan["activities"] = [
        a | {"goal_ids": [g for g in a["goal_ids"] if g != goal]}
        for a in plan["activities"]
        if a["goal_ids"] != [goal]
    ]
    assert h.client.put(path, json=plan, headers=h.headers).status_code == 409
    referral["reason"] = {"text": "moved to the housing list"}
    updated = h.client.put(f"/api/v1/referrals/{referral['id']}", json=referral, headers=h.headers)
    assert updated.status_code == 200, updated.json
    assert h.client.put(path, json=plan, headers=h.headers).status_code == 200
    h.drain()
    (after,) = h.ehr.search("ServiceRequest", identifier=referral["id"])
    assert "Goal/" not in str(after)
    h.assert_sound()


def test_an_ehr_that_refuses_our_provenance_still_has_the_records_and_the_job_is_delivered(
    moded: Harness,
) -> None:
    h = moded
    h.proxy.inject(
        Fault("status", 403, path_prefix="/Provenance"), Fault("status", 403, path_prefix="/Provenance")
    )
    client_id = h.new_client()
    h.drain()
    assert [j.state for j in h.jobs()] == ["delivered"]
    assert h.ehr.search("Provenance") == []
    h.assert_exactly_once(client_id)
