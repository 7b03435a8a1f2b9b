"""No silent loss: for any valid R4 resource of the types we read, every element of the input is either
carried into the records or named by a finding whose path is the element's or one of its parents'.

Carried means its value is among the values of the records (as the contract shows them); a finding is
`information` when the element is carried differently and `warning` when it is not carried. The resources
are drawn from the R4 definitions (fhir_strategies.py); `test_examples_on_disk` runs the same check over
our fixtures/ehr, or the FHIR examples in a directory named by FHIR_ADAPTER_EXAMPLES (the public US Core /
SDOH samples, by hand: they are not part of the project).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from fhir_adapter.api.schemas.dump import to_contract
from fhir_adapter.mapping.errors import InvalidFhirInput
from fhir_adapter.mapping.from_fhir_bundle import Reversed, from_fhir
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.loader import load_catalogue
from fhir_adapter.mapping.validation import validate_fhir
from tests.conftest import ROOT, read_json
from tests.mappings.fhir_strategies import resources

CATALOGUE = load_catalogue()
IDENTITY = Identity("test-tenant", "cms-test", "https://cms.example.org/identifiers")
# What EHRs write and send back, the case episode, and the Patient that map --reverse makes a client of.
READ = (
    "ServiceRequest",
    "Task",
    "CarePlan",
    "Goal",
    "QuestionnaireResponse",
    "EpisodeOfCare",
    "DocumentReference",
    "Appointment",
    "Patient",
)
DRAWN = READ
# What a resource says of itself (and element ids, which only serve references inside it), and the
# references that name the record's client or referral (the client's record holds its name).
STRUCTURAL = ("resourceType", "id", "meta", "text", "language", "implicitRules")
NAMES_THE_RECORD = frozenset({"subject", "patient", "for", "focus"})  # the client, or the referral


def leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return f"bool:{value}"
    if isinstance(value, int | float):
        return f"number:{float(value)}"
    return str(value)


def uncovered(resource: dict[str, Any], result: Reversed) -> list[str]:
    """The paths of input elements neither carried into the records nor named by a finding."""
    records = {k: v for k, v in to_contract(result).items() if k != "findings"}
    carried = {_plain(v) for _, v in leaves(records, "")}
    rtype = resource["resourceType"]
    # A finding on the whole resource covers its elements only when it says the resource is not carried.
    named = [f.path for f in result.findings if f.path != rtype or f.severity == "warning"]
    missing = []
    for path, value in leaves(resource, rtype):
        top = path[len(rtype) + 1 :].split(".")[0].split("[")[0]
        if top in STRUCTURAL or (path.endswith(".id") and path.count(".") > 1) or top in NAMES_THE_RECORD:
            continue
        if _plain(value) in carried:
            continue
        if any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in named):
            continue
        missing.append(f"{path} = {value!r}")
    return missing


def check(resource: dict[str, Any]) -> Reversed:
    result = from_fhir(resource, CATALOGUE, IDENTITY, client_id="CL-1")
    assert uncovered(resource, result) == []
    paths = [p for p, _ in leaves(resource, resource["resourceType"])]
    # Every warning names an element of the input (or the whole of it); information may also say what
    # the mapping chose for an element that is absent (a next review date, the hospital plan type).
    for finding in (f for f in result.findings if f.severity == "warning"):
        where = finding.path.split("→")[-1]
        assert where == resource["resourceType"] or any(
            p == where or p.startswith((f"{where}.", f"{where}[")) for p in paths
        ), finding
    return result


@pytest.mark.parametrize("rtype", DRAWN)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(data=__import__("hypothesis").strategies.data())
def test_every_element_is_carried_or_named(rtype: str, data: Any) -> None:
    resource = data.draw(resources(rtype))
    errors = [i for i in validate_fhir(resource, CATALOGUE, received=True) if i.severity == "error"]
    assume(not errors)
    check(resource)


# What random draws found dropped without a word, each kept as an example that is always checked.
FOUND = {
    "goal-target-detail-of-a-measure-without-words": {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "안정된 주거"},
        "subject": {"reference": "Patient/p1"},
        "target": [
            {
                "measure": {"coding": [{"system": "http://loinc.org", "code": "0000-0"}]},
                "detailString": "돌봄",
            }
        ],
    },
    "quantity-comparator": {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": "https://ehr.example.org/Questionnaire/q",
        "item": [
            {"linkId": "a", "answer": [{"valueQuantity": {"value": 0.25, "unit": "h", "comparator": "<"}}]}
        ],
    },
    "schedule-bounds-extension": {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "돌봄"},
        "occurrenceTiming": {
            "repeat": {
                "boundsPeriod": {"extension": [{"url": "https://ehr.example.org/x", "valueString": "x"}]}
            }
        },
    },
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_what_draws_found_stays_named(name: str) -> None:
    check(FOUND[name])


def test_examples_on_disk() -> None:
    """Our hospital-style fixtures, or the examples under FHIR_ADAPTER_EXAMPLES (by hand, over the public
    samples): each one of a type we read is carried or named; one that is not valid R4 is refused whole."""
    root = Path(os.environ.get("FHIR_ADAPTER_EXAMPLES") or ROOT / "fixtures" / "ehr")
    checked, refused = [], []
    for path in sorted(root.rglob("*.json")):
        resource = read_json(path)
        if resource.get("resourceType") not in READ:
            continue
        try:
            check(resource)
            checked.append(path.name)
        except InvalidFhirInput:
            refused.append(path.name)
    assert checked, f"no example of the types we read under {root}"
