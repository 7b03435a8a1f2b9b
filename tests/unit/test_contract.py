"""The published contract (OpenAPI components) agrees with what the loader accepts."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

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
