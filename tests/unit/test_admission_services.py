"""Intake, matching and the admission planner against in-memory stores (tests/support/fakes.py): what a
hospital's admission, discharge and cancellation queue, what waits for a person, and what a person's
decision applies. The clock stands at 08:30 in Kolkata (+05:30), so every stored time must be UTC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fhir_adapter.api.schemas.contract import JsonContract
from fhir_adapter.domain.events import Coded, Event, Patient, Visit
from fhir_adapter.domain.inbound import InboundState
from fhir_adapter.domain.stored import StoredRecord
from fhir_adapter.domain.sync import AdmissionState, Ehr, JobAction, JobState
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.service import intake
from fhir_adapter.service.context import Org, Principal
from fhir_adapter.service.errors import NotFound
from fhir_adapter.service.ports import StorageUnavailable, TooCostly
from fhir_adapter.service.records import Deps
from tests.support.fakes import FakeStorage

ORG = "acme"
NOW = "2026-03-01T03:00:00.000000Z"  # what the clock says, in UTC
EHR = Ehr(ORG, "hospital", "https://ehr.example.org/fhir", "none", mrn_system="urn:oid:1.2.3", mrn_authority="GENHOSP")  # fmt: skip
PLANNER = Principal("person-1", "A planner", Org(ORG, "Acme", "https://acme.example.org/ids", Identity("acme", "acme", "https://acme.example.org/ids")))  # fmt: skip


def clock() -> datetime:
    return datetime(2026, 3, 1, 8, 30, tzinfo=ZoneInfo("Asia/Kolkata"))


def deps(catalogue: Catalogue) -> Deps:
    return Deps(catalogue, clock, JsonContract())


def rec(kind: str, rid: str, **data: object) -> StoredRecord:
    return StoredRecord(kind, rid, "CL-1", 1, {"id": rid, **data}, NOW, NOW)


@pytest.fixture
def storage() -> FakeStorage:
    """A client with an active plan and goal, an open referral written before the stay, and a Patient
    with the hospital's MRN."""
    s = FakeStorage()
    w = s.work
    w.ehrs.ehrs[(ORG, EHR.id)] = EHR
    w.patients.patients[(ORG, "CL-1")] = {"identifier": [{"system": "urn:oid:1.2.3", "value": "MRN-1"}]}
    for r, shown in (
        (rec("client", "CL-1"), [("Patient", "pt-1")]),
        (rec("service-plan", "SP-1", status="active"), [("CarePlan", "SP-1"), ("Goal", "G-1")]),
        (rec("referral", "RF-1", status="sent", authored_on="2026-02-01"), [("ServiceRequest", "RF-1"), ("Task", "RF-1")]),
    ):  # fmt: skip
        w.records.put(ORG, r)
        w.resources.shown_as[(ORG, r.kind, r.record_id)] = shown
    return s


def event(kind: str, trigger: str, control: str, mrn: str = "MRN-1", **visit: object) -> Event:
    return Event(
        "mllp", control, trigger, kind, Patient(mrn=mrn, authority="GENHOSP"),
        Visit(number="V-1", **visit), occurred_at=NOW,  # type: ignore[arg-type]
    )  # fmt: skip


def admit(storage: FakeStorage, control: str = "MSG-1") -> intake.Outcome:
    e = event("admit", "A01", control, admitted_at="2026-03-01T02:00:00.000000Z")
    return intake.receive(storage, EHR, e, "MSH|...", clock, demographics=False)


