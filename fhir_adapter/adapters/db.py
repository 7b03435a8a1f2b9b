"""The database engine: SQLite (WAL, synchronous=FULL, one writer at a time) or PostgreSQL (psycopg 3).

An engine made with a statement timeout (the web app's) stops any statement that runs longer: PostgreSQL
cancels it on the server, also after its client has gone; on SQLite a progress handler interrupts it in the
process. The worker's engine has none. A statement stopped so, or one SQLite finds too large to run, is
TooCostly.

`writing(engine)` is the unit of work: one transaction, committed when the block ends without an error.
On SQLite it starts with BEGIN IMMEDIATE, so concurrent writers queue for the lock instead of failing when
a read transaction tries to become a write transaction. `reading(engine)` never takes the write lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from fhir_adapter.service.ports import StorageUnavailable, TooCostly

SQLITE_BUSY_SECONDS = 30
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement cancelled (statement_timeout)
SQLITE_TOO_COSTLY = (
    "expression tree is too large",
    "too many sql variables",
    "parser stack overflow",
    "interrupted",  # past the statement timeout (_sqlite_deadline)
)
SQLITE_PROGRESS_STEPS = 10_000  # virtual machine steps between two looks at the clock


def make_engine(url: str, statement_timeout: float | None = None) -> Engine:
    """The engine; `statement_timeout` (seconds) bounds every statement of its connections."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Set when connecting (libpq options): no round trip per request.
        options = (
            f"-c statement_timeout={max(1, round(statement_timeout * 1000))}" if statement_timeout else ""
        )
        # No pre-ping (a round trip per request): a connection found dead fails its request with 503 and is
        # dropped with the rest of the pool, so the next request connects afresh.
        return create_engine(
            url,
            pool_size=10,
            max_overflow=10,
            pool_recycle=3600,
            connect_args={"options": options} if options else {},
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    if statement_timeout:
        _sqlite_deadline(engine, statement_timeout)
    return engine


def _sqlite_deadline(engine: Engine, seconds: float) -> None:
    """Each statement, with the fetching of its rows, may run `seconds`: SQLite's progress handler then
    interrupts it (sqlite3.OperationalError "interrupted"). The deadline is kept with the DBAPI connection
    and set anew by each statement."""

    def connect(dbapi_connection: sqlite3.Connection, record: Any) -> None:
        deadline = record.info["deadline"] = [float("inf")]
        dbapi_connection.set_progress_handler(lambda: time.monotonic() > deadline[0], SQLITE_PROGRESS_STEPS)

    def before(conn: Connection, *_: Any) -> None:
        if deadline := conn.info.get("deadline"):
            deadline[0] = time.monotonic() + seconds

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        if deadline := record.info.get("deadline"):  # a connection back in the pool runs nothing
            deadline[0] = float("inf")

    event.listen(engine, "connect", connect)
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine.pool, "checkin", checkin)


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
        if _too_costly(err.orig):
            raise TooCostly(type(err.orig).__name__) from err
        raise StorageUnavailable(type(err.orig).__name__ if err.orig else "database error") from err
    except DBAPIError as err:
        if err.connection_invalidated:
            raise StorageUnavailable("the database connection was lost") from err
        raise


def _too_costly(orig: BaseException | None) -> bool:
    if getattr(orig, "sqlstate", None) == QUERY_CANCELED:
        return True
    return isinstance(orig, sqlite3.OperationalError) and str(orig).lower().startswith(SQLITE_TOO_COSTLY)


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
