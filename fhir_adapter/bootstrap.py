"""Wires the ports to their adapters: the one place a test swaps in its own database, clock or mappings."""

from __future__ import annotations

from sqlalchemy import Engine

from fhir_adapter.adapters.audit_writer import AuditWriter
from fhir_adapter.adapters.db import make_engine
from fhir_adapter.api.http import Services
from fhir_adapter.config import Settings
from fhir_adapter.mapping.catalogue import Catalogue
from fhir_adapter.mapping.loader import load_catalogue
from fhir_adapter.service.auth import Authenticator
from fhir_adapter.service.context import Clock, utc_now
from fhir_adapter.service.records import Deps


def bootstrap(
    settings: Settings,
    engine: Engine | None = None,
    catalogue: Catalogue | None = None,
    clock: Clock = utc_now,
) -> Services:
    engine = engine or make_engine(settings.database_url, settings.statement_timeout_seconds)
    catalogue = catalogue or load_catalogue(settings.mappings_dir, settings.mappings_override)
    return Services(
        settings, engine, Deps(catalogue, clock), Authenticator(engine, settings), AuditWriter(engine)
    )
