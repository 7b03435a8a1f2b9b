"""Tokens of an external issuer, verified against its JWKS served over HTTP."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_adapter import cli
from fhir_adapter.app import create_app
from fhir_adapter.bootstrap import bootstrap, web_app
from fhir_adapter.config import Settings, SettingsError

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def jwks_url():
    keys = []
    for kid, key, alg in (("rsa-1", KEY, "RS384"), ("ec-1", EC_KEY, "ES384")):
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
        keys.append(jwk | {"kid": kid, "alg": alg, "use": "sig"})
    body = json.dumps({"keys": keys}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


def token(org: str, scope: str, key=KEY, kid: str = "rsa-1", alg: str = "RS384", **claims: object) -> str:
    now = int(time.time())
    payload = {
        "iss": "https://idp.example.org",
        "aud": "fhir-adapter",
        "sub": "ehr-app",
        "org": org,
        "scope": scope,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    } | claims
    payload = {k: v for k, v in payload.items() if v is not None}  # a claim given as None is left out
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def external(service, jwks_url):
    """A test client of an app that takes external tokens, built with `settings` overrides."""
    made = []

    def app(**overrides: object):  # type: ignore[no-untyped-def]
        settings = replace(
            service.settings,
            jwt_jwks_url=jwks_url,
            jwt_issuer="https://idp.example.org",
            jwt_audience="fhir-adapter",
            **overrides,
        )
        services = bootstrap(settings, engine=service.engine, catalogue=service.deps.catalogue)
        made.append(services)
        return create_app(services=services).test_client()

    yield app
    for services in made:
        services.audit.close()


def test_external_tokens(external, new_org, kim):
    new_org()  # the organisation exists
    check(external(), kim, new_org.org_id)


def read(client, bearer: str) -> int:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {bearer}"}
    return int(client.get("/api/v1/clients?limit=1", headers=headers).status_code)


def test_a_token_is_good_for_one_request_on_any_process(external, new_org):
    new_org()
    one, other = external(), external()  # two web processes, one database
    used = token(new_org.org_id, "system/Patient.read")
    assert read(one, used) == 200
    assert read(one, used) == 401
    assert read(other, used) == 401
    assert read(other, token(new_org.org_id, "system/Patient.read")) == 200
    assert read(one, token(new_org.org_id, "system/Patient.read", jti=None)) == 401  # no jti: no way to tell
    reusable = external(jwt_single_use=False)
    again = token(new_org.org_id, "system/Patient.read")
    assert read(reusable, again) == 200 and read(reusable, again) == 200


@pytest.mark.parametrize(
    ("lifetime", "status"), [(60, 200), (3500, 200), (3700, 401), (100 * 365 * 86400, 401)]
)
def test_a_token_that_lives_longer_than_allowed_is_refused(external, new_org, lifetime, status):
    new_org()
    app = external()
    assert read(app, token(new_org.org_id, "system/Patient.read", exp=int(time.time()) + lifetime)) == status
    assert read(app, token(new_org.org_id, "system/Patient.read", exp=None)) == 401
    longer = external(jwt_max_lifetime_seconds=200 * 365 * 86400.0)
    assert read(longer, token(new_org.org_id, "system/Patient.read", exp=int(time.time()) + lifetime)) == 200


@pytest.mark.parametrize("missing", ["jwt_audience", "jwt_issuer"])
def test_a_key_set_without_audience_and_issuer_is_refused_at_start(service, jwks_url, missing):
    complete = {"jwt_jwks_url": jwks_url, "jwt_issuer": "https://idp.example.org", "jwt_audience": "fa"}
    with pytest.raises(SettingsError, match="FHIR_ADAPTER_JWT_AUDIENCE and FHIR_ADAPTER_JWT_ISSUER"):
        web_app(replace(service.settings, **complete | {missing: None}))
    env = {f"FHIR_ADAPTER_{k.upper()}": str(v) for k, v in complete.items() if k != missing}
    with pytest.raises(SettingsError):
        Settings.from_env(env)


def test_the_command_line_says_why_it_does_not_start(monkeypatch, capsys, jwks_url):
    monkeypatch.setenv("FHIR_ADAPTER_JWT_JWKS_URL", jwks_url)
    monkeypatch.delenv("FHIR_ADAPTER_JWT_AUDIENCE", raising=False)
    assert cli.main(["serve", "--port", "1"]) == 2
    assert "FHIR_ADAPTER_JWT_AUDIENCE" in capsys.readouterr().err


def check(client, kim, org):  # type: ignore[no-untyped-def]

    def status(bearer: str, method: str = "GET", body: object = None) -> int:
        url = "/api/v1/clients" if method == "POST" else "/api/v1/clients/CL-20417"
        response = client.open(url, method=method, json=body, headers={"Authorization": f"Bearer {bearer}"})
        return response.status_code

    assert status(token(org, "system/Patient.write"), "POST", kim["client"]) == 201
    assert status(token(org, "system/Patient.read", EC_KEY, "ec-1", "ES384")) == 200
    assert status(token(org, "system/Goal.read")) == 403
    assert status(token(org, "system/Patient.read", aud="someone-else")) == 401
    assert status(token(org, "system/Patient.read", iss="https://evil.example.org")) == 401
    assert status(token(org, "system/Patient.read", exp=int(time.time()) - 10)) == 401
    assert status(token("no-such-org", "system/Patient.read")) == 401
    forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert status(token(org, "system/Patient.read", forged)) == 401
    assert status(token(org, "system/Patient.read", kid="unknown-kid")) == 401