def test_an_admission_matched_by_mrn_queues_one_push_of_what_the_client_has_open(
    storage: FakeStorage,
) -> None:
    outcome = admit(storage)
    w = storage.work
    assert (outcome.ack, outcome.state) == ("AA", InboundState.APPLIED)
    [job] = w.outbox.jobs
    assert job.action is JobAction.PUSH and job.created_at == NOW
    assert set(job.resources) == {("CarePlan", "SP-1"), ("Goal", "G-1"), ("ServiceRequest", "RF-1"), ("Task", "RF-1")}  # fmt: skip
    [a] = w.admissions.rows
    assert (a.state, a.admitted_at, a.jobs) == (AdmissionState.ADMITTED, "2026-03-01T02:00:00.000000Z", {"admit": [1]})  # fmt: skip
    link = w.ehrs.links[(ORG, "CL-1", EHR.id)]
    assert (link.mrn, link.made_by_visit, link.created_at) == ("MRN-1", "V-1", NOW)
    [msg] = w.messages.rows
    assert (msg.state, msg.client_id, msg.matched_by) == (InboundState.APPLIED, "CL-1", "identifier")
    [audit] = w.audit.rows
    assert audit.patient_id == "pt-1" and audit.recorded == NOW


def test_the_same_message_again_is_a_duplicate_and_queues_nothing(storage: FakeStorage) -> None:
    admit(storage)
    again = admit(storage)
    assert (again.ack, again.state) == ("AA", "duplicate")
    assert len(storage.work.outbox.jobs) == 1 and len(storage.work.messages.rows) == 1


def test_a_discharge_pushes_the_plans_and_the_stays_referrals_and_reads_back(storage: FakeStorage) -> None:
    admit(storage)
    storage.work.records.put(ORG, rec("referral", "RF-2", status="sent", authored_on="2026-03-01"))
    storage.work.resources.shown_as[(ORG, "referral", "RF-2")] = [
        ("ServiceRequest", "RF-2"),
        ("Task", "RF-2"),
    ]
    home = Coded("01", "Discharged to home")
    e = event("discharge", "A03", "MSG-2", discharged_at="2026-03-04T05:00:00.000000Z", disposition=home)
    assert intake.receive(storage, EHR, e, "MSH|...", clock, False).state == InboundState.APPLIED
    _, push, pull = storage.work.outbox.jobs
    assert set(push.resources) == {("CarePlan", "SP-1"), ("Goal", "G-1"), ("ServiceRequest", "RF-2"), ("Task", "RF-2")}  # fmt: skip
    assert pull.action is JobAction.PULL and pull.context == {"admission": 1, "since": "2026-03-01T02:00:00.000000Z"}  # fmt: skip
    [a] = storage.work.admissions.rows
    assert (a.state, a.disposition, a.jobs["discharge"]) == (AdmissionState.DISCHARGED, home, [2, 3])


def test_a_cancelled_admission_withdraws_what_has_not_gone_and_ends_the_link_it_made(
    storage: FakeStorage,
) -> None:
    admit(storage)
    intake.receive(storage, EHR, event("cancel-admit", "A11", "MSG-2"), "MSH|...", clock, False)
    w = storage.work
    assert [j.state for j in w.outbox.jobs] == [JobState.WITHDRAWN]
    assert w.admissions.rows[0].state is AdmissionState.CANCELLED
    assert w.ehrs.links[(ORG, "CL-1", EHR.id)].ended_at == NOW


def test_a_cancelled_admission_retracts_what_it_sent_but_not_what_the_ehr_had_before(
    storage: FakeStorage,
) -> None:
    w = storage.work
    w.outbox.enqueue(
        ORG, EHR.id, "CL-1", "earlier", [("ServiceRequest", "RF-1")], "2026-01-01T00:00:00.000000Z"
    )
    w.delivered(1)  # the referral reached the EHR before this stay
    admit(storage)
    w.delivered(2)
    intake.receive(storage, EHR, event("cancel-admit", "A11", "MSG-2"), "MSH|...", clock, False)
    retract = w.outbox.jobs[-1]
    assert retract.action is JobAction.RETRACT
    assert set(retract.resources) == {("CarePlan", "SP-1"), ("Goal", "G-1"), ("Task", "RF-1")}


