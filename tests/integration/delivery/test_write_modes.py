"""How the worker writes follows the EHR's CapabilityStatement: a transaction Bundle of PUTs to our ids when
the server can create on update; otherwise conditional updates on the business identifier, in reference
order, with our references rewritten to the ids the EHR gave."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer, start_ehr
from tests.support.fault_proxy import Fault, FaultProxy


@pytest.fixture(scope="module")
def no_update_create(ehr: EhrServer) -> Iterator[EhrServer]:
    """A second EHR whose CapabilityStatement says updateCreate: false."""
    server = start_ehr(env={"EHR_UPDATE_CREATE": "false"})
    yield server
    server.stop()


@pytest.fixture(params=["transaction", "conditional"])
def moded(request: pytest.FixtureRequest, harness: Harness, no_update_create: EhrServer) -> Iterator[Harness]:
    if request.param == "transaction":
        yield harness
        return
    no_update_create.reset()
    proxy = FaultProxy(no_update_create.url).start()
    h = Harness(harness.service, harness.client, harness.headers, harness.org_id, no_update_create, proxy)
    h.ehr_id = "conditional-ehr"
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
    assert (plan["id"] in ours) == (h.ehr_id == "hospital")  # our ids, or the EHR's own
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
