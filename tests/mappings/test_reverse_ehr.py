"""FHIR an EHR sends (US Core / Gravity SDOH style) → case-management records, with findings."""

from __future__ import annotations

from fhir_adapter.domain.records import Answer, Name
from fhir_adapter.mapping.from_fhir_bundle import from_fhir
from tests.conftest import ROOT, read_json

EHR = ROOT / "fixtures" / "ehr"


def _reverse(name: str, catalogue, identity, **kwargs):  # type: ignore[no-untyped-def]
    return from_fhir(read_json(EHR / name), catalogue, identity, **kwargs)


def test_patient_names_in_hangul_survive(catalogue, identity) -> None:
    client = _reverse("patient-kim.json", catalogue, identity).clients[0]
    assert client.names[0] == Name(text="김민준", family="김", given=("민준",), use="official")
    assert client.language == "ko"
    assert client.identifiers[0].assigner == "Seoul Riverside General Hospital"


def test_a_response_to_a_questionnaire_we_do_not_publish_is_matched_by_link_ids(catalogue, identity) -> None:
    result = _reverse("qr-hunger-vital-sign.json", catalogue, identity, client_id="CL-1")
    assessment = result.assessments[0]
    assert (assessment.kind, assessment.client_id) == ("hunger-vital-sign", "CL-1")
    answers = {item.link_id: item.answers for item in assessment.items}
    assert answers["88122-7"] == (Answer("choice", "LA6729-3"),)  # linkId "/88122-7" in the input
    assert any("matched to our hunger-vital-sign" in f.message for f in result.findings)


def test_nested_groups_and_repeated_answers(catalogue, identity) -> None:
    assessment = _reverse("qr-prapare-partial.json", catalogue, identity).assessments[0]
    answers = {item.link_id: item.answers for item in assessment.items}
    assert assessment.kind == "prapare"
    assert len(answers["93031-3"]) == 2
    assert answers["63512-8"] == (Answer("integer", 5),)
    assert answers["93034-7"] == ()  # asked, not answered


def test_a_task_alone_updates_the_referral_it_tracks(catalogue, identity) -> None:
    result = _reverse("task-referral-completed.json", catalogue, identity)
    update = result.referral_updates[0]
    assert (update.referral_id, update.status) == ("eSr4Hs9Lq2Wc7Ng1Xv5Rbd3", "completed")
    assert update.outcome and "transitional supportive housing" in update.outcome
    assert update.status_reason
    assert update.business_status is not None
    assert update.business_status.text == "Housing placement confirmed"
    assert [o.reference.display for o in update.outputs if o.reference] == ["Housing placement assistance"]


def test_a_searchset_pairs_each_task_with_its_service_request(catalogue, identity) -> None:
    result = _reverse("bundle-discharge-searchset.json", catalogue, identity, client_id="CL-1")
    assert [r.service_type for r in result.referrals] == ["physical-therapy"]
    assert result.referrals[0].status == "sent"  # the Task says requested
    assert result.referral_updates == []
    assert len(result.assessments) == 1


def test_unknown_extensions_and_missing_goals_are_reported(catalogue, identity) -> None:
    result = _reverse("careplan-discharge.json", catalogue, identity)
    plan = result.service_plans[0]
    assert plan.plan_type == "hospital"
    assert len(plan.activities) == 3
    paths = {f.path for f in result.findings if f.severity == "warning"}
    assert {"CarePlan.activity[0].extension[0]", "CarePlan.goal[0]"} <= paths
    assert plan.addresses  # what the plan addresses is kept as the hospital's references


def test_primitive_extensions_and_extra_narrative_are_reported(catalogue, identity) -> None:
    goal = {
        "resourceType": "Goal",
        "text": {"status": "additional", "div": '<div xmlns="http://www.w3.org/1999/xhtml">More</div>'},
        "lifecycleStatus": "active",
        "_lifecycleStatus": {"extension": [{"url": "https://ehr.example.org/x", "valueString": "y"}]},
        "description": {"text": "Stable housing"},
        "subject": {"reference": "Patient/p1"},
    }
    result = from_fhir(goal, catalogue, identity)
    assert result.goals[0].description == "Stable housing"
    assert {"Goal.text", "Goal._lifecycleStatus"} <= {f.path for f in result.findings}


def test_a_resource_we_do_not_map_is_reported_not_dropped(catalogue, identity) -> None:
    encounter = {"resourceType": "Encounter", "status": "finished", "class": {"code": "IMP"}}
    result = from_fhir(encounter, catalogue, identity)
    assert [f.message for f in result.findings] == ["Encounter resources are not carried into case records"]


def test_references_resolve_against_what_the_receiver_holds(catalogue, identity) -> None:
    held = {
        f"Goal/{g['id']}": g
        for g in (read_json(EHR / "goal-housing.json"), read_json(EHR / "goal-employment.json"))
    }
    held["ServiceRequest/eSr4Hs9Lq2Wc7Ng1Xv5Rbd3"] = read_json(EHR / "servicerequest-housing-referral.json")
    without = _reverse("careplan-discharge.json", catalogue, identity, client_id="CL-1").service_plans[0]
    plan = _reverse("careplan-discharge.json", catalogue, identity, client_id="CL-1", lookup=held.get)
    assert without.goals == () and len(plan.service_plans[0].goals) == 2
    task = _reverse("task-referral-accepted.json", catalogue, identity, lookup=held.get)
    # A Task whose ServiceRequest is only held, not sent, is still read on its own: a status update.
    assert [u.status for u in task.referral_updates] == ["accepted"] and task.referrals == []
