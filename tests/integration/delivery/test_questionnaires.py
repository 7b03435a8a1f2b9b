"""The Questionnaire a response names goes to the EHR once, before the first response naming it, where the
EHR takes Questionnaires; where it does not, the ledger says so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.delivery.test_documents import admit
from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import Fault, FaultProxy


def _canonicals(h: Harness, client_id: str) -> set[str]:
    return {r["questionnaire"] for r in h.ours(client_id) if r["resourceType"] == "QuestionnaireResponse"}


def test_each_questionnaire_goes_once_before_the_first_response_naming_it(
    harness: Harness, kim: dict[str, Any]
) -> None:
    h = harness
    client_id = admit(h, kim, "pt-q")
    canonicals = _canonicals(h, client_id)
    assert canonicals
    for canonical in canonicals:
        url, version = canonical.split("|")
        (found,) = h.ehr.search("Questionnaire", url=url)
        assert found["version"] == version
    asked = h.ehr.requests()
    first_response = next(
        i
        for i, r in enumerate(asked)
        if "QuestionnaireResponse" in str(r["body"]) and r["url"].split("?")[0] != "Questionnaire"
    )
    puts = [i for i, r in enumerate(asked) if r["url"].startswith("Questionnaire?")]
    assert len(puts) == len(canonicals) and max(puts) < first_response
    assert all(asked[i]["method"] == "PUT" for i in puts)  # conditional on url and version

    assessment = kim["assessments"][0]
    path = f"/api/v1/assessments/{assessment['id']}"
    body = h.client.get(path, headers=h.headers).json
    body.pop("version", None)
    body["status"] = "amended"
    assert h.client.put(path, json=body, headers=h.headers).status_code == 200
    h.drain()
    assert len([r for r in h.ehr.requests() if r["url"].startswith("Questionnaire")]) == len(canonicals)
    rows = [r for r in h.ledger() if r.resource_type == "Questionnaire"]
    assert len(rows) == len(canonicals) and {r.action for r in rows} == {"PUT"}
    h.assert_sound()


@pytest.fixture
def restrictive(harness: Harness, restrictive_ehr: EhrServer) -> Iterator[Harness]:
    restrictive_ehr.reset()
    proxy = FaultProxy(restrictive_ehr.url).start()
    h = Harness(harness.service, harness.client, harness.headers, harness.org_id, restrictive_ehr, proxy)
    h.ehr_id = "restrictive"
    h.register_ehr()
    yield h
    proxy.stop()


def test_an_ehr_that_takes_no_questionnaires_has_the_ledger_say_so(
    restrictive: Harness, kim: dict[str, Any]
) -> None:
    h = restrictive
    kim["referrals"], kim["service_plans"] = [], []
    client_id = admit(h, kim, "pt-q2")
    rows = [r for r in h.ledger() if r.resource_type == "Questionnaire"]
    assert {r.action for r in rows} == {"NOT_SENT"} and len(rows) == len(_canonicals(h, client_id))
    assert not [r for r in h.ehr.requests() if r["url"].startswith("Questionnaire")]


def test_an_ehr_that_refuses_a_questionnaire_it_claims_still_gets_the_responses(
    harness: Harness, kim: dict[str, Any]
) -> None:
    h = harness
    h.proxy.inject(Fault("status", 405, method="PUT", path_prefix="/Questionnaire"))
    client_id = admit(h, kim, "pt-q3")
    assert {j.state for j in h.jobs()} == {"delivered"}
    ours = [r for r in h.ours(client_id) if r["resourceType"] == "QuestionnaireResponse"]
    assert len(h.ehr.search("QuestionnaireResponse")) == len(ours)
    actions = {r.action for r in h.ledger() if r.resource_type == "Questionnaire"}
    assert "NOT_SENT" in actions
