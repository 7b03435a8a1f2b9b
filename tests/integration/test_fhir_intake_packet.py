"""The discharge packet written by the hospital on /fhir: a discharge summary with its PDF inline, one that
points at a Binary, a follow-up appointment. Each arrives whole, its PDF downloads as it was sent, what
cannot be kept is named, and `map --reverse` reads each the same way."""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import json

import pytest

from fhir_adapter import cli
from fhir_adapter.app import create_app
from tests.conftest import ROOT, read_json

EHR = ROOT / "fixtures" / "ehr"
OUTCOME = {"Prefer": "return=OperationOutcome"}
INLINE = "documentreference-discharge-summary-inline.json"
BINARY = "documentreference-discharge-summary-binary.json"
APPOINTMENT = "appointment-follow-up-respiratory.json"


def _for(name: str, pid: str) -> dict:
    """The fixture as the hospital would write it about our patient."""
    resource = read_json(EHR / name)
    resource.pop("meta", None)
    if resource["resourceType"] == "Appointment":
        resource["participant"][0]["actor"]["reference"] = f"Patient/{pid}"
    else:
        resource["subject"] = {"reference": f"Patient/{pid}"}
    return resource


def _pdf() -> bytes:
    return base64.b64decode(read_json(EHR / INLINE)["content"][0]["attachment"]["data"])


def _documents(client, headers) -> list[dict]:
    return client.get("/api/v1/documents?client_id=CL-20417", headers=headers).json["items"]


