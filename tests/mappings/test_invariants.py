"""Invariants over every mapping × fixture: valid, references resolve, no empty values, ids stable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.mapping.from_fhir_bundle import from_fhir
from fhir_adapter.mapping.from_fhir_common import ALWAYS_HANDLED
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.mapping.to_fhir_bundle import to_fhir_bundle
from fhir_adapter.mapping.validation import validate_bundle, validate_fhir
from tests.conftest import CASES, EHR, load_case, read_json

MODES = ["conditional", "put"]
cases = pytest.mark.parametrize("case_path", CASES, ids=lambda p: p.stem)
modes = pytest.mark.parametrize("mode", MODES)


def _empties(node: Any, path: str = "") -> list[str]:
    if node is None or node == "" or node == [] or node == {}:
        return [path]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _empties(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _empties(v, f"{path}[{i}]")]
    return []


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


@cases
@modes
def test_bundle_is_valid(case_path: Path, mode: str, catalogue, identity) -> None:
    bundle = to_fhir_bundle(load_case(case_path), catalogue, identity, mode)
    assert validate_bundle(bundle, catalogue) == []


@cases
@modes
def test_no_empty_values(case_path: Path, mode: str, catalogue, identity) -> None:
    assert _empties(to_fhir_bundle(load_case(case_path), catalogue, identity, mode)) == []


@cases
def test_references_resolve_inside_the_bundle(case_path: Path, catalogue, identity) -> None:
    bundle = to_fhir_bundle(load_case(case_path), catalogue, identity)
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    for entry in bundle["entry"]:
        contained = {f"#{c['id']}" for c in entry["resource"].get("contained", [])}
        for ref in _references(entry["resource"]):
            assert ref in full_urls or ref in contained, f"{ref} in {entry['fullUrl']} resolves to nothing"


@cases
def test_ids_are_stable_and_derived_from_identifiers(case_path: Path, catalogue, identity) -> None:
    case = load_case(case_path)
    first, again = to_fhir_bundle(case, catalogue, identity), to_fhir_bundle(case, catalogue, identity)
    assert first == again
    for entry in first["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Questionnaire":
            assert entry["request"]["url"].startswith("Questionnaire?url=")
            continue
        ident = resource["identifier"]
        ident = ident[0] if isinstance(ident, list) else ident
        kind = identity.kind_of(ident["system"])
        assert kind is not None
        assert entry["fullUrl"] == f"urn:uuid:{identity.uuid(kind, ident['value'])}"
        assert entry["request"]["method"] == "PUT"
        assert entry["request"]["url"].startswith(f"{resource['resourceType']}?identifier=")


@cases
def test_put_mode_writes_to_the_deterministic_id(case_path: Path, catalogue, identity) -> None:
    bundle = to_fhir_bundle(load_case(case_path), catalogue, identity, "put")
    for entry in bundle["entry"]:
        resource_id = entry["resource"]["id"]
        assert entry["fullUrl"] == f"urn:uuid:{resource_id}"
        assert entry["request"] == {
            "method": "PUT",
            "url": f"{entry['resource']['resourceType']}/{resource_id}",
        }


@cases
def test_another_tenant_gets_other_ids(case_path: Path, catalogue, identity) -> None:
    case = load_case(case_path)
    other = Identity("another-tenant", identity.source_system, identity.namespace)
    ours = {e["fullUrl"] for e in to_fhir_bundle(case, catalogue, identity)["entry"]}
    theirs = {e["fullUrl"] for e in to_fhir_bundle(case, catalogue, other)["entry"]}
    questionnaires = {
        e["fullUrl"] for e in to_fhir_bundle(case, catalogue, identity)["entry"] if "url" in e["resource"]
    }
    assert not (ours - questionnaires) & theirs


@cases
@modes
def test_domain_to_fhir_to_domain_is_lossless(case_path: Path, mode: str, catalogue, identity) -> None:
    case = load_case(case_path)
    back = from_fhir(to_fhir_bundle(case, catalogue, identity, mode), catalogue, identity)
    assert back.case_file() == case
    assert [f for f in back.findings if f.severity == "warning"] == []


@cases
def test_sensitive_records_carry_a_security_label(case_path: Path, catalogue, identity) -> None:
    """A resource is labelled exactly when the record it comes from is (a care team from its episode, ...)."""
    case = load_case(case_path)
    source_kind = {
        "care-team": "episode",
        "observation": "assessment",
        "goal": "service-plan",
        "referral-task": "referral",
    }
    sensitive = {("episode", e.id) for e in case.episodes if e.sensitive}
    sensitive |= {("assessment", a.id) for a in case.assessments if a.sensitive}
    sensitive |= {("service-plan", p.id) for p in case.service_plans if p.sensitive}
    sensitive |= {("referral", r.id) for r in case.referrals if r.sensitive}
    for entry in to_fhir_bundle(case, catalogue, identity)["entry"]:
        ident = entry["resource"].get("identifier")
        ident = ident[0] if isinstance(ident, list) else ident
        if not ident:
            continue
        kind = str(identity.kind_of(ident["system"]))
        source = (source_kind.get(kind, kind), ident["value"].split("/")[0])
        labels = entry["resource"].get("meta", {}).get("security", [])
        assert bool(labels) == (source in sensitive), f"{kind} {ident['value']}: security labels {labels}"


@pytest.mark.parametrize("ehr_path", EHR, ids=lambda p: p.stem)
def test_ehr_input_is_valid_and_nothing_is_dropped_silently(ehr_path: Path, catalogue, identity) -> None:
    data = read_json(ehr_path)  # a Bundle resolves its urn:uuid references against its own entries
    assert [i for i in validate_fhir(data, catalogue, received=True) if i.severity == "error"] == []
    result = from_fhir(data, catalogue, identity)
    reported = " ".join(f.path for f in result.findings)
    resources = [e["resource"] for e in data.get("entry", [])] if data["resourceType"] == "Bundle" else [data]
    carried = result.clients or result.assessments or result.service_plans or result.referrals
    assert carried or result.goals or result.referral_updates or result.documents or result.appointments
    for resource in resources:
        for key in resource:
            handled = key in ALWAYS_HANDLED or key in reported or _read_by_mapping(resource, key)
            assert handled, f"{resource['resourceType']}.{key} is neither carried nor reported"


def _read_by_mapping(resource: dict[str, Any], key: str) -> bool:
    from fhir_adapter.mapping import (
        from_fhir_appointment,
        from_fhir_assessment,
        from_fhir_care_plan,
        from_fhir_document,
        from_fhir_goal,
        from_fhir_patient,
        from_fhir_referral,
        from_fhir_task,
    )

    handled = {
        "Patient": from_fhir_patient.HANDLED,
        "QuestionnaireResponse": from_fhir_assessment.HANDLED,
        "CarePlan": from_fhir_care_plan.HANDLED,
        "Goal": from_fhir_goal.GOAL_HANDLED,
        "ServiceRequest": from_fhir_referral.HANDLED,
        "Task": from_fhir_task.TASK_HANDLED,
        "DocumentReference": from_fhir_document.HANDLED,
        "Appointment": from_fhir_appointment.HANDLED,
    }
    return key in handled.get(resource["resourceType"], frozenset())
