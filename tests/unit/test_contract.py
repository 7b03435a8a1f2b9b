"""The published contract (OpenAPI components) agrees with what the loader accepts."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from marshmallow import ValidationError

from fhir_adapter.api.schemas import CONTRACT_VERSION, load_case_file
from fhir_adapter.api.schemas.dump import to_contract
from fhir_adapter.api.schemas.openapi import contract_document
from tests.conftest import CASES, read_json


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    document = contract_document()
    schema = {**document, "$ref": "#/components/schemas/CaseFile"}
    return jsonschema.Draft202012Validator(schema)


def test_the_contract_is_versioned() -> None:
    document = contract_document()
    assert document["info"]["version"] == CONTRACT_VERSION
    assert {"CaseFile", "Client", "Assessment", "ServicePlan", "Referral"} <= set(
        document["components"]["schemas"]
    )


@pytest.mark.parametrize("case_path", CASES, ids=lambda p: p.stem)
def test_every_fixture_conforms_to_the_published_contract(case_path: Path, validator) -> None:
    assert list(validator.iter_errors(read_json(case_path))) == []


@pytest.mark.parametrize("case_path", CASES, ids=lambda p: p.stem)
def test_dumped_records_load_back_unchanged(case_path: Path) -> None:
    case = load_case_file(read_json(case_path))
    assert load_case_file(to_contract(case)) == case


def test_hangul_and_devanagari_names_round_trip() -> None:
    data = {"client": {"id": "CL-1", "names": [{"text": "김서연"}, {"text": "राहुल शर्मा", "given": ["राहुल"]}]}}
    assert to_contract(load_case_file(data)) == data


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"status": "declined"}, "referrals.0.status_reason"),
        ({"status_changed_at": "2025-10-01T00:00:00Z"}, "referrals.0.status_changed_at"),
        (
            {"service_coding": {"code": "308440001", "system": "http://snomed.info/sct"}},
            "referrals.0.service_coding",
        ),
    ],
)
def test_referral_rules_are_enforced_at_load(change: dict, path: str) -> None:  # type: ignore[type-arg]
    referral = {
        "id": "RF-1",
        "client_id": "CL-1",
        "service_type": "housing",
        "status": "sent",
        "authored_on": "2025-10-11T09:00:00-05:00",
    }
    data = {"client": {"id": "CL-1", "names": [{"text": "A"}]}, "referrals": [{**referral, **change}]}
    with pytest.raises(ValidationError) as err:
        load_case_file(data)
    messages = err.value.messages
    for part in path.split("."):
        messages = messages[int(part) if part.isdigit() else part]  # type: ignore[index]
    assert messages


def test_a_substance_use_episode_is_always_sensitive() -> None:
    data = {
        "client": {"id": "CL-1", "names": [{"text": "A"}]},
        "episodes": [{"id": "EP-1", "client_id": "CL-1", "case_type": "substance-use", "sensitive": False}],
    }
    assert load_case_file(data).episodes[0].sensitive is True
