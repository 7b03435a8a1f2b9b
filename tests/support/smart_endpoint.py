"""The SMART Backend Services token endpoint that `FaultProxy` plays (tests/support/fault_proxy.py).

A client asks for a token with a JWT assertion signed by a key it publishes in a JWKS (private_key_jwt,
RS384 or ES384). The endpoint checks the grant form and the assertion (alg, kid, signature, iss, sub,
aud, an exp at most five minutes ahead, a jti never seen before), fetches the JWKS again when it meets
an unknown kid (key rotation), and issues opaque bearer tokens that `FaultProxy.authorize` accepts until
they expire. This module holds the rules and the tokens; the proxy (a `SmartHost`) routes the HTTP
requests here, frames the answers, and keeps the counts its tests read.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

import jwt
import requests

SMART_CONFIGURATION = "/.well-known/smart-configuration"
GRANT_PATH = "/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS384", "ES384")
MAX_ASSERTION_LIFETIME = 300
CLOCK_LEEWAY = 5
DECODE_OPTIONS: Any = {"require": ["iss", "sub", "aud", "exp", "jti"], "strict_aud": True}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class SmartHost(Protocol):
    """The proxy serving the endpoint: its token URL (the assertions' aud) and the counts the tests read."""

    token_requests: int
    token_failures: list[str]  # the reason for each refusal
    seen_jti: set[str]

    @property
    def token_url(self) -> str: ...


class _Refused(Exception):
    """A token request turned down: `reason` becomes the error_description, answered with `status`."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass
class _Smart:
    """The client the endpoint serves: where its keys are published, its id, and the tokens' lifetime."""

    jwks_url: str
    client_id: str
    token_lifetime: int


class SmartEndpoint:
    """The token endpoint's rules and state; it issues nothing until `enable` names the client."""

    def __init__(self, host: SmartHost, lock: threading.Lock, session: requests.Session) -> None:
        self._host = host
        self._lock = lock  # the host's, shared by its handler threads
        self._session = session  # the host's, for the JWKS
        self._smart: _Smart | None = None
        self._tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self._jwks: dict[str, dict[str, Any]] = {}  # kid -> JWK, as last fetched

    @property
    def enabled(self) -> bool:
        return self._smart is not None

    def enable(self, jwks_url: str, client_id: str, token_lifetime: int) -> None:
        self._smart = _Smart(jwks_url, client_id, token_lifetime)

    def issued(self, token: str) -> bool:
        """Whether `token` was issued here and has not expired yet."""
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and expiry > time.time()

    def configuration(self) -> dict[str, Any]:
        """The document served at SMART_CONFIGURATION."""
        return {
            "token_endpoint": self._host.token_url,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "grant_types_supported": ["client_credentials"],
            "capabilities": ["client-confidential-asymmetric"],
        }

    def grant(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer the token request whose form is `body`: the HTTP status and the JSON to send back."""
        with self._lock:
            self._host.token_requests += 1
        form = {key: values[-1] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
        try:
            self._check_assertion(form)
        except _Refused as refused:
            with self._lock:
                self._host.token_failures.append(refused.reason)
            return refused.status, {"error": "invalid_client", "error_description": refused.reason}
        assert self._smart is not None
        token, lifetime = secrets.token_urlsafe(32), self._smart.token_lifetime
        with self._lock:
            self._tokens[token] = time.time() + lifetime
        granted: dict[str, Any] = {"access_token": token, "token_type": "bearer", "expires_in": lifetime}
        granted["scope"] = form.get("scope") or "system/*.write"
        return 200, granted

    def _check_assertion(self, form: dict[str, str]) -> None:
        for name, wanted in (("grant_type", "client_credentials"), ("client_assertion_type", ASSERTION_TYPE)):
            if form.get(name) != wanted:
                raise _Refused(f"{name} must be {wanted}, not {form.get(name)!r}")
        assertion = form.get("client_assertion")
        if not assertion:
            raise _Refused("client_assertion is missing")
        claims = self._decode(assertion, self._assertion_key(assertion))
        if claims["exp"] > time.time() + MAX_ASSERTION_LIFETIME + CLOCK_LEEWAY:
            raise _Refused(f"exp is more than {MAX_ASSERTION_LIFETIME} s ahead")
        self._claim_jti(str(claims["jti"]))

    def _assertion_key(self, assertion: str) -> jwt.PyJWK:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError as err:
            raise _Refused(f"client_assertion is not a JWT: {err}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ASSERTION_ALGORITHMS:
            raise _Refused(f"alg {alg!r} is not one of {', '.join(ASSERTION_ALGORITHMS)}")
        if not kid:
            raise _Refused("the assertion's header has no kid")
        jwk = self._find_jwk(str(kid))
        if jwk.get("alg", alg) != alg:
            raise _Refused(f"key {kid!r} is for {jwk['alg']}, the assertion is signed {alg}", 401)
        try:
            return jwt.PyJWK(jwk, algorithm=alg)
        except jwt.PyJWTError as err:
            raise _Refused(f"key {kid!r} cannot verify {alg}: {err}", 401) from None

    def _find_jwk(self, kid: str) -> dict[str, Any]:
        """The client's key `kid`, from the cached JWKS or, when unknown there (rotation), a fresh fetch."""
        assert self._smart is not None
        if kid not in self._jwks:
            try:
                response = self._session.get(self._smart.jwks_url, timeout=5)
                response.raise_for_status()
                self._jwks = {str(key["kid"]): key for key in response.json()["keys"] if "kid" in key}
            except (requests.RequestException, ValueError, KeyError, TypeError) as err:
                raise _Refused(f"could not fetch the JWKS at {self._smart.jwks_url}: {err}") from None
        if kid not in self._jwks:
            raise _Refused(f"kid {kid!r} is not in the client's JWKS", 401)
        return self._jwks[kid]

    def _decode(self, assertion: str, key: jwt.PyJWK) -> dict[str, Any]:
        assert self._smart is not None
        client_id = self._smart.client_id
        try:
            return jwt.decode(
                assertion,
                key,
                algorithms=[key.algorithm_name],
                options=DECODE_OPTIONS,
                audience=self._host.token_url,
                issuer=client_id,
                subject=client_id,
                leeway=CLOCK_LEEWAY,
            )
        except jwt.InvalidSignatureError:
            raise _Refused("the assertion's signature does not verify", 401) from None
        except jwt.PyJWTError as err:
            raise _Refused(f"the assertion is invalid: {err}") from None

    def _claim_jti(self, jti: str) -> None:
        with self._lock:
            if not jti or jti in self._host.seen_jti:
                raise _Refused(f"jti {jti!r} is empty or was used before (replay)")
            self._host.seen_jti.add(jti)
