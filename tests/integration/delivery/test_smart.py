"""SMART Backend Services against a token endpoint that verifies our client assertions with the JWKS the
service publishes: signature, aud, exp, jti never reused; the token is cached until shortly before it expires."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from fhir_adapter.app import create_app
from fhir_adapter.bootstrap import bootstrap
from fhir_adapter.cli import main as cli
from tests.support.delivery import Harness

CLIENT_ID = "fhir-adapter-at-general-hospital"


@pytest.fixture(params=["ES384", "RS384"])
def key(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"{request.param}.pem"
    assert cli(["keys", "generate", str(path), "--alg", request.param]) == 0
    return path


@pytest.fixture
def published(service: Any, key: Path) -> Iterator[str]:
    """The service over HTTP, publishing `key` at /.well-known/jwks.json; its base URL."""
    settings = dataclasses.replace(service.settings, signing_keys=(key,))
    app = create_app(services=bootstrap(settings, engine=service.engine, catalogue=service.deps.catalogue))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def smart_harness(h: Harness, published: str, lifetime: int = 300) -> None:
    h.proxy.enable_smart(f"{published}/.well-known/jwks.json", CLIENT_ID, token_lifetime=lifetime)
    h.ehr_id = "smart-ehr"
    h.register_ehr(auth="smart", client_id=CLIENT_ID, scope="system/CarePlan.write system/Goal.write")


def test_the_worker_gets_a_token_with_a_signed_assertion_and_reuses_it(
    harness: Harness, published: str, key: Path
) -> None:
    h = harness
    smart_harness(h, published)
    worker = h.worker(signing_keys=(key,))
    first, second = h.new_client(), h.new_client()
    h.drain(worker)
    assert {j.state for j in h.jobs()} == {"delivered"}
    h.assert_exactly_once(first)
    h.assert_exactly_once(second)
    assert h.proxy.token_failures == []
    assert h.proxy.token_requests == 1  # cached for the second job
    h.drain(h.worker(signing_keys=(key,)))  # nothing to do; a new worker would ask with a new jti
    h.change_plan(first, "with a second worker")
    h.drain(h.worker(signing_keys=(key,)))
    assert h.proxy.token_requests == 2 and len(h.proxy.seen_jti) == 2


def test_a_token_about_to_expire_is_renewed(harness: Harness, published: str, key: Path) -> None:
    h = harness
    smart_harness(h, published, lifetime=2)
    worker = h.worker(signing_keys=(key,))
    client_id = h.new_client()
    h.drain(worker)
    import time

    time.sleep(1.2)  # past the half of its life the worker keeps a short token for
    h.change_plan(client_id, "after the token aged")
    h.drain(worker)
    assert h.proxy.token_requests == 2 and h.proxy.token_failures == []


def test_a_key_the_ehr_does_not_know_is_refused_and_retried_not_dropped(
    harness: Harness, published: str, tmp_path: Path
) -> None:
    h = harness
    smart_harness(h, published)
    stranger = tmp_path / "unpublished.pem"
    assert cli(["keys", "generate", str(stranger)]) == 0
    worker = h.worker(signing_keys=(stranger,))
    h.new_client()
    assert worker.run_once()
    (job,) = h.jobs()
    assert job.state == "pending" and job.last_reason == "token_refused"
    assert h.proxy.token_failures and h.ehr.search("CarePlan") == []
