"""The database engine: SQLite (WAL, synchronous=FULL, one writer at a time) or PostgreSQL (psycopg 3).

`writing(engine)` is the unit of work: one transaction, committed when the block ends without an error.
On SQLite it starts with BEGIN IMMEDIATE, so concurrent writers queue for the lock instead of failing when
a read transaction tries to become a write transaction. `reading(engine)` never takes the write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

SQLITE_BUSY_SECONDS = 30


class StorageUnavailable(Exception):
    """The database cannot be reached or is locked: the request may be retried."""


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping (a round trip per request): a connection found dead fails its request with 503 and is
        # dropped with the rest of the pool, so the next request connects afresh.
        return create_engine(url, pool_size=10, max_overflow=10, pool_recycle=3600)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin, not by the driver
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("writing", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def _unavailable_as_typed() -> Iterator[None]:
    """A database that cannot be reached, is locked or dropped the connection: StorageUnavailable."""
    try:
        yield
    except OperationalError as err:
        raise StorageUnavailable(type(err.orig).__name__ if err.orig else "database error") from err
    except DBAPIError as err:
        if err.connection_invalidated:
            raise StorageUnavailable("the database connection was lost") from err
        raise


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One transaction that may write; committed at the end of the block, rolled back on any error."""
    with _unavailable_as_typed(), engine.connect().execution_options(writing=True) as conn, conn.begin():
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """Reads. On PostgreSQL each statement runs on its own (autocommit: no BEGIN and COMMIT round trips;
    a search and its _include see the database a moment apart); on SQLite, one deferred transaction that
    never takes the write lock."""
    with _unavailable_as_typed():
        if is_postgres(engine):
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                yield conn
        else:
            with engine.connect() as conn, conn.begin():
                yield conn
