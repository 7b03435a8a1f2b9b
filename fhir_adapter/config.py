"""Typed settings from FHIR_ADAPTER_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fhir_adapter.domain.attachments import DEFAULT_LIMIT
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
    trusted_hosts: tuple[str, ...] = ()  # the Host names answered (".example.org" too); (): any
    token_cache_seconds: float = 30.0
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_org_claim: str = "org"
    jwt_max_lifetime_seconds: float = 3600.0  # an external token whose `exp` is further away is refused
    jwt_single_use: bool = True  # an external token's `jti` is accepted once
    log_level: str = "INFO"
    # /fhir search: parameters and values (comma-separated ones counted) one search may ask for
    search_max_parameters: int = 20
    search_max_values: int = 100
    statement_timeout_seconds: float = 10.0  # web requests only: a longer statement is stopped
    # delivery to EHRs
    signing_keys: tuple[Path, ...] = (Path("var/keys/client-assertion.pem"),)
    worker_embedded: bool | None = None  # None: an in-process worker when the database is SQLite
    lease_seconds: float = 300.0
    ehr_timeout_seconds: float = 30.0
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 300.0
    max_attempts: int = 2000  # about a week at the cap; then the job is a dead letter, still replayable
    reconcile_limit: int = 3
    poll_seconds: float = 0.2
    batch_jobs: int = 50  # a patient's queued jobs one claim takes together
    encounter_recheck_seconds: float = 600.0  # an Encounter the EHR did not have is not sought again so soon
    attachment_max_bytes: int = DEFAULT_LIMIT  # a hospital document's attachment kept up to this size
    # admission and discharge events
    match_demographics: bool = False  # match by name, birth date and sex when the MRN matches nobody
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    mllp_tls_cert: Path | None = None  # MLLP over TLS: the listener's certificate chain (PEM)
    mllp_tls_key: Path | None = None  # its private key; None: in the certificate file
    mllp_tls_client_ca: Path | None = None  # senders must present a certificate signed by these CAs
    mllp_idle_seconds: float = 60.0  # an MLLP connection idle, or with a frame half sent, this long is closed
    mllp_max_connections: int = 100  # MLLP connections one listener holds at once; more are closed at once
    # the workspace (/app/): people signing in
    secret_key: str | None = None  # signs the session cookie; None: a new one per process
    time_zone: str = "UTC"  # the IANA zone times are shown in
    session_hours: float = 8.0  # a sign-in lasts this long
    login_max_failures: int = 5  # failed sign-ins in a row that lock the account
    login_lockout_seconds: float = 900.0  # how long it stays locked

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives; SettingsError names a variable whose value cannot be used."""
        read = _Env(os.environ if env is None else env)
        return cls(**_service(read, cls), **_delivery(read, cls), **_events(read, cls), **_web(read, cls))

    def __post_init__(self) -> None:
        # Without `aud` a token the issuer made for any other service would do; without `iss`, a token of
        # any tenant of a shared key set (one JWKS often signs for many issuers).
        if self.jwt_jwks_url and not (self.jwt_audience and self.jwt_issuer):
            raise SettingsError(
                "FHIR_ADAPTER_JWT_JWKS_URL is set: set FHIR_ADAPTER_JWT_AUDIENCE and FHIR_ADAPTER_JWT_ISSUER "
                "too (the aud and iss a token must carry), or tokens meant for other services are accepted"
            )
        if self.jwt_max_lifetime_seconds <= 0:
            raise SettingsError("FHIR_ADAPTER_JWT_MAX_LIFETIME_SECONDS: must be more than 0")
        try:
            ZoneInfo(self.time_zone)
        except (ValueError, ZoneInfoNotFoundError) as err:
            raise SettingsError(f"FHIR_ADAPTER_TIME_ZONE: not an IANA time zone: {self.time_zone!r}") from err

    def identity(self) -> Identity:
        return Identity(self.tenant, self.source_system, self.identifier_namespace)


class _Env:
    """The FHIR_ADAPTER_* variables of an environment, read as text, paths and numbers."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def get(self, name: str) -> str | None:
        """The variable's value; None when it is unset or empty."""
        return self.env.get(f"FHIR_ADAPTER_{name}") or None

    def path(self, name: str) -> Path | None:
        value = self.get(name)
        return Path(value) if value else None

    def number(self, name: str, default: float) -> float:
        value = self.get(name)
        try:
            return float(value) if value else default
        except ValueError as err:
            raise SettingsError(f"FHIR_ADAPTER_{name}: not a number: {value!r}") from err


