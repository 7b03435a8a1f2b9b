"""The requests a delivery makes, against an in-memory EHR that records them (no network, no database): the
order the references give, our references rewritten to the EHR's ids (of this job and of earlier ones), and
the Provenances naming the versions written and removed."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fhir_adapter.delivery import writes
from fhir_adapter.delivery.writes import Outgoing
from fhir_adapter.domain.sync import LedgerAction, Sent

RECORDED = "2025-10-20T22:00:00-05:00"  # a worker's clock in the hospital's zone


class FakeEhr:
    """Conditional updates on identifiers (the server names new resources ehr-1, ehr-2, ...), deletes, a
    transaction of PUTs to our ids, and creates: each request kept as (method, path, body, headers)."""

    base = "https://ehr.example.org/fhir"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        self.by_identifier: dict[str, str] = {}

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        self.requests.append((method, path, body, headers or {}))
        if method == "PUT" and "?identifier=" in path:
            token = parse_qs(path.split("?", 1)[1])["identifier"][0]
            ehr_id = self.by_identifier.setdefault(token, f"ehr-{len(self.by_identifier) + 1}")
            return {**body, "id": ehr_id, "meta": {"versionId": "1"}}
        if method == "POST" and path == "":
            return {"entry": [{"response": {"status": "200 OK", "etag": 'W/"4"'}} for _ in body["entry"]]}
        return {}


def item(rtype: str, rid: str, deleted: bool = False, **body: Any) -> Outgoing:
    ident = {"system": f"https://cms.example.org/ids/{rtype.lower()}", "value": rid}
    return Outgoing(rtype, rid, 2, deleted, {"resourceType": rtype, "id": rid, "identifier": [ident], **body})


def test_conditional_writes_follow_the_references_and_name_the_ehrs_ids() -> None:
    ehr = FakeEhr()
    plan = item(
        "CarePlan", "p1", goal=[{"reference": "Goal/g1"}], supportingInfo=[{"reference": "EpisodeOfCare/e1"}]
    )
    goal = item("Goal", "g1", subject={"reference": "Patient/ours"})
    known = {("EpisodeOfCare", "e1"): Sent("ehr-episode", "7", LedgerAction.PUT)}  # an earlier job's
    written = writes.send_each(ehr, [plan, goal], {"Patient/ours": "Patient/theirs"}, known)
    methods = [(m, p.split("?")[0]) for m, p, _, _ in ehr.requests]
    assert methods == [("PUT", "Goal"), ("PUT", "CarePlan")]  # what the plan names first
    sent_goal, sent_plan = (body for _, _, body, _ in ehr.requests)
    assert sent_goal["subject"] == {"reference": "Patient/theirs"} and "id" not in sent_goal
    assert sent_plan["goal"] == [{"reference": "Goal/ehr-1"}]
    assert sent_plan["supportingInfo"] == [{"reference": "EpisodeOfCare/ehr-episode"}]
    targets = writes.provenance_targets(written, known)
    assert targets == {"UPDATE": ["Goal/ehr-1/_history/1", "CarePlan/ehr-2/_history/1"]}


def test_a_job_that_only_removes_deletes_the_ehrs_resources_and_names_their_last_versions() -> None:
    ehr = FakeEhr()
    known = {("Goal", "g1"): Sent("ehr-goal", "3", LedgerAction.PUT)}
    written = writes.send_each(ehr, [item("Goal", "g1", deleted=True)], {}, known)
    assert [(m, p) for m, p, _, _ in ehr.requests] == [("DELETE", "Goal/ehr-goal")]
    targets = writes.provenance_targets(written, known)
    assert targets == {"DELETE": ["Goal/ehr-goal/_history/3"]}
    prov = writes.provenance("prov-1", targets["DELETE"], RECORDED, "acme", "DELETE")
    writes.send_provenance(ehr, prov, "create")
    method, path, body, headers = ehr.requests[-1]
    assert (method, path) == ("POST", "Provenance") and "id" not in body
    assert headers == {"If-None-Exist": f"_tag={writes.PROVENANCE_TAG}|prov-1"}
    assert body["recorded"] == RECORDED and body["activity"]["coding"][0]["code"] == "DELETE"
    assert body["target"] == [{"reference": "Goal/ehr-goal/_history/3"}]


def test_a_transaction_puts_to_our_ids_and_rewrites_what_an_earlier_job_wrote_under_the_ehrs() -> None:
    ehr = FakeEhr()
    task = item("Task", "t1", focus={"reference": "ServiceRequest/s1"})
    known = {
        ("ServiceRequest", "s1"): Sent("ehr-request", "2", LedgerAction.PUT),
        ("Task", "t1"): Sent("t1", "5", LedgerAction.PUT),
    }
    written = writes.send_transaction(ehr, [task], {}, known)
    ((method, path, bundle, _),) = ehr.requests
    (entry,) = bundle["entry"]
    assert (method, path, bundle["type"]) == ("POST", "", "transaction")
    assert entry["request"] == {"method": "PUT", "url": "Task/t1", "ifMatch": 'W/"5"'}
    assert entry["resource"]["focus"] == {"reference": "ServiceRequest/ehr-request"}
    assert writes.provenance_targets(written, known) == {"UPDATE": ["Task/t1/_history/4"]}


def test_a_reference_that_cannot_resolve_is_taken_out_before_anything_is_sent() -> None:
    ehr = FakeEhr()
    request = item(
        "ServiceRequest",
        "s1",
        extension=[{"url": "urn:goal", "valueReference": {"reference": "Goal/withheld"}}],
        subject={"reference": "Patient/ours"},
    )
    kept = Outgoing(
        request.resource_type, request.id, 2, False, writes.without(request.resource, {"Goal/withheld"})
    )
    writes.send_each(ehr, [kept], {"Patient/ours": "Patient/theirs"}, {})
    ((_, _, body, _),) = ehr.requests
    assert "extension" not in body and writes.references(body) == {"Patient/theirs"}
