"""A hospital's Bundle whose entries name each other by fullUrl (urn:uuid) arrives with those references
resolved to what the entries became, on /fhir as by `map --reverse`
(https://hl7.org/fhir/R4/http.html#trules); a urn:uuid that is no entry is refused naming the element."""

from __future__ import annotations

import copy

from tests.conftest import ROOT, read_json

BUNDLE = read_json(ROOT / "fixtures" / "ehr" / "bundle-discharge-transaction.json")
TASK, ORDER, PLAN, GOAL, PATIENT = range(5)


def _bundle(kind: str = "transaction") -> dict:
    return copy.deepcopy(BUNDLE) | {"type": kind}


def _read(client, headers, location: str) -> dict:
    return client.get(f"/fhir/{location.split('/_history')[0]}", headers=headers).json


def test_entries_that_name_each_other_arrive_linked(client, kim_org):
    headers, pid = kim_org
    answer = client.post("/fhir", json=_bundle(), headers=headers)
    assert answer.status_code == 200, answer.json
    statuses = [e["response"]["status"] for e in answer.json["entry"]]
    assert statuses == ["200 OK", "201 Created", "201 Created", "201 Created", "200 OK"]
    where = [e["response"]["location"] for e in answer.json["entry"]]
    assert where[PATIENT].startswith(f"Patient/{pid}/")
    order, plan = _read(client, headers, where[ORDER]), _read(client, headers, where[PLAN])
    task, goal = _read(client, headers, where[TASK]), _read(client, headers, where[GOAL])
    assert (
        order["subject"]["reference"] == f"Patient/{pid}" and plan["subject"]["reference"] == f"Patient/{pid}"
    )
    assert task["focus"]["reference"] == f"ServiceRequest/{order['id']}"
    # The stored ServiceRequest, which is what EHRs are sent, names the hospital's order number after ours.
    assert [i["value"] for i in order["identifier"]][1:] == ["REF-2025-0418-3"]
    assert order["identifier"][1]["assigner"] == {"display": "Riverside General Hospital"}
    assert order["note"] == [{"text": "Client prefers a ground-floor flat near the clinic."}]
    assert plan["goal"] == [{"reference": f"Goal/{goal['id']}"}]
    referrals = client.get("/api/v1/referrals?client_id=CL-20417", headers=headers).json["items"]
    (housing,) = [r for r in referrals if r.get("identifiers", [{}])[0].get("value") == "REF-2025-0418-3"]
    assert housing["status"] == "sent"
    plans = client.get("/api/v1/service-plans?client_id=CL-20417&plan_type=hospital", headers=headers).json
    (kept,) = [p for p in plans["items"] if p.get("title") == "Discharge plan: home with supports"]
    assert [g["description"] for g in kept["goals"]] == ["Stable housing within 30 days of discharge"]


def test_a_urn_that_is_no_entry_refuses_the_bundle_naming_the_element(client, kim_org):
    headers, _ = kim_org
    bundle = _bundle()
    bundle["entry"][TASK]["resource"]["focus"] = {
        "reference": "urn:uuid:00000000-0000-4000-8000-000000000000"
    }
    for kind in ("transaction", "batch", "collection"):
        refused = client.post("/fhir", json=bundle | {"type": kind}, headers=headers)
        assert refused.status_code == 422, refused.json
        (issue,) = refused.json["issue"]
        assert issue["expression"] == ["Bundle.entry[0].resource.focus.reference"]
        assert "no entry of this Bundle" in issue["diagnostics"]
    referrals = client.get("/api/v1/referrals?client_id=CL-20417", headers=headers).json["items"]
    assert not [r for r in referrals if r.get("identifiers")]


def test_an_entry_naming_a_refused_entry_is_refused_with_it(client, kim_org):
    headers, _ = kim_org
    bundle = _bundle("batch")
    bundle["entry"][ORDER]["resource"]["status"] = "not-a-status"
    answer = client.post("/fhir", json=bundle, headers=headers)
    assert answer.status_code == 200, answer.json
    task, order = answer.json["entry"][TASK]["response"], answer.json["entry"][ORDER]["response"]
    assert order["status"].startswith("4") and task["status"].startswith("4")
    (issue,) = task["outcome"]["issue"]
    assert issue["expression"] == ["focus.reference"] and "not stored" in issue["diagnostics"]
    assert answer.json["entry"][PLAN]["response"]["status"] == "201 Created"
    refused = client.post("/fhir", json=bundle | {"type": "transaction"}, headers=headers)
    assert refused.status_code == 422 and refused.json["issue"][0]["expression"][0].startswith(
        "Bundle.entry[1]"
    )


def test_a_patient_entry_that_is_none_of_ours_is_refused(client, kim_org):
    headers, _ = kim_org
    bundle = _bundle()
    bundle["entry"][PATIENT]["resource"]["identifier"][0]["value"] = "MRN-000001"
    refused = client.post("/fhir", json=bundle, headers=headers)
    assert refused.status_code == 422, refused.json
    assert refused.json["issue"][0]["expression"] == ["Bundle.entry[4]: identifier"]
