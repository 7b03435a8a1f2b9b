"""The workspace for people on a 1280 px screen and a 390 px phone: nothing wider than the screen, the
keyboard reaches everything from a skip link, Hangul and Devanagari names shown as written.

With FHIR_ADAPTER_SCREENSHOTS=<directory> each page is also saved there at both widths, to look at."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser.conftest import accessible, shoot, sign_in
from tests.conftest import ROOT, read_json
from tests.integration.conftest import seed
from tests.integration.events.conftest import Hospital
from tests.integration.workspace.conftest import PASSWORD, add_person
from tests.support import adt

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def _fits(page: Any) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0, f"{page.url} is {wide} px wider than the screen"


@pytest.fixture
def stays(hospital: Hospital) -> Hospital:
    """Kim admitted today and delivered; Aarav's case file; a message that matches nobody."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    hospital.adt(adt.message("A01", dataclasses.replace(hospital.visit(), admitted=now)))
    hospital.h.drain()
    h = hospital.h
    seed(h.client, h.headers, copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "admission-sharma.json")))
    stranger = adt.Visit(
        mrn="MRN-5521", number="V-9", family="Sharma", given="Aarav", birth_date="19990101", sex="M"
    )
    hospital.adt(adt.message("A01", dataclasses.replace(stranger, admitted=now)))
    return hospital


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_reads_at_desktop_and_phone_width(
    stays: Hospital, live: str, chromium: Any, service: Any, width: str
) -> None:
    size = dict(zip(("width", "height"), WIDTHS[width], strict=True))
    context = chromium.new_context(viewport=size, bypass_csp=True)  # axe is injected into the pages
    page = context.new_page()
    try:
        sign_in(page, live, add_person(service, stays.h.org_id, "admin"), PASSWORD)
        sharma = read_json(ROOT / "fixtures" / "cases" / "admission-sharma.json")["client"]["id"]
        for name, path in (
            ("today", "/app/"),
            ("client-kim", "/app/clients/CL-20417"),
            ("client-sharma", f"/app/clients/{sharma}"),
            ("needs-match", "/app/needs-match"),
            ("deliveries", "/app/deliveries"),
        ):
            page.goto(f"{live}{path}")
            _fits(page)
            accessible(page)
            shoot(page, f"{name}-{width}")
        page.goto(f"{live}/app/login")
        shoot(page, f"login-{width}")
    finally:
        context.close()


def test_the_keyboard_reaches_the_content_and_every_form(
    stays: Hospital, live: str, browser_page: Any, service: Any
) -> None:
    page = browser_page
    sign_in(page, live, add_person(service, stays.h.org_id), PASSWORD)
    page.goto(f"{live}/app/needs-match")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    page.wait_for_url("**#main", timeout=5000)  # following the link is not done when the key press returns
    assert page.url.endswith("#main")
    focusable = page.evaluate(
        """() => [...document.querySelectorAll('a, button, input:not([type=hidden])')]
              .filter(e => e.tabIndex < 0 || e.disabled).length"""
    )
    assert focusable == 0  # nothing is taken out of the tab order
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('name')") == "reason":
            break
    else:
        pytest.fail("the reason to dismiss is not reached by the keyboard")
    page.keyboard.type("a test patient of the hospital")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live}/app/needs-match")
    assert "dismissed" in page.inner_text("[role=status]")


def test_names_in_hangul_and_devanagari_are_shown_as_written(
    stays: Hospital, live: str, browser_page: Any, service: Any
) -> None:
    page = browser_page
    sign_in(page, live, add_person(service, stays.h.org_id), PASSWORD)
    sharma = read_json(ROOT / "fixtures" / "cases" / "admission-sharma.json")["client"]["id"]
    page.goto(f"{live}/app/clients/{sharma}")
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "आरव शर्मा · Aarav Sharma"
    # The fonts Chromium drew the names with: each script with a font that has its letters (no empty boxes).
    fonts = _fonts(page, "h1")
    assert any("Devanagari" in f for f in fonts), fonts
    page.goto(f"{live}/app/clients/CL-20417")
    fonts = _fonts(page, "h1")
    assert any("CJK" in f or "Hangul" in f or "KR" in f for f in fonts), fonts


def _fonts(page: Any, selector: str) -> set[str]:
    """The font families Chromium drew the element's text with (from the DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return {f["familyName"] for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]}


def test_the_pages_keep_to_their_own_content_security_policy(
    stays: Hospital, live: str, chromium: Any, service: Any
) -> None:
    """Without axe injected (and the policy in force), nothing on the pages is refused: the style sheet applies."""
    context = chromium.new_context()
    page = context.new_page()
    complaints: list[str] = []
    page.on("console", lambda message: complaints.append(message.text) if message.type == "error" else None)
    try:
        sign_in(page, live, add_person(service, stays.h.org_id), PASSWORD, check=False)
        page.goto(f"{live}/app/clients/CL-20417")
        background = page.evaluate("getComputedStyle(document.body.parentElement).backgroundColor")
        assert background == "rgb(243, 245, 248)"
        assert complaints == []
    finally:
        context.close()
