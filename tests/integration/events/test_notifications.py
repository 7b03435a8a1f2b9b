"""Subscriptions-backport notifications against the stand-in EHR: handshake, heartbeat, id-only and
full-resource events, a gap recovered by asking the EHR what changed, and a count the EHR starts again."""

from __future__ import annotations

from typing import Any

from fhir_adapter.adapters import inbound_store
from fhir_adapter.adapters.db import writing
from fhir_adapter.domain.inbound import Subscription
from fhir_adapter.service import notifications
from fhir_adapter.service.context import stamp, utc_now
from tests.integration.events.conftest import VISIT, Hospital
from tests.integration.events.notifying import (
    SUBSCRIPTION,
    TOPIC,
    discharged,
    ehr_reads,
    event,
    included,
    kim_encounter,
    notification,
    notify,
    received,
    the_admission,
)
from tests.support.fault_proxy import Fault


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


def test_a_handshake_that_starts_the_count_again_is_a_new_generation(hospital: Hospital) -> None:
    notify(hospital, notification("handshake", 0))
    assert (
        notify(hospital, notification("event-notification", 1, event(1)))["events"][0]["state"] == "applied"
    )
    notify(hospital, notification("event-notification", 2, event(2, focus=None)))

    # The EHR re-creates the subscription under the same reference: its count starts at 0 again.
    again = notify(hospital, notification("handshake", 0))
    assert again["restarted"] is True
    hospital.h.ehr.put(discharged(kim_encounter(hospital)))
    (taken,) = notify(hospital, notification("event-notification", 1, event(1)))["events"]

    assert taken["state"] == "applied" and "discharged" in taken["detail"], taken  # not a repeat of event 1
    assert the_admission(hospital)["state"] == "discharged"
    assert "gap" not in notify(hospital, notification("heartbeat", 1))
    repeat = notify(hospital, notification("event-notification", 1, event(1)))
    assert repeat["events"][0]["state"] == "duplicate"


def test_a_handshake_that_goes_on_counting_is_not_a_restart(hospital: Hospital) -> None:
    notify(hospital, notification("event-notification", 1, event(1)))
    answer = notify(hospital, notification("handshake", 1))  # re-activated after an error: the count goes on
    assert "restarted" not in answer
    assert (
        notify(hospital, notification("event-notification", 1, event(1)))["events"][0]["state"] == "duplicate"
    )


def test_notifications_saved_at_the_same_time_never_lower_the_count(hospital: Hospital) -> None:
    """Two notifications read the count before either saves: the later save of the lower count must not
    undo the higher one (else event 3 would be taken again)."""
    org, ehr = hospital.h.org_id, hospital.h.ehr_id
    at = "2025-10-18T08:15:00.000000Z"
    with writing(hospital.h.service.engine) as conn:
        for seen in (3, 2):
            sub = Subscription(SUBSCRIPTION, TOPIC, "active", seen, at)
            inbound_store.save_subscription(conn, org, ehr, sub, at)
        old = Subscription(SUBSCRIPTION, TOPIC, "active", 9, at, generation=1)
        inbound_store.save_subscription(conn, org, ehr, old, at)  # of a generation that is not ours: ignored
        assert inbound_store.subscription(conn, org, ehr, SUBSCRIPTION) == Subscription(
            SUBSCRIPTION, TOPIC, "active", 3, at
        )


def test_an_event_whose_encounter_the_ehr_no_longer_has_is_kept_as_rejected(hospital: Hospital) -> None:
    """Answering 502 would make the EHR send it again for ever: the event is kept with the reason and
    counted as seen, and the events beside it are taken."""
    bundle = notification("event-notification", 2, event(1, "Encounter/enc-gone"), event(2))

    answer = notify(hospital, bundle)

    gone, taken = answer["events"]
    assert gone["state"] == "rejected" and "404" in gone["detail"], gone
    assert taken["state"] == "applied"
    (kept,) = hospital.get("/api/v1/inbound?state=rejected")["items"]
    assert kept["id"] == gone["inbound"] and "Encounter/enc-gone" in kept["detail"]
    assert "gap" not in notify(hospital, notification("heartbeat", 2))


def test_a_recovery_longer_than_its_page_limit_goes_on_at_the_next_notification(
    hospital: Hospital, monkeypatch: Any
) -> None:
    notify(hospital, notification("handshake", 0))
    hospital.h.ehr.put(discharged(kim_encounter(hospital)))
    for n in (2, 3):
        visit = {"system": "urn:oid:2.16.840.1.113883.19.5.9", "value": f"V200{n}"}
        hospital.h.ehr.put(kim_encounter(hospital, id=f"enc-kim-{n}", identifier=[visit]))  # finished too
    monkeypatch.setattr(notifications, "RECOVERY_PAGES", 1)
    monkeypatch.setattr(notifications, "RECOVERY_PAGE_SIZE", 2)

    first = notify(hospital, notification("heartbeat", 3))
    second = notify(hospital, notification("heartbeat", 3))

    assert first["gap"]["complete"] is False
    assert [r["encounter"] for r in first["gap"]["recovered"]] == ["enc-kim-1", "enc-kim-2"]  # oldest first
    assert second["gap"]["complete"] is True  # from the last one read: it is read again, and not taken again
    assert [(r["encounter"], r["state"]) for r in second["gap"]["recovered"]] == [
        ("enc-kim-2", "duplicate"),
        ("enc-kim-3", "applied"),
    ]
    assert "gap" not in notify(hospital, notification("heartbeat", 3))
    timeline = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")
    visits = {a["visit"]: a["state"] for a in timeline["admissions"]}
    assert visits == {VISIT: "discharged", "V2002": "discharged", "V2003": "discharged"}


def test_a_handshake_without_a_count_is_not_a_restart(hospital: Hospital) -> None:
    notify(hospital, notification("event-notification", 1, event(1)))
    handshake = notification("handshake", 0)
    params = handshake["entry"][0]["resource"]["parameter"]
    params[:] = [p for p in params if p["name"] != "events-since-subscription-start"]
    assert "restarted" not in notify(hospital, handshake)
    assert (
        notify(hospital, notification("event-notification", 1, event(1)))["events"][0]["state"] == "duplicate"
    )


def test_a_handshake_ahead_of_our_count_recovers_the_events_in_between(hospital: Hospital) -> None:
    """A subscription re-activated after an error: what it could not send is asked of the EHR."""
    notify(hospital, notification("handshake", 0))
    notify(hospital, notification("event-notification", 1, event(1)))
    hospital.h.ehr.put(discharged(kim_encounter(hospital)))

    answer = notify(hospital, notification("handshake", 3))

    assert "restarted" not in answer
    assert answer["gap"]["missing"] == [2, 3]
    assert [r["state"] for r in answer["gap"]["recovered"]] == ["applied"]
    assert the_admission(hospital)["state"] == "discharged"
