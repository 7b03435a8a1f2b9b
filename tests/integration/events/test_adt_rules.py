"""The ADT rules, over the HTTP endpoint (and MLLP where the transport matters): stored before AA, a
repeat MSH-10 not processed twice, events out of order, patients nobody matches, content errors (AE),
storage away (AR), the event taken from MSH-9 whatever EVN-1 says, and the ACK as the HTTP answer."""

from __future__ import annotations

from typing import Any

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.unit_of_work import SqlStorage
from fhir_adapter.api.schemas.contract import JsonContract
from fhir_adapter.config import Settings
from fhir_adapter.domain.stored import OrgRow
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.service import intake
from fhir_adapter.service.auth import to_org
from fhir_adapter.service.records import Deps
from tests.integration.events.conftest import Hospital
from tests.support import adt


def _jobs(hospital: Hospital) -> list[Any]:
    return hospital.h.jobs()


def _inbound(hospital: Hospital, **query: str) -> list[dict[str, Any]]:
    args = "&".join(f"{k}={v}" for k, v in query.items())
    return hospital.get(f"/api/v1/inbound?{args}")["items"]


def test_a_repeated_control_id_is_accepted_and_not_processed_twice(hospital: Hospital) -> None:
    text = adt.message("A01", hospital.visit(), control_id="MSG-1")
    first = hospital.adt(text)
    again = hospital.adt(text)
    assert (first["ack"], first["state"]) == ("AA", "applied")
    assert (again["ack"], again["state"]) == ("AA", "duplicate")
    assert "MSA|AA|MSG-1" in again["hl7"]
    assert len(_jobs(hospital)) == 1
    assert len(_inbound(hospital)) == 1


