"""Bearer tokens: our own (registered with `fhir-adapter clients add`, kept as SHA-256 hashes) or JWTs of
an external issuer verified against its JWKS. Either way the holder acts for one organisation."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import jwt

from fhir_adapter.config import Settings
from fhir_adapter.domain.stored import ClientRow, OrgRow
from fhir_adapter.mapping.identity import Identity
from fhir_adapter.service import scopes as smart
from fhir_adapter.service.context import Org, Principal, stamp, utc_now
from fhir_adapter.service.errors import Problem, Unauthenticated
from fhir_adapter.service.ports import AlreadyUsed, Storage

T = TypeVar("T")
TOKEN_PREFIX = "fa_"  # noqa: S105 - how our tokens start, not a secret
JWT_ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]
ORG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unauthorized(message: str) -> Unauthenticated:
    return Unauthenticated([Problem("", message, "login")])


def to_org(row: OrgRow, settings: Settings) -> Org:
    identity = Identity(settings.tenant, row.id, row.identifier_namespace)
    return Org(row.id, row.name, row.identifier_namespace, identity, row.time_zone or settings.time_zone)


@dataclass
class Authenticator:
    """Turns an Authorization header into a Principal; lookups are cached for a short time."""

    storage: Storage
    settings: Settings
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], datetime] = utc_now
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _jwks: Any = None

    def authenticate(self, header: str | None) -> Principal:
        if not header:
            raise unauthorized("a bearer token is needed (Authorization: Bearer <token>)")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("the Authorization header takes a bearer token")
        if token.startswith(TOKEN_PREFIX):
            principal = self._cached(token_hash(token), lambda: self._registered(token))
        elif token.count(".") == 2 and self.settings.jwt_jwks_url:
            principal = self._external(token)
        else:
            principal = None
        if principal is None:
            raise unauthorized("the token is not valid")
        return principal

    def _cached(self, key: str, load: Callable[[], T]) -> T:
        """What `load` gives, remembered for token_cache_seconds (a miss is remembered too)."""
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit and hit[0] > now:
            return cast(T, hit[1])
        value = load()
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now + self.settings.token_cache_seconds, value)
        return value

    def _registered(self, token: str) -> Principal | None:
        with self.storage.reading() as work:
            client = work.orgs.client_by_token(token_hash(token))
            org = work.orgs.get_org(client.org_id) if client else None
        if client is None or org is None or client.revoked_at:
            return None
        granted = smart.grants(client.scopes.split())
        return Principal(
            client.id, client.name, to_org(org, self.settings), granted, client.restricted_access
        )

    def _external(self, token: str) -> Principal | None:
        s = self.settings
        try:
            if self._jwks is None:
                self._jwks = jwt.PyJWKClient(s.jwt_jwks_url or "", cache_keys=True, lifespan=300, timeout=5)
            key = self._jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=JWT_ALGORITHMS,
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                options={"require": ["exp", "iat", "iss", "aud"] + (["jti"] if s.jwt_single_use else [])},
            )
        except (jwt.PyJWTError, ValueError):
            return None
        if not self._fresh(claims):
            return None
        org_id = claims.get(s.jwt_org_claim)
        if not isinstance(org_id, str):
            return None
        org = self._cached(f"org:{org_id}", lambda: self._org(org_id))
        if org is None:
            return None
        raw = claims.get("scope", claims.get("scp", ""))
        scope_text = " ".join(raw) if isinstance(raw, list) else str(raw)
        agent = str(claims.get("client_id") or claims.get("sub") or "unknown")
        return Principal(f"jwt:{agent}", agent, org, smart.grants(scope_text.split()))

    def _fresh(self, claims: dict[str, Any]) -> bool:
        """The token expires within the longest lifetime allowed and, when tokens are single-use, has not
        been used before (on any process: the ids used are kept in the database until they expire)."""
        now = self.wall_clock()
        exp = claims["exp"]
        if not isinstance(exp, int | float) or exp - now.timestamp() > self.settings.jwt_max_lifetime_seconds:
            return False
        if not self.settings.jwt_single_use:
            return True
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            return False
        key = hashlib.sha256(f"{claims['iss']}\n{jti}".encode()).hexdigest()
        expires = stamp(datetime.fromtimestamp(exp, UTC))
        try:
            with self.storage.writing() as work:
                work.tokens.remember(key, expires, stamp(now))
        except AlreadyUsed:
            return False
        return True

    def _org(self, org_id: str) -> Org | None:
        with self.storage.reading() as work:
            row = work.orgs.get_org(org_id)
        return to_org(row, self.settings) if row else None


def default_namespace(settings: Settings, org_id: str) -> str:
    return f"{settings.identifier_namespace.rstrip('/')}/{org_id}"


def register_client(
    storage: Storage,
    settings: Settings,
    org_id: str,
    name: str,
    scope_text: str,
    namespace: str | None = None,
    restricted_access: bool = False,
) -> tuple[ClientRow, str]:
    """A new API client of `org_id` (the organisation is made when new) and its token, shown only now."""
    if not ORG_RE.match(org_id):
        raise ValueError(f"an organisation id is lower-case letters, digits and '-': {org_id!r}")
    scopes = smart.parse(scope_text)
    if not scopes:
        raise ValueError("give at least one scope, e.g. --scopes 'system/*.read system/*.write'")
    now = stamp(utc_now())
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ClientRow(
        "c-" + secrets.token_hex(8), org_id, name, " ".join(sorted(scopes)), now, None, restricted_access
    )
    with storage.writing() as work:
        org = work.orgs.get_org(org_id)
        if org is None:
            org = OrgRow(org_id, org_id, namespace or default_namespace(settings, org_id))
            work.orgs.add_org(org, now)
        elif namespace and namespace != org.identifier_namespace:
            raise ValueError(f"organisation {org_id} has the namespace {org.identifier_namespace}")
        work.orgs.add_client(client, token_hash(token))
    return client, token
