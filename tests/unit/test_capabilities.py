"""How each resource type is written follows the EHR's CapabilityStatement, the scopes it granted, the
refusals it gave and the site's overrides."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from fhir_adapter.delivery.capabilities import from_statement, of_json, parse_overrides, scope_allows
from fhir_adapter.delivery.ehr_client import Failure
from fhir_adapter.delivery.profiles import checks, explain, gap, ours
from fhir_adapter.mapping.catalogue import Catalogue

ALL = ["read", "vread", "update", "delete", "create", "search-type"]


def _type(rtype: str, interactions: list[str], **flags: bool) -> dict[str, Any]:
    return {"type": rtype, "interaction": [{"code": c} for c in interactions], **flags}


def _statement(system: list[str], *resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "rest": [
            {"mode": "client", "interaction": [{"code": "transaction"}]},
            {"mode": "server", "interaction": [{"code": c} for c in system], "resource": list(resources)},
        ],
    }


FULL = _type("Goal", ALL, updateCreate=True, conditionalUpdate=True, conditionalCreate=True)
PLAN = _type("CarePlan", ALL, updateCreate=True, conditionalUpdate=True)


def test_update_create_everywhere_with_transactions_is_one_transaction() -> None:
    caps = from_statement(_statement(["transaction", "batch"], FULL, PLAN))
    assert caps.way("Goal") == caps.way("CarePlan") == "put"
    assert caps.transaction_for(["Goal", "CarePlan"])


def test_without_transactions_each_resource_is_put_to_its_id() -> None:
    caps = from_statement(_statement(["batch"], FULL, PLAN))
    assert caps.way("Goal") == "put" and not caps.transaction_for(["Goal"])


def test_without_update_create_the_type_is_written_conditionally() -> None:
    plan = _type("CarePlan", ALL, conditionalUpdate=True)
    caps = from_statement(_statement(["transaction"], FULL, plan))
    assert caps.way("CarePlan") == "conditional" and not caps.transaction_for(["Goal", "CarePlan"])


def test_read_only_create_only_and_unknown_types_go_as_documents() -> None:
    caps = from_statement(
        _statement(
            [],
            _type("CarePlan", ["read", "search-type"]),
            _type("Observation", ["create", "read"], conditionalCreate=True),
            _type("DocumentReference", ["create", "read"], conditionalCreate=True),
        )
    )
    assert caps.way("CarePlan") == caps.way("Observation") == caps.way("Task") == "document"
    assert caps.creates("DocumentReference") and not caps.creates("CarePlan")


def test_scopes_granted_limit_what_the_statement_allows() -> None:
    statement = _statement(["transaction"], FULL, PLAN)
    assert from_statement(statement, "system/Goal.write system/CarePlan.read").way("CarePlan") == "document"
    assert from_statement(statement, "system/Goal.write").way("Goal") == "put"
    assert from_statement(statement, "system/*.cruds").way("CarePlan") == "put"
    assert from_statement(statement, "system/CarePlan.rs").way("CarePlan") == "document"


@pytest.mark.parametrize(
    ("scopes", "rtype", "interaction", "allowed"),
    [
        ("system/*.write", "Goal", "update", True),
        ("system/*.*", "Goal", "delete", True),
        ("system/Goal.cud", "Goal", "delete", True),
        ("system/Goal.read", "Goal", "update", False),
        ("system/Goal.c", "Goal", "update", False),
        ("system/Goal.u?category=x", "Goal", "update", True),
        ("launch/patient system/Task.write", "Goal", "create", False),
        (None, "Goal", "create", True),
    ],
)
def test_scope_allows(scopes: str | None, rtype: str, interaction: str, allowed: bool) -> None:
    assert scope_allows(scopes, rtype, interaction) is allowed


def test_a_refused_type_and_a_site_override_win_over_the_statement() -> None:
    caps = from_statement(_statement(["transaction"], FULL, PLAN))
    stored = caps.to_json() | {"refused": {"CarePlan": "HTTP 405 to a write"}}
    again = of_json(stored, {"Goal": "conditional"})
    assert again.way("CarePlan") == "document" and again.way("Goal") == "conditional"
    assert again.table() == {"CarePlan": "document", "Goal": "conditional"}
    assert not again.transaction_for(["Goal"])


def test_overrides_are_read_from_the_command_line_or_refused_with_a_reason() -> None:
    assert parse_overrides(["CarePlan=document", "Goal=put"]) == {"CarePlan": "document", "Goal": "put"}
    for bad in ("CarePlan", "careplan=put", "CarePlan=sometimes"):
        with pytest.raises(ValueError, match="CarePlan=document"):
            parse_overrides([bad])


# --- profiles: kept and compared, never a permission ---

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
HOSPITAL_PLAN = "https://ehr.example.org/fhir/StructureDefinition/hospital-careplan"
NAMED = {
    "DocumentReference": _type(
        "DocumentReference",
        ["create", "read"],
        profile="http://hl7.org/fhir/StructureDefinition/DocumentReference",
        supportedProfile=[f"{US_CORE}us-core-documentreference|6.1.0"],
    ),
    "CarePlan": PLAN | {"supportedProfile": [HOSPITAL_PLAN, f"{US_CORE}us-core-careplan|7.0.0"]},
    "Goal": FULL | {"supportedProfile": [HOSPITAL_PLAN.replace("careplan", "goal")]},
    "ServiceRequest": _type(
        "ServiceRequest", ["read"], profile="http://hl7.org/fhir/StructureDefinition/ServiceRequest"
    ),
}


def test_the_statement_names_profiles_by_profile_and_supported_profile_as_given() -> None:
    caps = from_statement(_statement(["transaction"], *NAMED.values()))
    assert caps.profiles("DocumentReference") == {
        "http://hl7.org/fhir/StructureDefinition/DocumentReference",
        f"{US_CORE}us-core-documentreference|6.1.0",
    }
    assert caps.profiles("CarePlan") == {HOSPITAL_PLAN, f"{US_CORE}us-core-careplan|7.0.0"}
    assert caps.profiles("Observation") == frozenset()
    assert caps.way("CarePlan") == caps.way("Goal") == "put"  # a claim is no permission
    assert caps.way("DocumentReference") == "document"


def test_profiles_survive_the_stored_json_and_what_was_stored_without_them_loads() -> None:
    caps = from_statement(_statement(["transaction"], *NAMED.values()))
    stored = caps.to_json()
    assert stored["types"]["CarePlan"]["profiles"] == sorted(
        [HOSPITAL_PLAN, f"{US_CORE}us-core-careplan|7.0.0"]
    )
    assert of_json(orjson.loads(orjson.dumps(stored))) == caps
    old = {
        "transaction": True,
        "types": {"Goal": {"interactions": ALL, "update_create": True, "conditional_update": True}},
        "scopes": None,
        "refused": {},
    }
    again = of_json(old)
    assert again.profiles("Goal") == frozenset() and again.way("Goal") == "put"
    assert again.meets("Goal", [f"{US_CORE}us-core-goal"])


@pytest.mark.parametrize(
    ("rtype", "claimed", "meet"),
    [
        ("DocumentReference", [f"{US_CORE}us-core-documentreference"], True),  # its |6.1.0 aside
        ("DocumentReference", [f"{US_CORE}us-core-documentreference|3.1.1"], True),
        ("CarePlan", [f"{US_CORE}us-core-careplan"], True),
        ("Goal", [f"{US_CORE}us-core-goal"], False),
        ("Goal", [f"{US_CORE}us-core-goal", HOSPITAL_PLAN.replace("careplan", "goal") + "|1"], True),
        ("Goal", [], True),  # ours claim none: nothing to meet
        ("Observation", [f"{US_CORE}us-core-observation-lab"], True),  # the EHR names none
        ("ServiceRequest", [f"{US_CORE}us-core-servicerequest"], True),  # it names the base definition
    ],
)
def test_profiles_meet_where_one_of_ours_is_named_versions_aside(
    rtype: str, claimed: list[str], meet: bool
) -> None:
    caps = from_statement(_statement([], *NAMED.values()))
    assert caps.meets(rtype, claimed) is meet
    said = gap(caps, rtype, claimed)
    assert (said is None) is meet
    assert checks(caps, [rtype], {rtype: frozenset(claimed)})[rtype]["meet"] is meet


def test_a_gap_is_said_with_short_names() -> None:
    caps = from_statement(_statement([], *NAMED.values()))
    assert gap(caps, "Goal", [f"{US_CORE}us-core-goal"]) == (
        "the EHR names none of ours: us-core-goal; it names: hospital-goal"
    )


def test_ours_are_what_the_mappings_and_the_documents_claim(catalogue: Catalogue) -> None:
    claimed = ours(catalogue)
    assert claimed["CarePlan"] == {f"{US_CORE}us-core-careplan"}
    assert claimed["QuestionnaireResponse"] == {f"{US_CORE}us-core-questionnaireresponse"}
    assert claimed["DocumentReference"] == {f"{US_CORE}us-core-documentreference"}
    assert claimed["Questionnaire"] == {"http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"}
    assert "Task" not in claimed  # a Task claims no profile


def test_a_refusal_as_invalid_of_a_type_whose_profiles_miss_says_so_after_the_ehrs_answer(
    catalogue: Catalogue,
) -> None:
    caps = from_statement(_statement([], *NAMED.values()))
    answer = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid"}]}
    failure = Failure("dead", "http_422", 422, answer, resource_type="Goal")
    explain(failure, caps, lambda: catalogue)
    assert failure.detail["issue"][0] == answer["issue"][0]
    assert failure.detail["issue"][1]["diagnostics"] == (
        "Goal profiles in its CapabilityStatement: the EHR names none of ours: us-core-goal; "
        "it names: hospital-goal"
    )
    for kept in (
        Failure("dead", "http_422", 422, answer, resource_type="CarePlan"),  # they meet
        Failure("dead", "http_404", 404, answer, resource_type="Goal"),  # not a refusal as invalid
        Failure("dead", "http_422", 422, answer),  # no type known (a transaction refused whole)
    ):
        explain(kept, caps, lambda: catalogue)
        assert kept.detail == answer
    text = Failure("dead", "http_400", 400, {"text": "bad"}, resource_type="Goal")
    explain(text, caps, lambda: catalogue)
    assert text.detail["issue"][0]["diagnostics"] == '{"text": "bad"}'
