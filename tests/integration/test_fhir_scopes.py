"""Every resource that leaves /fhir passes the caller's scopes for its own type.

The cases come from the CapabilityStatement the endpoint serves: every search parameter, _include and
_revinclude of every type, so one added later is covered without touching this file.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from flask import Response

from fhir_adapter.fhir_api import disclosure
from fhir_adapter.fhir_api.capability import capability_statement
from fhir_adapter.mapping.search_index import TOKEN_PARAMS
from fhir_adapter.service.auth import register_client
from tests.conftest import ALL_SCOPES, ROOT, read_json
from tests.integration.conftest import patient_id, seed

# Our Questionnaires are definitions, not a patient's records (test_fhir_questionnaires.py).
SERVED = {
    r["type"]: r
    for r in capability_statement("http://test/fhir", "2025-01-01")["rest"][0]["resource"]
    if r["type"] != "Questionnaire"
}
SINGLE_TYPE_SCOPES = ("read", "rs", "s")  # SMART v1 read, v2 read+search, v2 search alone
# Includes the case file has something for: their answers with every scope include other types.
HELD = {
    "Appointment:patient",
    "CarePlan:goal",
    "CarePlan:subject",
    "DocumentReference:patient",
    "DocumentReference:subject",
    "EpisodeOfCare:team",
    "Observation:derived-from",
    "ServiceRequest:subject",
    "Task:focus",
    "Task:patient",
}


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for rtype, served in sorted(SERVED.items()):
        cases += [(rtype, "param", p["name"]) for p in served["searchParam"]]
        cases += [(rtype, "_include", i) for i in served.get("searchInclude", [])]
        cases += [(rtype, "_revinclude", i) for i in served.get("searchRevInclude", [])]
    return cases


class World:
    """One organisation holding a whole case file, and a token per scope asked for."""

    def __init__(self, app: Any, service: Any) -> None:
        self.client, self.service = app.test_client(), service
        self.org = f"org-scopes-{uuid.uuid4().hex[:8]}"
        self.tokens: dict[str, dict[str, str]] = {}
        self.full = self.token(ALL_SCOPES)
        self.kim = copy.deepcopy(read_json(ROOT / "fixtures" / "cases" / "discharge-kim.json"))
        seed(self.client, self.full, self.kim)
        self.pid = patient_id(self.client, self.full, self.kim["client"]["id"])
        self._packet()

    def _packet(self) -> None:
        """The hospital's discharge summary and follow-up appointment, as it writes them on /fhir."""
        summary = read_json(ROOT / "fixtures" / "ehr" / "documentreference-discharge-summary-inline.json")
        summary["subject"] = {"reference": f"Patient/{self.pid}"}
        follow_up = read_json(ROOT / "fixtures" / "ehr" / "appointment-follow-up-respiratory.json")
        follow_up["participant"][0]["actor"]["reference"] = f"Patient/{self.pid}"
        for resource in (summary, follow_up):
            resource.pop("meta")
            written = self.client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=self.full)
            assert written.status_code == 201, written.json

    def token(self, scopes: str) -> dict[str, str]:
        if scopes not in self.tokens:
            _, secret = register_client(self.service.storage, self.service.settings, self.org, "c", scopes)
            self.tokens[scopes] = {"Authorization": f"Bearer {secret}"}
        return self.tokens[scopes]

    def get(self, url: str, scopes: str = ALL_SCOPES, query: Any = None) -> Any:
        return self.client.get(url, query_string=query, headers=self.token(scopes))

    def one(self, rtype: str) -> dict[str, Any]:
        found = self.get(f"/fhir/{rtype}", query={"_count": "1"}).json
        assert found.get("entry"), f"the case file has no {rtype}"
        return found["entry"][0]["resource"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(app, service) -> World:  # type: ignore[no-untyped-def]
    return World(app, service)


def _value(world: World, rtype: str, name: str) -> str | None:
    """A value of the parameter that finds something in the case file; None when it holds none."""
    if name in ("_lastUpdated", "date"):
        return "ge2000-01-01"
    if name in ("patient", "subject"):
        return world.pid
    if name == "action":
        return "R"
    resource = world.one(rtype)
    if name == "_id":
        return str(resource["id"])
    if name == "status":
        return resource.get("status")
    element = resource.get(TOKEN_PARAMS[rtype][name])
    if element is None:
        return None
    first = element[0] if isinstance(element, list) else element
    return str(first["value"] if name == "identifier" else first["coding"][0]["code"])


def _everything_of(rtype: str) -> list[tuple[str, str]]:
    served = SERVED[rtype]
    return [("_include", i) for i in served.get("searchInclude", [])] + [
        ("_revinclude", i) for i in served.get("searchRevInclude", [])
    ]


@pytest.mark.parametrize(("rtype", "kind", "name"), _cases())
def test_a_search_answers_only_the_types_the_token_may_read(world, rtype, kind, name):
    value = _value(world, rtype, name) if kind == "param" else None
    filtered = [(name, value or "held-by-nobody"), *_everything_of(rtype)]
    query = filtered if kind == "param" else [(kind, name)]
    full = world.get(f"/fhir/{rtype}", query=query)
    assert full.status_code == 200, full.json
    if value is not None or kind != "param":
        assert full.json["total"] >= 1, (rtype, query)  # the case file holds what this search finds
    if kind != "param" and name in HELD:  # ... and what it would include
        assert any(e["search"]["mode"] == "include" for e in full.json["entry"]), (rtype, query)
    for scope in SINGLE_TYPE_SCOPES:
        narrow = world.get(f"/fhir/{rtype}", f"system/{rtype}.{scope}", query)
        assert narrow.status_code == 200, (scope, narrow.json)
        types = {e["resource"]["resourceType"] for e in narrow.json.get("entry", [])}
        assert types <= {rtype}, (scope, query, types)
        if rtype != "AuditEvent":  # each request adds to the audit trail
            assert narrow.json["total"] == full.json["total"]


def test_reads_of_another_type_are_refused(world):
    for rtype in SERVED:
        if rtype == "AuditEvent":
            continue
        resource = world.one(rtype)
        for other in sorted(set(SERVED) - {rtype}):
            for url in (f"/fhir/{rtype}/{resource['id']}", f"/fhir/{rtype}/{resource['id']}/_history/1"):
                response = world.get(url, f"system/{other}.read")
                assert response.status_code == 403, (url, other)
                assert response.json["resourceType"] == "OperationOutcome"


def test_the_answer_to_a_write_carries_the_resource_only_for_a_reader(world):
    plan = world.one("CarePlan")
    url = f"/fhir/CarePlan/{plan['id']}"
    writer = world.token("system/CarePlan.write") | {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    reader = world.token("system/CarePlan.read system/CarePlan.write") | {
        "Idempotency-Key": writer["Idempotency-Key"]
    }
    first = world.client.put(url, json=plan, headers=reader)
    assert first.status_code == 200 and first.json["resourceType"] == "CarePlan"
    replayed = world.client.put(url, json=plan, headers=writer)  # another client of the organisation
    assert replayed.status_code == 200 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.get_data() == b"" and replayed.headers["ETag"] == first.headers["ETag"]
    fresh = world.client.put(url, json=plan, headers=world.token("system/CarePlan.write"))
    assert fresh.status_code == 200 and fresh.get_data() == b"" and "Location" in fresh.headers


def test_every_fhir_answer_passes_the_guard(app):
    assert disclosure.guard in app.after_request_funcs["fhir"]
    with app.test_request_context("/fhir/Patient/x"):
        leaked = disclosure.guard(
            Response(b'{"resourceType": "Patient"}', 200, mimetype="application/fhir+json")
        )
        assert leaked.status_code == 500 and leaked.json["resourceType"] == "OperationOutcome"
        refused = Response(b'{"resourceType": "OperationOutcome"}', 404)
        assert disclosure.guard(refused) is refused
        checked = disclosure.plain({"resourceType": "OperationOutcome", "issue": []})
        assert disclosure.guard(checked) is checked


def test_the_capability_statement_says_includes_are_left_out(client):
    security = client.get("/fhir/metadata").json["rest"][0]["security"]["description"]
    assert "_include" in security and "left out" in security
