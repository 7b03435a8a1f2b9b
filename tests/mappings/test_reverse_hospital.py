"""What a hospital writes itself (no codes of ours, its own identifiers, text-only services) is read whole:
every distinctive value reaches the record, beside what our vocabulary makes of it."""

from __future__ import annotations

import pytest

from fhir_adapter.domain.concepts import Coding, Concept, Note, Reference
from fhir_adapter.domain.referrals import by_ehr, skipped, with_update
from fhir_adapter.mapping.errors import InvalidFhirInput
from fhir_adapter.mapping.from_fhir_bundle import from_fhir
from tests.conftest import ROOT, read_json

EHR = ROOT / "fixtures" / "ehr"
SNOMED = "http://snomed.info/sct"


def _reverse(name: str, catalogue, identity, **kwargs):  # type: ignore[no-untyped-def]
    return from_fhir(read_json(EHR / name), catalogue, identity, **kwargs)


def test_a_care_plan_without_our_plan_type_is_a_hospital_plan(catalogue, identity) -> None:
    result = _reverse("careplan-hospital-discharge.json", catalogue, identity, client_id="CL-1")
    plan = result.service_plans[0]
    assert plan.plan_type == "hospital"
    assert plan.categories[0].text == "퇴원 간호 계획 (discharge care plan)"
    assert Coding("736371003", SNOMED, "Discharge care plan") in plan.categories[0].codings
    assert plan.identifiers[0].value == "DCP-2025-04417"
    assert plan.identifiers[0].assigner == "Seoul Riverside General Hospital"
    assert plan.identifiers[0].type == Concept(text="Discharge care plan number")
    assert plan.description and plan.description.startswith("Home with daily visiting nurse")
    assert plan.addresses == (Reference("Condition/eCn7Pn4Rq1", None, "Community-acquired pneumonia"),)
    assert plan.notes == (
        Note("Lives alone; daughter visits on weekends.", "Ward 7 charge nurse", "2025-04-18T14:55:00+09:00"),
    )
    nurse, physio = plan.activities
    assert nurse.kind == "other" and nurse.code is not None
    assert nurse.code.codings == (Coding("385763009", SNOMED, "Hospice care"),)
    assert nurse.code.text == "Visiting nurse, daily"
    assert nurse.timing is not None
    assert (nurse.timing.frequency, nurse.timing.period, nurse.timing.period_unit) == (1, 1.0, "d")
    assert nurse.timing.times_of_day == ("09:00:00",)
    assert nurse.schedule == "every morning for a week"
    assert physio.timing is not None and physio.timing.days_of_week == ("tue",)
    assert physio.description == "Outpatient physiotherapy"
    assert not [f for f in result.findings if f.severity == "warning"], result.findings


def test_a_text_only_referral_is_other_with_its_words(catalogue, identity) -> None:
    result = _reverse("servicerequest-text-only-meals.json", catalogue, identity, client_id="CL-1")
    referral = result.referrals[0]
    assert referral.service_type == "other" and referral.service_coding is None
    assert referral.code == Concept(text="Home-delivered meals, five days a week (lunch)")
    codes = {c.codings[0].code for c in referral.categories}
    assert codes == {"sdoh", "food-insecurity"}
    assert referral.identifiers[0].value == "ORD-88231"
    assert referral.occurrence == "2025-04-21"
    assert referral.priority == "urgent"
    assert referral.reason_references[0].display == "Food insecurity (finding)"
    assert [n.author for n in referral.notes] == ["Park Ji-yeon, MSW", None]
    assert referral.note == "Soft diet; no shellfish.\nCall the daughter before the first delivery."
    assert not [f for f in result.findings if f.severity == "warning"], result.findings


def test_a_task_that_jumps_to_completed_keeps_its_outputs(catalogue, identity) -> None:
    task = read_json(EHR / "task-jump-completed.json")
    task["focus"] = {"reference": "ServiceRequest/SR-1"}
    result = from_fhir(task, catalogue, identity)
    update = result.referral_updates[0]
    assert update.status == "completed"
    assert update.outcome == "Moved into supported housing on 2025-04-19"
    assert update.business_status == Concept(
        (Coding("closed-placed", "https://ehr.seoul-riverside.example.org/CodeSystem/referral-step"),),
        "Closed: placement confirmed",
    )
    assert update.status_reason == "Placed directly by the housing office"
    assert update.status_reason_code is not None and update.status_reason_code.codings[0].code == "PLACED"
    assert [o.reference.display for o in update.outputs if o.reference] == ["Placement letter"]
    assert [o.text for o in update.outputs if o.text] == ["Moved into supported housing on 2025-04-19"]


def test_the_ehrs_word_records_the_steps_it_skipped() -> None:
    assert skipped("sent", "completed") == ("accepted", "in-progress")
    assert skipped("sent", "accepted") == ()
    assert skipped("completed", "in-progress") == ()  # backwards: no way, nothing skipped
    from fhir_adapter.domain.records import Referral, ReferralUpdate

    sent = Referral("R-1", "CL-1", "housing", "sent", "2025-04-01T09:00:00Z")
    done = by_ehr(sent, "completed", "2025-04-20T02:00:00Z")
    assert (done.status, done.status_by_ehr, done.skipped_statuses) == (
        "completed",
        True,
        ("accepted", "in-progress"),
    )
    update = ReferralUpdate("R-1", "completed", outcome="Placed", changed_at="2025-04-20T02:00:00Z")
    assert with_update(sent, update).outcome == "Placed"


