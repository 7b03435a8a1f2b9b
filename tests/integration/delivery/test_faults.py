"""The delivery rules against a real FHIR server behind a fault-injecting proxy: whatever goes wrong, each
resource ends in the EHR exactly once, as we have it, and nothing is lost.

The transport and failure-handling cases (a 503 burst, 429 Retry-After, a hang past the timeout, a reset
after the EHR committed, a 422 dead letter replayed, an unreachable EHR) run against each profile of the
stand-in EHR (`profiled`): full (a transaction Bundle), no-transaction (each resource PUT) and restrictive
(each record a DocumentReference created: one current per record, no copy). The other two profiles run on
SQLite only, for CI time: the fault handling does not depend on the database, which the full profile covers
both ways. These stay on the full profile alone, being about what only it has: the transaction and its
Provenance as sent, a 412 on the transaction's CarePlan entry reconciled from the EHR's version, injected
409/412 reconciled a bounded number of times (versioned updates: the restrictive EHR only creates
documents), a refused batch going again job by job (a batch of jobs is one transaction), and restricted
records withheld (not about the transport; documents have their own tests in test_documents.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from fhir_adapter.adapters.db import writing
from fhir_adapter.adapters.sync_tables import ehrs
from tests.conftest import ROOT, read_json
from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import Fault, FaultProxy

POST = {"method": "POST"}
# how each profile writes a record: the request a fault is put on
WRITES = {
    "full": {"method": "POST"},
    "no-transaction": {"method": "PUT"},
    "restrictive": {"method": "POST", "path_prefix": "/DocumentReference"},
}
OTHER_PROFILES = [pytest.param(p, marks=pytest.mark.sqlite_only) for p in ("no-transaction", "restrictive")]


@pytest.fixture(params=["full", *OTHER_PROFILES])
def profiled(request: pytest.FixtureRequest, harness: Harness) -> Iterator[Harness]:
    """The harness on the full stand-in EHR, or on one of the other profiles."""
    if request.param == "full":
        yield harness
        return
    server: EhrServer = request.getfixturevalue(request.param.replace("-", "_") + "_ehr")
    server.reset()
    proxy = FaultProxy(server.url).start()
    h = Harness(harness.service, harness.client, harness.headers, harness.org_id, server, proxy)
    h.ehr_id = request.param
    h.register_ehr()
    yield h
    proxy.stop()


def writes(h: Harness) -> dict[str, Any]:
    return WRITES.get(h.ehr_id, WRITES["full"])


def wrote_plan(h: Harness, method: str, path: str) -> bool:
    """Whether a request wrote a plan: the transaction, the CarePlan's PUT, or the plan's document."""
    if h.ehr_id == "no-transaction":
        return method == "PUT" and path.startswith("/CarePlan/")
    if h.ehr_id == "restrictive":
        return method == "POST" and path == "/DocumentReference"
    return (method, path) == ("POST", "/")


def delivered_once(h: Harness, client_id: str) -> list[dict[str, Any]]:
    """The client's records in the EHR once each: as resources, or on the restrictive EHR as documents."""
    if h.ehr_id == "restrictive":
        return h.assert_documented_once(client_id)
    return h.assert_exactly_once(client_id)


def reasons(h: Harness, job_id: int) -> list[str]:
    detail = h.client.get(f"/api/v1/deliveries/{job_id}", headers=h.headers).json
    return [f["reason"] for f in detail["failures"]]


def test_a_change_reaches_the_ehr_once_in_a_transaction_with_a_provenance(harness: Harness) -> None:
    h = harness
    client_id = h.new_client("pt-1")
    h.drain()
    plan = next(r for r in h.assert_exactly_once(client_id) if r["resourceType"] == "CarePlan")
    assert plan["subject"]["reference"] == "Patient/pt-1"  # the EHR's patient, not ours
    h.change_plan(client_id, "Plan after the first home visit")
    h.drain()
    plan = next(r for r in h.assert_exactly_once(client_id) if r["resourceType"] == "CarePlan")
    assert plan["title"] == "Plan after the first home visit"
    assert [j.state for j in h.jobs()] == ["delivered", "delivered"]
    provenances = h.ehr.search("Provenance")
    assert len(provenances) == 2
    targets = {t["reference"] for t in provenances[-1]["target"]}
    assert f"CarePlan/{plan['id']}/_history/{plan['meta']['versionId']}" in targets  # the version it wrote
    sent = {(m, path.split("/")[1]) for m, path, _ in h.proxy.log}
    assert sent == {("GET", "metadata"), ("POST", ""), ("PUT", "Provenance")}


