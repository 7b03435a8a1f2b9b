"""Our Questionnaires on /fhir: the definitions our QuestionnaireResponses name, read by id and found by
url and version."""

from __future__ import annotations

from typing import Any

from fhir_adapter.mapping.validation import validate_resource
from tests.integration.conftest import seed


def test_the_questionnaire_a_response_names_is_found_by_its_canonical(
    client: Any, new_org: Any, kim: Any, catalogue: Any
) -> None:
    headers = new_org()
    seed(client, headers, kim)
    responses = client.get("/fhir/QuestionnaireResponse", headers=headers).json["entry"]
    for entry in responses:
        url, version = entry["resource"]["questionnaire"].split("|")
        found = client.get(
            "/fhir/Questionnaire", query_string={"url": url, "version": version}, headers=headers
        )
        assert found.status_code == 200 and found.mimetype == "application/fhir+json"
        (match,) = found.json["entry"]
        questionnaire = match["resource"]
        assert questionnaire["url"] == url and questionnaire["version"] == version
        assert [i for i in validate_resource(questionnaire, catalogue) if i.severity == "error"] == []
        read = client.get(f"/fhir/Questionnaire/{questionnaire['id']}", headers=headers)
        assert read.status_code == 200 and read.json == questionnaire
        piped = client.get("/fhir/Questionnaire", query_string={"url": f"{url}|{version}"}, headers=headers)
        assert piped.json["total"] == 1


def test_questionnaires_need_a_token_and_answer_unknown_ones_with_an_outcome(
    client: Any, new_org: Any
) -> None:
    headers = new_org()
    assert client.get("/fhir/Questionnaire/prapare").status_code == 401
    missing = client.get("/fhir/Questionnaire/no-such", headers=headers)
    assert missing.status_code == 404 and missing.json["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/Questionnaire?version=0.0.0-none", headers=headers).json["total"] == 0
    bad = client.get("/fhir/Questionnaire?title=x", headers=headers)
    assert bad.status_code == 400 and bad.json["issue"][0]["expression"] == ["title"]
    every = client.get("/fhir/Questionnaire", headers=headers).json
    assert every["total"] >= 5 and all(
        e["resource"]["resourceType"] == "Questionnaire" for e in every["entry"]
    )
