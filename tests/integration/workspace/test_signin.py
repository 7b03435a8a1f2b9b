"""Signing in to the workspace: the accounts the command line makes, the form and its CSRF token, the
session cookie, wrong passwords and the lock they bring, disabled accounts, roles, and the audit of what a
person sees."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest

from fhir_adapter import cli
from fhir_adapter.adapters import audit_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.service import people
from fhir_adapter.service.audit import to_fhir_audit_event
from fhir_adapter.service.context import stamp, utc_now
from fhir_adapter.web.session import COOKIE
from tests.conftest import ROOT, read_json
from tests.integration.workspace.conftest import PASSWORD, add_person, csrf, sign_in


def test_root_leads_to_the_workspace_and_the_workspace_to_sign_in(client: Any) -> None:
    assert client.get("/").headers["Location"] == "/app/"
    answer = client.get("/app/clients/CL-1")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/app/login?next=/app/clients/CL-1"
    form = client.get("/app/login").get_data(as_text=True)
    for needed in ('name="username"', 'name="password"', 'name="csrf_token"', '<label for="username">'):
        assert needed in form


def test_the_users_command_adds_lists_and_disables(
    service: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FHIR_ADAPTER_DATABASE_URL", service.settings.database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        cli.main(["users", "add", "dana.w", "--org", "cli-org", "--role", "admin", "--password-stdin"]) == 0
    )
    assert "user dana.w of organisation cli-org, role admin" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "add", "lee", "--org", "cli-org", "--role", "planner", "--password-stdin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert (
        cli.main(["users", "add", "dana.w", "--org", "cli-org", "--role", "planner", "--password-stdin"]) == 2
    )
    assert "there is a user dana.w already" in capsys.readouterr().err
    assert cli.main(["users", "add", "lee", "--org", "cli-org", "--role", "planner"]) == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert cli.main(["users", "list", "--org", "cli-org"]) == 0
    assert capsys.readouterr().out.splitlines() == ["dana.w\tcli-org\tadmin\tenabled"]
    assert cli.main(["users", "disable", "dana.w"]) == 0
    assert cli.main(["users", "disable", "dana.w"]) == 2
    assert "no enabled user dana.w" in capsys.readouterr().err
    cli.main(["users", "list", "--org", "cli-org"])
    assert "\tdisabled " in capsys.readouterr().out


def test_a_person_signs_in_with_a_session_cookie_scripts_cannot_read(
    service: Any, app: Any, new_org: Any
) -> None:
    new_org()
    name = add_person(service, new_org.org_id)
    client = app.test_client()
    answer = sign_in(client, name)
    assert answer.status_code == 302 and answer.headers["Location"] == "/app/"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/app" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    today = client.get("/app/")
    assert today.status_code == 200 and name in today.get_data(as_text=True)
    assert today.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in today.headers["Content-Security-Policy"]
    signout = client.post("/app/logout", data={"csrf_token": csrf(today.get_data(as_text=True))})
    assert signout.status_code == 302
    assert client.get("/app/").status_code == 302  # signed out


def test_over_https_the_cookie_is_secure(service: Any, app: Any, new_org: Any) -> None:
    new_org()
    client = app.test_client()
    form = client.get("/app/login", base_url="https://localhost").get_data(as_text=True)
    data = {"username": add_person(service, new_org.org_id), "password": PASSWORD, "csrf_token": csrf(form)}
    answer = client.post("/app/login", data=data, base_url="https://localhost")
    assert answer.status_code == 302
    assert "Secure" in answer.headers["Set-Cookie"]


def test_a_form_without_the_token_is_refused(planner: Any, service: Any, new_org: Any, app: Any) -> None:
    new_org()
    name = add_person(service, new_org.org_id)
    fresh = app.test_client()
    fresh.get("/app/login")
    refused = fresh.post("/app/login", data={"username": name, "password": PASSWORD})
    assert refused.status_code == 400
    assert "did not come from this site" in refused.get_data(as_text=True)
    wrong = fresh.post("/app/login", data={"username": name, "password": PASSWORD, "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert planner.post("/app/needs-match/1/dismiss", data={"reason": "not ours"}).status_code == 400
    assert planner.post("/app/logout").status_code == 400
    assert planner.get("/app/").status_code == 200  # still signed in


def test_wrong_passwords_lock_the_account(service: Any, app: Any, new_org: Any) -> None:
    new_org()
    name = add_person(service, new_org.org_id)
    client = app.test_client()
    for _ in range(service.settings.login_max_failures - 1):
        wrong = sign_in(client, name, "not the password")
        assert wrong.status_code == 401
        assert "the user name or the password is wrong" in wrong.get_data(as_text=True)
    locked = sign_in(client, name, "not the password")
    assert "locked" in locked.get_data(as_text=True)
    right = sign_in(client, name)  # the right password, too late
    assert right.status_code == 401 and "locked" in right.get_data(as_text=True)
    unknown = sign_in(client, "nobody-here")
    assert unknown.status_code == 401 and "the user name or the password is wrong" in unknown.get_data(
        as_text=True
    )


def test_the_lock_opens_after_its_time(service: Any, new_org: Any, catalogue: Any) -> None:
    new_org()
    name = add_person(service, new_org.org_id)
    settings = dataclasses.replace(service.settings, login_max_failures=2, login_lockout_seconds=0.0)
    for _ in range(2):
        with pytest.raises(people.SignInRefused):
            people.sign_in(service.storage, settings, name, "wrong", utc_now)
    assert people.sign_in(service.storage, settings, name, PASSWORD, utc_now).name == name


def test_a_disabled_person_cannot_sign_in_and_their_session_ends(
    planner: Any, service: Any, app: Any
) -> None:
    name = add_person(service, planner.org_id)
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    assert client.get("/app/").status_code == 200
    assert people.disable(service.storage, name, stamp(utc_now()))
    assert client.get("/app/").status_code == 302  # the session ended
    refused = sign_in(client, name)
    assert refused.status_code == 401 and "the user name or the password is wrong" in refused.get_data(
        as_text=True
    )


def test_a_planner_may_not_replay_deliveries(planner: Any) -> None:
    today = planner.get("/app/").get_data(as_text=True)
    assert "Delivery problems" not in today
    assert planner.get("/app/deliveries").status_code == 403
    token = csrf(today)
    assert planner.post("/app/deliveries/replay", data={"csrf_token": token}).status_code == 403
    assert planner.post("/app/deliveries/1/replay", data={"csrf_token": token}).status_code == 403


def _client(planner: Any) -> str:
    case = read_json(ROOT / "fixtures" / "cases" / "admission-sharma.json")
    assert planner.post("/api/v1/clients", json=case["client"], headers=planner.api).status_code == 201
    return str(case["client"]["id"])


def test_a_client_page_is_audited_with_the_person_as_agent(planner: Any, service: Any) -> None:
    client_id = _client(planner)
    page = planner.get(f"/app/clients/{client_id}")
    assert page.status_code == 200
    assert "आरव शर्मा" in page.get_data(as_text=True)
    service.audit.flush()
    with reading(service.engine) as conn:
        _, rows = audit_store.search(conn, planner.org_id, {}, 50, 0)
    seen = [r for r in rows if r.route == "/app/clients/<client_id>"]
    assert len(seen) == 1
    event = to_fhir_audit_event(seen[0])
    agent = event["agent"][0]
    assert agent["type"]["coding"][0]["code"] == "humanuser"
    assert agent["who"]["identifier"]["system"] == "urn:fhir-adapter:person"
    assert agent["who"]["display"].startswith("planner-")
    assert event["action"] == "R" and seen[0].patient_id
    assert client_id not in seen[0].route  # the record id is in the entity, not in the route


def test_another_organisations_client_answers_404(planner: Any, service: Any, app: Any, new_org: Any) -> None:
    client_id = _client(planner)
    elsewhere = f"other-{planner.org_id}"
    new_org(org=elsewhere)
    other = app.test_client()
    assert sign_in(other, add_person(service, elsewhere)).status_code == 302
    refused = other.get(f"/app/clients/{client_id}")
    assert refused.status_code == 404
    assert "आरव" not in refused.get_data(as_text=True)
    assert other.get("/app/clients/not%20an%20id").status_code == 404


def test_each_sign_in_is_audited_with_whose_account_it_was(service: Any, app: Any, new_org: Any) -> None:
    new_org()
    name = add_person(service, new_org.org_id)
    client = app.test_client()
    assert sign_in(client, name, "not the password").status_code == 401
    assert sign_in(client, name).status_code == 302
    service.audit.flush()
    with reading(service.engine) as conn:
        _, rows = audit_store.search(conn, new_org.org_id, {}, 50, 0)
    signed = sorted((r for r in rows if r.interaction == "login"), key=lambda r: r.recorded)
    assert [(r.status_code, r.outcome, r.agent_name) for r in signed] == [(401, "4", name), (302, "0", name)]
    event = to_fhir_audit_event(signed[1])
    assert event["type"]["code"] == "110114" and event["subtype"][0]["code"] == "110122"
    assert event["agent"][0]["type"]["coding"][0]["code"] == "humanuser"
    assert "not the password" not in str(event)


def test_signing_out_ends_the_session_on_the_server_too(service: Any, app: Any, new_org: Any) -> None:
    new_org()
    name = add_person(service, new_org.org_id)
    client, thief = app.test_client(), app.test_client()
    assert sign_in(client, name).status_code == 302
    copied = client.get_cookie(COOKIE, path="/app")
    assert copied is not None
    thief.set_cookie(COOKIE, copied.value, path="/app")
    today = client.get("/app/")
    assert thief.get("/app/").status_code == 200  # the copy works while the person is signed in
    assert (
        client.post("/app/logout", data={"csrf_token": csrf(today.get_data(as_text=True))}).status_code == 302
    )
    refused = thief.get("/app/clients/CL-1")
    assert refused.status_code == 302
    assert refused.headers["Location"] == "/app/login?next=/app/clients/CL-1"
    assert sign_in(client, name).status_code == 302  # a new sign-in works
    assert client.get("/app/").status_code == 200
    again = app.test_client()
    again.set_cookie(COOKIE, copied.value, path="/app")
    assert again.get("/app/").status_code == 302  # the old copy stays refused after the new sign-in


def test_disabling_ends_a_copied_session(service: Any, app: Any, new_org: Any) -> None:
    new_org()
    name = add_person(service, new_org.org_id)
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    copied = client.get_cookie(COOKIE, path="/app")
    assert copied is not None
    assert people.disable(service.storage, name, stamp(utc_now()))
    thief = app.test_client()
    thief.set_cookie(COOKIE, copied.value, path="/app")
    assert thief.get("/app/").status_code == 302
