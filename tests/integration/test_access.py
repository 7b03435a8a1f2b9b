"""Bearer tokens, SMART scopes per endpoint, and organisations that never see each other's records."""

from __future__ import annotations

import copy

import pytest

from fhir_adapter.service.auth import Authenticator
from tests.integration.conftest import patient_id, seed


@pytest.fixture
def kim_org(client, new_org, kim):
    headers = new_org()
    seed(client, headers, kim)
    pid = patient_id(client, headers, kim["client"]["id"])
    plan = client.get(f"/fhir/CarePlan?patient={pid}", headers=headers).json["entry"][0]["resource"]
    task = client.get(f"/fhir/Task?patient={pid}", headers=headers).json["entry"][0]["resource"]
    return headers, pid, plan, task


def endpoints(kim: dict, pid: str, plan: dict, task: dict) -> list[tuple[str, str, object, str, str]]:
    """(method, url, body, resource type, action) of every endpoint that touches patient data."""
    referral, episode, assessment = kim["referrals"][0], kim["episodes"][0], kim["assessments"][0]
    return [
        ("GET", "/api/v1/clients", None, "Patient", "search"),
        ("GET", "/api/v1/clients/CL-20417", None, "Patient", "read"),
        ("PUT", "/api/v1/clients/CL-20417", kim["client"], "Patient", "update"),
        ("POST", "/api/v1/clients", kim["client"] | {"id": "CL-new"}, "Patient", "create"),
        ("GET", "/api/v1/episodes?client_id=CL-20417", None, "EpisodeOfCare", "search"),
        ("GET", f"/api/v1/episodes/{episode['id']}", None, "EpisodeOfCare", "read"),
        ("PUT", f"/api/v1/episodes/{episode['id']}", episode, "EpisodeOfCare", "update"),
        ("GET", f"/api/v1/assessments/{assessment['id']}", None, "QuestionnaireResponse", "read"),
        ("POST", "/api/v1/assessments", assessment | {"id": "AS-new"}, "QuestionnaireResponse", "create"),
        ("GET", "/api/v1/service-plans/SP-3307", None, "CarePlan", "read"),
        ("GET", "/api/v1/service-plans/SP-3307/versions", None, "CarePlan", "read"),
        ("GET", "/api/v1/service-plans/SP-3307/versions/3", None, "CarePlan", "read"),
        ("GET", "/api/v1/service-plans/SP-3307/diff?from=3&to=3", None, "CarePlan", "read"),
        ("GET", f"/api/v1/referrals/{referral['id']}", None, "ServiceRequest", "read"),
        (
            "POST",
            f"/api/v1/referrals/{referral['id']}/status",
            {"status": "in-progress"},
            "ServiceRequest",
            "update",
        ),
        ("GET", f"/fhir/Patient/{pid}", None, "Patient", "read"),
        ("GET", f"/fhir/Patient/{pid}/_history/1", None, "Patient", "read"),
        ("GET", f"/fhir/CarePlan?patient={pid}", None, "CarePlan", "search"),
        ("GET", f"/fhir/CarePlan/{plan['id']}", None, "CarePlan", "read"),
        ("PUT", f"/fhir/CarePlan/{plan['id']}", plan, "CarePlan", "update"),
        ("GET", f"/fhir/Task/{task['id']}", None, "Task", "read"),
        ("PUT", f"/fhir/Task/{task['id']}", task, "Task", "update"),
        ("GET", "/fhir/AuditEvent", None, "AuditEvent", "search"),
    ]


