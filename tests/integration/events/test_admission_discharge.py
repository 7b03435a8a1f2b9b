"""The scenario the service exists for, against the real FHIR server: an A01 over MLLP puts the case
manager's plan, goals, assessments and open referrals into the EHR, linked to the hospital's Encounter;
an A03 sends the discharge referrals and brings the EHR's new referral, assessment and Task status back,
with the discharge packet (summaries and their PDFs, the follow-up appointment).
A visit the EHR has no Encounter for, and the timeline of a long stay."""

from __future__ import annotations

import base64
import copy
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.validation import validate_resource
from fhir_adapter.service import timeline
from tests.conftest import ROOT, read_json
from tests.integration.events.conftest import Hospital, open_hospital, referral
from tests.integration.events.packet import check_packet, put_packet
from tests.support import adt
from tests.support.delivery import Harness
from tests.support.fault_proxy import FaultProxy


def _ehr_made(name: str, patient: str, encounter: str) -> dict[str, Any]:
    resource = copy.deepcopy(read_json(ROOT / "fixtures" / "ehr" / f"{name}.json"))
    resource.pop("meta", None)
    resource["subject"] = {"reference": f"Patient/{patient}"}
    resource["encounter"] = {"reference": f"Encounter/{encounter}"}
    return resource


def _no_duplicates(hospital: Hospital) -> None:
    for rtype in ("CarePlan", "Goal", "QuestionnaireResponse", "ServiceRequest", "Task", "CareTeam"):
        idents = Counter(
            f"{i.get('system')}|{i.get('value')}"
            for r in hospital.h.ehr.search(rtype)
            for i in (
                r.get("identifier") if isinstance(r.get("identifier"), list) else [r.get("identifier") or {}]
            )
        )
        assert all(n == 1 for n in idents.values()), (rtype, idents)


@pytest.fixture(params=["transaction", "conditional"])
def each_mode(request: pytest.FixtureRequest, new_org: Any) -> Iterator[Hospital]:
    """Kim's hospital as an EHR we write to with transactions, and as one we write to conditionally."""
    if request.param == "transaction":
        yield request.getfixturevalue("hospital")
        return
    ehr = request.getfixturevalue("conditional_ehr")
    ehr.reset()
    proxy = FaultProxy(ehr.url).start()
    service, client = request.getfixturevalue("service"), request.getfixturevalue("client")
    yield open_hospital(Harness(service, client, new_org(), new_org.org_id, ehr, proxy))
    proxy.stop()


