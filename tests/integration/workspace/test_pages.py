"""The workspace's pages and forms through the Flask test client, without an EHR to deliver to: a waiting
message resolved and its admission's jobs queued, one resolved twice, a dismissal, Today's period, and
input that is refused with a page saying why, never a 500."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import writing
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.service.context import stamp, utc_now
from tests.conftest import ROOT, read_json
from tests.integration.conftest import seed
from tests.integration.workspace.conftest import csrf
from tests.support import adt

ADT = {"Content-Type": "x-application/hl7-v2+er7"}


@pytest.fixture
def waiting(planner: Any, service: Any) -> Any:
    """Kim's case file, the hospital registered, and an A01 of today with an MRN nobody has."""
    seed(planner, planner.api, copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json")))
    ehr = Ehr(planner.org_id, "rgh", "http://127.0.0.1:9/fhir", "none", mrn_authority="RGH")
    with writing(service.engine) as conn:
        ehr_store.add_ehr(conn, ehr, stamp(utc_now()))
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    visit = adt.Visit(mrn="MRN-NOBODY", number="V-1", admitted=now)
    answer = planner.post("/api/v1/ehrs/rgh/adt", data=adt.message("A01", visit), headers=planner.api | ADT)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return planner


def _seq(page: str) -> str:
    found = re.search(r'action="/app/needs-match/(\d+)/match"', page)
    assert found, page
    return found.group(1)


def test_a_waiting_message_is_resolved_and_its_admission_queued(waiting: Any) -> None:
    page = waiting.get("/app/needs-match").get_data(as_text=True)
    path = f"/app/needs-match/{_seq(page)}/match"
    assert "MRN-NOBODY" in page and "assigned by RGH" in page and "1987-04-12" in page
    assert "This is 김서연 (CL-20417)" in page
    done = waiting.post(path, data={"client_id": "CL-20417", "csrf_token": csrf(page)})
    assert done.status_code == 302 and done.headers["Location"] == "/app/clients/CL-20417"
    client = waiting.get("/app/clients/CL-20417").get_data(as_text=True)
    assert "1 message(s) applied to client CL-20417" in client
    assert "waiting to go to rgh" in client
    today = waiting.get("/app/").get_data(as_text=True)
    assert "CL-20417" in today and "Pending" in today
    again = waiting.post(path, data={"client_id": "CL-20417", "csrf_token": csrf(page)})
    assert again.status_code == 409
    assert "only messages that need a match are resolved" in again.get_data(as_text=True)


def test_a_waiting_message_is_dismissed_with_a_reason(waiting: Any) -> None:
    page = waiting.get("/app/needs-match").get_data(as_text=True)
    path, token = f"/app/needs-match/{_seq(page)}/dismiss", csrf(page)
    assert waiting.post(path, data={"csrf_token": token}).status_code == 400
    done = waiting.post(path, data={"reason": "a visitor", "csrf_token": token})
    assert done.status_code == 302
    assert "No message is waiting." in waiting.get("/app/needs-match").get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "form", "status"),
    [
        ("/app/?from=0001-01-01&to=0001-01-02", None, 400),
        ("/app/?from=9999-12-31", None, 400),
        ("/app/?from=yesterday", None, 400),
        ("/app/clients/%E2%80%AE", None, 404),
        ("/app/needs-match/99999/match", {"client_id": "CL-20417"}, 404),
        ("/app/needs-match/1/match", {"client_id": "CL\x0020417"}, 400),
        ("/app/needs-match/1/match", {"client_id": "../../CL-1"}, 404),
        ("/app/needs-match/1/match", {"client_id": "x" * 200}, 400),
        ("/app/needs-match/1/dismiss", {"reason": "nul \x00 here"}, 400),
        ("/app/needs-match/4294967296/dismiss", {"reason": "too far"}, 404),
    ],
)
def test_input_that_cannot_be_used_is_refused_with_a_page(
    waiting: Any, path: str, form: Any, status: int
) -> None:
    if form is None:
        answer = waiting.get(path)
    else:
        token = csrf(waiting.get("/app/needs-match").get_data(as_text=True))
        answer = waiting.post(path, data=form | {"csrf_token": token})
    assert answer.status_code == status
    assert answer.mimetype == "text/html"
    assert "Back to Today" in answer.get_data(as_text=True)


def test_today_shows_the_days_asked_for(waiting: Any) -> None:
    assert "CL-20417" not in waiting.get("/app/?from=2020-01-01&to=2020-01-02").get_data(as_text=True)
    page = waiting.get("/app/?from=2020-01-01&to=2020-01-02").get_data(as_text=True)
    assert "No client of yours was admitted or discharged from 2020-01-01 to 2020-01-02." in page
