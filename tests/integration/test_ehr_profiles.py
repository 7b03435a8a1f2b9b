"""The stand-in EHR's profiles say in their CapabilityStatement what they allow, and do as they say: the
restrictive one refuses a write of a read-only type with 405 and an OperationOutcome, the one without
transactions refuses a transaction Bundle, and a document that replaces another supersedes it."""

from __future__ import annotations

from typing import Any

import requests

from tests.support.ehr_server import EhrServer


def _resources(ehr: EhrServer) -> dict[str, set[str]]:
    statement = requests.get(f"{ehr.url}/metadata", timeout=10).json()
    return {r["type"]: {i["code"] for i in r["interaction"]} for r in statement["rest"][0]["resource"]}


def _bundle() -> dict[str, Any]:
    goal = {
        "resourceType": "Goal",
        "id": "g-1",
        "lifecycleStatus": "active",
        "description": {"text": "x"},
        "subject": {"reference": "Patient/p-1"},
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": goal, "request": {"method": "PUT", "url": "Goal/g-1"}}],
    }


def test_the_restrictive_ehr_says_and_does_what_it_allows(restrictive_ehr: EhrServer) -> None:
    ehr = restrictive_ehr
    ehr.reset()
    allowed = _resources(ehr)
    assert allowed["CarePlan"] == {"read", "vread", "history-instance", "search-type"}
    assert "create" in allowed["DocumentReference"] and "update" not in allowed["DocumentReference"]
    assert "Provenance" not in allowed
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/p-1"},
    }
    refused = requests.post(f"{ehr.url}/CarePlan", json=plan, timeout=10)
    assert refused.status_code == 405
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert "create of CarePlan" in refused.json()["issue"][0]["diagnostics"]
    assert requests.post(ehr.url, json=_bundle(), timeout=10).status_code == 405
    assert requests.get(f"{ehr.url}/CarePlan", timeout=10).status_code == 200
    note = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": "text/plain", "data": "aGVsbG8="}}],
    }
    first = requests.post(f"{ehr.url}/DocumentReference", json=note, timeout=10)
    assert first.status_code == 201
    replacing = note | {
        "relatesTo": [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{first.json()['id']}"}}
        ]
    }
    assert requests.post(f"{ehr.url}/DocumentReference", json=replacing, timeout=10).status_code == 201
    assert sorted(d["status"] for d in ehr.search("DocumentReference")) == ["current", "superseded"]
    asked = [(r["method"], r["url"].split("?")[0]) for r in ehr.requests()]
    assert ("POST", "CarePlan") in asked and ("POST", "DocumentReference") in asked
    assert not any(u == "$requests" for _, u in asked)  # the hospital's own are not recorded


def test_the_ehr_without_transactions_writes_each_resource(no_transaction_ehr: EhrServer) -> None:
    ehr = no_transaction_ehr
    ehr.reset()
    statement = requests.get(f"{ehr.url}/metadata", timeout=10).json()
    assert "interaction" not in statement["rest"][0]
    refused = requests.post(ehr.url, json=_bundle(), timeout=10)
    assert refused.status_code == 405
    assert "transaction" in refused.json()["issue"][0]["diagnostics"]
    goal = _bundle()["entry"][0]["resource"]
    assert requests.put(f"{ehr.url}/Goal/g-1", json=goal, timeout=10).status_code in (200, 201)


def test_the_full_ehr_takes_transactions(ehr: EhrServer) -> None:
    ehr.reset()
    statement = requests.get(f"{ehr.url}/metadata", timeout=10).json()
    assert {i["code"] for i in statement["rest"][0]["interaction"]} == {"transaction", "batch"}
    assert requests.post(ehr.url, json=_bundle(), timeout=10).status_code == 200