def test_the_event_is_msh_9_whatever_evn_1_says(hospital: Hospital) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))
    answer = hospital.adt(adt.message("A03", hospital.visit(), evn="A01", disposition="01^Home"))
    assert answer["state"] == "applied" and "discharged" in answer["detail"]
    (admission,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")["admissions"]
    assert admission["state"] == "discharged"


def test_a_discharge_before_its_admission_opens_the_visit_and_the_late_admission_sends_nothing(
    hospital: Hospital,
) -> None:
    hospital.adt(adt.message("A03", hospital.visit(), disposition="01^Home"))
    actions = sorted(j.action for j in _jobs(hospital))
    assert actions == ["pull", "push"]
    late = hospital.adt(adt.message("A01", hospital.visit()))
    assert "nothing is sent again" in late["detail"]
    assert len(_jobs(hospital)) == 2
    hospital.h.drain()
    assert len(hospital.in_ehr("CarePlan")) == 1
    (admission,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")["admissions"]
    assert admission["state"] == "discharged"


def test_an_unknown_patient_waits_for_a_person_and_is_applied_once_matched(hospital: Hospital) -> None:
    stranger = hospital.visit(mrn="MRN-000001")
    answer = hospital.adt(adt.message("A01", stranger))
    assert (answer["ack"], answer["state"]) == ("AA", "needs_match")
    assert "no client has MRN MRN-000001" in answer["detail"]
    hospital.adt(adt.message("A08", stranger))
    waiting = _inbound(hospital, state="needs_match")
    assert [m["event"] for m in waiting] == ["A01", "A08"]
    assert _jobs(hospital) == []

    response = hospital.h.client.post(
        f"/api/v1/inbound/{waiting[0]['id']}/match",
        json={"client_id": hospital.client_id},
        headers=hospital.h.headers,
    )
    assert response.status_code == 200, response.json
    assert [(m["event"], m["state"], m["matched_by"]) for m in response.json["applied"]] == [
        ("A01", "applied", "person"),
        ("A08", "applied", "person"),
    ]
    assert len(_jobs(hospital)) == 1
    links = hospital.get(f"/api/v1/clients/{hospital.client_id}/ehr-links")["items"]
    assert links[0]["mrn"] == "MRN-000001"
    # The next message for that MRN matches through the link.
    assert hospital.adt(adt.message("A03", stranger))["state"] == "applied"
    # Applied by a person or on arrival, each is audited as the EHR's write about the patient.
    ours = hospital.get(f"/fhir/Patient?identifier={hospital.client_id}")["entry"][0]["resource"]["id"]
    audited = hospital.get(f"/fhir/AuditEvent?patient={ours}&action=C&_count=100")["entry"]
    assert len([e for e in audited if "ehr:hospital" in str(e["resource"]["agent"])]) == 3

    again = hospital.h.client.post(
        f"/api/v1/inbound/{waiting[0]['id']}/match",
        json={"client_id": hospital.client_id},
        headers=hospital.h.headers,
    )
    assert again.status_code == 409


def test_a_waiting_message_can_be_dismissed_and_stays_stored(hospital: Hospital) -> None:
    hospital.adt(adt.message("A01", hospital.visit(mrn="MRN-000002")))
    (waiting,) = _inbound(hospital, state="needs_match")
    path = f"/api/v1/inbound/{waiting['id']}/dismiss"
    response = hospital.h.client.post(
        path, json={"reason": "not a client of ours"}, headers=hospital.h.headers
    )
    assert response.status_code == 200 and response.json["state"] == "dismissed"
    assert hospital.get(f"/api/v1/inbound/{waiting['id']}")["body"].startswith("MSH|")


def test_content_errors_are_ae_naming_the_field_and_the_message_is_kept(hospital: Hospital) -> None:
    cases = {
        "not hl7 at all": "MSH",
        adt.message("A01", hospital.visit(number="")): "PV1-19",
        adt.message("A01", hospital.visit()).replace("|ADT^A01^ADT_A01|", "|ORU^R01|"): "MSH-9",
        adt.message("A01", hospital.visit()).replace("PID|1||MRN-448812^^^RGH^MR", "PID|1||"): "PID-3",
        adt.message("A01", adt.Visit(mrn=hospital.visit().mrn, number="V9", admitted="2025-13-45")): "PV1-44",
        adt.message("A40", hospital.visit(), merged=""): "MRG-1",
    }
    for text, field in cases.items():
        response = hospital.h.client.post(
            f"/api/v1/ehrs/{hospital.h.ehr_id}/adt",
            data=text,
            headers=hospital.h.headers | {"Content-Type": "text/plain"},
        )
        assert response.status_code == 400, (field, response.json)
        issue = response.json["issue"][0]
        assert issue["expression"] == [field], (field, issue)
    rejected = _inbound(hospital, state="rejected")
    assert len(rejected) == len(cases)
    assert _jobs(hospital) == []


def test_a_merge_is_reported_not_applied(hospital: Hospital) -> None:
    answer = hospital.adt(adt.message("A40", hospital.visit(), merged="MRN-OLD"))
    assert answer["state"] == "reported"
    assert "MRN-OLD" in answer["detail"]
    assert _jobs(hospital) == []


def test_over_mllp_ae_and_aa(hospital: Hospital, listener: adt.Listener) -> None:
    sender = adt.Sender(listener.port)
    try:
        bad = sender.send(adt.message("A01", hospital.visit(number="")))
        assert adt.ack_code(bad) == "AE" and "PV1-19" in bad
        good = sender.send(adt.message("A01", hospital.visit(), control_id="OK-1"))
        assert adt.ack_code(good) == "AA" and "MSA|AA|OK-1" in good
    finally:
        sender.close()


def test_storage_away_is_ar_over_mllp(catalogue: Any) -> None:
    from fhir_adapter.adapters.db import make_engine

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    ehr = Ehr("org", "hospital", "http://127.0.0.1:1", "none")
    settings = Settings()

    def handle(text: str) -> str:
        return intake.take_v2(
            SqlStorage(engine),
            Deps(catalogue, lambda: __import__("datetime").datetime.now(), JsonContract()),
            to_org(OrgRow("org", "Org", "https://org.example/ids"), settings),
            settings.match_demographics,
            ehr,
            text,
            "mllp",
        )[1]

    listener = adt.Listener(handle).start()
    sender = adt.Sender(listener.port)
    try:
        ack = sender.send(adt.message("A01", adt.Visit(mrn="M1", number="V1"), control_id="AR-1"))
        assert adt.ack_code(ack) == "AR", ack
        assert "MSA|AR|AR-1" in ack
    finally:
        sender.close()
        listener.stop()
        engine.dispose()


def test_the_demographic_rule_matches_only_when_configured_and_says_so(hospital: Hospital) -> None:
    service = hospital.h.service
    from fhir_adapter.adapters.db import reading

    with reading(service.engine) as conn:
        ehr = ehr_store.get_ehr(conn, hospital.h.org_id, hospital.h.ehr_id)
    assert ehr is not None
    unknown_mrn = hospital.visit(mrn="MRN-NEW-1")  # Kim's name, birth date and sex, an MRN nobody has

    def take(text: str, demographics: bool) -> intake.Outcome:
        org = hospital.org()
        return intake.take_v2(service.storage, service.deps, org, demographics, ehr, text, "http")[0]

    assert take(adt.message("A01", unknown_mrn), demographics=False).state == "needs_match"
    outcome = take(adt.message("A01", unknown_mrn), demographics=True)
    assert outcome.state == "applied"
    (matched,) = _inbound(hospital, state="applied")
    assert (matched["client_id"], matched["matched_by"]) == (hospital.client_id, "demographics")
    someone_else = adt.Visit(mrn="MRN-NEW-2", number="V2", birth_date="19900101")
    assert take(adt.message("A01", someone_else), demographics=True).state == "needs_match"


def test_the_same_number_from_another_assigning_authority_is_not_the_linked_patient(
    hospital: Hospital,
) -> None:
    hospital.adt(adt.message("A01", hospital.visit()))  # links Kim by MRN-448812 of RGH
    other = adt.Visit(mrn="MRN-448812", number="V5", authority="ELSEWHERE")
    answer = hospital.adt(adt.message("A01", other))
    assert answer["state"] == "needs_match", answer
    assert "of ELSEWHERE" in answer["detail"]


def test_over_http_the_answer_is_the_ack_itself_when_asked_for(hospital: Hospital) -> None:
    headers = hospital.h.headers | {"Content-Type": "x-application/hl7-v2+er7"}
    headers["Accept"] = "x-application/hl7-v2+er7"
    path = f"/api/v1/ehrs/{hospital.h.ehr_id}/adt"
    good = hospital.h.client.post(
        path, data=adt.message("A01", hospital.visit(), control_id="ER7-1"), headers=headers
    )
    assert (good.status_code, good.mimetype) == (200, "x-application/hl7-v2+er7")
    segments = good.get_data(as_text=True).split("\r")
    assert segments[0].startswith("MSH|") and segments[1].startswith("MSA|AA|ER7-1")
    bad = adt.message("A01", hospital.visit(number=""), control_id="ER7-2")  # no visit number
    refused = hospital.h.client.post(path, data=bad, headers=headers)
    assert refused.status_code == 400 and "MSA|AE|ER7-2" in refused.get_data(as_text=True)
    assert refused.headers["X-Inbound-Id"]


def _with_msh_7(text: str, when: str) -> str:
    msh, rest = text.split("\r", 1)
    fields = msh.split("|")
    fields[6] = when
    return "|".join(fields) + "\r" + rest


def test_a_control_id_another_message_used_before_is_taken_as_new(hospital: Hospital) -> None:
    """Senders that number from 1 again after a restart reuse control ids: the discharge is not a repeat."""
    hospital.adt(adt.message("A01", hospital.visit(), control_id="MSG00001"))
    a03 = adt.message("A03", hospital.visit(), control_id="MSG00001", disposition="01^Home")
    answer = hospital.adt(a03)
    assert answer["state"] == "applied", answer
    assert "came before with another message" in answer["detail"] and "discharged" in answer["detail"]
    assert hospital.adt(a03)["state"] == "duplicate"  # that discharge sent again is a repeat
    (admission,) = hospital.get(f"/api/v1/clients/{hospital.client_id}/timeline")["admissions"]
    assert admission["state"] == "discharged"


def test_a_resend_with_a_new_message_time_is_a_repeat(hospital: Hospital) -> None:
    text = adt.message("A01", hospital.visit(), control_id="RESENT-1")
    assert hospital.adt(text)["state"] == "applied"
    again = hospital.adt(_with_msh_7(text, "20991231235959"))
    assert again["state"] == "duplicate"
    assert len(_jobs(hospital)) == 1


def test_a_burst_over_mllp_gets_acks_with_ids_of_their_own(
    hospital: Hospital, listener: adt.Listener
) -> None:
    """Forty messages in about a second, control ids alike but for the last digits: forty ACK ids."""
    sender = adt.Sender(listener.port)
    try:
        acks = [
            sender.send(adt.message("A08", hospital.visit(), control_id=f"MSG{n:05d}")) for n in range(1, 41)
        ]
    finally:
        sender.close()
    own = [ack.split("\r")[0].split("|")[9] for ack in acks]
    assert [adt.ack_code(a) for a in acks] == ["AA"] * 40
    assert len(set(own)) == 40 and all(0 < len(i) <= 20 for i in own)
    assert [a.split("\r")[1].split("|")[2] for a in acks] == [f"MSG{n:05d}" for n in range(1, 41)]
