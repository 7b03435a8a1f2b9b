"""The discharge packet read back from the stand-in EHR: each version read once, our own documents left,
attachments fetched only from the EHR and only up to the size limit."""

from __future__ import annotations

from typing import Any

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import reading
from fhir_adapter.delivery.ehr_client import EhrClient
from fhir_adapter.delivery.pull import Puller
from fhir_adapter.domain.sync import JobAction
from tests.integration.events.conftest import Hospital
from tests.integration.events.packet import put_packet
from tests.support import adt

BINARY_DOC = "dsum-20250418-sharma"


def _stay(hospital: Hospital, **worker: Any) -> None:
    """Admitted, the packet written in the EHR during the stay, discharged, everything drained."""
    hospital.adt(adt.message("A01", hospital.visit(), control_id="ADM-1"))
    hospital.h.drain()
    put_packet(hospital.h.ehr, hospital.patient, hospital.encounter)
    hospital.adt(
        adt.message("A03", hospital.visit(), control_id="DIS-1", disposition="01^Discharged to home")
    )
    hospital.h.drain(hospital.h.worker(**worker) if worker else None)


def _inbound(hospital: Hospital) -> list[dict[str, Any]]:
    return hospital.get(f"/api/v1/inbound?client_id={hospital.client_id}&limit=200")["items"]


def _read_back_again(hospital: Hospital) -> None:
    """The discharge's read-back run once more, as the worker runs it."""
    (job,) = [j for j in hospital.h.jobs() if j.action == JobAction.PULL]
    service, settings = hospital.h.service, hospital.h.settings
    with reading(service.engine) as conn:
        ehr = ehr_store.get_ehr(conn, hospital.h.org_id, hospital.h.ehr_id)
    assert ehr is not None
    puller = Puller(service.engine, settings, service.deps)
    assert puller.run(job, EhrClient(ehr, [], 5.0), hospital.patient, "2025-10-21T09:00:00.000000Z")


def test_a_second_read_back_of_the_same_versions_stores_nothing_new(hospital: Hospital) -> None:
    _stay(hospital)
    before = _inbound(hospital)
    pulled = [m for m in before if m["control_id"].startswith("pull:")]
    assert {m["control_id"].split("/")[0] for m in pulled} >= {"pull:DocumentReference", "pull:Appointment"}
    _read_back_again(hospital)
    assert _inbound(hospital) == before
    (appointment,) = hospital.get(f"/api/v1/appointments?client_id={hospital.client_id}")["items"]
    # A new version in the EHR is read once more, and only it.
    changed = hospital.h.ehr.search("Appointment", patient=f"Patient/{hospital.patient}")[0]
    changed = {k: v for k, v in changed.items() if k != "meta"} | {"comment": "Daughter will drive."}
    hospital.h.ehr.put(changed)
    _read_back_again(hospital)
    after = _inbound(hospital)
    assert len(after) == len(before) + 1 and after[-1]["control_id"].startswith("pull:Appointment/")
    (updated,) = hospital.get(f"/api/v1/appointments?client_id={hospital.client_id}")["items"]
    assert updated["comment"] == "Daughter will drive." and appointment["comment"] != updated["comment"]


def test_documents_we_wrote_are_left_and_attachments_come_only_from_the_ehr(hospital: Hospital) -> None:
    """A DocumentReference with our identifier of a record's document is ours; an attachment under the
    EHR's base is fetched with its credentials, one on another host is not fetched at all."""
    referral = next(r for r in hospital.h.ours(hospital.client_id) if r["resourceType"] == "ServiceRequest")
    ours = _summary(hospital, "doc-ours", f"{hospital.h.proxy.url}/Binary/x")
    ours["identifier"] = [{"system": f"{referral['identifier'][0]['system']}/document", "value": "RF-7710"}]
    hospital.h.ehr.put(ours)
    hospital.h.ehr.put(_summary(hospital, "doc-elsewhere", "https://files.elsewhere.example.org/ds.pdf"))
    absolute = f"{hospital.h.proxy.url}/Binary/bin-ds-7731"
    hospital.h.ehr.put(_summary(hospital, "doc-absolute", absolute))
    _stay(hospital)
    details = {
        m["control_id"].split("/")[1]: m
        for m in _inbound(hospital)
        if "DocumentReference/" in m["control_id"]
    }
    assert (
        details["doc-ours"]["state"] == "ignored"
        and details["doc-ours"]["detail"] == "DocumentReference we sent"
    )
    elsewhere = details["doc-elsewhere"]
    assert elsewhere["state"] == "applied"
    assert "files.elsewhere.example.org is not the EHR: not fetched" in elsewhere["detail"]
    assert not any("elsewhere" in r["url"] for r in hospital.h.ehr.requests())
    documents = {
        d["id"]: d for d in hospital.get(f"/api/v1/documents?client_id={hospital.client_id}")["items"]
    }
    assert "doc-ours" not in documents
    assert "sha256" not in documents["doc-elsewhere"]["contents"][0]
    assert (
        documents["doc-absolute"]["contents"][0]["sha256"] == documents[BINARY_DOC]["contents"][0]["sha256"]
    )
    # the hospital's relative Binary/<id> is kept absolute: it names the hospital's copy wherever it is shown
    assert documents[BINARY_DOC]["contents"][0]["url"] == absolute


def test_an_attachment_past_the_size_limit_is_not_read_further_and_the_document_is_kept(
    hospital: Hospital,
) -> None:
    _stay(hospital, attachment_max_bytes=600)
    pulled = {
        m["control_id"].split("/")[1]: m
        for m in _inbound(hospital)
        if "DocumentReference/" in m["control_id"]
    }
    assert pulled[BINARY_DOC]["state"] == "applied"
    assert "is more than the limit of 600 bytes: not kept" in pulled[BINARY_DOC]["detail"]
    inline = pulled["dsum-20250418-kim"]["detail"]
    assert "bytes, more than the limit of 600" in inline
    documents = hospital.get(f"/api/v1/documents?client_id={hospital.client_id}")["items"]
    assert len(documents) == 2 and all("sha256" not in d["contents"][0] for d in documents)


def _summary(hospital: Hospital, rid: str, url: str) -> dict[str, Any]:
    """A discharge summary whose PDF is at `url`."""
    return {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
        "subject": {"reference": f"Patient/{hospital.patient}"},
        "content": [{"attachment": {"contentType": "application/pdf", "url": url}}],
    }


def test_the_read_back_searches_for_the_packet(hospital: Hospital) -> None:
    _stay(hospital)
    urls = [r["url"] for r in hospital.h.ehr.requests() if r["method"] == "GET"]
    assert any(
        u.startswith("DocumentReference?") and "type=http%3A%2F%2Floinc.org%7C18842-5" in u for u in urls
    )
    assert any(u.startswith("Appointment?") and "date=ge" in u for u in urls)
    assert any(u.startswith("Binary/bin-ds-7731") for u in urls)
