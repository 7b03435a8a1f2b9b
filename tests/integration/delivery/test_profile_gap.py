"""A write the EHR refuses as invalid, of a type for which its CapabilityStatement names profiles and none
of ours: the dead letter keeps the EHR's OperationOutcome whole and says, after it, which profiles the
statement names. The way of writing does not change for it: the profiles are a claim, not a permission."""

from __future__ import annotations

import requests

from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import Fault, FaultProxy

HOSPITAL_PLAN = "https://ehr.example.org/fhir/StructureDefinition/hospital-careplan"


def test_a_422_of_a_type_whose_profiles_the_ehr_does_not_name_says_so(
    harness: Harness, no_transaction_ehr: EhrServer
) -> None:
    server = no_transaction_ehr
    server.reset()
    statement = requests.get(f"{server.url}/metadata", timeout=10).json()
    for resource in statement["rest"][0]["resource"]:
        if resource["type"] == "CarePlan":
            resource["supportedProfile"] = [HOSPITAL_PLAN]
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": "meta.profile is not supported"}],
    }
    with FaultProxy(server.url) as proxy:
        h = Harness(harness.service, harness.client, harness.headers, harness.org_id, server, proxy)
        h.ehr_id = "no-transaction"
        h.register_ehr()
        proxy.inject(
            Fault("status", 200, body=statement, method="GET", path_prefix="/metadata"),
            Fault("status", 422, body=outcome, method="PUT", path_prefix="/CarePlan/"),
        )
        h.new_client()
        h.drain()
        (job,) = h.jobs()
        assert job.state == "dead" and job.attempts == 1
        assert ("PUT", "/CarePlan/") in [(m, p[: len("/CarePlan/")]) for m, p, _ in proxy.log]
        (listed,) = h.client.get("/api/v1/deliveries?state=dead", headers=h.headers).json["items"]
    assert listed["reason"] == "http_422"
    assert listed["error"]["issue"] == [
        *outcome["issue"],
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": "CarePlan profiles in its CapabilityStatement: the EHR names none of ours: "
            "us-core-careplan; it names: hospital-careplan",
        },
    ]
