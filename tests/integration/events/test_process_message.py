"""Da Vinci admit and discharge notification messages on $process-message, against the stand-in EHR."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.events.conftest import MRN, MRN_SYSTEM, VISIT, Hospital
from tests.integration.events.notifying import (
    HOME,
    merged,
    received,
    the_admission,
)

DAVINCI = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
VISIT_IDS = "urn:oid:2.16.840.1.113883.19.5.9"


def message(
    code: str, bundle_id: str, mrn: str = MRN, visit: str = VISIT, **encounter: Any
) -> dict[str, Any]:
    """A Da Vinci notification message: the MessageHeader, the Encounter it is about, its Patient."""
    header, enc, patient = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "message",
        "timestamp": "2025-10-18T08:16:00Z",
        "entry": [
            {
                "fullUrl": header,
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": header.removeprefix("urn:uuid:"),
                    "eventCoding": {"system": DAVINCI, "code": code},
                    "source": {"name": "Riverside General ADT", "endpoint": "https://rgh.example.org/fhir"},
                    "focus": [{"reference": enc}],
                },
            },
            {
                "fullUrl": enc,
                "resource": {
                    "resourceType": "Encounter",
                    "id": enc.removeprefix("urn:uuid:"),
                    "status": "in-progress",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                    "identifier": [{"system": VISIT_IDS, "value": visit}],
                    "subject": {"reference": patient},
                    "period": {"start": "2025-10-18T08:00:00Z"},
                }
                | encounter,
            },
            {
                "fullUrl": patient,
                "resource": {
                    "resourceType": "Patient",
                    "id": patient.removeprefix("urn:uuid:"),
                    "identifier": [{"system": MRN_SYSTEM, "value": mrn}],
                    "name": [{"family": "Kim", "given": ["Seo-yeon"]}],
                },
            },
        ],
    }


def process(hospital: Hospital, bundle: dict[str, Any], status: int = 200) -> Any:
    response = hospital.h.client.post(
        f"/api/v1/ehrs/{hospital.h.ehr_id}/$process-message", json=bundle, headers=hospital.h.headers
    )
    assert response.status_code == status, response.json
    return response.json


def test_da_vinci_admit_then_discharge(hospital: Hospital) -> None:
    admit = message("notification-admit", "dv-admit-1")
    assert process(hospital, admit)["state"] == "applied"
    assert process(hospital, admit)["state"] == "duplicate"  # the same Bundle id again
    assert len(hospital.h.jobs()) == 1

    hospital.h.drain()  # found in the EHR by MRN, the Encounter by the visit number
    (plan,) = hospital.in_ehr("CarePlan")
    assert plan["encounter"]["reference"] == f"Encounter/{hospital.encounter}"
    admission = the_admission(hospital)
    assert (admission["state"], admission["visit"]) == ("admitted", VISIT)
    assert received(hospital)[("notification-admit", "applied")] == 1

    discharge = message(
        "notification-discharge",
        "dv-discharge-1",
        status="finished",
        period={"start": "2025-10-18T08:00:00Z", "end": "2025-10-20T19:00:00Z"},
        hospitalization={"dischargeDisposition": HOME},
    )
    answer = process(hospital, discharge)
    assert answer["state"] == "applied" and "discharged" in answer["detail"], answer

    admission = the_admission(hospital)
    assert admission["state"] == "discharged"
    assert admission["disposition"]["code"] == "home"
    assert admission["discharged_at"] == "2025-10-20T19:00:00.000000Z"
    hospital.h.drain()
    assert received(hospital)[("notification-discharge", "applied")] == 1


def test_a_da_vinci_message_for_an_unknown_mrn_waits_for_a_person(hospital: Hospital) -> None:
    answer = process(hospital, message("notification-admit", "dv-unknown-1", mrn="MRN-000001", visit="V2002"))
    assert answer["state"] == "needs_match"
    assert hospital.h.jobs() == []

    waiting = hospital.get("/api/v1/inbound?state=needs_match")["items"]
    (item,) = waiting
    assert (item["id"], item["mrn"], item["visit"]) == (answer["inbound"], "MRN-000001", "V2002")

    matched = hospital.h.post(f"/api/v1/inbound/{item['id']}/match", {"client_id": hospital.client_id}, 200)

    (applied,) = matched["applied"]
    assert (applied["state"], applied["client_id"], applied["matched_by"]) == (
        "applied",
        hospital.client_id,
        "person",
    )
    assert hospital.get("/api/v1/inbound?state=needs_match")["items"] == []
    assert the_admission(hospital)["visit"] == "V2002"
    assert len(hospital.h.jobs()) == 1


def _focus(bundle: dict[str, Any], focus: Any) -> dict[str, Any]:
    bundle["entry"][0]["resource"]["focus"] = focus
    return bundle


def _focus_on_patient(bundle: dict[str, Any]) -> dict[str, Any]:
    return _focus(bundle, [{"reference": bundle["entry"][2]["fullUrl"]}])


MESSAGE_ERRORS = {
    "not a message": (merged(message("notification-admit", "m-1"), type="collection"), "Bundle.type"),
    "no MessageHeader first": (
        merged(message("notification-admit", "m-2"), entry=message("notification-admit", "m-2")["entry"][1:]),
        "Bundle.entry[0]",
    ),
    "not a Da Vinci event": (message("notification-transfer-x", "m-3"), "MessageHeader.eventCoding"),
    "entries not a list": (merged(message("notification-admit", "m-4"), entry={}), "Bundle.entry"),
    "focus not a list": (
        _focus(message("notification-admit", "m-5"), {"reference": "urn:uuid:x"}),
        "MessageHeader.focus",
    ),
    "focus on the Patient": (_focus_on_patient(message("notification-admit", "m-6")), "MessageHeader.focus"),
    "no MRN": (message("notification-admit", "m-7", mrn=""), "Patient.identifier"),
    "MRN beyond its column": (
        message("notification-admit", "m-8", mrn="9" * 300),
        "Patient.identifier.value",
    ),
    "visit number beyond its column": (
        message("notification-admit", "m-9", visit="9" * 300),
        "Encounter.identifier.value",
    ),
}


@pytest.mark.parametrize("bundle, where", MESSAGE_ERRORS.values(), ids=MESSAGE_ERRORS.keys())
def test_a_malformed_message_is_refused_naming_the_field(hospital: Hospital, bundle: Any, where: str) -> None:
    outcome = process(hospital, bundle, 422)
    assert outcome["issue"][0]["expression"] == [where]
    assert hospital.get("/api/v1/inbound?state=rejected")["items"]
