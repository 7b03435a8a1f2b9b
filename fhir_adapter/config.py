"""Typed settings from FHIR_ADAPTER_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fhir_adapter.mapping.identity import Identity

DEFAULT_DATABASE_URL = "sqlite:///var/fhir-adapter.db"


class SettingsError(Exception):
    """An environment variable has a value the service cannot use; the message names it."""


def normalise_database_url(url: str) -> str:
    """postgres:// and postgresql:// URLs use psycopg 3; other URLs are taken as they are."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    tenant: str = "default"
    source_system: str = "cms"
    identifier_namespace: str = "urn:fhir-adapter:cms"
    mappings_dir: Path | None = None
    mappings_override: Path | None = None
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None  # the public URL of the service, when behind a proxy
    token_cache_seconds: float = 30.0
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_org_claim: str = "org"
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            return env.get(f"FHIR_ADAPTER_{name}") or None

        def path(name: str) -> Path | None:
            value = get(name)
            return Path(value) if value else None

        def number(name: str, default: float) -> float:
            value = get(name)
            try:
                return float(value) if value else default
            except ValueError as err:
                raise SettingsError(f"FHIR_ADAPTER_{name}: not a number: {value!r}") from err

        database = get("DATABASE_URL") or env.get("DATABASE_URL") or cls.database_url
        return cls(
            tenant=get("TENANT") or cls.tenant,
            source_system=get("SOURCE_SYSTEM") or cls.source_system,
            identifier_namespace=get("IDENTIFIER_NAMESPACE") or cls.identifier_namespace,
            mappings_dir=path("MAPPINGS_DIR"),
            mappings_override=path("MAPPINGS_OVERRIDE"),
            database_url=normalise_database_url(database),
            host=get("HOST") or cls.host,
            port=int(number("PORT", cls.port)),
            base_url=get("BASE_URL"),
            token_cache_seconds=number("TOKEN_CACHE_SECONDS", cls.token_cache_seconds),
            jwt_jwks_url=get("JWT_JWKS_URL"),
            jwt_issuer=get("JWT_ISSUER"),
            jwt_audience=get("JWT_AUDIENCE"),
            jwt_org_claim=get("JWT_ORG_CLAIM") or cls.jwt_org_claim,
            log_level=(get("LOG_LEVEL") or cls.log_level).upper(),
        )

    def identity(self) -> Identity:
        return Identity(self.tenant, self.source_system, self.identifier_namespace)