def _service(read: _Env, d: type[Settings]) -> dict[str, Any]:
    """Identity, database, web serving, tokens, logs and search limits."""
    get, path, number = read.get, read.path, read.number
    database = get("DATABASE_URL") or read.env.get("DATABASE_URL") or d.database_url
    return dict(
        tenant=get("TENANT") or d.tenant,
        source_system=get("SOURCE_SYSTEM") or d.source_system,
        identifier_namespace=get("IDENTIFIER_NAMESPACE") or d.identifier_namespace,
        mappings_dir=path("MAPPINGS_DIR"),
        mappings_override=path("MAPPINGS_OVERRIDE"),
        database_url=normalise_database_url(database),
        host=get("HOST") or d.host,
        port=int(number("PORT", d.port)),
        base_url=get("BASE_URL"),
        trusted_hosts=tuple(h.strip() for h in (get("TRUSTED_HOSTS") or "").split(",") if h.strip()),
        token_cache_seconds=number("TOKEN_CACHE_SECONDS", d.token_cache_seconds),
        jwt_jwks_url=get("JWT_JWKS_URL"),
        jwt_issuer=get("JWT_ISSUER"),
        jwt_audience=get("JWT_AUDIENCE"),
        jwt_org_claim=get("JWT_ORG_CLAIM") or d.jwt_org_claim,
        jwt_max_lifetime_seconds=number("JWT_MAX_LIFETIME_SECONDS", d.jwt_max_lifetime_seconds),
        jwt_single_use=_flag(get("JWT_SINGLE_USE"), "JWT_SINGLE_USE") is not False,
        log_level=(get("LOG_LEVEL") or d.log_level).upper(),
        search_max_parameters=int(number("SEARCH_MAX_PARAMETERS", d.search_max_parameters)),
        search_max_values=int(number("SEARCH_MAX_VALUES", d.search_max_values)),
        statement_timeout_seconds=number("STATEMENT_TIMEOUT_SECONDS", d.statement_timeout_seconds),
    )


def _delivery(read: _Env, d: type[Settings]) -> dict[str, Any]:
    """Delivery to EHRs: signing keys, the worker, leases, time-outs, retries and batches."""
    get, number = read.get, read.number
    return dict(
        signing_keys=tuple(Path(p) for p in (get("SIGNING_KEYS") or "").split(",") if p.strip())
        or d.signing_keys,
        worker_embedded=_flag(get("WORKER_EMBEDDED")),
        lease_seconds=number("LEASE_SECONDS", d.lease_seconds),
        ehr_timeout_seconds=number("EHR_TIMEOUT_SECONDS", d.ehr_timeout_seconds),
        retry_base_seconds=number("RETRY_BASE_SECONDS", d.retry_base_seconds),
        retry_cap_seconds=number("RETRY_CAP_SECONDS", d.retry_cap_seconds),
        max_attempts=int(number("MAX_ATTEMPTS", d.max_attempts)),
        reconcile_limit=int(number("RECONCILE_LIMIT", d.reconcile_limit)),
        poll_seconds=number("POLL_SECONDS", d.poll_seconds),
        batch_jobs=max(1, int(number("BATCH_JOBS", d.batch_jobs))),
        encounter_recheck_seconds=number("ENCOUNTER_RECHECK_SECONDS", d.encounter_recheck_seconds),
        attachment_max_bytes=max(1, int(number("ATTACHMENT_MAX_BYTES", d.attachment_max_bytes))),
    )


def _events(read: _Env, d: type[Settings]) -> dict[str, Any]:
    """Admission and discharge events: patient matching and the MLLP listener."""
    get, path, number = read.get, read.path, read.number
    return dict(
        match_demographics=_flag(get("MATCH_DEMOGRAPHICS"), "MATCH_DEMOGRAPHICS") or False,
        mllp_host=get("MLLP_HOST") or d.mllp_host,
        mllp_port=int(number("MLLP_PORT", d.mllp_port)),
        mllp_tls_cert=path("MLLP_TLS_CERT"),
        mllp_tls_key=path("MLLP_TLS_KEY"),
        mllp_tls_client_ca=path("MLLP_TLS_CLIENT_CA"),
        mllp_idle_seconds=number("MLLP_IDLE_SECONDS", d.mllp_idle_seconds),
        mllp_max_connections=int(number("MLLP_MAX_CONNECTIONS", d.mllp_max_connections)),
    )


def _web(read: _Env, d: type[Settings]) -> dict[str, Any]:
    """The workspace: the session, the time zone, sign-in lockout."""
    get, number = read.get, read.number
    return dict(
        secret_key=get("SECRET_KEY"),
        time_zone=get("TIME_ZONE") or d.time_zone,
        session_hours=number("SESSION_HOURS", d.session_hours),
        login_max_failures=max(1, int(number("LOGIN_MAX_FAILURES", d.login_max_failures))),
        login_lockout_seconds=number("LOGIN_LOCKOUT_SECONDS", d.login_lockout_seconds),
    )


def _flag(value: str | None, name: str = "WORKER_EMBEDDED") -> bool | None:
    if value is None:
        return None
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"FHIR_ADAPTER_{name}: say true or false, not {value!r}")
