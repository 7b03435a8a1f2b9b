"""An administrator links a client to its patient in an EHR from the client's page, as the API's
ehr-links does: the links are listed with since and ended, the form carries the session's token, a
planner sees neither and is refused, and each attempt is audited."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fhir_adapter.adapters import audit_store, ehr_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.service.context import stamp, utc_now
from tests.conftest import ROOT, read_json
from tests.integration.conftest import seed
from tests.integration.workspace.conftest import add_person, csrf, sign_in

KIM = "CL-20417"


@pytest.fixture
def kim(planner: Any, service: Any) -> Any:
    """Kim's case file in the planner's organisation, with two EHRs registered."""
    seed(planner, planner.api, copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json")))
    with writing(service.engine) as conn:
        for ehr_id in ("rgh", "st-mary"):
            ehr_store.add_ehr(
                conn, Ehr(planner.org_id, ehr_id, "http://127.0.0.1:9/fhir", "none"), stamp(utc_now())
            )
    return planner


@pytest.fixture
def admin(kim: Any, service: Any, app: Any) -> Any:
    client = app.test_client()
    assert sign_in(client, add_person(service, kim.org_id, "admin")).status_code == 302
    client.api, client.org_id = kim.api, kim.org_id
    return client


def test_an_admin_links_a_client_to_a_patient_in_an_ehr(admin: Any, service: Any) -> None:
    page = admin.get(f"/app/clients/{KIM}").get_data(as_text=True)
    assert "Links to patients in the EHRs" in page and "Not linked to a patient in any EHR yet." in page
    assert "<option>rgh</option><option>st-mary</option>" in page
    form = {
        "ehr": "st-mary",
        "patient_id": "pt-77",
        "mrn": "SM-1",
        "assigner": "St Mary's",
        "csrf_token": csrf(page),
    }
    done = admin.post(f"/app/clients/{KIM}/links", data=form)
    assert done.status_code == 302 and done.headers["Location"] == f"/app/clients/{KIM}#links"
    shown = admin.get(f"/app/clients/{KIM}").get_data(as_text=True)
    assert (
        f"Client {KIM} linked to patient pt-77 in st-mary; what the client has is queued for st-mary" in shown
    )
    assert '<td data-label="Patient id">pt-77</td>' in shown and "assigned by St Mary&#39;s" in shown
    assert '<td data-label="Ended">not ended</td>' in shown
    assert "waiting to go to st-mary" in shown  # the link's delivery, on the timeline
    assert "<option>rgh</option></select>" in shown  # st-mary is offered no more
    listed = admin.get(f"/api/v1/clients/{KIM}/ehr-links", headers=admin.api).get_json()["items"]
    assert [(x["ehr"], x["patient_id"], x["mrn"], x["assigner"]) for x in listed] == [
        ("st-mary", "pt-77", "SM-1", "St Mary's")
    ]
    again = admin.post(f"/app/clients/{KIM}/links", data=form)
    assert again.status_code == 409
    assert "is linked to a patient in st-mary already" in again.get_data(as_text=True)
    service.audit.flush()
    with reading(service.engine) as conn:
        _, rows = audit_store.search(conn, admin.org_id, {}, 100, 0)
    posted = [r for r in rows if r.route == "/app/clients/<client_id>/links"]
    assert sorted(r.status_code for r in posted) == [302, 409]
    assert all(r.action == "U" and r.patient_id and r.agent_name.startswith("admin-") for r in posted)


def test_a_planner_sees_no_links_nor_form_and_is_refused(kim: Any, service: Any) -> None:
    page = kim.get(f"/app/clients/{KIM}").get_data(as_text=True)
    assert "Links to patients in the EHRs" not in page and 'name="patient_id"' not in page
    form = {"ehr": "rgh", "patient_id": "pt-1", "csrf_token": csrf(page)}
    refused = kim.post(f"/app/clients/{KIM}/links", data=form)
    assert refused.status_code == 403
    assert "Only an administrator can link a client" in refused.get_data(as_text=True)
    assert kim.get(f"/api/v1/clients/{KIM}/ehr-links", headers=kim.api).get_json()["items"] == []
    service.audit.flush()
    with reading(service.engine) as conn:
        _, rows = audit_store.search(conn, kim.org_id, {}, 100, 0)
    assert [r.status_code for r in rows if r.route == "/app/clients/<client_id>/links"] == [403]


@pytest.mark.parametrize(
    ("path", "form", "status", "says"),
    [
        (f"/app/clients/{KIM}/links", {"ehr": "rgh"}, 400, "Fill in patient id"),
        (f"/app/clients/{KIM}/links", {"ehr": "rgh", "patient_id": "a b"}, 400, "letters, digits"),
        (f"/app/clients/{KIM}/links", {"ehr": "rgh", "patient_id": "p", "mrn": "x\x00"}, 400, "at most 128"),
        (
            f"/app/clients/{KIM}/links",
            {"ehr": "nowhere", "patient_id": "p"},
            422,
            "no EHR nowhere is registered",
        ),
        ("/app/clients/CL-NOBODY/links", {"ehr": "rgh", "patient_id": "p"}, 404, "client CL-NOBODY"),
        ("/app/clients/%E2%80%AE/links", {"ehr": "rgh", "patient_id": "p"}, 404, "There is no client"),
    ],
)
def test_a_link_that_cannot_be_made_is_refused_with_a_page(
    admin: Any, path: str, form: dict[str, str], status: int, says: str
) -> None:
    token = csrf(admin.get(f"/app/clients/{KIM}").get_data(as_text=True))
    answer = admin.post(path, data=form | {"csrf_token": token})
    assert answer.status_code == status
    assert answer.mimetype == "text/html" and says in answer.get_data(as_text=True)
    assert admin.post(f"/app/clients/{KIM}/links", data=form).status_code == 400  # no token