def test_admission_then_discharge_over_mllp(each_mode: Hospital, catalogue: Catalogue) -> None:
    hospital = each_mode
    listener = adt.Listener(hospital.handle).start()
    sender = adt.Sender(listener.port)
    try:
        ack = sender.send(adt.message("A01", hospital.visit(), control_id="ADM-1"))
        assert adt.ack_code(ack) == "AA", ack
        hospital.h.drain()

        plans = hospital.in_ehr("CarePlan")
        assert len(plans) == 1
        enc = f"Encounter/{hospital.encounter}"
        assert plans[0]["encounter"]["reference"] == enc
        assert plans[0]["subject"]["reference"] == f"Patient/{hospital.patient}"
        assert len(hospital.h.ehr.search("Goal", patient=f"Patient/{hospital.patient}")) >= 1
        responses = hospital.in_ehr("QuestionnaireResponse")
        assert len(responses) == 3 and all(r["encounter"]["reference"] == enc for r in responses)
        requests = hospital.in_ehr("ServiceRequest")
        assert [r["identifier"][0]["value"] for r in requests] == ["RF-7710"]  # open; the draft stays home
        assert requests[0]["encounter"]["reference"] == enc
        tasks = hospital.in_ehr("Task")
        assert len(tasks) == 1
        assert len(hospital.h.ehr.search("CareTeam", patient=f"Patient/{hospital.patient}")) == 1
        hospital.h.assert_sound()

        # During the stay the hospital makes a referral and an assessment, and the referral we sent is under way.
        hospital.h.ehr.put(_ehr_made("servicerequest-pt-discharge", hospital.patient, hospital.encounter))
        hospital.h.ehr.put(_ehr_made("qr-hunger-vital-sign", hospital.patient, hospital.encounter))
        # ... and writes its own discharge plan, a referral in words only and a questionnaire of its own.
        for name in (
            "careplan-hospital-discharge",
            "servicerequest-text-only-meals",
            "qr-hospital-functional-ko",
        ):
            hospital.h.ehr.put(_ehr_made(name, hospital.patient, hospital.encounter))
        # ... and the discharge packet: the summaries (one PDF inline, one a Binary) and a follow-up.
        put_packet(hospital.h.ehr, hospital.patient, hospital.encounter)
        task = tasks[0] | {"status": "in-progress", "lastModified": "2025-10-20T10:00:00Z"}
        task.pop("meta", None)
        hospital.h.ehr.put(task)
        # ... and the case manager adds a discharge referral.
        hospital.h.post("/api/v1/referrals", referral(hospital, "RF-7720"))

        a03 = adt.message(
            "A03",
            hospital.visit(),
            control_id="DIS-1",
            disposition="01^Discharged to home",
            discharged="20251020140000-0500",
        )
        assert adt.ack_code(sender.send(a03)) == "AA"
        hospital.h.drain()
    finally:
        sender.close()
        listener.stop()
    hospital.h.assert_sound()

    values = sorted(
        r["identifier"][0]["value"] for r in hospital.in_ehr("ServiceRequest") if "identifier" in r
    )
    assert "RF-7720" in values
    _no_duplicates(hospital)

    referrals = hospital.get(f"/api/v1/referrals?client_id={hospital.client_id}")["items"]
    by_id = {r["id"]: r for r in referrals}
    ehr_request = _ehr_made("servicerequest-pt-discharge", hospital.patient, hospital.encounter)
    assert ehr_request["id"] in by_id, sorted(by_id)  # the hospital's referral is in the case record
    assert by_id["RF-7710"]["status"] == "in-progress"  # the Task's status came back
    assert by_id["eSrMeals77"]["code"]["text"] == "Home-delivered meals, five days a week (lunch)"
    assert by_id["eSrMeals77"]["identifiers"][0]["value"] == "ORD-88231"
    assessments = hospital.get(f"/api/v1/assessments?client_id={hospital.client_id}")["items"]
    assert len(assessments) == 5
    (functional,) = [a for a in assessments if a["kind"] == "external"]
    assert functional["questionnaire"].endswith("/functional-discharge-ko|3")
    plans = hospital.get(f"/api/v1/service-plans?client_id={hospital.client_id}&plan_type=hospital")["items"]
    (plan,) = plans  # the hospital's own plan; ours, read back, is not taken again
    assert plan["identifiers"][0]["value"] == "DCP-2025-04417"
    assert plan["activities"][0]["timing"]["times_of_day"] == ["09:00:00"]

    check_packet(hospital)

    ours = hospital.get(f"/fhir/Patient?identifier={hospital.client_id}")["entry"][0]["resource"]["id"]
    audited = hospital.get(f"/fhir/AuditEvent?patient={ours}&action=C&_count=100")["entry"]
    from_ehr = [e["resource"] for e in audited if "ehr:hospital" in str(e["resource"]["agent"])]
    assert len(from_ehr) == 2  # the A01 and the A03, as the EHR's writes about the patient
    read_back = [e["resource"] for e in audited if "delivery:hospital" in str(e["resource"]["agent"])]
    assert any(e["subtype"][0]["code"] == "search-type" for e in read_back)
    for event in from_ehr:
        assert [i for i in validate_resource(event, catalogue) if i.severity == "error"] == []

    timeline = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")
    (admission,) = timeline["admissions"]
    assert admission["state"] == "discharged"
    assert admission["encounter"] == f"Encounter/{hospital.encounter}"
    assert admission["disposition"]["code"] == "01"
    whats = Counter((e["what"], e.get("state")) for e in timeline["entries"])
    assert whats[("received", "applied")] == 2
    assert whats[("sent", "delivered")] >= 2
    assert whats[("read back", "delivered")] == 1
    # referrals, assessments, a plan, a Task's status, two summaries and an appointment
    assert whats[("read back", "applied")] >= 9


def test_a_visit_the_ehr_has_no_encounter_for_is_referred_to_by_number_and_not_sought_each_time(
    hospital: Hospital,
) -> None:
    def searches() -> int:
        return sum(
            1 for m, path in hospital.h.proxy.received if m == "GET" and path.startswith("/Encounter?")
        )

    hospital.adt(adt.message("A01", hospital.visit(number="V-UNKNOWN")))
    hospital.h.drain()
    (plan,) = hospital.in_ehr("CarePlan")
    assert plan["encounter"] == {"identifier": {"value": "V-UNKNOWN"}, "display": "visit V-UNKNOWN"}
    assert searches() == 1
    hospital.h.post("/api/v1/referrals", referral(hospital, "RF-7720"))
    hospital.h.drain()
    assert searches() == 1  # asked a moment ago: not again
    hospital.h.post("/api/v1/referrals", referral(hospital, "RF-7730"))
    hospital.h.drain(hospital.h.worker(encounter_recheck_seconds=0))
    assert searches() == 2  # after a while the EHR may have it: asked again


def test_the_timeline_shows_the_newest_and_says_when_it_leaves_older_out(
    hospital: Hospital, monkeypatch: Any
) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.adt(adt.message("A08", hospital.visit()))
    hospital.adt(adt.message("A03", hospital.visit(), disposition="01^Home"))
    whole = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")
    assert "earlier" not in whole
    monkeypatch.setattr(timeline, "MOST", 2)
    cut = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")
    assert cut["earlier"] is True
    events = [e["event"] for e in cut["entries"] if e["what"] == "received"]
    assert events == ["A08", "A03"]  # the newest, oldest first
    jobs = [e["job"] for e in cut["entries"] if e["what"] in ("sent", "read back")]
    assert jobs == sorted(j.id for j in hospital.h.jobs())[-2:]


