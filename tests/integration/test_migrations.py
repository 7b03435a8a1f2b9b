"""The Alembic migrations build exactly the schema the code declares, and go down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fhir_adapter.adapters import migrate
from fhir_adapter.adapters.db import make_engine
from fhir_adapter.adapters.tables import metadata


def test_migrations_match_the_tables(database_url):
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
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
