"""An EHR that takes CarePlan, Goal, ServiceRequest, Task and QuestionnaireResponse only to read gets each
record as a clinical note: a US Core DocumentReference with the page as HTML and PDF, in the client's
script, one current document per record; and an EHR that refuses a type it claimed makes the worker look
its capabilities up again and take the fallback instead of retrying."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader

from fhir_adapter.adapters import capability_store
from fhir_adapter.adapters.db import reading
from tests.integration.conftest import seed
from tests.support.delivery import Harness
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.fonts import require_script_fonts

PLAN_NOTE, EVALUATION_NOTE, REFERRAL_NOTE = "18776-5", "51848-0", "57133-1"


@pytest.fixture(scope="module", autouse=True)
def fonts() -> None:
    require_script_fonts()


def _harness(base: Harness, server: EhrServer, ehr_id: str) -> Iterator[Harness]:
    server.reset()
    proxy = FaultProxy(server.url).start()
    h = Harness(base.service, base.client, base.headers, base.org_id, server, proxy)
    h.ehr_id = ehr_id
    h.register_ehr()
    yield h
    proxy.stop()


@pytest.fixture
def restrictive(harness: Harness, restrictive_ehr: EhrServer) -> Iterator[Harness]:
    yield from _harness(harness, restrictive_ehr, "restrictive")


@pytest.fixture
def no_transaction(harness: Harness, no_transaction_ehr: EhrServer) -> Iterator[Harness]:
    yield from _harness(harness, no_transaction_ehr, "no-transaction")


def admit(h: Harness, case: dict[str, Any], patient: str) -> str:
    """The client and every record of the case, then the link to the EHR's patient: all of it queued."""
    seed(h.client, h.headers, case)
    client_id = case["client"]["id"]
    h.ehr.put({"resourceType": "Patient", "id": patient, "identifier": [{"value": client_id}]})
    h.post(f"/api/v1/clients/{client_id}/ehr-links", {"ehr": h.ehr_id, "patient_id": patient})
    h.drain(timeout=120)
    return client_id


def attachments(doc: dict[str, Any]) -> dict[str, bytes]:
    return {c["attachment"]["contentType"]: base64.b64decode(c["attachment"]["data"]) for c in doc["content"]}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_the_restrictive_ehr_gets_each_record_as_a_readable_document(
    restrictive: Harness, kim: dict[str, Any]
) -> None:
    h = restrictive
    admit(h, kim, "pt-doc")
    assert {j.state for j in h.jobs()} == {"delivered"}
    for rtype in ("CarePlan", "Goal", "ServiceRequest", "Task", "QuestionnaireResponse"):
        assert h.ehr.search(rtype) == [], rtype
    docs = h.ehr.search("DocumentReference")
    types = sorted(d["type"]["coding"][0]["code"] for d in docs)
    assessments, referrals = len(kim["assessments"]), len(kim["referrals"])
    assert types.count(PLAN_NOTE) == len(kim["service_plans"])
    assert types.count(EVALUATION_NOTE) == assessments and types.count(REFERRAL_NOTE) == referrals
    assert {d["status"] for d in docs} == {"current"}
    assert {d["subject"]["reference"] for d in docs} == {"Patient/pt-doc"}
    assert all(d["category"][0]["coding"][0]["code"] == "clinical-note" for d in docs)

    (plan_doc,) = [d for d in docs if d["type"]["coding"][0]["code"] == PLAN_NOTE]
    files = attachments(plan_doc)
    assert set(files) == {"text/html", "application/pdf"}
    html, text = files["text/html"].decode(), pdf_text(files["application/pdf"])
    goals = [g["description"] for g in kim["service_plans"][0]["goals"]]
    for found in (html, text):
        assert "김서연" in found
        for goal in goals:
            assert " ".join(goal.split()[:4]) in " ".join(found.split()), goal
    kinds = {r.resource_type: r.action for r in h.ledger() if r.ehr_id == h.ehr_id}
    assert kinds["CarePlan"] == "DOCUMENT" and kinds["DocumentReference"] == "PUT"
    h.assert_sound()


