"""Malformed notifications are refused with a 4xx naming the element, and nothing is taken from them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.events.conftest import MRN, MRN_SYSTEM, Hospital
from tests.integration.events.notifying import (
    event,
    included,
    kim_encounter,
    merged,
    notification,
    notify,
    status_of,
)


def _set_param(name: str, value: dict[str, Any]) -> dict[str, Any]:
    bundle = notification("event-notification", 1, event(1))
    params = status_of(bundle)["parameter"]
    params[:] = [p for p in params if p["name"] != name] + ([{"name": name, **value}] if value else [])
    return bundle


def _first_entry(resource: Any) -> dict[str, Any]:
    bundle = notification("event-notification", 1, event(1))
    bundle["entry"][0]["resource"] = resource
    return bundle


MALFORMED = {
    "not a Bundle": ({"resourceType": "Parameters", "parameter": []}, "resourceType"),
    "a JSON list": ([{"resourceType": "Bundle"}], "resourceType"),
    "wrong Bundle type": (merged(notification("heartbeat", 0), type="collection"), "Bundle.type"),
    "no entries": (merged(notification("heartbeat", 0), entry=[]), "Bundle.entry[0]"),
    "entries not a list": (merged(notification("heartbeat", 0), entry=7), "Bundle.entry"),
    "first entry not Parameters": (_first_entry({"resourceType": "Encounter", "id": "x"}), "Bundle.entry[0]"),
    "first entry's resource not an object": (_first_entry("Parameters"), "Bundle.entry[0]"),
    "unknown type": (_set_param("type", {"valueCode": "ping"}), "Parameters.type"),
    "no subscription": (_set_param("subscription", {}), "Parameters.subscription"),
    "subscription not a string": (
        _set_param("subscription", {"valueReference": {"reference": {"id": 1}}}),
        "Parameters.subscription",
    ),
    "bad event-number": (
        notification("event-notification", 1, event("one")),
        "notification-event.event-number",
    ),
    "negative event-number": (
        notification("event-notification", 1, event(-2)),
        "notification-event.event-number",
    ),
    "bad events-since": (notification("heartbeat", "lots"), "events-since-subscription-start"),
    "events-since beyond any count": (notification("heartbeat", 10**15), "events-since-subscription-start"),
    "focus not a string": (
        _set_param(
            "notification-event",
            {
                "part": [
                    {"name": "event-number", "valueString": "1"},
                    {"name": "focus", "valueReference": {"reference": 42}},
                ]
            },
        ),
        "notification-event.focus",
    ),
    "unknown status": (_set_param("status", {"valueCode": "suspended"}), "Parameters.status"),
    "topic not a string": (_set_param("topic", {"valueCoding": {"code": "admission"}}), "Parameters.topic"),
    "subscription too long": (
        _set_param("subscription", {"valueReference": {"reference": "Subscription/" + "s" * 500}}),
        "Parameters.subscription",
    ),
    "id-only focus not an Encounter": (
        notification("event-notification", 1, event(1, "Patient/pt-kim")),
        "notification-event.focus",
    ),
    "id-only focus not a resource": (
        notification("event-notification", 1, event(1, "../metadata")),
        "notification-event.focus",
    ),
}


@pytest.mark.parametrize("bundle, where", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_notification_is_refused_naming_the_field(
    hospital: Hospital, bundle: Any, where: str
) -> None:
    response = hospital.h.client.post(
        f"/api/v1/ehrs/{hospital.h.ehr_id}/notifications", json=bundle, headers=hospital.h.headers
    )

    assert 400 <= response.status_code < 500, (response.status_code, response.json)
    outcome = response.json
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [where], outcome
    assert hospital.h.jobs() == []


def _full_resource(hospital: Hospital, **changes: Any) -> dict[str, Any]:
    base = hospital.h.proxy.url
    encounter = kim_encounter(hospital, **changes)
    focus = f"{base}/Encounter/{encounter['id']}"
    return notification("event-notification", 1, event(1, focus), included=(included(base, encounter),))


BAD_ENCOUNTERS = {
    "period not an object": ({"period": "yesterday"}, "Encounter.period"),
    "period start not a dateTime": ({"period": {"start": "tuesday"}}, "Encounter.period.start"),
    "identifier not a list": ({"identifier": {"value": "V1001"}}, "Encounter.identifier"),
    "class not an object": ({"class": "IMP"}, "Encounter.class"),
    "id not a FHIR id": ({"id": "enc kim/1" * 10}, "Encounter.id"),
    "subject not an object": ({"subject": "Patient/pt-kim"}, "Encounter.subject"),
    "disposition coding not a list": (
        {"hospitalization": {"dischargeDisposition": {"coding": "home"}}},
        "Encounter.hospitalization.dischargeDisposition.coding",
    ),
}


@pytest.mark.parametrize("changes, where", BAD_ENCOUNTERS.values(), ids=BAD_ENCOUNTERS.keys())
def test_a_malformed_included_encounter_is_refused_naming_the_element(
    hospital: Hospital, changes: dict[str, Any], where: str
) -> None:
    outcome = notify(hospital, _full_resource(hospital, **changes), 422)

    assert outcome["issue"][0]["expression"] == [where], outcome
    assert hospital.h.jobs() == []


def test_a_full_resource_focus_that_is_not_an_encounter_is_refused(hospital: Hospital) -> None:
    patient = {
        "resourceType": "Patient",
        "id": hospital.patient,
        "identifier": [{"system": MRN_SYSTEM, "value": MRN}],
    }
    base = hospital.h.proxy.url
    bundle = notification(
        "event-notification",
        1,
        event(1, f"{base}/Patient/{hospital.patient}"),
        included=(included(base, patient),),
    )

    outcome = notify(hospital, bundle, 422)

    assert outcome["issue"][0]["expression"] == ["Encounter"]
