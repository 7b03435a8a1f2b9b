"""How each resource type is written follows the EHR's CapabilityStatement, the scopes it granted, the
refusals it gave and the site's overrides."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_adapter.delivery.capabilities import from_statement, of_json, parse_overrides, scope_allows

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
