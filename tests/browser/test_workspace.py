"""A discharge planner and an administrator using the workspace in headless Chromium, against the
stand-in EHR: today's admission whose plan arrives, a waiting message resolved and its records queued, a
dead letter sent again; what a planner may not do, and another organisation's client. axe-core checks
every page opened."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser.conftest import accessible, shoot, sign_in
from tests.integration.events.conftest import Hospital
from tests.integration.workspace.conftest import PASSWORD, add_person
from tests.support import adt
from tests.support.fault_proxy import Fault, outcome

KIM = "CL-20417"
# Without Playwright the module skips, saying so (the chromium fixture names what else is missing).
expect = pytest.importorskip(
    "playwright.sync_api", reason="THE BROWSER TESTS DID NOT RUN: Playwright is not installed"
).expect


def _admitted_now(hospital: Hospital, **fields: str) -> adt.Visit:
    return dataclasses.replace(
        hospital.visit(), admitted=datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000"), **fields
    )


def test_a_planner_finds_todays_admission_and_sees_the_plan_arrive(
    hospital: Hospital, live: str, browser_page: Any, service: Any
) -> None:
    page, h = browser_page, hospital.h
    hospital.adt(adt.message("A01", _admitted_now(hospital)))
    sign_in(page, live, add_person(service, h.org_id), PASSWORD)
    row = page.get_by_role("row").filter(has_text=KIM)
    expect(row).to_contain_text("Pending")
    accessible(page)
    h.drain()
    page.reload()
    expect(row).to_contain_text("All delivered")
    row.get_by_role("link", name=re.compile("김서연")).click()
    page.wait_for_url(f"{live}/app/clients/{KIM}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("김서연 · Seo-yeon Kim")
    plan = page.locator(".entry-sent").filter(has_text="1 service plan")
    expect(plan.first).to_contain_text(re.compile(r"arrived in hospital at \d+ \w+ \d{4}, \d\d:\d\d UTC"))
    expect(page.get_by_role("region", name="Referrals")).to_contain_text("accepted")
    accessible(page)


def test_resolving_a_waiting_message_queues_its_records(
    hospital: Hospital, live: str, browser_page: Any, service: Any
) -> None:
    page = browser_page
    hospital.adt(adt.message("A01", _admitted_now(hospital, mrn="MRN-NEW-77", number="V-77")))
    sign_in(page, live, add_person(service, hospital.h.org_id), PASSWORD)
    page.get_by_role("link", name="Needs a match").click()
    waiting = page.locator("section.waiting").filter(has_text="MRN-NEW-77")
    expect(waiting).to_contain_text("1987-04-12")
    expect(waiting).to_contain_text("assigned by RGH")
    expect(waiting.locator(".agree")).to_contain_text("birth date: the same")
    expect(waiting.locator(".agree")).to_contain_text("MRN: differs")
    accessible(page)
    waiting.get_by_role("button", name=f"This is 김서연 ({KIM})").click()
    page.wait_for_url(f"{live}/app/clients/{KIM}")
    expect(page.get_by_role("status")).to_contain_text("1 message(s) applied")
    queued = page.locator(".entry-sent").filter(has_text="1 service plan")
    expect(queued.last).to_contain_text("waiting to go to hospital")
    accessible(page)
    page.get_by_role("link", name="Needs a match").click()
    expect(page.get_by_text("No message is waiting.")).to_be_visible()


def test_an_admin_sends_a_dead_letter_again(
    hospital: Hospital, live: str, browser_page: Any, service: Any
) -> None:
    page, h = browser_page, hospital.h
    said = "CarePlan.category: a required code is missing"
    h.proxy.inject(Fault("status", 422, body=outcome(422, said), method="POST"))
    hospital.adt(adt.message("A01", _admitted_now(hospital)))
    h.drain()
    dead = h.jobs("dead")
    assert len(dead) == 1
    sign_in(page, live, add_person(service, h.org_id, "admin"), PASSWORD)
    expect(page.get_by_role("row").filter(has_text=KIM)).to_contain_text("Failed")
    page.get_by_role("link", name="Delivery problems").click()
    problem = page.get_by_role("row").filter(has_text=f"delivery {dead[0].id}")
    expect(problem).to_contain_text("the EHR found what we sent invalid")
    expect(problem).to_contain_text(said)
    accessible(page)
    shoot(page, "deliveries-dead-desktop")
    problem.get_by_role("button", name=f"Send delivery {dead[0].id} again").click()
    expect(page.get_by_role("status")).to_contain_text(f"Delivery {dead[0].id} queued again as")
    expect(page.get_by_text("No delivery has failed.")).to_be_visible()
    accessible(page)
    page.get_by_role("link", name="Today").click()
    expect(page.get_by_role("row").filter(has_text=KIM)).to_contain_text("Pending")  # the replay is queued
    h.drain()
    page.reload()
    expect(page.get_by_role("row").filter(has_text=KIM)).to_contain_text("All delivered")


def test_a_planner_gets_no_replay_button_and_is_refused_if_posting_anyway(
    hospital: Hospital, live: str, browser_page: Any, service: Any
) -> None:
    page = browser_page
    sign_in(page, live, add_person(service, hospital.h.org_id), PASSWORD)
    expect(page.get_by_role("navigation")).not_to_contain_text("Delivery problems")
    answer = page.goto(f"{live}/app/deliveries")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    accessible(page)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    posted = page.context.request.post(f"{live}/app/deliveries/replay", form={"csrf_token": token or ""})
    assert posted.status == 403


def test_another_organisations_client_is_not_found(
    hospital: Hospital, live: str, browser_page: Any, service: Any, new_org: Any
) -> None:
    page, elsewhere = browser_page, f"other-{hospital.h.org_id}"
    new_org(org=elsewhere)
    sign_in(page, live, add_person(service, elsewhere), PASSWORD)
    answer = page.goto(f"{live}/app/clients/{KIM}")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("main")).not_to_contain_text("김서연")
    accessible(page)
