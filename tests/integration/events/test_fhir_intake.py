"""Admissions and discharges that arrive as FHIR, against the stand-in EHR: Subscriptions-backport
notifications (handshake, heartbeat, id-only and full-resource events, a gap recovered by asking the EHR
what changed) and Da Vinci admit/discharge messages on $process-message."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from fhir_adapter.service import notifications
from fhir_adapter.service.context import stamp, utc_now
from tests.integration.events.conftest import MRN, MRN_SYSTEM, VISIT, Hospital
from tests.support.fault_proxy import Fault

SUBSCRIPTION = "Subscription/adt-sub"
TOPIC = "http://hl7.org/fhir/us/core/SubscriptionTopic/patient-admission"
DAVINCI = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
VISIT_IDS = "urn:oid:2.16.840.1.113883.19.5.9"
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


# --- Subscriptions-backport notifications ---


def test_a_handshake_is_answered_and_the_subscription_recorded(hospital: Hospital) -> None:
    answer = notify(hospital, notification("handshake", 3))
    assert answer == {"subscription": SUBSCRIPTION, "type": "handshake", "events": []}

    beat = notify(hospital, notification("heartbeat", 3))
    assert "gap" not in beat  # the handshake's count was kept: nothing is missing
    assert hospital.h.proxy.received == []  # neither asked the EHR anything
    assert hospital.h.jobs() == []


def test_a_heartbeat_ahead_of_what_was_seen_recovers_the_gap_from_the_ehr(hospital: Hospital) -> None:
    notify(hospital, notification("handshake", 0))
    admitted = notify(hospital, notification("event-notification", 1, event(1)))
    assert admitted["events"][0]["state"] == "applied"
    hospital.h.drain()
    admit_jobs = len(hospital.h.jobs())

    # The discharge's notification is lost; the EHR has the Encounter finished.
    hospital.h.ehr.put(discharged(kim_encounter(hospital)))
    beat = notify(hospital, notification("heartbeat", 2))

    gap = beat["gap"]
    assert gap["missing"] == [2]
    (recovered,) = gap["recovered"]
    assert recovered["encounter"] == hospital.encounter
    assert recovered["state"] == "applied", recovered
    assert "discharged" in recovered["detail"]
    assert any("_lastUpdated=ge" in path for path in ehr_reads(hospital, "Encounter"))
    assert len(hospital.h.jobs()) > admit_jobs  # the discharge push and the read-back are queued

    admission = the_admission(hospital)
    assert admission["state"] == "discharged"
    assert admission["disposition"]["code"] == "home"
    assert admission["discharged_at"] == "2025-10-20T19:00:00.000000Z"

    again = notify(hospital, notification("heartbeat", 2))
    assert "gap" not in again  # the recovered events count as seen


def test_a_heartbeat_on_a_fresh_subscription_recovers_what_changed(hospital: Hospital) -> None:
    notify(hospital, notification("handshake", 0))
    hospital.h.ehr.put(discharged(kim_encounter(hospital)))

    beat = notify(hospital, notification("heartbeat", 2))

    assert beat["gap"]["missing"] == [1, 2]
    assert [r["state"] for r in beat["gap"]["recovered"]] == ["applied"]
    assert the_admission(hospital)["state"] == "discharged"
    assert {j.action for j in hospital.h.jobs()} >= {"pull"}


def test_a_gap_before_the_notified_event_is_looked_for_from_the_last_event_seen(hospital: Hospital) -> None:
    notify(hospital, notification("handshake", 0))
    hospital.h.ehr.put(discharged(kim_encounter(hospital)))  # events 1 and 2: their notifications are lost
    sent_at = stamp(utc_now())

    answer = notify(hospital, notification("event-notification", 3, event(3)))

    assert answer["gap"]["missing"] == [1, 2]
    assert answer["gap"]["since"] < sent_at  # from before this notification, not from its own events
    assert [r["encounter"] for r in answer["gap"]["recovered"]] == [hospital.encounter]


def test_the_recovery_follows_the_ehrs_next_links(hospital: Hospital, monkeypatch: Any) -> None:
    notify(hospital, notification("handshake", 0))
    hospital.h.ehr.put(discharged(kim_encounter(hospital)))
    # The EHR pages its answer: the first page is empty, its next link names the EHR by its full URL.
    monkeypatch.setattr(notifications, "RECOVERY_PAGE_SIZE", 1)
    next_page = f"{hospital.h.proxy.url}/Encounter?_lastUpdated=ge2000-01-01T00:00:00Z&_count=1&_offset=0"
    first_page = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": next_page}],
        "entry": [],
    }
    hospital.h.proxy.inject(Fault("status", 200, body=first_page, path_prefix="/Encounter?_lastUpdated"))

    beat = notify(hospital, notification("heartbeat", 1))

    assert [r["encounter"] for r in beat["gap"]["recovered"]] == [hospital.encounter]
    assert ehr_reads(hospital, "Encounter")[-1] == next_page.removeprefix(hospital.h.proxy.url)
    assert the_admission(hospital)["state"] == "discharged"


def test_an_id_only_notification_is_fetched_from_the_ehr_and_admits(hospital: Hospital) -> None:
    answer = notify(hospital, notification("event-notification", 1, event(1)))

    (taken,) = answer["events"]
    assert taken["number"] == 1 and taken["state"] == "applied", taken
    assert ehr_reads(hospital, "Encounter") == [f"/Encounter/{hospital.encounter}"]
    assert ehr_reads(hospital, "Patient") == [f"/Patient/{hospital.patient}"]  # not linked yet: its MRN

    hospital.h.drain()
    (plan,) = hospital.in_ehr("CarePlan")
    assert plan["encounter"]["reference"] == f"Encounter/{hospital.encounter}"
    assert plan["subject"]["reference"] == f"Patient/{hospital.patient}"

    admission = the_admission(hospital)
    assert admission["state"] == "admitted"
    assert admission["visit"] == VISIT
    assert admission["encounter"] == f"Encounter/{hospital.encounter}"
    assert received(hospital)[("encounter:in-progress", "applied")] == 1

    # Kim is linked now: the next id-only event reads the Encounter alone.
    hospital.h.proxy.received.clear()
    hospital.h.ehr.put(discharged(kim_encounter(hospital)))
    notify(hospital, notification("event-notification", 2, event(2)))
    assert ehr_reads(hospital, "Patient") == []
    assert the_admission(hospital)["state"] == "discharged"


def test_a_full_resource_notification_is_used_as_given(hospital: Hospital) -> None:
    # The EHR says "planned"; the notification carries the Encounter as it was when it fired.
    hospital.h.ehr.put(kim_encounter(hospital, status="planned"))
    sent = kim_encounter(hospital, status="in-progress", period={"start": "2025-10-18T08:00:00Z"})
    base = hospital.h.proxy.url
    bundle = notification(
        "event-notification",
        1,
        event(1, f"{base}/Encounter/{hospital.encounter}"),
        included=(included(base, sent),),
    )

    (taken,) = notify(hospital, bundle)["events"]

    assert taken["state"] == "applied", taken
    assert ehr_reads(hospital, "Encounter") == []  # not fetched
    admission = the_admission(hospital)
    assert admission["state"] == "admitted"  # as notified, not "registered" as the EHR has it now
    assert admission["admitted_at"] == "2025-10-18T08:00:00.000000Z"


def test_a_versioned_focus_is_read_as_the_encounter(hospital: Hospital) -> None:
    answer = notify(
        hospital, notification("event-notification", 1, event(1, "Encounter/enc-kim-1/_history/1"))
    )

    assert answer["events"][0]["state"] == "applied", answer
    assert ehr_reads(hospital, "Encounter") == [f"/Encounter/{hospital.encounter}"]


def test_events_out_of_order_in_one_notification_are_each_taken(hospital: Hospital) -> None:
    answer = notify(hospital, notification("event-notification", 2, event(2), event(1)))

    assert [(e["number"], e["state"]) for e in answer["events"]] == [(1, "applied"), (2, "applied")]
    assert "gap" not in answer


def test_an_event_without_focus_counts_as_seen(hospital: Hospital) -> None:
    answer = notify(hospital, notification("event-notification", 2, event(1, focus=None), event(2)))

    assert [(e["number"], e["state"]) for e in answer["events"]] == [(1, "ignored"), (2, "applied")]
    assert "gap" not in answer
    assert not any("_lastUpdated" in path for path in ehr_reads(hospital, "Encounter"))


def test_a_repeated_event_number_is_processed_once(hospital: Hospital) -> None:
    first = notify(hospital, notification("event-notification", 1, event(1)))
    assert first["events"][0]["state"] == "applied"

    again = notify(hospital, notification("event-notification", 1, event(1)))

    (repeat,) = again["events"]
    assert repeat == {"number": 1, "state": "duplicate", "detail": "processed before"}
    assert "gap" not in again
    assert len(hospital.h.jobs()) == 1
    assert received(hospital)[("encounter:in-progress", "applied")] == 1


def _with(bundle: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return bundle | changes


def _status(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]  # type: ignore[no-any-return]


def _set_param(name: str, value: dict[str, Any]) -> dict[str, Any]:
    bundle = notification("event-notification", 1, event(1))
    params = _status(bundle)["parameter"]
    params[:] = [p for p in params if p["name"] != name] + ([{"name": name, **value}] if value else [])
    return bundle


def _first_entry(resource: Any) -> dict[str, Any]:
    bundle = notification("event-notification", 1, event(1))
    bundle["entry"][0]["resource"] = resource
    return bundle


MALFORMED = {
    "not a Bundle": ({"resourceType": "Parameters", "parameter": []}, "resourceType"),
    "a JSON list": ([{"resourceType": "Bundle"}], "resourceType"),
    "wrong Bundle type": (_with(notification("heartbeat", 0), type="collection"), "Bundle.type"),
    "no entries": (_with(notification("heartbeat", 0), entry=[]), "Bundle.entry[0]"),
    "entries not a list": (_with(notification("heartbeat", 0), entry=7), "Bundle.entry"),
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


# --- Da Vinci notification messages on $process-message ---


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
    "not a message": (_with(message("notification-admit", "m-1"), type="collection"), "Bundle.type"),
    "no MessageHeader first": (
        _with(message("notification-admit", "m-2"), entry=message("notification-admit", "m-2")["entry"][1:]),
        "Bundle.entry[0]",
    ),
    "not a Da Vinci event": (message("notification-transfer-x", "m-3"), "MessageHeader.eventCoding"),
    "entries not a list": (_with(message("notification-admit", "m-4"), entry={}), "Bundle.entry"),
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
