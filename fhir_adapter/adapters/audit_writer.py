"""Audit records of reads and refusals, written in batches by a background thread.

A write's own audit record goes into the write's transaction (api/idempotency.run_write); everything else
is queued here and committed within FLUSH_SECONDS, many rows per transaction, so that a read costs one
query and not a second transaction. What a crash of the process can lose is the last FLUSH_SECONDS of
read audit; the loss of the database connection keeps rows queued (up to MAX_QUEUED) and retries.
"""

from __future__ import annotations

import atexit
import os
import threading

import structlog
from sqlalchemy import Engine

from fhir_adapter.adapters import audit_store
from fhir_adapter.adapters.db import writing
from fhir_adapter.domain.audit import AuditRow
from fhir_adapter.service.ports import StorageUnavailable

FLUSH_SECONDS = 0.05
MAX_QUEUED = 100_000
log = structlog.get_logger("fhir_adapter.audit")


class AuditWriter:
    def __init__(self, engine: Engine, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.engine = engine
        self.flush_seconds = flush_seconds
        self._rows: list[AuditRow] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._pid: int | None = None
        self._dropped = 0
        self._closed = False
        atexit.register(self.flush)

    def add(self, row: AuditRow) -> None:
        with self._lock:
            if len(self._rows) >= MAX_QUEUED:
                self._dropped += 1
                return
            self._rows.append(row)
            if not self._closed:
                self._start()
        if self._closed:
            self.flush()

    def _start(self) -> None:
        """One thread per process, started where requests are served (after a fork, not before)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="audit-writer", daemon=True).start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Flush what is queued and stop; rows added afterwards are written at once."""
        self._closed = True
        self._wake.set()
        atexit.unregister(self.flush)
        self.flush()

    def flush(self) -> None:
        """Commit every queued row now; kept queued when the database is unavailable."""
        with self._flushing:
            with self._lock:
                rows, self._rows = self._rows, []
                dropped, self._dropped = self._dropped, 0
            if dropped:
                log.error("audit records dropped: the queue was full", count=dropped)
            if not rows:
                return
            try:
                with writing(self.engine) as conn:
                    audit_store.add_many(conn, rows)
            except StorageUnavailable:
                log.error("audit records kept for a retry: the database is unavailable", count=len(rows))
                with self._lock:
                    self._rows = rows + self._rows
