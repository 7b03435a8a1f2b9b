"""An administrator links a client to its patient in the hospital's EHR from the client's page, in headless
Chromium against the stand-in EHR, and sees what the client has arrive there; a planner gets no form and
is refused when posting it anyway. axe-core checks the page with the form, at 1280 and 390 px."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tests.browser.conftest import accessible, shoot, sign_in
from tests.conftest import ROOT, read_json
from tests.integration.conftest import seed
from tests.integration.events.conftest import Hospital
from tests.integration.workspace.conftest import PASSWORD, add_person

expect = pytest.importorskip(
    "playwright.sync_api", reason="THE BROWSER TESTS DID NOT RUN: Playwright is not installed"
).expect
AARAV = "CL-30582"


@pytest.fixture
def aarav(hospital: Hospital) -> Hospital:
    """Aarav's case file in the hospital's organisation, and his Patient in the EHR (not linked yet)."""
    h = hospital.h
    seed(h.client, h.headers, copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "admission-sharma.json")))
    h.ehr.put(
        {"resourceType": "Patient", "id": "pt-aarav", "name": [{"family": "Sharma", "given": ["Aarav"]}]}
    )
    return hospital


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_links_a_client_and_what_it_has_arrives(
    aarav: Hospital, live: str, chromium: Any, service: Any, width: int
) -> None:
    h = aarav.h
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live, add_person(service, h.org_id, "admin"), PASSWORD)
        page.goto(f"{live}/app/clients/{AARAV}")
        links = page.get_by_role("region", name="Links to patients in the EHRs")
        expect(links).to_contain_text("Not linked to a patient in any EHR yet.")
        accessible(page)
        shoot(page, f"client-links-form-{width}")
        links.get_by_label("EHR", exact=True).select_option(h.ehr_id)
        links.get_by_label("Patient id in the EHR").fill("pt-aarav")
        links.get_by_label("MRN (optional)").fill("RGH-30582")
        links.get_by_role("button", name="Link the client").click()
        page.wait_for_url(f"{live}/app/clients/{AARAV}#links")
        expect(page.get_by_role("status")).to_contain_text(f"linked to patient pt-aarav in {h.ehr_id}")
        row = links.get_by_role("row").filter(has_text="pt-aarav")
        expect(row).to_contain_text("RGH-30582")
        expect(row).to_contain_text("not ended")
        wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wide <= 0, f"the page is {wide} px wider than the screen"
        accessible(page)
        shoot(page, f"client-linked-{width}")
        h.drain()
        page.reload()
        sent = page.locator(".entry-sent").filter(has_text="1 service plan")
        expect(sent.first).to_contain_text(
            re.compile(rf"arrived in {h.ehr_id} at \d+ \w+ \d{{4}}, \d\d:\d\d")
        )
        assert h.ehr.search("CarePlan", patient="Patient/pt-aarav")
    finally:
        context.close()


def test_a_planner_gets_no_link_form_and_is_refused_if_posting_anyway(
    aarav: Hospital, live: str, browser_page: Any, service: Any
) -> None:
    page = browser_page
    sign_in(page, live, add_person(service, aarav.h.org_id), PASSWORD)
    page.goto(f"{live}/app/clients/{AARAV}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Aarav Sharma")
    expect(page.get_by_role("region", name="Links to patients in the EHRs")).to_have_count(0)
    expect(page.locator("input[name=patient_id]")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    form = {"csrf_token": token, "ehr": aarav.h.ehr_id, "patient_id": "pt-aarav"}
    posted = page.context.request.post(f"{live}/app/clients/{AARAV}/links", form=form)
    assert posted.status == 403
    assert aarav.h.ehr.search("CarePlan", patient="Patient/pt-aarav") == []