def call(client, method: str, url: str, body: object, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.open(url, method=method, json=body, headers=headers)


def test_tokens_are_required_except_for_health_and_metadata(client, kim_org, kim):
    _headers, pid, plan, task = kim_org
    assert client.get("/health").status_code == 200
    assert client.get("/fhir/metadata").status_code == 200
    for method, url, body, _, _ in endpoints(kim, pid, plan, task):
        for auth in ({}, {"Authorization": "Bearer fa_not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
            response = call(client, method, url, body, auth)
            assert response.status_code == 401, (method, url, auth)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.json["resourceType"] == "OperationOutcome"


def test_each_endpoint_needs_its_scope(client, kim_org, kim, new_org):
    _headers, pid, plan, task = kim_org
    for method, url, body, rtype, action in endpoints(kim, pid, plan, task):
        other = "Goal" if rtype != "Goal" else "Task"
        wrong = {"read": f"system/{rtype}.write", "search": f"system/{rtype}.write"}.get(
            action, f"system/{rtype}.read"
        )
        for scopes in (wrong, f"system/{other}.read system/{other}.write"):
            denied = call(client, method, url, body, new_org(scopes, new_org.org_id))
            assert denied.status_code == 403, (method, url, scopes)
            assert "system/" in denied.json["issue"][0]["diagnostics"]
        if rtype == "AuditEvent":
            assert (
                call(client, method, url, body, new_org("system/*.read", new_org.org_id)).status_code == 403
            )
        needed = f"system/{rtype}.{'read' if action in ('read', 'search') else 'write'}"
        allowed = call(client, method, url, copy.deepcopy(body), new_org(needed, new_org.org_id))
        assert allowed.status_code not in (401, 403), (method, url, allowed.json)
    v2 = call(
        client, "GET", f"/fhir/CarePlan?patient={pid}", None, new_org("system/CarePlan.rs", new_org.org_id)
    )
    assert v2.status_code == 200


def test_organisations_never_see_each_other(client, kim_org, kim, new_org):
    _headers, pid, plan, task = kim_org
    stranger = new_org(org="org-stranger-" + new_org.org_id[-6:])
    for method, url, body, _rtype, _ in endpoints(kim, pid, plan, task):
        response = call(client, method, url, body, stranger)
        if method == "GET" and (
            ("?" in url and "/diff" not in url) or url.endswith(("/clients", "/AuditEvent"))
        ):
            listing = response.json
            assert response.status_code == 200, url
            assert listing.get("total") == 0 or all(
                e["resource"]["resourceType"] == "AuditEvent" for e in listing.get("entry", [])
            ), url
        elif method == "POST" and url.endswith("/api/v1/clients"):
            assert response.status_code == 201  # the same client id in another organisation is another client
        elif method == "POST" and url.endswith("/assessments"):
            assert response.status_code == 422 and response.json["issue"][0]["expression"] == ["client_id"]
        else:
            assert response.status_code == 404, (method, url, response.status_code)
    seen = client.get("/fhir/AuditEvent?_count=500", headers=stranger).json
    agents = {e["resource"]["agent"][0]["who"]["display"] for e in seen.get("entry", [])}
    assert agents == {f"org-stranger-{new_org.org_id[-6:]} client"}  # its own requests, none of the other's


def test_a_revoked_token_stops_working(service, new_org):
    from fhir_adapter.adapters import org_store
    from fhir_adapter.adapters.db import writing
    from fhir_adapter.service.errors import Unauthenticated

    headers = new_org("system/*.read")
    auth = Authenticator(
        service.storage,
        service.settings.__class__(database_url=service.settings.database_url, token_cache_seconds=0),
    )
    principal = auth.authenticate(headers["Authorization"])
    with writing(service.engine) as conn:
        assert org_store.revoke(conn, principal.agent_id, "2026-01-01T00:00:00.000000Z")
    with pytest.raises(Unauthenticated):
        auth.authenticate(headers["Authorization"])


def test_restricted_records_need_restricted_access(client, service, new_org):
    from fhir_adapter.service.auth import register_client
    from tests.conftest import ROOT, read_json

    headers = new_org()
    case = read_json(ROOT / "fixtures" / "cases" / "sensitive-substance-use.json")
    seed(client, headers, case)
    pid = patient_id(client, headers, case["client"]["id"])
    _, secret = register_client(
        service.storage,
        service.settings,
        new_org.org_id,
        "records office",
        "system/*.read",
        restricted_access=True,
    )
    cleared = {"Authorization": f"Bearer {secret}"}
    plans = client.get(f"/fhir/CarePlan?patient={pid}", headers=cleared).json
    assert plans["total"] == 1
    plan = plans["entry"][0]["resource"]
    assert plan["meta"]["security"][0]["code"] == "R"
    assert client.get(f"/fhir/CarePlan?patient={pid}", headers=headers).json["total"] == 0
    assert client.get(f"/fhir/CarePlan/{plan['id']}", headers=headers).status_code == 404
    assert client.get(f"/fhir/CarePlan/{plan['id']}/_history/1", headers=headers).status_code == 404
    assert client.put(f"/fhir/CarePlan/{plan['id']}", json=plan, headers=headers).status_code == 404
    for rtype in ("EpisodeOfCare", "QuestionnaireResponse", "Observation", "ServiceRequest", "Task", "Goal"):
        assert client.get(f"/fhir/{rtype}?patient={pid}", headers=headers).json["total"] == 0, rtype
        assert client.get(f"/fhir/{rtype}?patient={pid}", headers=cleared).json["total"] >= 1, rtype
    visible = client.get(f"/fhir/ServiceRequest?patient={pid}&_revinclude=Task:focus", headers=cleared).json
    assert {e["search"]["mode"] for e in visible["entry"]} == {"match", "include"}
    assert (
        client.get(f"/fhir/Patient/{pid}", headers=headers).status_code == 200
    )  # the client is not labelled
    assert (
        client.get("/api/v1/service-plans/SP-7500", headers=headers).status_code == 200
    )  # the CMS's own view
