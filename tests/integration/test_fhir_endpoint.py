"""The /fhir endpoint: metadata, read, vread, search with paging and includes, $validate."""

from __future__ import annotations

import copy

from fhir_adapter.mapping.validation import validate_fhir, validate_resource

TYPES = (
    "Patient",
    "EpisodeOfCare",
    "CareTeam",
    "QuestionnaireResponse",
    "Observation",
    "CarePlan",
    "Goal",
    "ServiceRequest",
    "Task",
)


def test_metadata_is_open_and_valid(client, catalogue):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    statement = response.json
    assert next(iter(statement)) == "resourceType" and statement["fhirVersion"] == "4.0.1"
    assert [i for i in validate_resource(statement, catalogue) if i.severity == "error"] == []
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    # the hospital's documents and appointments are served as they were written (test_fhir_intake_packet.py)
    assert set(served) == {*TYPES, "AuditEvent", "Questionnaire", "DocumentReference", "Appointment"}
    assert served["Appointment"]["searchInclude"] == ["Appointment:patient"]
    assert served["CarePlan"]["searchInclude"] == ["CarePlan:goal", "CarePlan:patient", "CarePlan:subject"]
    assert "Task:focus" in served["ServiceRequest"]["searchRevInclude"]
    assert {i["code"] for i in served["Task"]["interaction"]} >= {"create", "update", "read", "vread"}


def test_every_resource_is_served_valid(client, kim_org, catalogue):
    headers, pid = kim_org
    for rtype in TYPES:
        query = f"_id={pid}" if rtype == "Patient" else f"patient={pid}"
        bundle = client.get(f"/fhir/{rtype}?{query}", headers=headers).json
        assert bundle["total"] >= 1, rtype
        assert [i for i in validate_fhir(bundle, catalogue, received=True) if i.severity == "error"] == []
        for entry in bundle["entry"]:
            resource = entry["resource"]
            assert list(resource)[:3] == ["resourceType", "id", "meta"]
            assert entry["fullUrl"].endswith(f"/fhir/{rtype}/{resource['id']}")
            one = client.get(f"/fhir/{rtype}/{resource['id']}", headers=headers)
            assert one.status_code == 200 and one.json == resource
            assert one.headers["ETag"] == f'W/"{resource["meta"]["versionId"]}"'


def test_search_parameters(client, kim_org, kim, new_org):
    headers, pid = kim_org

    def total(query: str) -> int:
        response = client.get(f"/fhir/{query}", headers=headers)
        assert response.status_code == 200, response.json
        return int(response.json["total"])

    assert total(f"CarePlan?subject=Patient/{pid}") == 1
    assert total("CarePlan?patient=someone-else") == 0
    assert (
        total("CarePlan?category=http://hl7.org/fhir/us/core/CodeSystem/careplan-category|assess-plan") == 1
    )
    assert total("CarePlan?category=assess-plan&status=active") == 1
    assert total("CarePlan?status=revoked") == 0
    referral = kim["referrals"][0]["id"]
    system = f"https://cms.example.org/ids/{new_org.org_id}/referral"
    assert total(f"ServiceRequest?identifier={system}|{referral}") == 1
    assert total(f"ServiceRequest?identifier={system}|{referral},{system}|nothing") == 1
    assert total(f"ServiceRequest?identifier=https://elsewhere.example.org|{referral}") == 0
    assert total(f"ServiceRequest?identifier={referral}") == 1
    assert total(f"ServiceRequest?identifier=|{referral}") == 0
    assert total("Observation?category=sdoh,functional-status") >= 1
    assert total("CarePlan?_lastUpdated=ge2020-01-01") == 1
    assert total("CarePlan?_lastUpdated=lt2020-01-01") == 0
    assert total("CarePlan?_lastUpdated=gt2999-01-01T00:00:00Z") == 0
    goals = client.get(f"/fhir/Goal?patient={pid}", headers=headers).json["entry"]
    lifecycle = {e["resource"]["lifecycleStatus"] for e in goals}
    # a Goal's status is its lifecycleStatus
    assert sum(total(f"Goal?patient={pid}&status={s}") for s in lifecycle) == len(goals)


