"""The case file of a discharged client, posted record by record through the API."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import ROOT, read_json

COLLECTIONS = (
    ("episodes", "episodes"),
    ("assessments", "assessments"),
    ("service_plans", "service-plans"),
    ("referrals", "referrals"),
)


@pytest.fixture
def kim() -> dict[str, Any]:
    return copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json"))


def seed(client: Any, headers: dict[str, str], case: dict[str, Any]) -> None:
    """Post the client and every record of the case file; each must be created."""
    response = client.post("/api/v1/clients", json=case["client"], headers=headers)
    assert response.status_code == 201, response.json
    for key, collection in COLLECTIONS:
        for record in case.get(key, []):
            response = client.post(f"/api/v1/{collection}", json=record, headers=headers)
            assert response.status_code == 201, (collection, response.json)


@pytest.fixture
def kim_org(client: Any, new_org: Any, kim: dict[str, Any]) -> tuple[dict[str, str], str]:
    """An organisation holding Kim's case file: its headers, and the id of Kim's Patient on /fhir."""
    headers = new_org()
    seed(client, headers, kim)
    return headers, patient_id(client, headers, kim["client"]["id"])


def patient_id(client: Any, headers: dict[str, str], client_id: str) -> str:
    bundle = client.get(f"/fhir/Patient?identifier={client_id}", headers=headers).json
    assert bundle["total"] == 1, bundle
    return str(bundle["entry"][0]["resource"]["id"])
