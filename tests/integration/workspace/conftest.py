"""People of an organisation signing in to the workspace through the Flask test client."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from fhir_adapter.service import people
from fhir_adapter.service.context import stamp, utc_now

PASSWORD = "correct horse battery"  # noqa: S105 - the test accounts' password
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(page: str) -> str:
    found = CSRF.search(page)
    assert found, page
    return found.group(1)


def add_person(service: Any, org_id: str, role: str = "planner", password: str = PASSWORD) -> str:
    """A new account of the organisation; its user name."""
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    people.add_person(service.storage, service.settings, org_id, name, role, password, stamp(utc_now()))
    return name


def sign_in(client: Any, name: str, password: str = PASSWORD) -> Any:
    """Fill in and send the sign-in form; the answer."""
    form = client.get("/app/login").get_data(as_text=True)
    return client.post("/app/login", data={"username": name, "password": password, "csrf_token": csrf(form)})


@pytest.fixture
def planner(service: Any, app: Any, new_org: Any) -> Any:
    """A test client signed in as a planner of a fresh organisation (its API headers: .api)."""
    headers = new_org()
    client = app.test_client()
    answer = sign_in(client, add_person(service, new_org.org_id))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    client.api = headers
    client.org_id = new_org.org_id
    return client
