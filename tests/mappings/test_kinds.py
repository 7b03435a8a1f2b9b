"""The table of kinds (mapping/kinds.py) agrees with the mapping files, the FHIR R4 definitions and the API,
and the write order derived from references puts every referenced resource before those naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.api.records import FILTERS
from fhir_adapter.api.schemas.contract import SCHEMAS
from fhir_adapter.delivery.writes import Outgoing, ordered, references
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.kinds import RECORD_KINDS, RESOURCE_KINDS, RESOURCE_TYPES
from fhir_adapter.mapping.strict import model_class
from fhir_adapter.service.projection import project
from tests.conftest import CASES, load_case

KINDS = pytest.mark.parametrize("kind", list(RESOURCE_KINDS.values()), ids=lambda k: k.fhir_type)


@KINDS
def test_each_resource_kind_is_what_its_mapping_file_makes(kind: Any, catalogue: Catalogue) -> None:
    structure = catalogue.structures[kind.structure]
    assert structure.resource == kind.fhir_type
    assert structure.identity == kind.identity
    assert kind.record in RECORD_KINDS


@KINDS
def test_each_element_the_table_names_is_an_r4_element_of_its_type(kind: Any) -> None:
    elements = set(model_class(kind.fhir_type).elements_sequence())
    named = [
        kind.patient.split(".")[0] if kind.patient else None,
        kind.status,
        *kind.tokens.values(),
        *kind.includes.values(),
    ]
    named += [element for element, _ in kind.referrers.values()]
    named += ["encounter"] if kind.encounter else []
    assert {n for n in named if n} <= elements, kind.fhir_type
    assert {target for _, target in kind.referrers.values()} <= set(RESOURCE_KINDS)


@pytest.mark.parametrize("name", list(RECORD_KINDS))
def test_each_record_kind_has_a_contract_filters_and_resources(name: str) -> None:
    kind = RECORD_KINDS[name]
    assert name in SCHEMAS and name in FILTERS
    assert kind.fhir_type in RESOURCE_KINDS
    assert RESOURCE_KINDS[kind.fhir_type].record == name
    assert kind.subtype is None or kind.subtype in FILTERS[name]


def _projected(path: Path, catalogue: Catalogue, identity: Identity) -> list[dict[str, Any]]:
    case = load_case(path)
    records: list[tuple[str, Any]] = [("client", case.client)]
    records += [("episode", e) for e in case.episodes] + [("assessment", a) for a in case.assessments]
    records += [("service-plan", p) for p in case.service_plans] + [("referral", r) for r in case.referrals]
    return [resource for kind, record in records for resource in project(kind, record, catalogue, identity)]


@pytest.mark.parametrize("case_path", CASES, ids=lambda p: p.stem)
def test_the_derived_write_order_puts_what_is_referenced_first(
    case_path: Path, catalogue: Catalogue, identity: Identity
) -> None:
    """Every record of every sample case file, as the records' resources are stored and sent: each resource
    comes after every resource of the same write that it references; and between kinds the references
    make no cycle, so an order always exists."""
    resources = _projected(case_path, catalogue, identity)
    items = [Outgoing(r["resourceType"], r["id"], 1, False, r) for r in reversed(resources)]
    place = {o.ref: i for i, o in enumerate(ordered(items))}
    for item in items:
        for ref in references(item.resource) & set(place):
            assert place[ref] < place[item.ref], (ref, item.ref)
    graph = {
        (item.resource_type, ref.split("/")[0])
        for item in items
        for ref in references(item.resource)
        if ref.split("/")[0] != "Patient"
    }
    assert all((b, a) not in graph for a, b in graph if a != b), graph
    assert {t for t, _ in graph} <= set(RESOURCE_TYPES.values())