def test_a_503_burst_is_retried_until_it_gets_through(profiled: Harness) -> None:
    h = profiled
    h.proxy.inject(*[Fault("status", 503, **writes(h))] * 3)
    client_id = h.new_client()
    h.drain()
    (job,) = h.jobs()
    assert job.state == "delivered" and job.attempts == 4
    assert reasons(h, job.id) == ["http_503"] * 3
    delivered_once(h, client_id)


def test_429_waits_as_long_as_retry_after_says(profiled: Harness) -> None:
    h = profiled
    h.proxy.inject(Fault("status", 429, retry_after="1", **writes(h)))
    client_id = h.new_client()
    worker = h.worker()
    assert worker.run_once()
    (job,) = h.jobs()
    assert job.state == "pending" and job.last_reason == "http_429"
    started = time.monotonic()
    h.drain(worker)
    assert time.monotonic() - started >= 0.9
    delivered_once(h, client_id)


def test_a_hang_past_the_timeout_is_retried(profiled: Harness) -> None:
    h = profiled
    h.proxy.inject(Fault("hang", seconds=2.5, **writes(h)))
    client_id = h.new_client()
    h.drain(h.worker(ehr_timeout_seconds=0.5))
    assert reasons(h, h.jobs()[0].id) == ["timeout"]
    delivered_once(h, client_id)


def test_a_connection_reset_after_the_ehr_committed_makes_no_duplicate(profiled: Harness) -> None:
    h = profiled
    h.proxy.inject(Fault("reset_after_commit", **writes(h)))
    client_id = h.new_client()
    h.drain()
    assert reasons(h, h.jobs()[0].id) == ["connection"]
    assert len(h.ours(client_id)) == 3  # the plan and its two goals
    if h.ehr_id == "restrictive":  # one document for the plan, its goals in it, and no other version
        (doc,) = h.assert_documented_once(client_id)
        (ident,) = doc["identifier"]
        assert len(h.ehr.search("DocumentReference", identifier=f"{ident['system']}|{ident['value']}")) == 1
    else:
        assert len(h.assert_exactly_once(client_id)) == 3


def test_an_edit_made_in_the_ehr_is_a_412_then_reconciled(harness: Harness) -> None:
    h = harness
    client_id = h.new_client("pt-2")
    h.drain()
    plan = next(r for r in h.assert_exactly_once(client_id) if r["resourceType"] == "CarePlan")
    plan["description"] = "edited by a nurse in the EHR"
    h.ehr.put(plan)  # a new version in the EHR: our If-Match is stale now
    h.change_plan(client_id, "Revised at discharge")
    h.drain()
    plan = next(r for r in h.assert_exactly_once(client_id) if r["resourceType"] == "CarePlan")
    assert plan["title"] == "Revised at discharge"
    assert [j.state for j in h.jobs()] == ["delivered", "delivered"]
    # the transaction's CarePlan entry answered 412; the worker read the EHR's version and sent it again
    assert ("GET", f"/CarePlan/{plan['id']}") in {(m, path) for m, path, _ in h.proxy.log}
    assert sum(1 for m, path, _ in h.proxy.log if (m, path) == ("POST", "/")) == 3


def test_injected_409_and_412_are_reconciled_a_bounded_number_of_times(harness: Harness) -> None:
    h = harness
    h.proxy.inject(Fault("status", 409, **POST), Fault("status", 412, **POST))
    client_id = h.new_client()
    h.drain()
    assert h.jobs()[0].state == "delivered"
    h.assert_exactly_once(client_id)
    h.proxy.inject(*[Fault("status", 412, **POST)] * 10)
    h.change_plan(client_id, "never lands")
    h.drain(h.worker(reconcile_limit=2))
    job = h.jobs()[-1]
    assert job.state == "dead" and job.last_reason == "conflict_412"
    assert job.attempts == 1  # reconciled within one attempt: 3 tries in all


