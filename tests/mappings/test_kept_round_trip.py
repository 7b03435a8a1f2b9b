"""What a record keeps of a hospital's resource comes back in the FHIR we make of the record: for each EHR
fixture and for resources drawn from the R4 definitions, every value the record holds appears in its
projection (and the projection is valid), except the values named in NOT_PROJECTED, each with why."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fhir_adapter.api.schemas.dump import to_contract
from fhir_adapter.domain.records import Period, ServicePlan
from fhir_adapter.mapping.engine import MapContext
from fhir_adapter.mapping.from_fhir_bundle import Reversed, from_fhir
from fhir_adapter.mapping.to_fhir_records import assessment_parts, plan_parts, referral_parts
from fhir_adapter.mapping.validation import validate_fhir
from tests.conftest import EHR, read_json
from tests.mappings.fhir_strategies import resources
from tests.mappings.test_no_silent_loss import CATALOGUE, IDENTITY, _plain, leaves

# Record fields whose values are ours, or are said in FHIR in other words: not looked for as they are.
NOT_PROJECTED = {
    "id": "the record id is our business identifier's value, and the resource id a UUID of it",
    "client_id": "the subject names the client's Patient by our identifier",
    "episode_id": "the episode is named by our identifier in an extension",
    "status": "our status is a code of the resource's status value set (mappings/codes)",
    "kind": "an activity's or assessment's kind is a code of our tables",
    "service_type": "the service type is a code of our tables; the hospital's code is kept in `code`",
    "plan_type": "the plan type is a code of our tables, shown only for our plans",
    "sensitive": "a security label says it",
    "status_by_ehr": "how the record came by its status: not a FHIR element",
    "skipped_statuses": "the steps the hospital's status skipped: not a FHIR element",
    "version": "the plan version is an extension, a number",
    "priority": "a code of the request-priority value set, kept as it is",
    "parents": "an item's place among the items it is nested in is the nesting itself",
    "goal_ids": "an activity's goals are references to the plan's Goals",
    "next_review": "the next review is an extension of our own",
    "status_changed_at": "Task.lastModified",
    "type": "an Identifier's type code (MR) or a reference's type",
}


def _projected(result: Reversed) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Each record the input became, with the FHIR resources projected from it."""
    ctx = MapContext(CATALOGUE, IDENTITY, "CL-1")
    out: list[tuple[Any, list[dict[str, Any]]]] = []
    for referral in result.referrals:
        out.append((referral, [r for _, _, r in referral_parts(referral, ctx)]))
    for plan in result.service_plans:
        out.append((plan, [r for _, _, r in plan_parts(plan, ctx)]))
    for assessment in result.assessments:
        out.append((assessment, [r for _, _, r in assessment_parts(assessment, ctx)]))
    if result.goals:
        plan = ServicePlan(
            "hospital-goals", "CL-1", "active", Period("2025-01-01"), "2026-01-01", goals=tuple(result.goals)
        )
        out.append((plan, [r for _, _, r in plan_parts(plan, ctx)]))
    return out


def _missing(record: Any, fhir: list[dict[str, Any]]) -> list[str]:
    shown = {_plain(v) for _, v in leaves(fhir, "")}
    missing = []
    for path, value in leaves(to_contract(record), ""):
        fields = {part.split("[")[0] for part in path.split(".") if part}
        # a note joined from several shows as those notes, line by line
        lines = value.split("\n") if isinstance(value, str) else [value]
        if fields & set(NOT_PROJECTED) or all(_plain(line) in shown for line in lines):
            continue
        missing.append(f"{path} = {value!r}")
    return missing


def check(resource: dict[str, Any]) -> None:
    result = from_fhir(resource, CATALOGUE, IDENTITY, client_id="CL-1")
    for record, fhir in _projected(result):
        assert _missing(record, fhir) == [], type(record).__name__
        for made in fhir:
            errors = [i for i in validate_fhir(made, CATALOGUE) if i.severity == "error"]
            assert errors == [], made["resourceType"]


@pytest.mark.parametrize("ehr_path", EHR, ids=lambda p: p.stem)
def test_what_a_fixture_keeps_is_in_its_fhir(ehr_path) -> None:
    check(read_json(ehr_path))


@pytest.mark.parametrize("rtype", ["ServiceRequest", "CarePlan", "Goal", "QuestionnaireResponse"])
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(data=st.data())
def test_what_a_drawn_resource_keeps_is_in_its_fhir(rtype: str, data: Any) -> None:
    resource = data.draw(resources(rtype)) | {"id": "ehr1"}  # the record id; drawn resources have none
    assume(not [i for i in validate_fhir(resource, CATALOGUE, received=True) if i.severity == "error"])
    check(resource)
