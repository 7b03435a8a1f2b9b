"""The case-management API through the HTTP client, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy

from tests.integration.conftest import seed


def test_create_read_list_update_every_kind(client, new_org, kim):
    headers = new_org()
    seed(client, headers, kim)
    got = client.get("/api/v1/clients/CL-20417", headers=headers)
    assert got.status_code == 200 and got.json["names"] == kim["client"]["names"]
    assert got.headers["ETag"] == 'W/"1"'
    page = client.get("/api/v1/assessments?client_id=CL-20417&limit=2", headers=headers).json
    assert page["total"] == 3 and len(page["items"]) == 2 and "offset=2" in page["next"]
    rest = client.get(page["next"], headers=headers).json
    assert len(rest["items"]) == 1 and "next" not in rest
    kinds = client.get("/api/v1/assessments?kind=hunger-vital-sign", headers=headers).json
    assert [a["kind"] for a in kinds["items"]] == ["hunger-vital-sign"]

    episode = copy.deepcopy(kim["episodes"][0]) | {"status": "closed"}
    updated = client.put(f"/api/v1/episodes/{episode['id']}", json=episode, headers=headers)
    assert updated.status_code == 200 and updated.json["status"] == "closed"
    assert updated.headers["ETag"] == 'W/"2"'
    assert client.get("/api/v1/episodes?status=closed", headers=headers).json["total"] == 1


def test_refusals_name_the_field(client, new_org, kim):
    headers = new_org()
    seed(client, headers, kim)
    again = client.post("/api/v1/clients", json=kim["client"], headers=headers)
    assert again.status_code == 409
    bad = copy.deepcopy(kim["assessments"][0]) | {"id": "AS-new", "client_id": "nobody"}
    response = client.post("/api/v1/assessments", json=bad, headers=headers)
    assert response.status_code == 422
    assert response.json["issue"][0]["expression"] == ["client_id"]
    wrong_item = copy.deepcopy(kim["assessments"][0]) | {"id": "AS-new2"}
    wrong_item["items"][0]["link_id"] = "no-such-item"
    response = client.post("/api/v1/assessments", json=wrong_item, headers=headers)
    assert response.status_code == 422 and response.json["resourceType"] == "OperationOutcome"
    assert "no-such-item" in response.json["issue"][0]["diagnostics"]
    assert response.json["issue"][0]["expression"] == ["items[0].link_id"]
    gender = copy.deepcopy(kim["client"]) | {"id": "CL-x", "gender": "robot"}
    response = client.post("/api/v1/clients", json=gender, headers=headers)
    assert response.status_code == 422 and response.json["issue"][0]["expression"] == ["gender"]
    assert client.get("/api/v1/referrals/none", headers=headers).status_code == 404
    moved = copy.deepcopy(kim["referrals"][0]) | {"client_id": "CL-other"}
    assert client.put(f"/api/v1/referrals/{moved['id']}", json=moved, headers=headers).status_code == 422
    other_id = client.put("/api/v1/referrals/RF-else", json=kim["referrals"][0], headers=headers)
    assert other_id.status_code == 404
    assert client.get("/api/v1/clients?colour=red", headers=headers).status_code == 400


def test_bad_bodies_get_an_operation_outcome(client, new_org):
    headers = new_org()
    as_text = client.post("/api/v1/clients", data="id=1", headers=headers | {"Content-Type": "text/plain"})
    assert as_text.status_code == 415 and as_text.json["resourceType"] == "OperationOutcome"
    broken = client.post("/api/v1/clients", data="{", headers=headers | {"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json["resourceType"] == "OperationOutcome"
    big = client.post(
        "/api/v1/clients",
        data="[" + "1," * 600_000 + "1]",
        headers=headers | {"Content-Type": "application/json"},
    )
    assert big.status_code == 413 and big.json["resourceType"] == "OperationOutcome"
    deep = {"id": "x", "names": [{"text": "a"}], "identifiers": []}
    node = deep
    for _ in range(80):
        node["n"] = {}
        node = node["n"]
    nested = client.post("/api/v1/clients", json=deep, headers=headers)
    assert nested.status_code == 422 and "nested" in nested.json["issue"][0]["diagnostics"]
    very_deep = client.post(
        "/api/v1/clients",
        data="[" * 5000 + "]" * 5000,
        headers=headers | {"Content-Type": "application/json"},
    )
    assert very_deep.status_code == 422
    long_text = client.post(
        "/api/v1/clients", json={"id": "x", "names": [{"text": "a" * 70_000}]}, headers=headers
    )
    assert long_text.status_code == 422
    assert long_text.json["issue"][0]["expression"] == ["names[0].text"]
    assert client.post("/api/v1/clients", json=[1, 2], headers=headers).status_code == 422
    assert client.delete("/api/v1/clients/x", headers=headers).status_code == 405
    assert client.get("/api/v1/nothing", headers=headers).json["resourceType"] == "OperationOutcome"


def test_a_plan_keeps_every_version(client, new_org, kim):
    headers = new_org()
    seed(client, headers, kim)
    plan = copy.deepcopy(kim["service_plans"][0])
    plan_id, v = plan["id"], plan.pop("version", 1)
    plan["goals"][0]["description"] = "Keep the apartment; rent paid on time"
    plan["goals"] = plan["goals"][:1] + plan["goals"][2:] if len(plan["goals"]) > 2 else plan["goals"]
    second = client.put(f"/api/v1/service-plans/{plan_id}", json=plan, headers=headers)
    assert second.status_code == 200 and second.json["version"] == v + 1
    stale = client.put(
        f"/api/v1/service-plans/{plan_id}", json=plan, headers=headers | {"If-Match": f'W/"{v}"'}
    )
    assert stale.status_code == 412
    wrong = client.put(f"/api/v1/service-plans/{plan_id}", json=plan | {"version": 7}, headers=headers)
    assert wrong.status_code == 409 and wrong.json["issue"][0]["expression"] == ["version"]
    versions = client.get(f"/api/v1/service-plans/{plan_id}/versions", headers=headers).json["versions"]
    assert [x["version"] for x in versions] == [v, v + 1]
    first = client.get(f"/api/v1/service-plans/{plan_id}/versions/{v}", headers=headers).json
    assert first["goals"][0]["description"] == kim["service_plans"][0]["goals"][0]["description"]
    diff = client.get(f"/api/v1/service-plans/{plan_id}/diff?from={v}&to={v + 1}", headers=headers).json
    goal_id = kim["service_plans"][0]["goals"][0]["id"]
    assert {
        "op": "replace",
        "path": f"/goals/{goal_id}/description",
        "old": kim["service_plans"][0]["goals"][0]["description"],
        "new": "Keep the apartment; rent paid on time",
    } in diff["changes"]
    assert {"op": "replace", "path": "/version", "old": v, "new": v + 1} in diff["changes"]
    assert client.get(f"/api/v1/service-plans/{plan_id}/versions/9", headers=headers).status_code == 404
    assert client.get(f"/api/v1/service-plans/{plan_id}/diff?from={v}", headers=headers).status_code == 400


def test_referral_status_follows_the_lifecycle(client, new_org, kim):
    headers = new_org()
    seed(client, headers, kim)
    draft = next(r for r in kim["referrals"] if r["status"] == "draft")
    url = f"/api/v1/referrals/{draft['id']}/status"
    illegal = client.post(url, json={"status": "completed"}, headers=headers)
    assert illegal.status_code == 409
    assert "cannot go from draft to completed" in illegal.json["issue"][0]["diagnostics"]
    sent = client.post(url, json={"status": "sent", "at": "2025-10-20T09:00:00+09:00"}, headers=headers)
    assert sent.status_code == 200 and sent.json["status"] == "sent"
    assert sent.json["status_changed_at"] == "2025-10-20T09:00:00+09:00"
    no_reason = client.post(url, json={"status": "declined"}, headers=headers)
    assert no_reason.status_code == 422 and no_reason.json["issue"][0]["expression"] == ["reason"]
    declined = client.post(url, json={"status": "declined", "reason": "waiting list closed"}, headers=headers)
    assert declined.status_code == 200 and declined.json["status_reason"] == "waiting list closed"
    final = client.post(url, json={"status": "accepted"}, headers=headers)
    assert final.status_code == 409 and "none: it is final" in final.json["issue"][0]["diagnostics"]
    through_put = copy.deepcopy(next(r for r in kim["referrals"] if r["id"] != draft["id"]))
    through_put["status"] = "draft"
    refused = client.put(f"/api/v1/referrals/{through_put['id']}", json=through_put, headers=headers)
    assert refused.status_code == 409


def test_what_the_fuzzer_found_is_refused_cleanly(client, new_org, kim):
    headers = new_org()
    seed(client, headers, kim)
    plan = kim["service_plans"][0]["id"]
    for url in (
        f"/api/v1/service-plans/{plan}/versions/9223372036854775808",
        f"/api/v1/service-plans/{plan}/versions/140737488355327",
    ):
        assert client.get(url, headers=headers).status_code == 404
    for url in (
        "/api/v1/clients?status=a%00b",
        "/api/v1/episodes?client_id=%00",
        "/api/v1/clients/a%00b",
        f"/api/v1/service-plans/{plan}%00/diff?from=1&to=1",
        "/fhir/CarePlan?patient=%00",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 400 and response.json["resourceType"] == "OperationOutcome", url
    for body in (
        {"id": "x", "case_type": "medical", "client_id": "\u0000"},
        {"id": "R\r\n1", "client_id": "CL-20417", "case_type": "hospice"},
        {"id": "CL/1", "client_id": "CL-20417", "case_type": "hospice"},
        {"id": "E-1", "client_id": "CL-20417", "case_type": "hospice", "case_manager": {"name": "a\u0007"}},
    ):
        response = client.post("/api/v1/episodes", json=body, headers=headers)
        assert response.status_code == 422 and response.json["resourceType"] == "OperationOutcome", body
    nul_in_fhir = {
        "resourceType": "Task",
        "status": "draft",
        "intent": "order",
        "note": [{"text": "a\u0000"}],
    }
    assert client.post("/fhir/Task", json=nul_in_fhir, headers=headers).status_code == 422
    assert client.get("/api/v1/clients?offset=2000000000", headers=headers).status_code == 400