def test_a_response_to_the_hospitals_own_questionnaire_is_an_external_assessment(catalogue, identity) -> None:
    from fhir_adapter.domain.records import Answer, Quantity
    from fhir_adapter.mapping.to_fhir_external import external_items

    result = _reverse("qr-hospital-functional-ko.json", catalogue, identity, client_id="CL-1")
    (assessment,) = result.assessments
    assert assessment.kind == "external"
    assert assessment.questionnaire == (
        "https://ehr.seoul-riverside.example.org/Questionnaire/functional-discharge-ko|3"
    )
    items = {item.link_id: item for item in assessment.items}
    walk = items["mobility.walk"]
    assert (walk.text, walk.parents) == ("보조 없이 50m 걷기", ("mobility",))
    assert walk.answers[0].value == Coding(
        "2", "https://ehr.seoul-riverside.example.org/CodeSystem/assist-level", "약간의 도움 필요"
    )
    assert items["adl.bath"].answers == (Answer("boolean", False),)
    assert items["adl.meal"].answers == (
        Answer("quantity", Quantity(25.0, "분", "http://unitsofmeasure.org", "min")),
    )
    assert items["summary"].answers[0].value == "퇴원 후 2주간 방문 작업치료가 필요합니다."
    assert items["mobility"].text == "이동 능력" and items["mobility"].answers == ()
    # Forward again: the response names the original canonical and nests the items as they were.
    nested = external_items(assessment)
    assert [i["linkId"] for i in nested] == ["mobility", "adl", "next-review", "summary"]
    assert [i["linkId"] for i in nested[0]["item"]] == ["mobility.walk", "mobility.stairs"]
    warnings = [f.path for f in result.findings if f.severity == "warning"]
    assert warnings == ["QuestionnaireResponse.identifier"]  # the hospital's own number: named, not kept


def test_a_questionnaire_sent_along_gives_the_title_and_words(catalogue, identity) -> None:
    response = read_json(EHR / "qr-hospital-functional-ko.json")
    del response["item"][3]["text"]
    questionnaire = {
        "resourceType": "Questionnaire",
        "id": "functional-discharge-ko",
        "url": "https://ehr.seoul-riverside.example.org/Questionnaire/functional-discharge-ko",
        "title": "퇴원 기능 평가",
        "status": "active",
        "item": [{"linkId": "summary", "text": "종합 소견", "type": "string"}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": response}, {"resource": questionnaire}],
    }
    (assessment,) = from_fhir(bundle, catalogue, identity, client_id="CL-1").assessments
    assert assessment.title == "퇴원 기능 평가"
    assert {i.link_id: i.text for i in assessment.items}["summary"] == "종합 소견"


def test_what_the_hospital_sent_goes_on_as_valid_fhir(catalogue, identity) -> None:
    """EHR resource → record → FHIR: every record read from a hospital fixture projects to resources that
    pass every layer of our validation, and the hospital's concepts are what they say."""
    from fhir_adapter.service.projection import project

    for path in sorted(EHR.glob("*.json")):
        result = from_fhir(read_json(path), catalogue, identity, client_id="CL-1")
        for kind, records in (
            ("service-plan", result.service_plans),
            ("referral", result.referrals),
            ("assessment", result.assessments),
        ):
            for record in records:
                resources = project(kind, record, catalogue, identity)  # raises when any is invalid
                assert resources, (path.name, kind)
    meals = from_fhir(
        read_json(EHR / "servicerequest-text-only-meals.json"), catalogue, identity, client_id="CL-1"
    )
    (request, _task) = project("referral", meals.referrals[0], catalogue, identity)
    assert request["code"] == {"text": "Home-delivered meals, five days a week (lunch)"}
    assert {c["coding"][0]["code"] for c in request["category"]} == {"sdoh", "food-insecurity"}


def test_entries_that_name_each_other_by_urn_uuid_are_read_linked(catalogue, identity) -> None:
    """A transaction whose entries refer to each other by fullUrl: the records name the records those
    entries became (an entry without an id takes the UUID of its fullUrl)."""
    result = _reverse("bundle-discharge-transaction.json", catalogue, identity)
    (client,) = result.clients
    assert client.id == "0d7a3c52-8e1f-4b6d-a2c9-5f4e1b7d3a60"
    (order,) = result.referrals
    (plan,) = result.service_plans
    assert order.client_id == plan.client_id == client.id
    assert order.id == "9e2c4d71-5a3b-4f08-8d6e-1c7b0a9f3e25" and order.status == "sent"
    assert [g.id for g in plan.goals] == ["e6f1b2a9-3c4d-4e7f-9a0b-8d2c5e1f7a36"]
    assert not result.referral_updates and not result.goals  # read with their order and plan
    assert not [f for f in result.findings if "linked to no client" in f.message], result.findings


def test_a_urn_uuid_that_is_no_entry_is_refused_naming_it(catalogue, identity) -> None:
    bundle = read_json(EHR / "bundle-discharge-transaction.json")
    bundle["entry"][0]["resource"]["focus"] = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"}
    with pytest.raises(InvalidFhirInput) as refused:
        from_fhir(bundle, catalogue, identity)
    assert [i.path for i in refused.value.issues] == ["Bundle.entry[0].resource.focus"]
