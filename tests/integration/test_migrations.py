"""The Alembic migrations build exactly the schema the code declares, and go down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fhir_adapter.adapters import migrate, sync_tables
from fhir_adapter.adapters.db import make_engine
from fhir_adapter.adapters.tables import metadata


def test_migrations_match_the_tables(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    # The sync tables are declared in a module of their own: the metadata compared holds them too.
    assert {sync_tables.outbox_jobs.name, sync_tables.subscriptions.name} <= set(metadata.tables)
    assert migrate.current(engine) == migrate.head()
    engine.dispose()


def test_down_and_up_again(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    engine.dispose()


def test_goals_stored_before_get_their_lifecycle_status_as_their_searchable_status(tmp_path):
    from sqlalchemy import insert, select

    from fhir_adapter.adapters.tables import fhir_resources as res

    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    migrate.upgrade(engine, "0005")
    row = {"org_id": "o", "resource_type": "Goal", "version_id": 1, "last_updated": "2025-01-01T00:00:00Z"}
    row |= {"record_kind": "service-plan", "record_id": "SP-1", "deleted": False, "restricted": False}
    with engine.begin() as conn:
        conn.execute(insert(res).values(row | {"id": "g", "data": '{"lifecycleStatus": "active"}'}))
        conn.execute(insert(res).values(row | {"id": "h", "data": '{"description": {"text": "x"}}'}))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        found = dict(conn.execute(select(res.c.id, res.c.status).order_by(res.c.id)).all())
    assert found == {"g": "active", "h": None}
    engine.dispose()
