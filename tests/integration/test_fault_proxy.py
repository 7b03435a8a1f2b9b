"""The fault proxy itself, before the real stand-in EHR: forwarding, each kind of fault, and SMART tokens."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import ASSERTION_TYPE, Fault, FaultProxy

CLIENT_ID = "fhir-adapter-test"
KID = "test-key-1"


@pytest.fixture
def proxy(ehr: EhrServer) -> Iterator[FaultProxy]:
    ehr.reset()
    with FaultProxy(ehr.url) as running:
        yield running
    assert running.errors == []


def goal(goal_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "id": goal_id,
        "lifecycleStatus": "active",
        "description": {"text": "Stable housing within 90 days"},
        "subject": {"reference": "Patient/p-1"},
    }


def put_goal(proxy: FaultProxy, goal_id: str, **kwargs: Any) -> requests.Response:
    headers = {"Content-Type": "application/fhir+json", **kwargs.pop("headers", {})}
    return requests.put(
        f"{proxy.url}/Goal/{goal_id}", json=goal(goal_id), headers=headers, timeout=10, **kwargs
    )


def test_forwards_a_put_and_reads_it_back_over_one_kept_alive_connection(
    proxy: FaultProxy, ehr: EhrServer
) -> None:
    with requests.Session() as session:
        put = session.put(f"{proxy.url}/Goal/g-1", json=goal("g-1"), timeout=10)
        read = session.get(f"{proxy.url}/Goal/g-1", headers={"Accept": "application/fhir+json"}, timeout=10)
    assert put.status_code in (200, 201), put.text
    assert put.headers["ETag"].startswith('W/"') and put.headers["Location"].startswith("Goal/g-1/_history/")
    assert read.status_code == 200 and read.headers["Content-Type"] == "application/fhir+json"
    assert read.json()["description"] == goal("g-1")["description"]
    assert read.headers["ETag"] == put.headers["ETag"]
    assert [resource["id"] for resource in ehr.search("Goal", _id="g-1")] == ["g-1"]
    assert proxy.log == [("PUT", "/Goal/g-1", put.status_code), ("GET", "/Goal/g-1", 200)]


def test_a_503_fault_with_retry_after_is_consumed_once(proxy: FaultProxy, ehr: EhrServer) -> None:
    proxy.inject(Fault("status", 503, retry_after="7", method="PUT", path_prefix="/Goal"))
    assert requests.get(f"{proxy.url}/Goal/none", timeout=10).status_code == 404  # not a PUT: passes
    first = put_goal(proxy, "g-2")
    assert first.status_code == 503 and first.headers["Retry-After"] == "7"
    assert first.headers["Content-Type"] == "application/fhir+json"
    assert first.json()["resourceType"] == "OperationOutcome"
    assert ehr.search("Goal", _id="g-2") == []  # not forwarded
    assert put_goal(proxy, "g-2").status_code in (200, 201)
    assert [status for _, _, status in proxy.log] == [404, 503, 200]


def test_a_status_fault_can_carry_its_own_body(proxy: FaultProxy) -> None:
    proxy.inject(Fault("status", 429, body={"resourceType": "OperationOutcome", "issue": []}))
    answer = requests.get(f"{proxy.url}/Goal/x", timeout=10)
    assert answer.status_code == 429 and answer.json() == {"resourceType": "OperationOutcome", "issue": []}
    assert "Retry-After" not in answer.headers


def test_reset_after_commit_hides_an_answer_the_ehr_committed(proxy: FaultProxy, ehr: EhrServer) -> None:
    proxy.inject(Fault("reset_after_commit", method="PUT"))
    with pytest.raises(requests.ConnectionError):
        put_goal(proxy, "g-3")
    assert [resource["id"] for resource in ehr.search("Goal", _id="g-3")] == ["g-3"]
    assert proxy.log == [("PUT", "/Goal/g-3", -1)]


def test_reset_before_forward_never_reaches_the_ehr(proxy: FaultProxy, ehr: EhrServer) -> None:
    proxy.inject(Fault("reset_before_forward"))
    with pytest.raises(requests.ConnectionError):
        put_goal(proxy, "g-4")
    assert ehr.search("Goal", _id="g-4") == []


def test_hang_closes_without_an_answer_after_its_seconds(proxy: FaultProxy, ehr: EhrServer) -> None:
    proxy.inject(Fault("hang", seconds=0.5))
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        put_goal(proxy, "g-5")
    assert 0.5 <= time.monotonic() - started < 5
    assert ehr.search("Goal", _id="g-5") == []
    proxy.inject(Fault("hang", seconds=5))
    with pytest.raises(requests.Timeout):  # a client with a shorter timeout gives up first
        requests.get(f"{proxy.url}/Goal/g-5", timeout=0.3)


def test_down_closes_every_connection_at_once(proxy: FaultProxy) -> None:
    with requests.Session() as session:
        assert session.get(f"{proxy.url}/metadata", timeout=10).status_code == 200
        proxy.down = True
        with pytest.raises(requests.ConnectionError):
            session.get(f"{proxy.url}/metadata", timeout=10)  # on the kept-alive connection
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{proxy.url}/metadata", timeout=10)  # on a new one
        proxy.down = False
        assert session.get(f"{proxy.url}/metadata", timeout=10).status_code == 200


def test_delay_adds_latency(proxy: FaultProxy) -> None:
    proxy.delay_seconds = 0.3
    started = time.monotonic()
    assert requests.get(f"{proxy.url}/metadata", timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.3


# --- SMART Backend Services ---


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def jwks_url(signing_key: ec.EllipticCurvePrivateKey) -> Iterator[str]:
    """A JWKS with the public half of the signing key, served by a thread of its own."""
    jwk = {**ECAlgorithm.to_jwk(signing_key.public_key(), as_dict=True), "kid": KID, "alg": "ES384"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def smart(proxy: FaultProxy, jwks_url: str) -> FaultProxy:
    proxy.enable_smart(jwks_url, CLIENT_ID)
    return proxy


def assertion(key: ec.EllipticCurvePrivateKey, token_url: str, /, exp_in: int = 240, **claims: Any) -> str:
    exp = int(time.time()) + exp_in
    payload = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": token_url, "exp": exp, "jti": uuid.uuid4().hex}
    return jwt.encode({**payload, **claims}, key, algorithm="ES384", headers={"kid": KID})


def ask_token(proxy: FaultProxy, signed: str) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        "scope": "system/Goal.write",
    }
    return requests.post(proxy.token_url, data=form, timeout=10)


def test_smart_configuration_names_the_token_endpoint(smart: FaultProxy) -> None:
    config = requests.get(f"{smart.url}/.well-known/smart-configuration", timeout=10).json()
    assert config["token_endpoint"] == f"{smart.url}/token"
    assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert smart.log == [("GET", "/.well-known/smart-configuration", 200)]


def test_a_good_es384_assertion_gets_a_token_that_opens_the_ehr(
    smart: FaultProxy, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    answer = ask_token(smart, assertion(signing_key, smart.token_url))
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert (token["token_type"], token["expires_in"]) == ("bearer", 300)
    assert token["scope"] == "system/Goal.write"
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert put_goal(smart, "g-6", headers=bearer).status_code in (200, 201)
    assert smart.token_requests == 1 and smart.token_failures == [] and len(smart.seen_jti) == 1


def test_a_replayed_jti_is_refused(smart: FaultProxy, signing_key: ec.EllipticCurvePrivateKey) -> None:
    signed = assertion(signing_key, smart.token_url, jti="once-only")
    assert ask_token(smart, signed).status_code == 200
    replay = ask_token(smart, signed)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_client"
    assert "once-only" in replay.json()["error_description"] and smart.token_requests == 2


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "http://127.0.0.1:1/token"}, "audience"),
        ({"exp_in": 600}, "exp"),
        ({"exp_in": -60}, "expired"),
        ({"iss": "someone-else"}, "issuer"),
    ],
    ids=["wrong-aud", "exp-10-minutes-ahead", "expired", "wrong-iss"],
)
def test_bad_assertions_are_refused(
    smart: FaultProxy, signing_key: ec.EllipticCurvePrivateKey, claims: dict[str, Any], why: str
) -> None:
    refused = ask_token(smart, assertion(signing_key, smart.token_url, **claims))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client"
    assert why in refused.json()["error_description"].lower()
    assert len(smart.token_failures) == 1 and why in smart.token_failures[0].lower()


def test_a_foreign_signature_is_refused_with_401(smart: FaultProxy) -> None:
    stranger = ec.generate_private_key(ec.SECP384R1())
    refused = ask_token(smart, assertion(stranger, smart.token_url))
    assert refused.status_code == 401 and "signature" in refused.json()["error_description"]


def test_requests_without_a_valid_token_get_401_and_are_not_forwarded(
    smart: FaultProxy, ehr: EhrServer
) -> None:
    assert put_goal(smart, "g-7").status_code == 401
    assert put_goal(smart, "g-7", headers={"Authorization": "Bearer made-up"}).status_code == 401
    assert ehr.search("Goal", _id="g-7") == []


def test_a_static_bearer_must_match_exactly(proxy: FaultProxy) -> None:
    proxy.static_bearer("s3cret")
    assert put_goal(proxy, "g-8", headers={"Authorization": "Bearer s3cret"}).status_code in (200, 201)
    assert put_goal(proxy, "g-8", headers={"Authorization": "Bearer s3cret2"}).status_code == 401
    assert put_goal(proxy, "g-8").status_code == 401
