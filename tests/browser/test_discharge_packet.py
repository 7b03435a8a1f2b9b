"""A discharge planner sees what came back at discharge in headless Chromium: the discharge summaries,
each with a link that downloads the hospital's PDF as it was sent, and the follow-up appointment."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import accessible, shoot, sign_in
from tests.integration.events.conftest import Hospital
from tests.integration.events.packet import AMENDED_PDF, PDF, put_packet
from tests.integration.workspace.conftest import PASSWORD, add_person
from tests.support import adt

KIM = "CL-20417"
expect = pytest.importorskip(
    "playwright.sync_api", reason="THE BROWSER TESTS DID NOT RUN: Playwright is not installed"
).expect


def test_a_planner_downloads_the_discharge_summary(
    hospital: Hospital, live: str, browser_page: Any, service: Any
) -> None:
    page, h = browser_page, hospital.h
    admitted = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    hospital.adt(adt.message("A01", dataclasses.replace(hospital.visit(), admitted=admitted)))
    h.drain()
    put_packet(h.ehr, hospital.patient, hospital.encounter, (date.today() + timedelta(days=7)).isoformat())
    hospital.adt(
        adt.message("A03", hospital.visit(), control_id="DIS-1", disposition="01^Discharged to home")
    )
    h.drain()
    sign_in(page, live, add_person(service, h.org_id), PASSWORD)
    page.goto(f"{live}/app/clients/{KIM}")
    back = page.get_by_role("region", name="What came back at discharge")
    expect(back).to_contain_text("Discharge summary")
    expect(back).to_contain_text("퇴원 요약 (discharge summary)")
    expect(back).to_contain_text("With Dr. Lee Seo-yeon, Respiratory clinic, building B, 2nd floor")
    expect(back).to_contain_text("흉부 X선 촬영을 위해 30분 일찍 오세요")
    accessible(page)
    shoot(page, "client-discharge-packet-desktop")
    links = back.get_by_role("link", name="Download")
    expect(links).to_have_count(2)
    got = []
    for i in range(2):
        with page.expect_download() as download:
            links.nth(i).click()
        got.append(Path(download.value.path()).read_bytes())
    assert sorted(got) == sorted([PDF, AMENDED_PDF])
