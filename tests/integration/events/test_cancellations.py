"""Cancellations: A11 withdraws what its admission queued or takes back what it sent, and ends the link
it made (nothing more goes through it); A13 takes back the discharge referrals and re-opens the visit;
what the EHR had before the stay stays there. A visit is one client's."""

from __future__ import annotations

from typing import Any

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import writing
from fhir_adapter.adapters.unit_of_work import SqlWork
from fhir_adapter.events import hl7v2
from fhir_adapter.service import admissions
from fhir_adapter.service.context import stamp, utc_now
from tests.integration.events.conftest import VISIT, Hospital, referral
from tests.support import adt
from tests.support.fault_proxy import Fault


def _jobs(hospital: Hospital) -> list[Any]:
    return hospital.h.jobs()


def test_a_cancelled_admission_not_yet_sent_is_withdrawn(hospital: Hospital) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))
    answer = hospital.adt(adt.message("A11", hospital.visit()))
    assert "1 queued jobs withdrawn" in answer["detail"]
    assert [j.state for j in _jobs(hospital)] == ["withdrawn"]
    hospital.h.drain()
    assert hospital.in_ehr("CarePlan") == []


def test_a_cancelled_admission_already_sent_is_retracted_from_the_ehr(hospital: Hospital) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.h.drain()
    assert len(hospital.in_ehr("CarePlan")) == 1
    answer = hospital.adt(adt.message("A11", hospital.visit()))
    assert "to retract from the EHR" in answer["detail"]
    hospital.h.drain()
    for rtype in ("CarePlan", "QuestionnaireResponse", "ServiceRequest", "Task"):
        assert hospital.in_ehr(rtype) == [], rtype
    hospital.h.assert_sound()  # the retraction's Provenance too: it names what was removed, as a DELETE
    activities = [p["activity"]["coding"][0]["code"] for p in hospital.h.ehr.search("Provenance")]
    assert sorted(activities) == ["DELETE", "UPDATE"]
    (admission,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")["admissions"]
    assert admission["state"] == "cancelled"
    again = hospital.adt(adt.message("A11", hospital.visit()))
    assert again["state"] == "ignored"


def test_a_cancelled_discharge_reopens_the_visit_and_retracts_the_discharge_referrals(
    hospital: Hospital,
) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.h.drain()
    hospital.h.post("/api/v1/referrals", referral(hospital, "RF-7720"))
    hospital.adt(adt.message("A03", hospital.visit(), disposition="01^Home"))
    hospital.h.drain()
    values = {r["identifier"][0]["value"] for r in hospital.in_ehr("ServiceRequest")}
    assert values == {"RF-7710", "RF-7720"}
    answer = hospital.adt(adt.message("A13", hospital.visit()))
    assert answer["state"] == "applied", answer
    hospital.h.drain()
    values = {r["identifier"][0]["value"] for r in hospital.in_ehr("ServiceRequest")}
    assert values == {"RF-7710"}  # the admission's referral stays; the discharge's is taken back
    hospital.h.assert_sound()
    assert len(hospital.in_ehr("CarePlan")) == 1
    (admission,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")["admissions"]
    assert admission["state"] == "admitted" and "disposition" not in admission


def test_a_cancelled_admission_leaves_what_the_ehr_had_before_it(hospital: Hospital) -> None:
    link = {"ehr": hospital.h.ehr_id, "patient_id": hospital.patient, "mrn": "MRN-448812", "assigner": "RGH"}
    hospital.h.post(f"/api/v1/clients/{hospital.client_id}/ehr-links", link)
    hospital.h.drain()  # linked before the stay: the EHR has the case record already
    before = len(hospital.in_ehr("CarePlan")), len(hospital.in_ehr("ServiceRequest"))
    assert before == (1, 2)  # a link sends everything the client has, the draft referral too
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.h.drain()
    answer = hospital.adt(adt.message("A11", hospital.visit()))
    assert answer["state"] == "applied" and "retract" not in answer["detail"], answer
    hospital.h.drain()
    assert (len(hospital.in_ehr("CarePlan")), len(hospital.in_ehr("ServiceRequest"))) == before
    links = hospital.get(f"/api/v1/clients/{hospital.client_id}/ehr-links")["items"]
    assert "ended_at" not in links[0]  # a person's link outlives the stay


def test_a_cancelled_admission_ends_the_link_it_made_and_takes_back_what_went_through_it(
    hospital: Hospital,
) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.h.drain()
    hospital.h.post("/api/v1/referrals", referral(hospital, "RF-7720"))  # made during the stay
    hospital.h.drain()
    assert len(hospital.in_ehr("ServiceRequest")) == 2
    answer = hospital.adt(adt.message("A11", hospital.visit()))
    assert "the link it made to the EHR's patient is ended" in answer["detail"], answer
    hospital.h.drain()
    for rtype in ("CarePlan", "QuestionnaireResponse", "ServiceRequest", "Task", "CareTeam"):
        assert hospital.in_ehr(rtype) == [], rtype
    (link,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/ehr-links")["items"]
    assert link["made_by_visit"] == VISIT and link["ended_at"]
    jobs = len(_jobs(hospital))
    hospital.h.post("/api/v1/referrals", referral(hospital, "RF-7730"))
    assert len(_jobs(hospital)) == jobs  # nothing more goes to that EHR
    # A later stay links the client again and sends what it has.
    again = hospital.adt(adt.message("A01", hospital.visit(number="V-2")))
    assert again["state"] == "applied" and "resources queued" in again["detail"], again
    hospital.h.drain()
    values = {r["identifier"][0]["value"] for r in hospital.in_ehr("ServiceRequest")}
    assert values == {"RF-7710", "RF-7720", "RF-7730"}
    (link,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/ehr-links")["items"]
    assert link["made_by_visit"] == "V-2" and "ended_at" not in link


def test_a_person_links_again_a_link_a_cancelled_admission_ended(hospital: Hospital) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.adt(adt.message("A11", hospital.visit()))
    link = {"ehr": hospital.h.ehr_id, "patient_id": hospital.patient, "mrn": "MRN-448812"}
    made = hospital.h.post(f"/api/v1/clients/{hospital.client_id}/ehr-links", link)
    assert made["job"] is not None and "made_by_visit" not in made, made
    hospital.h.drain()
    assert len(hospital.in_ehr("CarePlan")) == 1
    (listed,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/ehr-links")["items"]
    assert "ended_at" not in listed and listed["patient_id"] == hospital.patient


def test_a_replayed_job_does_not_go_through_a_link_that_ended(hospital: Hospital) -> None:
    hospital.h.proxy.inject(Fault("status", 422, method="POST"))
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.h.drain()
    (dead,) = _jobs(hospital)
    assert dead.state == "dead"
    hospital.adt(adt.message("A11", hospital.visit()))  # the link the admission made ends
    replayed = hospital.h.client.post(f"/api/v1/deliveries/{dead.id}/replay", headers=hospital.h.headers)
    assert replayed.status_code == 202
    hospital.h.drain()
    again = next(j for j in _jobs(hospital) if j.id == replayed.json["replayed"][0]["as"])
    assert (again.state, again.last_reason) == ("dead", "link_ended")
    assert hospital.in_ehr("CarePlan") == []


def test_a_visit_is_one_clients_a_message_matched_to_another_is_not_applied(hospital: Hospital) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))
    jobs = len(_jobs(hospital))
    event = hl7v2.to_event(
        hl7v2.parse(adt.message("A03", hospital.visit())),
        "http",
        "RGH",
        hospital.h.service.deps.catalogue.tables,
    )
    with writing(hospital.h.service.engine) as conn:
        ehr = ehr_store.get_ehr(conn, hospital.h.org_id, hospital.h.ehr_id)
        assert ehr is not None
        applied = admissions.apply(SqlWork(conn), ehr, "CL-SOMEONE-ELSE", event, stamp(utc_now()))
    assert applied.state == "reported" and "a person must check the match" in applied.detail
    assert len(_jobs(hospital)) == jobs
    (admission,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")["admissions"]
    assert admission["state"] == "admitted"


def test_a_cancelled_admission_takes_back_what_its_push_sent_along(hospital: Hospital) -> None:
    """An open referral made for a goal of a finished plan: the admission carries the referral, and the
    goal it names goes along (the EHR must hold what a reference names); an A11 takes back both."""
    plan = hospital.get("/api/v1/service-plans/SP-3307")
    old = {k: v for k, v in plan.items() if k != "version"} | {"id": "SP-OLD", "status": "completed"}
    hospital.h.post("/api/v1/service-plans", old)
    goal = old["goals"][0]["id"]
    hospital.h.post(
        "/api/v1/referrals",
        referral(hospital, "RF-OLDGOAL") | {"reason": {"plan_id": "SP-OLD", "goal_id": goal, "text": "work"}},
    )
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.h.drain()
    sent_along = {g["identifier"][0]["value"] for g in hospital.h.ehr.search("Goal")}
    assert f"SP-OLD/{goal}" in sent_along
    hospital.h.assert_sound()
    hospital.adt(adt.message("A11", hospital.visit()))
    hospital.h.drain()
    assert hospital.h.ehr.search("Goal") == []
    hospital.h.assert_sound()
