"""How the workspace says times, periods, names and failures to people: in the organisation's zone, which
is not UTC here on purpose."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.exceptions import BadRequest

from fhir_adapter.domain.inbound import InboundState
from fhir_adapter.web import present
from fhir_adapter.web.timeline_view import rows


def test_a_stored_instant_is_shown_in_the_organisations_zone() -> None:
    assert present.local("2026-12-05T23:30:00.000000Z", "Asia/Seoul") == "6 Dec 2026, 08:30 KST"
    assert present.local("2026-07-01T12:00:00.000000Z", "America/Chicago") == "1 Jul 2026, 07:00 CDT"
    assert present.local(None, "Asia/Seoul") == ""


def test_the_days_of_a_period_begin_at_midnight_in_the_zone() -> None:
    first, last = present.period(None, None, "Asia/Kolkata", date(2026, 12, 6))
    assert (first, last) == (date(2026, 12, 5), date(2026, 12, 6))
    start, end = present.utc_bounds(first, last, "Asia/Kolkata")
    assert (start, end) == ("2026-12-04T18:30:00.000000Z", "2026-12-06T18:30:00.000000Z")


@pytest.mark.parametrize(
    ("start", "end"), [("2026-13-01", None), ("2026-12-06", "2026-12-01"), ("2026-01-01", "2026-12-31")]
)
def test_a_period_that_cannot_be_read_is_refused(start: str, end: str | None) -> None:
    with pytest.raises(BadRequest):
        present.period(start, end, "UTC", date(2026, 12, 6))


def test_a_client_is_named_in_every_script_and_by_each_hospitals_number() -> None:
    client = {
        "id": "CL-1",
        "names": [{"text": "김서연", "family": "김"}, {"family": "Kim", "given": ["Seo-yeon"]}],
        "identifiers": [
            {"value": "MRN-1", "type": "MR", "assigner": "Riverside General Hospital"},
            {"value": "SSN", "type": "SS", "system": "urn:ssn"},
        ],
    }
    assert present.names(client) == ["김서연", "Seo-yeon Kim"]
    assert present.names({"id": "CL-2"}) == ["CL-2"]
    assert present.mrns(client) == [("Riverside General Hospital", "MRN-1")]


def test_what_was_sent_and_why_it_failed_in_words() -> None:
    assert present.what(["CarePlan/a", "Goal/b", "Goal/c"]) == "1 service plan, 2 goals"
    assert present.refusal("http_422") == "the EHR found what we sent invalid"
    assert present.refusal("http_503") == "the EHR had a fault of its own (HTTP 503)"
    said = {
        "resourceType": "OperationOutcome",
        "issue": [{"diagnostics": "bad code"}, {"details": {"text": "no"}}],
    }
    assert present.ehr_said(said) == "bad code; no"


def test_the_timeline_says_where_each_delivery_is() -> None:
    sent = {"at": "t", "what": "sent", "job": 1, "ehr": "rgh", "resources": ["CarePlan/a"]}
    received = {"at": "t", "what": "received", "ehr": "rgh", "event": "A01", "kind": "admit", "visit": "V1"}
    back = {
        "at": "t",
        "what": "read back",
        "ehr": "rgh",
        "event": "ServiceRequest read back",
        "kind": "other",
    }
    shown = rows(
        [
            sent | {"state": "delivered", "finished_at": "t2"},
            sent | {"state": "dead", "reason": "http_403"},
            sent | {"state": "pending", "reason": "timeout"},
            received | {"state": InboundState.APPLIED},
            back | {"state": "applied"},
        ]
    )
    assert [(r["group"], r["title"], r["outcome"], r["time"]) for r in shown] == [
        ("sent", "Sent 1 service plan", "arrived in rgh", "t2"),
        ("sent", "Sent 1 service plan", "not delivered to rgh: the EHR does not let us write this", None),
        (
            "sent",
            "Sent 1 service plan",
            "waiting to go to rgh (last try: the EHR did not answer in time)",
            None,
        ),
        ("received", "Admission (A01) from rgh, visit V1", "acted on", None),
        ("back", "Came back from rgh: referral", "acted on", None),
    ]


def test_a_candidate_is_shown_beside_what_the_message_says() -> None:
    from fhir_adapter.domain.events import Patient

    patient = Patient(mrn="M-9", family="Kim", given="Seo-yeon", birth_date="1987-04-12", gender="female")
    client = {"names": [{"family": "KIM"}], "birth_date": "1987-04-12", "gender": "male", "identifiers": []}
    assert present.agreement(patient, client) == [
        ("birth date", True),
        ("sex", False),
        ("family name", True),
        ("MRN", False),
    ]
