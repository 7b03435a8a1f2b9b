"""Each validation layer catches what the one before it lets through."""

from __future__ import annotations

import copy

from fhir_adapter.mapping.validation import validate_bundle, validate_resource

PATIENT_REF = {"reference": "Patient/p1"}
TASK = {
    "resourceType": "Task",
    "status": "requested",
    "intent": "order",
    "for": PATIENT_REF,
    "authoredOn": "2025-10-11T09:00:00-05:00",
}


def _layers(resource: dict, catalogue) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(i.layer, i.path) for i in validate_resource(resource, catalogue)]


def test_a_valid_task_passes(catalogue) -> None:
    assert validate_resource(TASK, catalogue) == []


def test_structure_layer_rejects_unknown_elements_and_bad_primitives(catalogue) -> None:
    task = {**TASK, "colour": "blue", "authoredOn": "yesterday"}
    layers = {layer for layer, _ in _layers(task, catalogue)}
    assert layers == {"structure"}


def test_binding_layer_rejects_codes_outside_a_required_value_set(catalogue) -> None:
    assert _layers({**TASK, "status": "done"}, catalogue) == [("binding", "Task.status")]


def test_truncated_value_sets_are_checked_in_full(catalogue) -> None:
    for status in ("in-progress", "completed", "on-hold", "entered-in-error"):
        assert validate_resource({**TASK, "status": status}, catalogue) == []


def test_reference_layer_rejects_the_wrong_target_type(catalogue) -> None:
    task = {**TASK, "owner": {"reference": "Goal/g1"}}
    assert _layers(task, catalogue) == [("reference", "Task.owner")]
    logical = {**TASK, "owner": {"type": "Goal", "display": "x"}}
    assert _layers(logical, catalogue) == [("reference", "Task.owner")]


def test_content_layer_rejects_empty_values(catalogue) -> None:
    assert _layers({**TASK, "input": []}, catalogue)[0][0] in ("structure", "content")
    assert ("content", "Task.note[0]") in _layers({**TASK, "note": [{}]}, catalogue) or _layers(
        {**TASK, "note": [{}]}, catalogue
    )


def test_invariant_layer_runs_fhirpath(catalogue) -> None:
    task = {**TASK, "lastModified": "2025-10-01T09:00:00-05:00"}
    issues = validate_resource(task, catalogue)
    assert [(i.layer, i.message.split(":")[0]) for i in issues] == [("invariant", "inv-1")]


def test_a_contained_reference_must_resolve(catalogue) -> None:
    team = {
        "resourceType": "CareTeam",
        "participant": [{"member": {"reference": "#nobody"}}],
    }
    assert _layers(team, catalogue) == [("reference", "CareTeam.participant[0].member")]


def _bundle(*resources: dict) -> dict:  # type: ignore[type-arg]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:0000000{i}-0000-5000-8000-000000000000",
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for i, r in enumerate(resources)
        ],
    }


def test_bundle_references_resolve_to_an_entry_of_an_allowed_type(catalogue) -> None:
    goal = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "x"},
        "subject": PATIENT_REF,
    }
    bundle = _bundle(goal, {**TASK, "owner": {"reference": "urn:uuid:00000000-0000-5000-8000-000000000000"}})
    issues = validate_bundle(bundle, catalogue)
    assert [(i.layer, i.path) for i in issues] == [("reference", "Bundle.entry[1].resource.owner")]
    dangling = _bundle({**TASK, "focus": {"reference": "urn:uuid:99999999-0000-5000-8000-000000000000"}})
    assert "is no entry of this Bundle" in validate_bundle(dangling, catalogue)[0].message


def test_bundle_envelope_needs_requests_and_unique_full_urls(catalogue) -> None:
    bundle = _bundle(TASK, TASK)
    bundle["entry"][1]["fullUrl"] = bundle["entry"][0]["fullUrl"]
    del bundle["entry"][0]["request"]
    paths = [i.path for i in validate_bundle(bundle, catalogue)]
    assert paths == ["Bundle.entry[0].request", "Bundle.entry[1].fullUrl"]


