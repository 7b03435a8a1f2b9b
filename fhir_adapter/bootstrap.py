"""The composition root: what each process runs, built from Settings. The web app's services, the delivery
worker and the MLLP listener are wired here and nowhere else; the one place a test swaps in its own
database, clock or mappings."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from fhir_adapter import logs
from fhir_adapter.adapters import ehr_store, migrate, org_store
from fhir_adapter.adapters.audit_writer import AuditWriter
from fhir_adapter.adapters.db import is_postgres, make_engine, reading
from fhir_adapter.adapters.unit_of_work import SqlStorage
from fhir_adapter.api.http import Services
from fhir_adapter.api.schemas.contract import JsonContract
from fhir_adapter.app import create_app
from fhir_adapter.config import Settings
from fhir_adapter.delivery.preview import preview
from fhir_adapter.delivery.worker import Worker
from fhir_adapter.domain.sync import Ehr
from fhir_adapter.events import mllp
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.loader import load_catalogue
from fhir_adapter.service import intake
from fhir_adapter.service.auth import Authenticator, to_org
from fhir_adapter.service.context import Clock, utc_now
from fhir_adapter.service.records import Deps


class NotReady(Exception):
    """The process cannot start as configured; the message says why, to whoever started it."""


def database(settings: Settings) -> Engine:
    """An engine without the web app's statement timeout: migrations, the worker, the listener, commands."""
    return make_engine(settings.database_url)


@contextmanager
def migrated_storage(settings: Settings) -> Iterator[SqlStorage]:
    """The database brought to the latest revision, as the services take it; let go of at the end (the
    commands that change accounts and organisations)."""
    engine = database(settings)
    try:
        migrate.upgrade(engine)
        yield SqlStorage(engine)
    finally:
        engine.dispose()


def mappings(settings: Settings) -> Catalogue:
    """The mappings and code tables, checked (MappingConfigError names the file and field at fault)."""
    return load_catalogue(settings.mappings_dir, settings.mappings_override)


def record_deps(settings: Settings, catalogue: Catalogue | None = None, clock: Clock = utc_now) -> Deps:
    """What the record use cases need: the web app's, the listener's, a command's."""
    return Deps(catalogue or mappings(settings), clock, JsonContract(), settings.attachment_max_bytes)


def bootstrap(
    settings: Settings,
    engine: Engine | None = None,
    catalogue: Catalogue | None = None,
    clock: Clock = utc_now,
) -> Services:
    """The web app's services; its own engine stops a statement after the statement timeout."""
    engine = engine or make_engine(settings.database_url, settings.statement_timeout_seconds)
    catalogue = catalogue or mappings(settings)

    def previews(org_id: str, ehr_id: str, client_id: str) -> dict[str, Any]:
        worker = build_worker(settings, engine, catalogue, org_id=org_id, clock=clock)
        return preview(worker, org_id, ehr_id, client_id)

    return Services(
        settings,
        engine,
        record_deps(settings, catalogue, clock),
        Authenticator(SqlStorage(engine), settings),
        AuditWriter(engine),
        previews,
    )


# --- the delivery worker ---


def build_worker(
    settings: Settings,
    engine: Engine | None = None,
    catalogue: Catalogue | None = None,
    org_id: str | None = None,
    clock: Clock = utc_now,
) -> Worker:
    """A delivery worker, on an engine without a statement timeout unless given one. With `catalogue` it
    shares the mappings its process loaded; without, it loads them when a read-back first needs them."""
    return Worker(
        engine or database(settings),
        settings,
        clock,
        org_id,
        mappings=lambda: catalogue if catalogue is not None else mappings(settings),
        contract=JsonContract(),
    )


def worker_process(settings: Settings, org_id: str | None = None) -> Worker:
    """The worker of `fhir-adapter worker`: logging set up, on a database at the latest revision."""
    logs.configure(settings.log_level)
    engine = database(settings)
    if why := migrate.behind(engine):
        raise NotReady(why)
    return build_worker(settings, engine, org_id=org_id)


# --- the web process ---


