"""Run the Alembic migrations programmatically: `fhir-adapter db upgrade` and the start-up of `make run`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        step(config, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, command.downgrade, revision)


def current(engine: Engine) -> str | None:
    """The database's revision; asking says nothing on the log (Alembic would say which dialect it uses)."""
    talkative = logging.getLogger("alembic.runtime.migration")
    level = talkative.level
    talkative.setLevel(logging.WARNING)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        talkative.setLevel(level)


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def behind(engine: Engine) -> str | None:
    """Why a process of this release cannot use the database yet, or None when it is at the latest revision."""
    if current(engine) == head():
        return None
    return "the database is not at the latest revision: run `fhir-adapter db upgrade`"
