"""A preview of the next admission push shows the very requests the worker then makes: compared with what
the stand-in EHR records, on the restrictive EHR (documents) and the full one (a transaction Bundle)."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_adapter.delivery.preview import NothingToPreview, brief, preview
from tests.integration.events.conftest import Hospital, open_hospital
from tests.support import adt
from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import FaultProxy

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"


def _writes(requests: list[dict[str, Any]]) -> list[tuple[str, str, Any]]:
    """Method, URL and body of each write, our Provenance aside (its id is made from the job's)."""
    return [
        (r["method"], r["url"], r["body"])
        for r in requests
        if r["method"] != "GET" and not r["url"].startswith("Provenance")
    ]


@pytest.mark.parametrize("profile", ["restrictive", "full"])
def test_the_preview_is_what_the_admission_then_sends(
    profile: str, harness: Harness, ehr: EhrServer, restrictive_ehr: EhrServer
) -> None:
    server = restrictive_ehr if profile == "restrictive" else ehr
    server.reset()
    proxy = FaultProxy(server.url).start()
    try:
        h = Harness(harness.service, harness.client, harness.headers, harness.org_id, server, proxy)
        h.ehr_id = f"{profile}-ehr"
        hospital = open_hospital(h)
        _admit_and_compare(hospital)
    finally:
        proxy.stop()


def _admit_and_compare(hospital: Hospital) -> None:
    h = hospital.h
    hospital.adt(adt.message("A01", hospital.visit()))
    shown = preview(h.worker(), h.org_id, h.ehr_id, hospital.client_id)
    assert shown["requests"] and not _writes(h.ehr.requests())  # nothing written by the preview
    path = f"/api/v1/clients/{hospital.client_id}/ehrs/{h.ehr_id}/preview"
    answer = h.client.get(path, headers=h.headers)
    assert answer.status_code == 200, answer.json
    shortened = brief(shown)  # the same, with the attachments shortened (the Provenance's time aside)
    assert _writes(answer.json["requests"]) == _writes(shortened["requests"])
    assert answer.json["ways"] == shown["ways"]
    assert answer.json["profiles"] == shown["profiles"]
    _profiles_shown(h.ehr.profile, shown)
    full = h.client.get(path, query_string={"full": "true"}, headers=h.headers).json
    assert _writes(full["requests"]) == _writes(shown["requests"])
    before = len(h.ehr.requests())
    h.drain(timeout=120)
    assert {j.state for j in h.jobs()} == {"delivered"}
    sent = _writes(h.ehr.requests()[before:])
    # a job's documents are sent side by side: they reach the EHR in any order, each exactly as shown
    assert sorted(sent, key=repr) == sorted(_writes(shown["requests"]), key=repr)
    if h.ehr.profile == "full":
        assert sent == _writes(shown["requests"])
    cut = brief(shown)["requests"]
    assert "bytes of application/pdf" in str(cut) or h.ehr.profile == "full"


def _profiles_shown(profile: str, shown: dict[str, Any]) -> None:
    """Per type sent, ours beside the EHR's: the restrictive EHR names a CarePlan profile of its own (none
    of ours) and US Core DocumentReference at a version (ours); the full one names none."""
    checks = shown["profiles"]
    assert set(shown["ways"]) <= set(checks) and checks["CarePlan"]["ours"] == [f"{US_CORE}us-core-careplan"]
    if profile == "full":
        assert all(c["ehr"] == [] and c["meet"] for c in checks.values())
        return
    assert checks["CarePlan"]["ehr"] == ["https://ehr.example.org/fhir/StructureDefinition/hospital-careplan"]
    assert checks["CarePlan"]["meet"] is False
    assert checks["DocumentReference"] == {
        "ours": [f"{US_CORE}us-core-documentreference"],
        "ehr": [
            "http://hl7.org/fhir/StructureDefinition/DocumentReference",
            f"{US_CORE}us-core-documentreference|6.1.0",
        ],
        "meet": True,
    }
    assert [t for t, c in checks.items() if not c["meet"]] == ["CarePlan"]


def test_a_client_not_linked_has_nothing_to_preview(harness: Harness) -> None:
    with pytest.raises(NothingToPreview, match="not linked"):
        preview(harness.worker(), harness.org_id, harness.ehr_id, "CL-nobody")
    with pytest.raises(NothingToPreview, match="no EHR"):
        preview(harness.worker(), harness.org_id, "elsewhere", "CL-nobody")
    answer = harness.client.get("/api/v1/clients/CL-nobody/ehrs/elsewhere/preview", headers=harness.headers)
    assert answer.status_code == 404 and "no EHR elsewhere" in str(answer.json)
