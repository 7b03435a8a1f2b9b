"""HL7 v2 referrals over HTTP and MLLP: a REF^I12 becomes a referral of the client its PID matches, every
value the hospital sent kept (codes with their systems and words, identifiers, providers, notes in Korean
and Hindi, dates); a repeat is no second referral, a REF for the same RF1-11 updates it, an RRI^I12 sets its
status as the hospital's word, an unmatched REF waits for a person; what cannot be read is an AE naming the
field, and a message type we do not take an AE with ERR code 200."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.integration.events.conftest import Hospital
from tests.support import adt, referrals


def _referrals(hospital: Hospital) -> list[dict[str, Any]]:
    items = hospital.get(f"/api/v1/referrals?client_id={hospital.client_id}&limit=100")["items"]
    return [r for r in items if r["id"].startswith("v2-")]


def _only(hospital: Hospital) -> dict[str, Any]:
    (found,) = _referrals(hospital)
    return found


def _inbound(hospital: Hospital, **query: str) -> list[dict[str, Any]]:
    args = "&".join(f"{k}={v}" for k, v in query.items())
    return hospital.get(f"/api/v1/inbound?{args}")["items"]


def test_a_ref_over_http_becomes_a_referral_with_every_value_the_hospital_sent(hospital: Hospital) -> None:
    answer = hospital.adt(referrals.ref(control_id="REF-1"))
    assert (answer["ack"], answer["state"]) == ("AA", "applied"), answer
    assert "MSA|AA|REF-1" in answer["hl7"] and "ACK^I12^ACK" in answer["hl7"]
    assert "not carried: DG1-5, DG1-6, PR1-5, AUT, IN1, OBR, OBX, NTE of OBX" in answer["detail"]
    r = _only(hospital)
    assert (r["client_id"], r["status"], r["priority"], r["status_by_ehr"]) == (
        hospital.client_id,
        "sent",
        "asap",
        True,
    )
    assert r["service_type"] == "other"
    assert r["service_coding"] == {
        "code": "Psy",
        "system": "http://terminology.hl7.org/CodeSystem/v2-0281",
        "display": "Psychiatric",
    }
    assert r["categories"] == [
        {
            "codings": [
                {
                    "code": "A",
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0284",
                    "display": "Ambulatory",
                }
            ],
            "text": "Ambulatory",
        }
    ]
    assert r["reason"]["problem"]["code"] == "S" and r["reason"]["text"] == "Second Opinion"
    assert r["business_status"]["codings"][0] == {
        "code": "P",
        "system": "http://terminology.hl7.org/CodeSystem/v2-0283",
        "display": "Pending",
    }
    assert [(i["value"], i["assigner"], i["type"]["codings"][0]["code"]) for i in r["identifiers"]] == [
        ("RGH-REF-2025-0917", "RGH_REFERRALS", "PLAC"),
        ("CMS-0042", "CMS", "FILL"),
    ]
    reasons = [(c["codings"][0]["system"], c["codings"][0]["code"], c["text"]) for c in r["reason_codes"]]
    assert reasons == [
        ("http://hl7.org/fhir/sid/icd-10", "F32.1", "Major depressive disorder, single episode, moderate"),
        ("http://hl7.org/fhir/sid/icd-10", "Z59.0", "Homelessness"),
        ("http://www.ama-assn.org/go/cpt", "90791", "Psychiatric diagnostic evaluation"),
    ]
    assert r["period"] == {"start": "2025-10-16", "end": "2026-01-16"}
    assert r["authored_on"].startswith("2025-10-16T00:30:00")
    assert r["requester"]["name"] == "Dr. 지훈 박 MD"
    assert r["target"]["name"] == "Springfield Community Services"
    notes = [n["text"] for n in r["notes"]]
    assert notes[0] == "환자는 퇴원 후 주거 지원이 필요합니다.\nPatient lives alone since March."
    assert notes[1] == "कृपया सोमवार को संपर्क करें"
    assert (
        "Riverside General Hospital" in notes[2] and "217 5550101" in notes[2] and "D-4471 (NPI)" in notes[2]
    )
    assert "Ms. प्रिया शर्मा" in notes[3] and "3 Market Street, Springfield, IL, 62701, USA" in notes[3]
    served = hospital.get(f"/fhir/ServiceRequest?identifier={r['id']}")["entry"][0]["resource"]
    assert served["code"]["coding"][0]["code"] == "Psy" and "주거" in served["note"][0]["text"]


def test_a_repeat_is_no_second_referral_and_a_ref_for_the_same_rf1_11_updates_it(hospital: Hospital) -> None:
    text = referrals.ref(control_id="REF-2")
    hospital.adt(text)
    assert hospital.adt(text)["state"] == "duplicate"
    changed = referrals.Referral(originating="RGH-REF-OTHER", priority="S^STAT^HL70280")
    again = hospital.adt(referrals.ref(changed, control_id="REF-3"))
    assert again["state"] == "applied" and "updated" in again["detail"], again
    r = _only(hospital)
    assert r["priority"] == "stat"
    assert {i["value"] for i in r["identifiers"]} == {"RGH-REF-OTHER", "CMS-0042"}


def test_an_rri_sets_the_status_as_the_hospitals_word(hospital: Hospital) -> None:
    hospital.adt(referrals.ref(control_id="REF-4"))
    answer = hospital.adt(referrals.rri("A^Accepted^HL70283", "RGH-REF-2025-0917", control_id="RRI-1"))
    assert answer["state"] == "applied" and "accepted" in answer["detail"], answer
    assert "ACK^I12^ACK" in answer["hl7"]
    r = _only(hospital)
    assert (r["status"], r["status_by_ehr"]) == ("accepted", True)
    assert r["business_status"]["codings"][0]["code"] == "A"
    expired = hospital.adt(referrals.rri("E^Expired^HL70283", "RGH-REF-2025-0917", control_id="RRI-2"))
    assert expired["state"] == "applied"
    r = _only(hospital)
    assert (r["status"], r["status_reason"]) == ("cancelled", "Expired")


def test_an_rri_for_a_referral_we_sent_finds_it_by_our_id(hospital: Hospital) -> None:
    hospital.h.post("/api/v1/referrals", {
        "id": "RF-OURS-1", "client_id": hospital.client_id, "service_type": "housing", "status": "sent",
        "authored_on": "2025-10-01T09:00:00Z", "reason": {"text": "needs housing"},
    })  # fmt: skip
    answer = hospital.adt(
        referrals.rri("R^Rejected^HL70283", "RF-OURS-1", external="RGH-9", control_id="RRI-3")
    )
    assert answer["state"] == "applied", answer
    r = hospital.get("/api/v1/referrals/RF-OURS-1")
    assert (r["status"], r["status_reason"], r["status_by_ehr"]) == ("declined", "Rejected", True)
    assert any(i["value"] == "RGH-9" and i["assigner"] == "CMS" for i in r["identifiers"])


def test_an_rri_naming_no_referral_we_hold_is_accepted_and_reported(hospital: Hospital) -> None:
    answer = hospital.adt(referrals.rri("A^Accepted^HL70283", "NOBODY-1", control_id="RRI-4"))
    assert (answer["ack"], answer["state"]) == ("AA", "reported"), answer
    assert "a person must look" in answer["detail"]
    assert [m["state"] for m in _inbound(hospital, state="reported")] == ["reported"]


def test_an_unmatched_ref_waits_for_a_person_and_is_applied_on_resolve(hospital: Hospital) -> None:
    stranger = replace(referrals.Referral(), mrn="MRN-000777")
    answer = hospital.adt(referrals.ref(stranger, control_id="REF-5"))
    assert answer["state"] == "needs_match", answer
    assert _referrals(hospital) == []
    (waiting,) = _inbound(hospital, state="needs_match")
    done = hospital.h.post(f"/api/v1/inbound/{waiting['id']}/match", {"client_id": hospital.client_id}, 200)
    assert [(m["event"], m["state"]) for m in done["applied"]] == [("REF^I12", "applied")]
    assert _only(hospital)["identifiers"][0]["value"] == "RGH-REF-2025-0917"


def test_a_ref_without_rf1_or_pid_3_is_an_ae_naming_the_field(hospital: Hospital) -> None:
    no_rf1 = hospital.adt(referrals.ref(control_id="REF-6", drop=("RF1",)), status=400)
    assert no_rf1["issue"][0]["expression"] == ["RF1"]
    no_pid = referrals.ref(replace(referrals.Referral(), mrn=""), control_id="REF-7")
    assert hospital.adt(no_pid, status=400)["issue"][0]["expression"] == ["PID-3"]
    assert _referrals(hospital) == []


def test_over_mllp_a_ref_is_acked_and_kept_and_what_is_not_taken_is_an_ae_200(
    hospital: Hospital, listener: adt.Listener
) -> None:
    sender = adt.Sender(listener.port)
    try:
        good = sender.send(referrals.ref(control_id="MLLP-REF-1"))
        assert adt.ack_code(good) == "AA" and "ACK^I12^ACK" in good and "MSA|AA|MLLP-REF-1" in good
        assert _only(hospital)["requester"]["name"] == "Dr. 지훈 박 MD"
        missing = sender.send(referrals.ref(control_id="MLLP-REF-2", drop=("RF1",)))
        assert adt.ack_code(missing) == "AE" and "|RF1^1|101^Required field missing^HL70357|" in missing
        result = referrals.ref(control_id="MLLP-ORU-1").replace("REF^I12^REF_I12", "ORU^R01^ORU_R01")
        refused = sender.send(result)
        assert adt.ack_code(refused) == "AE" and "|200^Unsupported message type^HL70357|" in refused
        assert "ADT, REF\\S\\I12 and RRI\\S\\I12" in refused  # the reason, escaped as ERR-8 text
    finally:
        sender.close()
    rejected = [m["detail"] for m in _inbound(hospital, state="rejected")]
    assert len(rejected) == 2 and "MSH-9: MSH-9 is ORU^R01^ORU_R01" in rejected[1]