def test_a_cancelled_discharge_retracts_only_the_stays_referrals(storage: FakeStorage) -> None:
    admit(storage)
    storage.work.records.put(ORG, rec("referral", "RF-2", status="sent", authored_on="2026-03-02"))
    storage.work.resources.shown_as[(ORG, "referral", "RF-2")] = [
        ("ServiceRequest", "RF-2"),
        ("Task", "RF-2"),
    ]
    intake.receive(storage, EHR, event("discharge", "A03", "MSG-2"), "MSH|...", clock, False)
    storage.work.delivered(2)
    intake.receive(storage, EHR, event("cancel-discharge", "A13", "MSG-3"), "MSH|...", clock, False)
    retract = storage.work.outbox.jobs[-1]
    assert retract.action is JobAction.RETRACT
    assert set(retract.resources) == {("ServiceRequest", "RF-2"), ("Task", "RF-2")}
    a = storage.work.admissions.rows[0]
    assert (a.state, a.discharged_at, "discharge" in a.jobs) == (AdmissionState.ADMITTED, None, False)


def test_a_visit_of_another_client_is_reported_not_applied(storage: FakeStorage) -> None:
    admit(storage)
    storage.work.patients.patients[(ORG, "CL-2")] = {
        "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN-2"}]
    }
    storage.work.records.put(ORG, StoredRecord("client", "CL-2", "CL-2", 1, {}, NOW, NOW))
    outcome = intake.receive(
        storage, EHR, event("update", "A08", "MSG-2", mrn="MRN-2"), "MSH|...", clock, False
    )
    assert outcome.state == InboundState.REPORTED and "a person must check the match" in outcome.detail
    assert len(storage.work.outbox.jobs) == 1


def test_an_unknown_mrn_waits_then_a_persons_match_applies_it_and_the_others_for_that_patient(
    storage: FakeStorage, catalogue: Catalogue
) -> None:
    for control, trigger, kind in (("MSG-1", "A01", "admit"), ("MSG-2", "A08", "update")):
        e = event(kind, trigger, control, mrn="MRN-9", admitted_at="2026-03-01T02:00:00.000000Z")
        assert intake.receive(storage, EHR, e, "MSH|...", clock, False).state == InboundState.NEEDS_MATCH
    assert storage.work.outbox.jobs == []
    done = intake.resolve(storage, PLANNER, 1, "CL-1", deps(catalogue))
    assert [(m.seq, m.state, m.resolved_by, m.resolved_at) for m in done] == [
        (1, InboundState.APPLIED, "person-1", NOW),
        (2, InboundState.APPLIED, "person-1", NOW),
    ]
    assert len(storage.work.outbox.jobs) == 1 and storage.work.messages.rows[0].matched_by == "person"


def test_a_match_to_a_client_that_does_not_exist_changes_nothing(
    storage: FakeStorage, catalogue: Catalogue
) -> None:
    intake.receive(storage, EHR, event("admit", "A01", "MSG-1", mrn="MRN-9"), "MSH|...", clock, False)
    with pytest.raises(NotFound):
        intake.resolve(storage, PLANNER, 1, "CL-NOBODY", deps(catalogue))
    assert storage.work.messages.rows[0].state is InboundState.NEEDS_MATCH


def test_a_dismissed_message_stays_stored_with_the_reason(storage: FakeStorage) -> None:
    intake.receive(storage, EHR, event("admit", "A01", "MSG-1", mrn="MRN-9"), "MSH|...", clock, False)
    gone = intake.dismiss(storage, PLANNER, 1, "a patient of the maternity ward", clock)
    assert gone.state is InboundState.DISMISSED
    [msg] = storage.work.messages.rows
    assert (msg.state, msg.detail, msg.resolved_at) == (InboundState.DISMISSED, "a patient of the maternity ward", NOW)  # fmt: skip


@pytest.mark.parametrize("trouble", [StorageUnavailable("connection refused"), TooCostly("interrupted")])
def test_storage_that_cannot_keep_the_message_answers_ar_so_the_sender_sends_again(
    trouble: Exception,
) -> None:
    class Down(FakeStorage):
        def writing(self):  # type: ignore[no-untyped-def,override]
            raise trouble

    outcome = admit(Down())
    assert (outcome.ack, outcome.state) == ("AR", "unavailable")
