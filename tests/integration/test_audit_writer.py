"""The background audit writer: batches, keeps rows while the database is away, flushes on close."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from fhir_adapter.adapters import migrate
from fhir_adapter.adapters.audit_writer import AuditWriter
from fhir_adapter.adapters.db import make_engine
from fhir_adapter.adapters.tables import audit_events
from fhir_adapter.domain.audit import AuditRow


def row(n: int) -> AuditRow:
    return AuditRow(
        f"id-{n}",
        "2026-01-01T00:00:00.000000Z",
        "org",
        "c-1",
        "client",
        "127.0.0.1",
        "R",
        "read",
        "GET",
        "/fhir/CarePlan/<rid>",
        200,
        "0",
        "p-1",
        ["Patient/p-1"],
        None,
    )


def count(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_events)).scalar_one())


def test_rows_are_written_in_the_background_and_on_close(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    migrate.upgrade(engine)
    writer = AuditWriter(engine, flush_seconds=0.01)
    for n in range(250):
        writer.add(row(n))
    deadline = time.monotonic() + 5
    while count(engine) < 250 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert count(engine) == 250
    writer.add(row(250))
    writer.close()
    assert count(engine) == 251
    writer.add(row(251))  # after close: written at once
    assert count(engine) == 252


def test_rows_wait_while_the_database_is_away(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    writer = AuditWriter(engine, flush_seconds=60)
    writer.add(row(1))
    writer.flush()  # no tables yet: the database cannot take them
    migrate.upgrade(engine)
    writer.close()
    assert count(engine) == 1
