"""Notifications and messages as an EHR sends them, and what the service says of them."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from tests.integration.events.conftest import Hospital

SUBSCRIPTION = "Subscription/adt-sub"
TOPIC = "http://hl7.org/fhir/us/core/SubscriptionTopic/patient-admission"
HOME = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition", "code": "home"}]}

# --- notifications as an EHR sends them ---


def event(number: int | str, focus: str | None = "Encounter/enc-kim-1") -> dict[str, Any]:
    """One notification-event: its number and the reference to what changed."""
    parts = [
        {"name": "event-number", "valueString": str(number)},
        {"name": "timestamp", "valueInstant": "2025-10-18T08:15:00Z"},
    ]
    if focus is not None:
        parts.append({"name": "focus", "valueReference": {"reference": focus}})
    return {"name": "notification-event", "part": parts}


def notification(
    kind: str, since_start: int | str, *events: dict[str, Any], included: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    """A history Bundle: the SubscriptionStatus Parameters first, then any full resources."""
    status = {
        "resourceType": "Parameters",
        "id": str(uuid.uuid4()),
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": SUBSCRIPTION}},
            {"name": "topic", "valueCanonical": TOPIC},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": kind},
            {"name": "events-since-subscription-start", "valueString": str(since_start)},
            *events,
        ],
    }
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": "2025-10-18T08:15:01Z",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{status['id']}",
                "resource": status,
                "request": {"method": "GET", "url": ""},
            },
            *included,
        ],
    }


def included(base: str, resource: dict[str, Any]) -> dict[str, Any]:
    """A full-resource entry, named by its URL on the EHR."""
    url = f"{base}/{resource['resourceType']}/{resource['id']}"
    return {"fullUrl": url, "resource": resource, "request": {"method": "PUT", "url": url}}


def notify(hospital: Hospital, bundle: Any, status: int = 200) -> Any:
    response = hospital.h.client.post(
        f"/api/v1/ehrs/{hospital.h.ehr_id}/notifications", json=bundle, headers=hospital.h.headers
    )
    assert response.status_code == status, response.json
    return response.json


def kim_encounter(hospital: Hospital, **changes: Any) -> dict[str, Any]:
    """Kim's Encounter as the EHR has it now, with changes."""
    (found,) = hospital.h.ehr.search("Encounter", _id=hospital.encounter)
    found.pop("meta", None)
    return found | changes


def discharged(encounter: dict[str, Any]) -> dict[str, Any]:
    return encounter | {
        "status": "finished",
        "period": {"start": "2025-10-18T08:00:00Z", "end": "2025-10-20T14:00:00-05:00"},
        "hospitalization": {"dischargeDisposition": HOME},
    }


def ehr_reads(hospital: Hospital, rtype: str) -> list[str]:
    """The GETs of one resource type the service sent to the EHR."""
    return [
        path for method, path in hospital.h.proxy.received if method == "GET" and path.startswith(f"/{rtype}")
    ]


def timeline(hospital: Hospital) -> dict[str, Any]:
    return hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")  # type: ignore[no-any-return]


def received(hospital: Hospital) -> Counter[tuple[str | None, str | None]]:
    return Counter(
        (e.get("event"), e.get("state")) for e in timeline(hospital)["entries"] if e["what"] == "received"
    )


def the_admission(hospital: Hospital) -> dict[str, Any]:
    (admission,) = timeline(hospital)["admissions"]
    return admission  # type: ignore[no-any-return]


def merged(bundle: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return bundle | changes


def status_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]  # type: ignore[no-any-return]