@pytest.mark.postgresql_only  # the same on SQLite as the first test shows; CI time
def test_a_changed_plan_replaces_its_document(restrictive: Harness, kim: dict[str, Any]) -> None:
    h = restrictive
    admit(h, kim, "pt-doc2")
    plan_id = kim["service_plans"][0]["id"]
    (first,) = h.ehr.search("DocumentReference", type=f"http://loinc.org|{PLAN_NOTE}")
    path = f"/api/v1/service-plans/{plan_id}"
    body = h.client.get(path, headers=h.headers).json
    body.pop("version")
    body["title"] = "집으로 돌아가기 — housing first"
    assert h.client.put(path, json=body, headers=h.headers).status_code == 200
    h.drain(timeout=60)
    h.drain(timeout=60)  # a resend finds the same version there: no copy
    plans = h.ehr.search("DocumentReference", type=f"http://loinc.org|{PLAN_NOTE}")
    assert len(plans) == 2
    (current,) = [d for d in plans if d["status"] == "current"]
    (old,) = [d for d in plans if d["status"] == "superseded"]
    assert old["id"] == first["id"]
    assert current["relatesTo"] == [
        {"code": "replaces", "target": {"reference": f"DocumentReference/{first['id']}"}}
    ]
    assert current["identifier"] == first["identifier"]
    assert "집으로 돌아가기" in attachments(current)["text/html"].decode()
    assert len(h.ehr.search("DocumentReference", identifier=_token(first))) == 2
    assert {j.state for j in h.jobs()} == {"delivered"}
    h.assert_sound()


def _token(doc: dict[str, Any]) -> str:
    ident = doc["identifier"][0]
    return f"{ident['system']}|{ident['value']}"


def test_a_405_on_a_type_reads_the_capabilities_again_and_takes_the_fallback(
    no_transaction: Harness, kim: dict[str, Any]
) -> None:
    h = no_transaction
    h.proxy.inject(Fault("status", 405, method="PUT", path_prefix="/CarePlan"))
    admit(h, kim, "pt-405")
    jobs = h.jobs()
    assert {j.state for j in jobs} == {"delivered"} and all(j.attempts <= 1 for j in jobs)
    assert h.ehr.search("CarePlan") == []
    assert len(h.ehr.search("DocumentReference", type=f"http://loinc.org|{PLAN_NOTE}")) == 1
    assert len(h.ehr.search("Goal")) == len(kim["service_plans"][0]["goals"])  # still written as Goals
    asked = [(r["method"], r["url"]) for r in h.ehr.requests()]
    assert asked.count(("GET", "metadata")) == 2  # once, then again after the refusal
    with reading(h.service.engine) as conn:
        data, _, _ = capability_store.read(conn, h.org_id, h.ehr_id)
    assert data is not None and "CarePlan" in data["refused"]
    h.assert_sound()


@pytest.mark.postgresql_only  # the same on SQLite as the first test shows; CI time
def test_an_ehr_that_refuses_documents_too_gives_a_dead_letter_that_says_so(
    restrictive: Harness, kim: dict[str, Any]
) -> None:
    h = restrictive
    for _ in range(12):
        h.proxy.inject(Fault("status", 403, method="POST", path_prefix="/DocumentReference"))
    kim["assessments"], kim["referrals"] = [], []
    admit(h, kim, "pt-refused")
    dead = h.jobs("dead")
    assert dead and all(j.last_reason == "documents_refused" for j in dead)
    assert "DocumentReference" in str(dead[0].last_error)


@pytest.mark.postgresql_only  # the same on SQLite as the first test shows; CI time
def test_a_reset_after_the_ehr_made_a_document_makes_no_copy_and_a_503_is_retried(
    restrictive: Harness, kim: dict[str, Any]
) -> None:
    h = restrictive
    h.proxy.inject(
        Fault("reset_after_commit", method="POST", path_prefix="/DocumentReference"),
        Fault("status", 503, method="POST", path_prefix="/DocumentReference"),
        Fault("status", 503, method="POST", path_prefix="/DocumentReference"),
    )
    admit(h, kim, "pt-faults")
    assert {j.state for j in h.jobs()} == {"delivered"}
    docs = h.ehr.search("DocumentReference")
    records = (
        len(kim["episodes"]) + len(kim["assessments"]) + len(kim["service_plans"]) + len(kim["referrals"])
    )
    assert len(docs) == records and {d["status"] for d in docs} == {"current"}  # one each, no copy
    assert len({_token(d) for d in docs}) == records
    h.assert_sound()
