"""Alembic environment: migrations run on the connection `fhir_adapter.adapters.migrate` hands over."""

from __future__ import annotations

from alembic import context

from fhir_adapter.adapters import sync_tables  # noqa: F401 - its tables are on the metadata: the whole schema
from fhir_adapter.adapters.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
