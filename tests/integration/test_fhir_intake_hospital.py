"""What a hospital writes itself arrives whole on /fhir, and `map --reverse` reads it the same way."""

from __future__ import annotations

import copy
import json

import pytest

from fhir_adapter import cli
from tests.conftest import ROOT, read_json

EHR = ROOT / "fixtures" / "ehr"
OUTCOME = {"Prefer": "return=OperationOutcome"}
# Fixtures as a hospital writes them, and the type of record each becomes.
HOSPITAL = {
    "careplan-hospital-discharge.json": "service_plans",
    "servicerequest-text-only-meals.json": "referrals",
    "servicerequest-pt-discharge.json": "referrals",
    "qr-hunger-vital-sign.json": "assessments",
    "qr-hospital-functional-ko.json": "assessments",
    "goal-housing.json": "goals",
    "goal-employment.json": "goals",
}


def _for(name: str, pid: str) -> dict:
    resource = read_json(EHR / name)
    resource["subject"] = {"reference": f"Patient/{pid}"}
    resource.pop("meta", None)
    return resource


def _cli_reverse(resource: dict, tmp_path, capsys) -> tuple[int, dict]:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(resource), encoding="utf-8")
    code = cli.main(["map", str(path), "--reverse", "--client-id", "CL-20417"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


def test_a_hospital_care_plan_arrives_whole(client, kim_org):
    headers, pid = kim_org
    created = client.post(
        "/fhir/CarePlan", json=_for("careplan-hospital-discharge.json", pid), headers=headers
    )
    assert created.status_code == 201, created.json
    plans = client.get("/api/v1/service-plans?client_id=CL-20417&plan_type=hospital", headers=headers).json
    (plan,) = plans["items"]
    assert plan["identifiers"][0]["value"] == "DCP-2025-04417"
    assert plan["categories"][0]["text"] == "퇴원 간호 계획 (discharge care plan)"
    assert plan["addresses"][0]["display"] == "Community-acquired pneumonia"
    assert plan["notes"][0]["author"] == "Ward 7 charge nurse"
    nurse = plan["activities"][0]
    assert nurse["code"]["codings"][0]["code"] == "385763009"
    assert nurse["timing"]["period_unit"] == "d" and nurse["timing"]["times_of_day"] == ["09:00:00"]
    # Sent on, the plan names the hospital's categories and codes, not ours.
    stored = created.json
    assert stored["category"][0]["text"] == "퇴원 간호 계획 (discharge care plan)"


def test_a_text_only_referral_arrives_with_its_words(client, kim_org):
    headers, pid = kim_org
    order = _for("servicerequest-text-only-meals.json", pid)
    created = client.post("/fhir/ServiceRequest", json=order, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["code"] == {"text": "Home-delivered meals, five days a week (lunch)"}
    items = client.get("/api/v1/referrals?client_id=CL-20417&service_type=other", headers=headers).json[
        "items"
    ]
    (meals,) = [r for r in items if r.get("code", {}).get("text", "").startswith("Home-delivered meals")]
    assert {c["codings"][0]["code"] for c in meals["categories"]} == {"sdoh", "food-insecurity"}
    assert meals["identifiers"][0]["value"] == "ORD-88231"
    assert meals["occurrence"] == "2025-04-21" and meals["priority"] == "urgent"
    assert meals["reason_references"][0]["reference"] == "Condition/eCnFood3"


def test_a_task_that_jumps_to_completed_is_the_ehrs_word(client, kim_org):
    headers, pid = kim_org
    orders = client.get(f"/fhir/ServiceRequest?patient={pid}&status=active", headers=headers).json
    order = orders["entry"][0]["resource"]
    referral_id = order["identifier"][0]["value"]
    before = client.get(f"/api/v1/referrals/{referral_id}", headers=headers).json
    assert before["status"] in ("sent", "accepted")
    task = read_json(EHR / "task-jump-completed.json")
    task.pop("id"), task.pop("meta")
    task["focus"] = {"reference": f"ServiceRequest/{order['id']}"}
    task["for"] = {"reference": f"Patient/{pid}"}
    created = client.post("/fhir/Task", json=task, headers=headers)
    assert created.status_code in (200, 201), created.json
    after = client.get(f"/api/v1/referrals/{referral_id}", headers=headers).json
    assert after["status"] == "completed" and after["status_by_ehr"] is True
    assert after["skipped_statuses"] == (
        ["accepted", "in-progress"] if before["status"] == "sent" else ["in-progress"]
    )
    assert after["outcome"] == "Moved into supported housing on 2025-04-19"
    assert after["business_status"]["text"] == "Closed: placement confirmed"
    assert after["status_reason_code"]["codings"][0]["code"] == "PLACED"
    assert [o["reference"]["display"] for o in after["outputs"] if "reference" in o] == ["Placement letter"]
    # Through /api/v1 the lifecycle still holds: a completed referral does not move on.
    moved = client.post(
        f"/api/v1/referrals/{referral_id}/status", json={"status": "in-progress"}, headers=headers
    )
    assert moved.status_code == 409


@pytest.mark.parametrize("name", sorted(HOSPITAL))
def test_map_reverse_and_fhir_agree(client, kim_org, name, tmp_path, capsys):
    headers, pid = kim_org
    resource = _for(name, pid)
    code, reversed_ = _cli_reverse(copy.deepcopy(resource), tmp_path, capsys)
    answer = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=headers | OUTCOME)
    assert (code == 0 and bool(reversed_.get(HOSPITAL[name]))) == (answer.status_code == 201), answer.json
    by_cli = {(f["path"], f["severity"], f["message"]) for f in reversed_.get("findings", [])}
    by_fhir = {(i["expression"][0], i["severity"], i["diagnostics"]) for i in answer.json.get("issue", [])}
    # /fhir names the subject itself; map --reverse is told the client: the subject is the one difference.
    assert {f for f in by_cli if not f[0].endswith("subject")} == {
        f for f in by_fhir if not f[0].endswith("subject")
    }


def test_a_hospital_goal_joins_the_plan_of_hospital_goals(client, kim_org):
    headers, pid = kim_org
    goal = _for("goal-housing.json", pid)
    created = client.post("/fhir/Goal", json=goal, headers=headers)
    assert created.status_code == 201, created.json
    plan = client.get("/api/v1/service-plans/hospital-goals-CL-20417", headers=headers).json
    assert plan["plan_type"] == "hospital"
    (kept,) = plan["goals"]
    assert kept["description_code"]["codings"][0]["code"] == "611221000124108"
    assert kept["categories"][0]["codings"][0]["code"] == "housing-instability"
    again = client.put(
        f"/fhir/Goal/{created.json['id']}",
        json=created.json | {"lifecycleStatus": "completed"},
        headers=headers,
    )
    assert again.status_code == 200, again.json
    plan = client.get("/api/v1/service-plans/hospital-goals-CL-20417", headers=headers).json
    assert [g["lifecycle_status"] for g in plan["goals"]] == ["completed"] and plan["version"] == 2


def test_bundles_of_what_the_hospital_writes(client, kim_org):
    headers, pid = kim_org
    meals = _for("servicerequest-text-only-meals.json", pid)
    plan = _for("careplan-hospital-discharge.json", pid)
    stranger = _for("servicerequest-pt-discharge.json", "not-ours")
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": meals, "request": {"method": "POST", "url": "ServiceRequest"}},
            {"resource": stranger, "request": {"method": "POST", "url": "ServiceRequest"}},
        ],
    }
    answer = client.post("/fhir", json=batch, headers=headers)
    assert answer.status_code == 200, answer.json
    assert [e["response"]["status"][:3] for e in answer.json["entry"]] == ["201", "422"]
    assert answer.json["type"] == "batch-response"
    transaction = batch | {"type": "transaction"}
    transaction["entry"] = [
        {"resource": plan, "request": {"method": "POST", "url": "CarePlan"}},
        {"resource": stranger, "request": {"method": "POST", "url": "ServiceRequest"}},
    ]
    refused = client.post("/fhir", json=transaction, headers=headers)
    assert refused.status_code == 422 and refused.json["issue"][0]["expression"][0].startswith(
        "Bundle.entry[1]"
    )
    assert (
        client.get("/api/v1/service-plans?client_id=CL-20417&plan_type=hospital", headers=headers).json[
            "total"
        ]
        == 0
    )
    collection = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": plan}]}
    taken = client.post("/fhir", json=collection, headers=headers)
    assert [e["response"]["status"] for e in taken.json["entry"]] == ["201 Created"]
    searchset = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": plan}]}
    assert client.post("/fhir", json=searchset, headers=headers).status_code == 422


def test_a_hospital_questionnaire_in_korean_arrives_whole(client, kim_org):
    headers, pid = kim_org
    created = client.post(
        "/fhir/QuestionnaireResponse", json=_for("qr-hospital-functional-ko.json", pid), headers=headers
    )
    assert created.status_code == 201, created.json
    served = created.json
    assert (
        served["questionnaire"]
        == "https://ehr.seoul-riverside.example.org/Questionnaire/functional-discharge-ko|3"
    )
    assert served["item"][0]["item"][0]["text"] == "보조 없이 50m 걷기"
    items = client.get("/api/v1/assessments?client_id=CL-20417&kind=external", headers=headers).json["items"]
    (record,) = items
    meal = next(i for i in record["items"] if i["link_id"] == "adl.meal")
    assert meal["answers"] == [
        {"quantity": {"value": 25.0, "unit": "분", "system": "http://unitsofmeasure.org", "code": "min"}}
    ]
    assert meal["parents"] == ["adl"] and meal["text"] == "식사 준비 시간"
