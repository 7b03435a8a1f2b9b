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


CLIENT = {"id": "CL-1", "names": [{"text": "Kim"}]}
PLAN = {
    "id": "SP-1",
    "client_id": "CL-1",
    "plan_type": "isp",
    "status": "active",
    "period": {"start": "2025-01-01"},
}
REFERRAL = {
    "id": "RF-1",
    "client_id": "CL-1",
    "service_type": "housing",
    "status": "sent",
    "authored_on": "2025-03-05T01:00:00-12:00",
}


def _rejected(data: dict) -> list[str]:  # type: ignore[type-arg]
    from fhir_adapter.errors import flatten_messages

    with pytest.raises(ValidationError) as err:
        load_case_file(data)
    return [path for path, _ in flatten_messages(err.value.messages)]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"client": {**CLIENT, "birth_date": "2023-02-29"}}, "client.birth_date"),
        ({"client": {**CLIENT, "birth_date": "0000"}}, "client.birth_date"),
        ({"client": {**CLIENT, "birth_date": "١٩٨٧"}}, "client.birth_date"),
        (
            {"client": CLIENT, "referrals": [{**REFERRAL, "authored_on": "2016-12-31T23:59:60Z"}]},
            "referrals[0].authored_on",
        ),
        ({"client": CLIENT, "referrals": [{**REFERRAL, "authored_on": ""}]}, "referrals[0].authored_on"),
        ({"client": {**CLIENT, "names": [{"text": "\u00a0"}]}}, "client.names[0].text"),
        ({"client": {**CLIENT, "addresses": [{}]}}, "client.addresses[0]"),
        ({"client": CLIENT, "service_plans": [{**PLAN, "period": {}}]}, "service_plans[0].period"),
        ({"client": CLIENT, "service_plans": [{**PLAN, "version": 2**31}]}, "service_plans[0].version"),
        (
            {"client": CLIENT, "referrals": [{**REFERRAL, "reason": {"problem": {"code": " 44054006"}}}]},
            "referrals[0].reason.problem.code",
        ),
        (
            # 00:00+14:00 on the 5th is 10:00 UTC on the 4th: before 13:00 UTC on the 5th
            {"client": CLIENT, "referrals": [{**REFERRAL, "status_changed_at": "2025-03-05T00:00:00+14:00"}]},
            "referrals[0].status_changed_at",
        ),
        (
            {"client": CLIENT, "referrals": [{**REFERRAL, "status_changed_at": "2025-03-05"}]},
            "referrals[0].status_changed_at",
        ),
        (
            {"client": CLIENT, "referrals": [{**REFERRAL, "outputs": [{"type": {"text": "result"}}]}]},
            "referrals[0].outputs[0]",
        ),
        (
            {
                "client": CLIENT,
                "referrals": [
                    {**REFERRAL, "outputs": [{"type": {"text": "r"}, "text": "a", "concept": {"text": "b"}}]}
                ],
            },
            "referrals[0].outputs[0]",
        ),
    ],
    ids=[
        "impossible-date",
        "year-0000",
        "non-ascii-digits",
        "leap-second",
        "empty-time-stamp",
        "blank-string",
        "empty-address",
        "empty-period",
        "version-overflow",
        "loose-code",
        "status-change-before-authoring-across-zones",
        "status-change-without-a-time",
        "task-output-without-a-value",
        "task-output-with-two-values",
    ],
)
def test_input_that_would_not_be_valid_fhir_is_refused_at_load(data: dict, path: str) -> None:  # type: ignore[type-arg]
    assert path in _rejected(data)


def test_times_in_other_zones_are_ordered_as_instants() -> None:
    """Authored 13:00 UTC on 5 March (01:00 at -12:00); a change dated the 6th at +14:00 may still be earlier."""
    earlier = {**REFERRAL, "status_changed_at": "2025-03-06T00:30:00+14:00"}  # 10:30 UTC on the 5th
    later = {**REFERRAL, "status_changed_at": "2025-03-06T12:00:00+14:00"}  # 22:00 UTC on the 5th
    assert "referrals[0].status_changed_at" in _rejected({"client": CLIENT, "referrals": [earlier]})
    assert (
        load_case_file({"client": CLIENT, "referrals": [later]}).referrals[0].status_changed_at
        == later["status_changed_at"]
    )
