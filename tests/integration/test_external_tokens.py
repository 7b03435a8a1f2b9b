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

from fhir_adapter.app import create_app
from fhir_adapter.bootstrap import bootstrap

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
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def test_external_tokens(service, new_org, kim, jwks_url):
    new_org()  # the organisation exists
    settings = replace(
        service.settings,
        jwt_jwks_url=jwks_url,
        jwt_issuer="https://idp.example.org",
        jwt_audience="fhir-adapter",
    )
    services = bootstrap(settings, engine=service.engine, catalogue=service.deps.catalogue)
    client = create_app(services=services).test_client()
    try:
        check(client, kim, new_org.org_id)
    finally:
        services.audit.close()


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