def test_admission_then_discharge_to_an_ehr_that_takes_documents(
    request: pytest.FixtureRequest, new_org: Any
) -> None:
    """The same stay at an EHR that takes care plans, goals, referrals and responses only to read: each
    record arrives as a clinical note linked to the Encounter, and the discharge still reads back what the
    hospital wrote."""
    ehr = request.getfixturevalue("restrictive_ehr")
    ehr.reset()
    proxy = FaultProxy(ehr.url).start()
    service, client = request.getfixturevalue("service"), request.getfixturevalue("client")
    hospital = open_hospital(Harness(service, client, new_org(), new_org.org_id, ehr, proxy))
    try:
        hospital.adt(adt.message("A01", hospital.visit(), control_id="ADM-1"))
        hospital.h.drain(timeout=120)
        enc = f"Encounter/{hospital.encounter}"
        docs = hospital.in_ehr("DocumentReference")
        kinds = Counter(d["type"]["coding"][0]["code"] for d in docs)
        assert kinds == {"18776-5": 1, "51848-0": 3, "57133-1": 1, "34133-9": 1}  # the open referral only
        assert all(d["context"]["encounter"] == [{"reference": enc}] for d in docs)
        assert hospital.in_ehr("CarePlan") == []
        hospital.h.assert_sound()

        hospital.h.ehr.put(_ehr_made("servicerequest-pt-discharge", hospital.patient, hospital.encounter))
        hospital.h.ehr.put(_ehr_made("qr-hunger-vital-sign", hospital.patient, hospital.encounter))
        hospital.h.post("/api/v1/referrals", referral(hospital, "RF-7720"))
        a03 = adt.message("A03", hospital.visit(), control_id="DIS-1", disposition="01^Discharged to home")
        hospital.adt(a03)
        hospital.h.drain(timeout=120)
    finally:
        proxy.stop()
    assert {j.state for j in hospital.h.jobs()} == {"delivered"}
    notes = [d for d in hospital.in_ehr("DocumentReference") if d["type"]["coding"][0]["code"] == "57133-1"]
    assert {d["identifier"][0]["value"] for d in notes if d["status"] == "current"} == {"RF-7710", "RF-7720"}
    hospital.h.assert_sound()
    referrals = hospital.get(f"/api/v1/referrals?client_id={hospital.client_id}")["items"]
    ehr_request = _ehr_made("servicerequest-pt-discharge", hospital.patient, hospital.encounter)
    assert ehr_request["id"] in {r["id"] for r in referrals}  # the hospital's referral came back
    assert len(hospital.get(f"/api/v1/assessments?client_id={hospital.client_id}")["items"]) == 4


def test_a_cancelled_admission_leaves_an_ehr_that_cannot_delete_a_notice_of_withdrawal(
    request: pytest.FixtureRequest, new_org: Any
) -> None:
    """An EHR that only creates documents keeps them: the admission's cancellation replaces each record's
    document with one saying it was withdrawn and why, so the EHR shows no record as standing."""
    ehr = request.getfixturevalue("restrictive_ehr")
    ehr.reset()
    proxy = FaultProxy(ehr.url).start()
    service, client = request.getfixturevalue("service"), request.getfixturevalue("client")
    hospital = open_hospital(Harness(service, client, new_org(), new_org.org_id, ehr, proxy))
    try:
        hospital.adt(adt.message("A01", hospital.visit(), control_id="ADM-1"))
        hospital.h.drain(timeout=120)
        sent = {d["id"] for d in hospital.in_ehr("DocumentReference")}
        hospital.adt(adt.message("A11", hospital.visit(), control_id="CAN-1"))
        hospital.h.drain(timeout=120)
        hospital.h.drain(timeout=60)  # nothing more: a resend adds no copy
    finally:
        proxy.stop()
    assert {j.state for j in hospital.h.jobs()} == {"delivered"}
    docs = hospital.in_ehr("DocumentReference")
    current = [d for d in docs if d["status"] == "current"]
    assert {d["id"] for d in docs if d["status"] == "superseded"} == sent
    assert len(current) == len(sent) and not {d["id"] for d in current} & sent
    for notice in current:
        [replaced] = notice["relatesTo"]
        assert replaced["code"] == "replaces" and replaced["target"]["reference"].split("/")[1] in sent
        html = base64.b64decode(notice["content"][0]["attachment"]["data"]).decode()
        assert notice["description"].startswith("Withdrawn — ") and "A11 cancels the admission" in html
    last = {(r.resource_type, r.id): r.action for r in hospital.h.ledger()}  # the ledger's last word
    assert {a for (t, _), a in last.items() if t in ("CarePlan", "Goal", "Task")} == {"DELETE"}
    hospital.h.assert_sound()
