"""At discharge, an assessment on the hospital's own questionnaire keeps the questionnaire's words: the EHR
serves the Questionnaire the response names, and its title and item texts come into the case record even
where the response repeats none of them. A response to a questionnaire the EHR does not serve keeps its
own words."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import ROOT, read_json
from tests.integration.events.conftest import Hospital
from tests.support import adt

EHR_FIXTURES = ROOT / "fixtures" / "ehr"


def _texts(items: list[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        found[item["linkId"]] = item.get("text")
        found |= _texts(item.get("item", []))
    return found


def _bare(item: dict[str, Any]) -> dict[str, Any]:
    """An item as some EHRs send it: the linkId and the answers, no words."""
    kept = {k: v for k, v in item.items() if k != "text"}
    if "item" in kept:
        kept["item"] = [_bare(i) for i in kept["item"]]
    return kept


def _response(hospital: Hospital, rid: str, canonical: str) -> dict[str, Any]:
    qr = copy.deepcopy(read_json(EHR_FIXTURES / "qr-hospital-functional-ko.json"))
    qr.pop("meta", None)
    qr["identifier"] = {"system": "urn:oid:2.16.840.1.113883.19.5.90", "value": f"FA-{rid}"}
    return qr | {
        "id": rid,
        "questionnaire": canonical,
        "subject": {"reference": f"Patient/{hospital.patient}"},
        "encounter": {"reference": f"Encounter/{hospital.encounter}"},
        "item": [_bare(i) for i in qr["item"]],
    }


def test_the_hospitals_questionnaire_gives_its_words_to_the_assessment_read_back(hospital: Hospital) -> None:
    served = read_json(ROOT / "fixtures" / "served" / "questionnaire-hospital-functional-ko.json")
    hospital.adt(adt.message("A01", hospital.visit()))
    hospital.h.drain()
    hospital.h.ehr.put(served)
    canonical = f"{served['url']}|{served['version']}"
    hospital.h.ehr.put(_response(hospital, "eQrServed", canonical))
    unknown = "https://ehr.seoul-riverside.example.org/Questionnaire/not-served|1"
    hospital.h.ehr.put(_response(hospital, "eQrUnserved", unknown))
    hospital.adt(adt.message("A03", hospital.visit(), control_id="DIS-Q", discharged="20251020140000-0500"))
    hospital.h.drain()

    found = hospital.get(f"/api/v1/assessments?client_id={hospital.client_id}")["items"]
    external = {a["questionnaire"]: a for a in found if a["kind"] == "external"}
    kept = external[canonical]
    assert kept["title"] == "퇴원 전 기능 평가 (작업치료)"
    words = {i["link_id"]: i.get("text") for i in kept["items"]}
    assert words == {k: v for k, v in _texts(served["item"]).items() if k in words}
    assert words["summary"] == "치료사 소견" and words["mobility.walk"] == "보조 없이 50m 걷기"
    assert {i["link_id"] for i in kept["items"]} >= {"mobility.walk", "adl.meal", "summary"}
    alone = external[unknown]  # nothing served: the response's own words, which are none
    assert alone.get("title") is None
    assert all(not i.get("text") for i in alone["items"])
    assert {i["link_id"] for i in alone["items"]} == {i["link_id"] for i in kept["items"]}