def test_a_discharge_summary_arrives_whole_and_its_pdf_downloads(client, kim_org):
    headers, pid = kim_org
    created = client.post("/fhir/DocumentReference", json=_for(INLINE, pid), headers=headers)
    assert created.status_code == 201, created.json
    (document,) = _documents(client, headers)
    assert [c["code"] for c in document["type"]["codings"]] == ["18842-5", "DC-SUM"]
    assert document["type"]["text"] == "퇴원 요약 (discharge summary)"
    assert document["categories"][0]["codings"][0]["code"] == "clinical-note"
    assert (document["status"], document["doc_status"]) == ("current", "final")
    assert document["date"] == "2025-04-18T16:05:00+09:00"
    assert document["description"] == "Discharge summary after community-acquired pneumonia, ward 7"
    assert document["authors"] == [{"reference": "Practitioner/eDr8Lk2", "display": "Dr. Lee Seo-yeon"}]
    assert document["custodian"] == {"display": "Seoul Riverside General Hospital"}
    assert document["identifiers"][0]["value"] == "DOC-88-20417"
    assert document["identifiers"][0]["assigner"] == "Seoul Riverside General Hospital"
    assert document["master_identifier"]["value"] == "DS-2025-04417-v1"
    assert document["encounters"][0]["reference"] == "Encounter/eEnc20250412"
    assert document["period"]["end"] == "2025-04-18T15:00:00+09:00"
    assert document["practice_setting"]["codings"][0]["code"] == "419192003"
    (content,) = document["contents"]
    pdf = _pdf()
    assert content["content_type"] == "application/pdf" and content["language"] == "ko"
    assert content["title"] == "퇴원 요약지 — 김민준" and content["size"] == len(pdf)
    assert content["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324
    assert content["format"]["code"] == "urn:ihe:iti:xds:2017:mimeTypeSufficient"
    assert content["sha256"] == hashlib.sha256(pdf).hexdigest()
    got = client.get(f"/api/v1/documents/{document['id']}/content", headers=headers)
    assert got.status_code == 200 and got.data == pdf
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    # Served again as FHIR, the document is described, with the hospital's words and our identifier.
    served = created.json
    assert (
        served["type"]["coding"][0]["code"] == "18842-5" and "data" not in served["content"][0]["attachment"]
    )
    assert served["identifier"][0]["system"].endswith("/hospital-document")


def test_a_summary_larger_than_an_ordinary_body_is_taken_inline_on_fhir(client, kim_org):
    """A scanned discharge summary runs to megabytes: on /fhir its attachment may be as large as the
    attachment limit allows (the body, and that one string, with it); other writes keep the 1 MiB body, and
    a long string that is no attachment's data is still refused."""
    headers, pid = kim_org
    pdf = b"%PDF-1.4\n" + b"% a scanned page\n" * 100_000 + b"%%EOF\n"  # 1.7 MB, 2.3 MB in base64
    resource = _for(INLINE, pid)
    attachment = resource["content"][0]["attachment"]
    attachment |= {"data": base64.b64encode(pdf).decode(), "size": len(pdf)}
    attachment["hash"] = base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324
    created = client.post("/fhir/DocumentReference", json=resource, headers=headers)
    assert created.status_code == 201, created.json
    (document,) = _documents(client, headers)
    got = client.get(f"/api/v1/documents/{document['id']}/content", headers=headers)
    assert got.status_code == 200 and got.data == pdf
    padded = {"id": "CL-BIG", "family_name": "Big", "notes": "x" * 1_500_000}
    assert client.post("/api/v1/clients", json=padded, headers=headers).status_code == 413
    long_words = _for(INLINE, pid) | {"id": "dsum-long", "description": "x" * 70_000}
    refused = client.post("/fhir/DocumentReference", json=long_words, headers=headers)
    assert refused.status_code == 422
    assert refused.json["issue"][0]["expression"] == ["description"]


def test_a_document_whose_bytes_are_elsewhere_is_kept_without_them(client, kim_org):
    headers, pid = kim_org
    answer = client.post("/fhir/DocumentReference", json=_for(BINARY, pid), headers=headers)
    assert answer.status_code == 201, answer.json
    (document,) = _documents(client, headers)
    assert document["contents"][0]["url"] == "Binary/bin-ds-7731" and "sha256" not in document["contents"][0]
    assert [a.get("display") for a in document["authors"]] == [
        "Dr. Ananya Rao",
        "Lakeside Hospital, cardiology",
    ]
    missing = client.get(f"/api/v1/documents/{document['id']}/content", headers=headers)
    assert missing.status_code == 404 and missing.json["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("content_type", "data", "why"),
    [
        ("application/pdf", b"hello, not a PDF", "the bytes are not application/pdf"),
        ("application/zip", b"PK\x03\x04zip", "content type application/zip is not one a planner can open"),
        ("text/plain", b"\xff\xfe\x00not utf-8", "the bytes are not text/plain"),
    ],
)
def test_an_attachment_that_is_not_what_it_says_is_named_and_not_kept(
    client, kim_org, content_type, data, why
):
    headers, pid = kim_org
    document = _for(INLINE, pid)
    attachment = document["content"][0]["attachment"]
    attachment |= {"contentType": content_type, "data": base64.b64encode(data).decode()}
    answer = client.post("/fhir/DocumentReference", json=document, headers=headers | OUTCOME)
    assert answer.status_code == 201, answer.json
    issues = {i["expression"][0]: i["diagnostics"] for i in answer.json["issue"]}
    assert why in issues["DocumentReference.content[0].attachment.data"]
    (kept,) = _documents(client, headers)
    assert "sha256" not in kept["contents"][0] and kept["type"]["codings"][0]["code"] == "18842-5"
    refused = client.get(f"/api/v1/documents/{kept['id']}/content", headers=headers)
    assert refused.status_code == 404


def test_an_attachment_over_the_size_limit_is_named_and_not_kept(kim_org, service):
    headers, pid = kim_org
    small = dataclasses.replace(service, deps=dataclasses.replace(service.deps, attachment_limit=600))
    client = create_app(services=small).test_client()
    answer = client.post("/fhir/DocumentReference", json=_for(INLINE, pid), headers=headers | OUTCOME)
    assert answer.status_code == 201, answer.json
    issues = {i["expression"][0]: i["diagnostics"] for i in answer.json["issue"]}
    assert issues["DocumentReference.content[0].attachment.data"] == (
        f"the attachment is not kept: {len(_pdf())} bytes, more than the limit of 600"
    )
    (kept,) = _documents(client, headers)
    assert "sha256" not in kept["contents"][0]


def test_the_download_is_guarded_as_reading_the_document(client, kim_org, new_org):
    headers, pid = kim_org
    assert client.post("/fhir/DocumentReference", json=_for(INLINE, pid), headers=headers).status_code == 201
    (document,) = _documents(client, headers)
    path = f"/api/v1/documents/{document['id']}/content"
    plans_only = new_org("system/CarePlan.read", new_org.org_id)
    assert client.get(path, headers=plans_only).status_code == 403
    assert client.get(path).status_code == 401
    another = new_org(org="org-elsewhere-docs")
    assert client.get(path, headers=another).status_code == 404


def test_a_follow_up_appointment_arrives_whole(client, kim_org):
    headers, pid = kim_org
    created = client.post("/fhir/Appointment", json=_for(APPOINTMENT, pid), headers=headers)
    assert created.status_code == 201, created.json
    (appointment,) = client.get("/api/v1/appointments?client_id=CL-20417", headers=headers).json["items"]
    assert appointment["status"] == "booked"
    assert appointment["service_types"][0]["text"] == "호흡기내과 외래 (respiratory clinic)"
    assert appointment["service_categories"][0]["codings"][0]["code"] == "27"
    assert appointment["specialties"][0]["codings"][0]["code"] == "418112009"
    assert appointment["appointment_type"]["codings"][0]["code"] == "FOLLOWUP"
    assert appointment["reason_codes"][0]["text"] == "Pneumonia follow-up"
    assert appointment["description"] == "Post-discharge review with chest X-ray"
    assert (appointment["start"], appointment["end"]) == (
        "2025-04-25T10:30:00+09:00",
        "2025-04-25T11:00:00+09:00",
    )
    assert appointment["minutes_duration"] == 30 and appointment["priority"] == 5
    assert appointment["comment"] == "Book transport: patient does not drive."
    assert appointment["patient_instruction"].startswith("흉부 X선 촬영을 위해 30분 일찍 오세요")
    assert appointment["identifiers"][0]["value"] == "APT-55102"
    me, doctor, place = appointment["participants"]
    assert me["patient"] is True and me["required"] == "required"
    assert (
        doctor["actor"]["display"] == "Dr. Lee Seo-yeon"
        and doctor["types"][0]["codings"][0]["code"] == "ATND"
    )
    assert place["actor"]["display"] == "Respiratory clinic, building B, 2nd floor"
    # On /fhir the client takes part as our Patient, and a search by patient finds the appointment.
    assert created.json["participant"][0]["actor"]["reference"] == f"Patient/{pid}"
    found = client.get(f"/fhir/Appointment?patient={pid}&_include=Appointment:patient", headers=headers).json
    assert {e["resource"]["resourceType"] for e in found["entry"]} == {"Appointment", "Patient"}


def test_an_appointment_of_nobody_we_know_is_refused_naming_the_participants(client, kim_org):
    headers, _ = kim_org
    stranger = _for(APPOINTMENT, "not-ours")
    refused = client.post("/fhir/Appointment", json=stranger, headers=headers)
    assert refused.status_code == 422
    assert refused.json["issue"][0]["expression"] == ["participant.actor"]


def _cli_reverse(resource: dict, tmp_path, capsys) -> tuple[int, dict]:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(resource), encoding="utf-8")
    code = cli.main(["map", str(path), "--reverse", "--client-id", "CL-20417"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


@pytest.mark.parametrize(
    ("name", "records"), [(INLINE, "documents"), (BINARY, "documents"), (APPOINTMENT, "appointments")]
)
def test_map_reverse_and_fhir_agree(client, kim_org, name, records, tmp_path, capsys):
    headers, pid = kim_org
    resource = _for(name, pid)
    code, reversed_ = _cli_reverse(copy.deepcopy(resource), tmp_path, capsys)
    answer = client.post(f"/fhir/{resource['resourceType']}", json=resource, headers=headers | OUTCOME)
    assert code == 0 and len(reversed_[records]) == 1 and answer.status_code == 201, answer.json
    by_cli = {(f["path"], f["severity"], f["message"]) for f in reversed_.get("findings", [])}
    by_fhir = {(i["expression"][0], i["severity"], i["diagnostics"]) for i in answer.json.get("issue", [])}
    assert by_cli == by_fhir