@dataclass(frozen=True)
class Serving:
    app: Flask
    worker: Worker | None  # a delivery worker to run inside the web process

    def start_worker(self) -> threading.Event | None:
        """Run the worker (when there is one) on a thread of its own; set the event to stop it."""
        if self.worker is None:
            return None
        stop = threading.Event()
        threading.Thread(target=self.worker.run, args=(stop,), name="delivery", daemon=True).start()
        return stop


def web_app(settings: Settings | None = None) -> Flask:
    """The web app alone, for a WSGI server: gunicorn 'fhir_adapter.bootstrap:web_app()'."""
    return create_app(services=bootstrap(settings or Settings.from_env()))


def serving(settings: Settings, upgrade: bool = True) -> Serving:
    """The web app of `fhir-adapter serve` and, when wanted, a delivery worker beside it (the embedded
    set-up: FHIR_ADAPTER_WORKER_EMBEDDED, else on SQLite) sharing the mappings the app loaded."""
    engine = database(settings)  # migrations and the worker: a delivery has no statement timeout
    if upgrade:
        migrate.upgrade(engine)
    services = bootstrap(settings)  # the web app's own engine, with the statement timeout
    app = create_app(services=services)
    embedded = settings.worker_embedded
    if not (embedded or (embedded is None and not is_postgres(engine))):
        return Serving(app, None)
    return Serving(app, build_worker(settings, engine, services.deps.catalogue))


# --- the MLLP listener ---


@dataclass(frozen=True)
class ListenerOptions:
    """What `fhir-adapter mllp` was asked for (its options, else the settings)."""

    host: str
    port: int
    tls_cert: Path | None
    tls_key: Path | None
    tls_client_ca: Path | None
    idle_seconds: float
    max_connections: int


@dataclass(frozen=True)
class Listener:
    """An MLLP listener for one EHR's feed: each message stored as that EHR's before it is acknowledged."""

    host: str
    port: int
    ehr: Ehr
    handle: Callable[[str], str]  # a message's text → its ACK's
    context: ssl.SSLContext | None  # None: plain MLLP
    limits: mllp.Limits

    def run(self, ready: Callable[[int], None]) -> None:
        """Listen until interrupted; `ready` is told the port once bound."""
        asyncio.run(mllp.serve(self.host, self.port, self.handle, ready, self.context, self.limits))


def _tls(options: ListenerOptions) -> ssl.SSLContext | None:
    """The TLS context the options ask for (None: plain MLLP)."""
    if options.tls_cert is None:
        if options.tls_key or options.tls_client_ca:
            raise NotReady("--tls-key and --tls-client-ca need --tls-cert")
        return None
    try:
        return mllp.tls(options.tls_cert, options.tls_key, options.tls_client_ca)
    except (OSError, ssl.SSLError) as err:
        raise NotReady(f"cannot use the TLS certificate, key or CA files: {err}") from err


def _limits(options: ListenerOptions) -> mllp.Limits:
    idle, most = options.idle_seconds, options.max_connections
    if not 0 < idle < float("inf") or most < 1:
        raise NotReady("--idle-seconds must be above 0 and --max-connections at least 1")
    return mllp.Limits(idle_seconds=idle, max_connections=most)


def build_listener(settings: Settings, org_id: str, ehr_id: str, options: ListenerOptions) -> Listener:
    """The listener of `fhir-adapter mllp`: logging set up, on a database at the latest revision, for an
    EHR registered there."""
    logs.configure(settings.log_level)
    engine = database(settings)
    if why := migrate.behind(engine):
        raise NotReady(why)
    with reading(engine) as conn:
        ehr = ehr_store.get_ehr(conn, org_id, ehr_id)
        row = org_store.get_org(conn, org_id)
    if ehr is None or row is None:
        raise NotReady(f"no EHR {ehr_id} in organisation {org_id}: `fhir-adapter ehrs add` it first")
    deps, org = record_deps(settings), to_org(row, settings)
    context, limits = _tls(options), _limits(options)
    demographics = settings.match_demographics

    storage = SqlStorage(engine)

    def handle(text: str) -> str:
        return intake.take_v2(storage, deps, org, demographics, ehr, text, "mllp")[1]

    return Listener(options.host, options.port, ehr, handle, context, limits)
