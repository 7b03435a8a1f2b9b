"""Idempotency-Key: a repeat gets the first response; another body under the same key is refused; concurrent
repeats make one record."""

from __future__ import annotations

import copy
import threading

from sqlalchemy import func, select

from fhir_adapter.adapters.tables import fhir_resources, records


def test_a_repeat_gets_the_first_response(client, new_org, kim):
    headers = new_org() | {"Idempotency-Key": "create-kim-1"}
    first = client.post("/api/v1/clients", json=kim["client"], headers=headers)
    again = client.post("/api/v1/clients", json=kim["client"], headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.data == first.data and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    changed = copy.deepcopy(kim["client"]) | {"gender": "male"}
    refused = client.post("/api/v1/clients", json=changed, headers=headers)
    assert refused.status_code == 422 and refused.json["issue"][0]["expression"] == ["Idempotency-Key"]
    new_key = client.post(
        "/api/v1/clients", json=kim["client"], headers=headers | {"Idempotency-Key": "other"}
    )
    assert new_key.status_code == 409  # a new key for an existing record is a new request


def test_a_refused_request_does_not_keep_its_key(client, new_org, kim):
    headers = new_org() | {"Idempotency-Key": "k-refused"}
    broken = copy.deepcopy(kim["client"]) | {"gender": "robot"}
    assert client.post("/api/v1/clients", json=broken, headers=headers).status_code == 422
    assert client.post("/api/v1/clients", json=kim["client"], headers=headers).status_code == 201


def test_twenty_concurrent_repeats_create_one_record(app, service, new_org, kim):
    headers = new_org() | {"Idempotency-Key": "concurrent-1"}
    org = new_org.org_id
    barrier = threading.Barrier(20)
    answers: list[tuple[int, bytes]] = []

    def post() -> None:
        barrier.wait()
        response = app.test_client().post("/api/v1/clients", json=kim["client"], headers=headers)
        answers.append((response.status_code, response.data))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 20
    assert {status for status, _ in answers} == {201}, answers
    assert len({body for _, body in answers}) == 1
    with service.engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(records).where(records.c.org_id == org)).scalar()
        patients = conn.execute(
            select(func.count()).select_from(fhir_resources).where(fhir_resources.c.org_id == org)
        ).scalar()
    assert kept == 1 and patients == 1


def test_pruned_keys_are_forgotten(client, service, new_org, kim):
    from fhir_adapter.adapters import idempotency_store
    from fhir_adapter.adapters.db import writing

    headers = new_org() | {"Idempotency-Key": "old-key"}
    assert client.post("/api/v1/clients", json=kim["client"], headers=headers).status_code == 201
    with writing(service.engine) as conn:
        assert idempotency_store.prune(conn, "2000-01-01T00:00:00.000000Z") == 0
        assert idempotency_store.prune(conn, "2999-01-01T00:00:00.000000Z") >= 1
    assert client.post("/api/v1/clients", json=kim["client"], headers=headers).status_code == 409