def test_paging_includes_and_refusals(client, kim_org):
    headers, pid = kim_org
    first = client.get(f"/fhir/Observation?patient={pid}&_count=2", headers=headers).json
    assert len(first["entry"]) == 2 and first["total"] > 2
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = client.get(following.split("/fhir", 1)[1].join(["/fhir", ""]), headers=headers).json
    assert {e["resource"]["id"] for e in second["entry"]}.isdisjoint(
        {e["resource"]["id"] for e in first["entry"]}
    )
    count_only = client.get(f"/fhir/Observation?patient={pid}&_count=0", headers=headers).json
    assert count_only["total"] == first["total"] and "entry" not in count_only
    plans = client.get(f"/fhir/CarePlan?patient={pid}&_include=CarePlan:goal", headers=headers).json
    goals = [e for e in plans["entry"] if e["search"]["mode"] == "include"]
    plan = plans["entry"][0]["resource"]
    assert sorted(f"Goal/{e['resource']['id']}" for e in goals) == sorted(
        g["reference"] for g in plan["goal"]
    )
    orders = client.get(f"/fhir/ServiceRequest?patient={pid}&_revinclude=Task:focus", headers=headers).json
    tasks = [e["resource"] for e in orders["entry"] if e["search"]["mode"] == "include"]
    assert len(tasks) == orders["total"]
    assert all(t["focus"]["reference"].startswith("ServiceRequest/") for t in tasks)
    for bad in (
        "CarePlan?colour=red",
        "CarePlan?_include=CarePlan:author",
        "CarePlan?_count=501",
        "CarePlan?_lastUpdated=yesterday",
        "CarePlan?status:not=active",
    ):
        response = client.get(f"/fhir/{bad}", headers=headers)
        assert response.status_code == 400 and response.json["resourceType"] == "OperationOutcome", bad
    lenient = client.get("/fhir/CarePlan?colour=red", headers=headers | {"Prefer": "handling=lenient"})
    assert lenient.status_code == 200
    assert client.get("/fhir/Encounter", headers=headers).status_code == 404
    assert client.get("/fhir/CarePlan/nope", headers=headers).status_code == 404


def test_vread_keeps_old_versions(client, kim_org, kim):
    headers, pid = kim_org
    episode = copy.deepcopy(kim["episodes"][0]) | {"status": "closed"}
    assert client.put(f"/api/v1/episodes/{episode['id']}", json=episode, headers=headers).status_code == 200
    current = client.get(f"/fhir/EpisodeOfCare?patient={pid}", headers=headers).json["entry"][0]["resource"]
    assert current["meta"]["versionId"] == "2" and current["status"] == "finished"
    old = client.get(f"/fhir/EpisodeOfCare/{current['id']}/_history/1", headers=headers)
    assert old.status_code == 200 and old.json["status"] == "active"
    assert client.get(f"/fhir/EpisodeOfCare/{current['id']}/_history/3", headers=headers).status_code == 404
    same = client.put(f"/api/v1/episodes/{episode['id']}", json=episode, headers=headers)
    assert same.status_code == 200
    unchanged = client.get(f"/fhir/EpisodeOfCare/{current['id']}", headers=headers).json
    assert unchanged["meta"]["versionId"] == "2"  # a re-send without change makes no new FHIR version


def test_a_removed_goal_is_gone(client, kim_org, kim):
    headers, pid = kim_org
    plan = copy.deepcopy(kim["service_plans"][0])
    plan.pop("version")
    removed = plan["goals"].pop()
    for activity in plan.get("activities", []):
        activity["goal_ids"] = [g for g in activity.get("goal_ids", []) if g != removed["id"]]
    referrals_to_goal = [
        r for r in kim["referrals"] if (r.get("reason") or {}).get("goal_id") == removed["id"]
    ]
    assert referrals_to_goal == []
    before = client.get(f"/fhir/Goal?patient={pid}", headers=headers).json
    assert client.put(f"/api/v1/service-plans/{plan['id']}", json=plan, headers=headers).status_code == 200
    gone_ids = {e["resource"]["id"] for e in before["entry"]} - {
        e["resource"]["id"] for e in client.get(f"/fhir/Goal?patient={pid}", headers=headers).json["entry"]
    }
    assert len(gone_ids) == 1
    gone_id = gone_ids.pop()
    assert client.get(f"/fhir/Goal/{gone_id}", headers=headers).status_code == 410
    assert client.get(f"/fhir/Goal/{gone_id}/_history/1", headers=headers).status_code == 200
    assert client.get(f"/fhir/Goal/{gone_id}/_history/2", headers=headers).status_code == 410
    goals = client.get(f"/fhir/Goal?patient={pid}", headers=headers).json
    assert goals["total"] == len(plan["goals"])
    gone = [
        g
        for g in client.get(f"/fhir/CarePlan?patient={pid}&_include=CarePlan:goal", headers=headers).json[
            "entry"
        ]
    ]
    assert all(removed["description"] != e["resource"].get("description", {}).get("text") for e in gone)


def test_validate_operation(client, kim_org, catalogue):
    headers, pid = kim_org
    good = client.get(f"/fhir/Patient/{pid}", headers=headers).json
    ok = client.post("/fhir/$validate", json=good, headers=headers)
    assert ok.status_code == 200 and ok.json["issue"][0]["severity"] == "information"
    broken = copy.deepcopy(good) | {"gender": "robot"}
    wrapped = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": broken}]}
    bad = client.post("/fhir/Patient/$validate", json=wrapped, headers=headers)
    assert bad.status_code == 200 and any(i["severity"] == "error" for i in bad.json["issue"])
    assert any("gender" in i.get("expression", [""])[0] for i in bad.json["issue"])
    too_many = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": good}] * 501}
    assert client.post("/fhir/$validate", json=too_many, headers=headers).status_code == 422
    assert client.post("/fhir/$validate", json=good).status_code == 401
    for malformed in (
        {"resourceType": "Parameters", "parameter": "x"},
        {"resourceType": "Parameters", "parameter": [1]},
    ):
        assert client.post("/fhir/$validate", json=malformed, headers=headers).status_code == 422
