"""What an EHR creates or updates on /fhir becomes case-management records."""

from __future__ import annotations

import copy

from tests.conftest import ROOT, read_json

EHR = ROOT / "fixtures" / "ehr"


def for_patient(name: str, pid: str, element: str = "subject") -> dict:
    resource = read_json(EHR / f"{name}.json")
    resource[element] = {"reference": f"Patient/{pid}"}
    resource.pop("id", None)
    resource.pop("meta", None)
    return resource


def test_a_questionnaire_response_becomes_an_assessment(client, kim_org):
    headers, pid = kim_org
    qr = for_patient("qr-hunger-vital-sign", pid)
    created = client.post("/fhir/QuestionnaireResponse", json=qr, headers=headers)
    assert created.status_code == 201, created.json
    assert created.headers["Location"].endswith(f"/QuestionnaireResponse/{created.json['id']}/_history/1")
    stored = created.json
    assert stored["subject"] == {"reference": f"Patient/{pid}"}
    assessments = client.get(
        "/api/v1/assessments?client_id=CL-20417&kind=hunger-vital-sign", headers=headers
    ).json
    assert assessments["total"] == 2
    again = client.post("/fhir/QuestionnaireResponse", json=qr, headers=headers)
    assert again.status_code == 201  # a create without identifiers of ours is a new response, as FHIR says
    outcome = client.post(
        "/fhir/QuestionnaireResponse", json=qr, headers=headers | {"Prefer": "return=OperationOutcome"}
    )
    assert outcome.json["resourceType"] == "OperationOutcome"
    assert any("encounter" in i.get("expression", [""])[0] for i in outcome.json["issue"])


def test_an_update_of_our_resource_updates_the_record(client, kim_org):
    headers, pid = kim_org
    plan = client.get(f"/fhir/CarePlan?patient={pid}", headers=headers).json["entry"][0]["resource"]
    changed = copy.deepcopy(plan)
    changed["status"] = "completed"
    updated = client.put(f"/fhir/CarePlan/{plan['id']}", json=changed, headers=headers)
    assert updated.status_code == 200, updated.json
    assert updated.json["id"] == plan["id"] and updated.json["status"] == "completed"
    assert updated.json["meta"]["versionId"] == "2"
    record = client.get("/api/v1/service-plans/SP-3307", headers=headers).json
    assert record["status"] == "completed" and record["version"] == 4
    before = client.get("/api/v1/service-plans/SP-3307/versions/3", headers=headers).json
    # Nothing else changed: the goals the CarePlan names by reference are read from the store with it.
    assert {k: v for k, v in record.items() if k not in ("status", "version")} == {
        k: v for k, v in before.items() if k not in ("status", "version")
    }
    assert (
        client.put("/fhir/CarePlan/unknown", json=changed | {"id": "unknown"}, headers=headers).status_code
        == 404
    )
    assert (
        client.put(f"/fhir/CarePlan/{plan['id']}", json=changed | {"id": "x"}, headers=headers).status_code
        == 400
    )


def test_a_task_moves_the_referral(client, kim_org):
    headers, pid = kim_org
    orders = client.get(
        f"/fhir/ServiceRequest?patient={pid}&_revinclude=Task:focus&status=active", headers=headers
    ).json
    task = next(e["resource"] for e in orders["entry"] if e["resource"]["resourceType"] == "Task")
    record = client.get("/api/v1/referrals/RF-7710", headers=headers).json
    assert record["status"] == "accepted" and task["status"] == "accepted"
    started = copy.deepcopy(task) | {"status": "in-progress", "lastModified": "2025-10-20T10:00:00+09:00"}
    response = client.put(f"/fhir/Task/{task['id']}", json=started, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "in-progress"
    record = client.get("/api/v1/referrals/RF-7710", headers=headers).json
    assert record["status"] == "in-progress" and record["status_changed_at"] == "2025-10-20T10:00:00+09:00"
    # The EHR owns its Task: a move our lifecycle has no way for is recorded as its word, not refused.
    backwards = copy.deepcopy(task) | {"status": "draft"}
    assert client.put(f"/fhir/Task/{task['id']}", json=backwards, headers=headers).status_code == 200
    record = client.get("/api/v1/referrals/RF-7710", headers=headers).json
    assert (record["status"], record["status_by_ehr"], record.get("skipped_statuses")) == (
        "draft",
        True,
        None,
    )


def test_a_new_service_request_becomes_a_referral(client, kim_org):
    headers, pid = kim_org
    order = for_patient("servicerequest-pt-discharge", pid)
    created = client.post("/fhir/ServiceRequest", json=order, headers=headers)
    assert created.status_code == 201, created.json
    referrals = client.get("/api/v1/referrals?client_id=CL-20417", headers=headers).json
    assert referrals["total"] == 3


def test_refusals(client, kim_org):
    headers, pid = kim_org
    stranger = for_patient("qr-hunger-vital-sign", "not-ours")
    refused = client.post("/fhir/QuestionnaireResponse", json=stranger, headers=headers)
    assert refused.status_code == 422 and refused.json["issue"][0]["expression"] == ["subject"]
    invalid = for_patient("qr-hunger-vital-sign", pid) | {"status": "finished"}
    bad = client.post("/fhir/QuestionnaireResponse", json=invalid, headers=headers)
    assert bad.status_code == 422 and "status" in bad.json["issue"][0]["expression"][0]
    wrong_type = client.post("/fhir/CarePlan", json=for_patient("qr-hunger-vital-sign", pid), headers=headers)
    assert wrong_type.status_code == 422
    assert client.post("/fhir/Patient", json={"resourceType": "Patient"}, headers=headers).status_code == 405
    foreign_plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2025-09-27"},
    }
    hospital_plan = client.post("/fhir/CarePlan", json=foreign_plan, headers=headers)
    assert hospital_plan.status_code == 201, hospital_plan.json  # a plan of the hospital's own


def test_our_resources_sent_back_unchanged_change_nothing(client, kim_org):
    headers, pid = kim_org
    for rtype in ("QuestionnaireResponse", "ServiceRequest", "Task", "CarePlan"):
        for entry in client.get(f"/fhir/{rtype}?patient={pid}", headers=headers).json["entry"]:
            resource = entry["resource"]
            again = client.put(f"/fhir/{rtype}/{resource['id']}", json=resource, headers=headers)
            assert again.status_code == 200, (rtype, again.json)
            assert again.json == resource, rtype  # same version, same content
    versions = client.get("/api/v1/service-plans/SP-3307/versions", headers=headers).json["versions"]
    assert [v["version"] for v in versions] == [3]
    same = client.put(
        "/api/v1/service-plans/SP-3307",
        json=client.get("/api/v1/service-plans/SP-3307", headers=headers).json,
        headers=headers,
    )
    assert same.status_code == 200 and same.json["version"] == 3
