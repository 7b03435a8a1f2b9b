"""The worker's decisions without a database or a network: what a job sends and holds back, and what a
failed attempt comes to."""

from __future__ import annotations

import orjson
import pytest

from fhir_adapter.delivery.ehr_client import Failure
from fhir_adapter.delivery.outgoing import sort_out
from fhir_adapter.delivery.worker import verdict
from fhir_adapter.domain.stored import Stored
from fhir_adapter.domain.sync import Ehr, Job, JobAction, JobState, LedgerAction, Sent

NOW = "2025-10-20T22:00:00.000000Z"


def stored(rtype: str, rid: str, deleted: bool = False, restricted: bool = False) -> Stored:
    data = orjson.dumps({"resourceType": rtype, "id": rid, "meta": {"versionId": "2"}}).decode()
    return Stored(rtype, rid, 2, NOW, deleted, data, restricted, "pt-ours")


def job(action: JobAction = JobAction.PUSH) -> Job:
    return Job(
        1, "acme", "hospital", "CL-1", "admission", [], JobState.LEASED, 1, NOW, "lease", None, None, None,
        NOW, None, NOW, action=action,
    )  # fmt: skip


def ehr(send_restricted: bool = False) -> Ehr:
    return Ehr("acme", "hospital", "https://ehr.example.org/fhir", "none", send_restricted=send_restricted)


def test_a_push_sends_ours_but_the_patient_and_holds_back_what_is_restricted() -> None:
    items = [
        stored("Patient", "pt-ours"),
        stored("CarePlan", "p1"),
        stored("QuestionnaireResponse", "q1", restricted=True),
    ]
    send, withheld, patient = sort_out(job(), ehr(), items, {})
    assert [o.ref for o in send] == ["CarePlan/p1"] and [o.ref for o in withheld] == [
        "QuestionnaireResponse/q1"
    ]
    assert patient == "pt-ours" and "meta" not in send[0].resource  # the EHR keeps its own versions
    send, withheld, _ = sort_out(job(), ehr(send_restricted=True), items, {})
    assert len(send) == 2 and withheld == []


def test_a_removal_goes_only_where_the_resource_was_sent_and_is_still_there() -> None:
    items = [stored("Goal", "sent"), stored("Goal", "never"), stored("Goal", "gone")]
    known = {
        ("Goal", "sent"): Sent("ehr-1", "3", LedgerAction.PUT),
        ("Goal", "gone"): Sent(None, None, LedgerAction.DELETE),
    }
    send, _, _ = sort_out(job(JobAction.RETRACT), ehr(), items, known)
    assert [(o.ref, o.deleted) for o in send] == [("Goal/sent", True)]


@pytest.mark.parametrize(
    ("failure", "attempts", "action", "reason"),
    [
        (Failure("retry", "http_503", 503, None), 1, "retry", "http_503"),
        (Failure("retry", "http_503", 503, None), 8, "dead", "gave_up"),
        (Failure("reconcile", "http_412", 412, None), 1, "dead", "http_412"),
        (Failure("dead", "http_422", 422, None), 1, "dead", "http_422"),
    ],
)
def test_a_failed_attempt_is_tried_again_while_it_may_else_it_is_a_dead_letter(
    failure: Failure, attempts: int, action: str, reason: str
) -> None:
    decided = verdict(failure, attempts, most=8)
    assert (decided.action, decided.reason, decided.status) == (action, reason, failure.status)
