"""Properties of the mappings over generated case files (hypothesis; strategies in strategies.py).

- domain → FHIR → domain gives back the same case file, in both write modes, without loss findings;
- every Bundle validates, and mapping the same case file twice gives the same Bundle (deterministic ids);
- the contract round trip: load_case_file(to_contract(case)) == case;
- bad input raises only our typed errors: marshmallow.ValidationError from the contract, MappingError from
  the mappings; validation itself never raises, it returns issues;
- from_fhir validates what it is given: invalid FHIR raises InvalidFhirInput with the validation errors,
  valid FHIR (Codings without a code included) is read back or refused with a MappingError;
- a Bundle shares nothing with the catalogue: changing it leaves the next mapping as it was.

The catalogue and identity are module constants rather than the session fixtures: hypothesis prints the
arguments of a failing example, and the catalogue's repr (~140 kB) would bury the example (and raise a
HypothesisWarning, an error under this project's filterwarnings).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from fhir_adapter.api.schemas import load_case_file
from fhir_adapter.api.schemas.dump import to_contract
from fhir_adapter.mapping.errors import InvalidFhirInput, Issue, MappingError
from fhir_adapter.mapping.from_fhir_bundle import from_fhir
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.to_fhir_bundle import WriteMode, to_fhir_bundle
from fhir_adapter.mapping.validation import validate_bundle, validate_resource
from tests.mappings import strategies as s

CATALOGUE = s.CATALOGUE
IDENTITY = Identity(
    tenant="test-tenant", source_system="cms-test", namespace="https://cms.example.org/identifiers"
)
MODES: tuple[WriteMode, ...] = ("conditional", "put")

# Sized so the whole module runs in well under a minute on a 2-core machine.
ROUND_TRIPS = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def received_errors(data: dict[str, Any]) -> list[Issue]:
    """The validation errors of what an EHR sent: a Bundle received may be of any type."""
    if data.get("resourceType") == "Bundle":
        issues = validate_bundle(data, CATALOGUE, outgoing=False)
    else:
        issues = validate_resource(data, CATALOGUE)
    return [i for i in issues if i.severity == "error"]


# -- valid case files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@ROUND_TRIPS
@given(data=s.case_files())
def test_domain_to_fhir_and_back_gives_the_same_case_file(data: dict[str, Any], mode: WriteMode) -> None:
    case = load_case_file(data)
    bundle = to_fhir_bundle(case, CATALOGUE, IDENTITY, mode)
    back = from_fhir(bundle, CATALOGUE, IDENTITY)
    assert back.case_file() == case
    assert [str(f) for f in back.findings if f.severity == "warning"] == []
    wire = json.loads(json.dumps(bundle, allow_nan=False))  # as the EHR receives and returns it
    assert from_fhir(wire, CATALOGUE, IDENTITY).case_file() == case


@ROUND_TRIPS
@given(data=s.case_files())
def test_every_bundle_validates_and_mapping_twice_gives_the_same_bundle(data: dict[str, Any]) -> None:
    bundles = {}
    for mode in MODES:
        bundle = to_fhir_bundle(load_case_file(data), CATALOGUE, IDENTITY, mode)
        assert validate_bundle(bundle, CATALOGUE) == []
        again = to_fhir_bundle(load_case_file(copy.deepcopy(data)), CATALOGUE, IDENTITY, mode)
        assert again == bundle
        bundles[mode] = bundle
    conditional, put = bundles["conditional"]["entry"], bundles["put"]["entry"]
    assert [e["fullUrl"] for e in conditional] == [e["fullUrl"] for e in put]
    for entry in put:
        resource = entry["resource"]
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
        assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    for entry in conditional:
        assert "id" not in entry["resource"]
        assert entry["request"]["method"] == "PUT"
        assert entry["request"]["url"].startswith(f"{entry['resource']['resourceType']}?")


@ROUND_TRIPS
@given(data=s.case_files())
def test_contract_round_trip(data: dict[str, Any]) -> None:
    case = load_case_file(data)
    contract = to_contract(case)
    assert load_case_file(contract) == case
    assert load_case_file(json.loads(json.dumps(contract, allow_nan=False))) == case
    assert to_contract(load_case_file(copy.deepcopy(contract))) == contract


# -- bad input ------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.one_of(s.ARBITRARY_JSON, st.builds(lambda c: {"client": c}, s.ARBITRARY_OBJECTS)))
def test_arbitrary_json_is_refused_with_a_validation_error(data: Any) -> None:
    try:
        load_case_file(data)
    except ValidationError as err:
        assert err.messages


@FUZZ
@given(data=s.mutated(s.case_files()))
def test_changed_case_files_raise_only_typed_errors(data: dict[str, Any]) -> None:
    """A field deleted, a value of the wrong type, an unknown field: refused, or mapped, never a crash."""
    try:
        case = load_case_file(data)
    except ValidationError as err:
        assert err.messages
        return
    for mode in MODES:
        try:
            bundle = to_fhir_bundle(case, CATALOGUE, IDENTITY, mode)
        except MappingError as err:
            assert err.message
            continue
        assert isinstance(validate_bundle(bundle, CATALOGUE), list)


@FUZZ
@given(data=st.one_of(s.ARBITRARY_OBJECTS, s.fhir_shaped_resources()))
def test_validate_resource_returns_issues_and_never_raises(data: dict[str, Any]) -> None:
    issues = validate_resource(data, CATALOGUE)
    assert all(isinstance(i, Issue) for i in issues)


@FUZZ
@given(data=st.one_of(s.ARBITRARY_OBJECTS, s.received_bundles()))
def test_validate_bundle_returns_issues_and_never_raises(data: dict[str, Any]) -> None:
    for outgoing in (True, False):
        issues = validate_bundle(data, CATALOGUE, outgoing=outgoing)
        assert all(isinstance(i, Issue) for i in issues)


@FUZZ
@given(data=st.one_of(s.ARBITRARY_JSON, s.ARBITRARY_OBJECTS))
def test_from_fhir_refuses_arbitrary_json_with_a_mapping_error(data: Any) -> None:
    try:
        from_fhir(data, CATALOGUE, IDENTITY).case_file()
    except MappingError as err:
        assert err.message


def read_back(data: dict[str, Any]) -> None:
    """Invalid FHIR raises InvalidFhirInput with its validation errors; valid FHIR is read back, or refused
    with a MappingError (a case file needs exactly one Patient)."""
    if not isinstance(data.get("resourceType"), str):  # a change may take it away
        with pytest.raises(MappingError):
            from_fhir(data, CATALOGUE, IDENTITY)
        return
    invalid = received_errors(data)
    try:
        reversed_ = from_fhir(data, CATALOGUE, IDENTITY)
    except InvalidFhirInput as err:
        assert err.issues == invalid != []
        return
    assert invalid == []
    to_contract(reversed_)
    try:
        reversed_.case_file()
    except MappingError as err:
        assert err.message


@FUZZ
@given(data=st.one_of(s.fhir_shaped_resources(), s.received_bundles()))
def test_from_fhir_on_fhir_shaped_input_raises_only_mapping_errors(data: dict[str, Any]) -> None:
    read_back(data)


@FUZZ
@given(
    data=s.case_files(),
    changes=s.mutations(hows=("delete", "delete", "retype", "replace", "add", "uncode")),
)
def test_from_fhir_on_changed_bundles_raises_only_mapping_errors(
    data: dict[str, Any], changes: list[s.Mutation]
) -> None:
    """Our own Bundle, changed as an EHR might return it (a field deleted, retyped, replaced or added; every
    Coding without its code). The change is made in place: the Bundle shares nothing with the catalogue."""
    case = load_case_file(data)
    bundle = to_fhir_bundle(case, CATALOGUE, IDENTITY)
    pristine = copy.deepcopy(bundle)
    s.apply_mutations(bundle, changes)
    assert to_fhir_bundle(case, CATALOGUE, IDENTITY) == pristine
    read_back(bundle)