def test_a_422_is_a_dead_letter_with_the_servers_outcome_then_replayed(profiled: Harness) -> None:
    h = profiled
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": "CarePlan.category is required"}],
    }
    h.proxy.inject(Fault("status", 422, body=outcome, **writes(h)))
    client_id = h.new_client()
    h.drain()
    (job,) = h.jobs()
    assert job.state == "dead" and job.attempts == 1
    listed = h.client.get("/api/v1/deliveries?state=dead", headers=h.headers).json["items"]
    assert [j["id"] for j in listed] == [job.id]
    assert listed[0]["reason"] == "http_422" and listed[0]["error"] == outcome
    assert h.ehr.search("CarePlan") == [] and h.ehr.search("DocumentReference") == []
    replayed = h.client.post(f"/api/v1/deliveries/{job.id}/replay", headers=h.headers)
    assert replayed.status_code == 202, replayed.json
    h.drain()
    states = {j.id: j.state for j in h.jobs()}
    assert states == {job.id: "replayed", replayed.json["replayed"][0]["as"]: "delivered"}
    delivered_once(h, client_id)


def test_an_unreachable_ehr_keeps_every_job_until_it_is_back(profiled: Harness) -> None:
    h = profiled
    h.proxy.down = True
    first = h.new_client()
    second = h.new_client()
    for n in range(3):
        h.change_plan(first, f"revision {n}")
    worker = h.worker()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        worker.run_once() or time.sleep(0.02)
    assert {j.state for j in h.jobs()} == {"pending"}
    assert {j.last_reason for j in h.jobs() if j.attempts} == {"connection"}
    h.proxy.down = False
    h.drain(worker)
    assert {j.state for j in h.jobs()} == {"delivered"}
    delivered_once(h, second)
    (plan,) = [r for r in delivered_once(h, first) if r["resourceType"] in ("CarePlan", "DocumentReference")]
    assert plan.get("title", plan.get("description")).endswith("revision 2")
    # the backlog went as one write of the plan per patient: the first client's four jobs together
    plan_writes = [
        (m, path) for m, path, status in h.proxy.log if status in (200, 201) and wrote_plan(h, m, path)
    ]
    assert len(plan_writes) == 2, plan_writes
    listed = h.client.get(f"/api/v1/deliveries?client_id={first}", headers=h.headers).json["items"]
    head = listed[0]["id"]
    assert [j.get("delivered_with") for j in listed] == [None, head, head, head]


def test_restricted_records_are_withheld_unless_the_ehr_allows_them(harness: Harness) -> None:
    h = harness
    client_id = h.new_client("pt-3")
    sensitive = read_json(ROOT / "fixtures" / "cases" / "sensitive-substance-use.json")
    assessment = sensitive["assessments"][0] | {"client_id": client_id, "id": f"AS-{client_id}"}
    assessment.pop("episode_id", None)
    h.post("/api/v1/assessments", assessment)
    h.drain()
    plan_job, assessment_job = h.jobs()
    assert plan_job.state == "delivered"
    assert assessment_job.state == "withheld" and assessment_job.last_reason == "restricted"
    assert h.ehr.search("QuestionnaireResponse", subject="Patient/pt-3") == []
    assert {r.action for r in h.ledger() if r.resource_type == "QuestionnaireResponse"} == {"WITHHELD"}
    with writing(h.service.engine) as conn:
        conn.execute(update(ehrs).where(ehrs.c.org_id == h.org_id).values(send_restricted=True))
    replayed = h.client.post(f"/api/v1/deliveries/{assessment_job.id}/replay", headers=h.headers)
    assert replayed.status_code == 202
    h.drain()
    assert len(h.ehr.search("QuestionnaireResponse", subject="Patient/pt-3")) == 1


def test_a_batch_the_ehr_refuses_goes_again_job_by_job_and_only_the_one_at_fault_is_dead(
    harness: Harness,
) -> None:
    h = harness
    client_id = h.new_client()
    h.change_plan(client_id, "second revision")  # queued behind the first: one claim takes both
    refused = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
    h.proxy.inject(*[Fault("status", 422, body=refused, **POST)] * 2)  # the pair, then the first alone
    h.drain()
    first, second = h.jobs()
    assert (first.state, first.last_reason) == ("dead", "http_422")
    assert second.state == "delivered" and second.attempts == 2
    assert second.batch_head is None  # claimed alone the second time
    (plan,) = h.ehr.search("CarePlan", subject=f"Patient/pt-{client_id.lower()}")
    assert plan["title"] == "second revision"
    assert h.client.post(f"/api/v1/deliveries/{first.id}/replay", headers=h.headers).status_code == 202
    h.drain()
    h.assert_exactly_once(client_id)  # the goals the first job carried, too