def test_a_changed_published_questionnaire_is_validated_again(catalogue) -> None:
    questionnaire = copy.deepcopy(catalogue.published["hunger-vital-sign"])
    assert catalogue.is_published(questionnaire)
    questionnaire["item"][0]["type"] = "choise"
    assert not catalogue.is_published(questionnaire)
    issues = validate_bundle(_bundle(questionnaire), catalogue)
    assert ("binding", "Bundle.entry[0].resource.item[0].type") in [(i.layer, i.path) for i in issues]


def _item(link_id: str, value: str) -> dict:  # type: ignore[type-arg]
    return {"linkId": link_id, "answer": [{"valueString": value}]}


def test_repeated_answers_belong_in_one_item_at_every_level(catalogue) -> None:
    flat = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [_item("a", "x"), _item("a", "y")],
    }
    nested = {**flat, "item": [{"linkId": "g", "item": [_item("a", "x"), _item("a", "y")]}]}
    fine = {**flat, "item": [{"linkId": "g", "item": [_item("a", "x"), _item("b", "y")]}]}
    assert [i.message.split(":")[0] for i in validate_resource(flat, catalogue)] == ["qrs-2 (top level)"]
    assert [i.message.split(":")[0] for i in validate_resource(nested, catalogue)] == ["qrs-2"]
    assert validate_resource(fine, catalogue) == []


def test_an_item_under_both_answer_and_item_breaks_qrs_1(catalogue) -> None:
    both = {"linkId": "g", "answer": [{"valueString": "x"}], "item": [_item("a", "y")]}
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [both]}
    assert [i.message.split(":")[0] for i in validate_resource(qr, catalogue)] == ["qrs-1"]


def test_primitives_must_have_their_json_type(catalogue) -> None:
    """The models would read 4 as a dateTime in 1970 and "true" as a boolean; FHIR JSON allows neither."""
    task = {**TASK, "lastModified": 4}
    assert [(i.layer, i.path) for i in validate_resource(task, catalogue)] == [
        ("structure", "Task.lastModified")
    ]
    answers = [{"valueInteger": True}, {"valueDecimal": 1}, {"valueBoolean": "true"}]
    qr = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": "a", "answer": answers}],
    }
    paths = [i.path for i in validate_resource(qr, catalogue)]
    assert paths == [
        "QuestionnaireResponse.item[0].answer[0].valueInteger",
        "QuestionnaireResponse.item[0].answer[2].valueBoolean",
    ]


def test_task_times_in_different_zones_are_ordered_as_instants(catalogue) -> None:
    """10:00 at +09:00 is 01:00 UTC; 03:00 at +01:00 is 02:00 UTC, later (compared as text it looks earlier)."""
    task = {**TASK, "authoredOn": "2024-01-01T10:00:00+09:00", "lastModified": "2024-01-01T03:00:00+01:00"}
    assert validate_resource(task, catalogue) == []
    earlier = {**task, "lastModified": "2023-12-31T23:00:00Z"}
    assert [i.message.split(":")[0] for i in validate_resource(earlier, catalogue)] == ["inv-1"]


def test_a_received_bundle_with_a_malformed_full_url_gets_an_issue(catalogue) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": ["x"], "resource": {"resourceType": "Patient"}}],
    }
    assert [(i.path, i.message) for i in validate_bundle(bundle, catalogue, outgoing=False)] == [
        ("Bundle.entry[0].fullUrl", "not a string")
    ]


def test_a_null_contained_is_an_issue_not_an_exception(catalogue) -> None:
    for contained in (None, [None], ["x"]):
        issues = validate_resource({"resourceType": "Patient", "contained": contained}, catalogue)
        assert issues and all(i.severity == "error" for i in issues), contained
