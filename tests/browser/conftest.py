"""The workspace in a real browser: Debian's headless Chromium driven by Playwright (never a browser
Playwright downloads), the app on a real socket, axe-core injected into every page a test opens.

Without Chromium, Playwright or axe-core these tests skip, saying what is missing (CI makes that a failure)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.delivery.conftest import proxy  # noqa: F401 - the fault proxy before the EHR
from tests.integration.events.conftest import hospital  # noqa: F401 - Kim, her case file and her EHR
from tests.support.live import serving

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _missing() -> str | None:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        return "Chromium is not installed (apt-get install -y chromium; .ci/run does)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (make install)"
    if not AXE.exists():
        return "axe-core is not installed (make test runs npm ci in tests/browser)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    missing = _missing()
    if missing:
        pytest.skip(f"THE BROWSER TESTS DID NOT RUN: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
        browser = playwright.chromium.launch(executable_path=path, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live(app: Any) -> Iterator[str]:
    """The app on a free port: its base URL."""
    with serving(app) as (host, port):
        yield f"http://{host}:{port}"


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A page of a fresh browser context (no cookies), 1280 px wide."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # for axe
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def accessible(page: Any) -> None:
    """axe-core finds no violation of WCAG 2.1 A or AA on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    violations = [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]
    ]
    assert violations == [], f"{page.url}: {violations}"


def shoot(page: Any, name: str) -> None:
    """With FHIR_ADAPTER_SCREENSHOTS=<directory>, the whole page saved there as <name>.png, to look at."""
    folder = os.environ.get("FHIR_ADAPTER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def sign_in(page: Any, base: str, name: str, password: str, check: bool = True) -> None:
    """Sign in through the form (checked by axe on the way, unless `check` is off)."""
    page.goto(f"{base}/app/login")
    if check:
        accessible(page)
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/app/")
