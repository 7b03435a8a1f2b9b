"""Workers killed with SIGKILL at each moment of a delivery, and the database restarted under them: the job
is delivered by the next worker once the lease runs out, and the EHR holds one resource per identifier."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.delivery import Harness, worker_process
from tests.support.fault_proxy import Fault


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@contextmanager
def recording_blocked(database_url: str, job_id: int) -> Iterator[None]:
    """Hold a lock the worker needs to record the job's outcome: it waits there until killed."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(database_url)
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(text("SELECT id FROM outbox_jobs WHERE id = :id FOR UPDATE"), {"id": job_id})
        yield
        tx.rollback()
    engine.dispose()


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def answered(h: Harness, status: int) -> bool:
    return ("POST", "/", status) in h.proxy.log


@pytest.mark.parametrize("moment", ["after claiming", "after sending", "after the 2xx, before recording"])
def test_a_worker_killed_mid_delivery_leaves_one_resource_per_identifier(
    harness: Harness, database_url: str, moment: str
) -> None:
    h = harness
    hold = {"after claiming": "hang", "after sending": "hold_after_commit"}.get(moment, "hold_after_commit")
    h.proxy.inject(Fault(hold, seconds=1.0 if moment.startswith("after the 2xx") else 5.0, method="POST"))
    client_id = h.new_client("pt-crash")
    (job,) = h.jobs()
    process = worker_process(database_url, h.org_id)
    try:
        wait_for(lambda: ("POST", "/") in h.proxy.received, "the worker's request")
        if moment == "after claiming":
            assert h.ehr.search("CarePlan", subject="Patient/pt-crash") == []  # nothing reached the EHR
            kill(process)
        elif moment == "after sending":
            wait_for(
                lambda: len(h.ehr.search("CarePlan", subject="Patient/pt-crash")) == 1, "the EHR's commit"
            )
            kill(process)
        else:
            with recording_blocked(h.service.settings.database_url, job.id):
                wait_for(lambda: answered(h, 200), "the EHR's 2xx")
                time.sleep(0.5)  # the worker has the 2xx and waits for the lock to record it
                kill(process)
    finally:
        if process.poll() is None:
            kill(process)
    assert h.jobs()[0].state == "leased"
    h.proxy.clear()
    time.sleep(2.1)  # the lease runs out
    h.drain()
    (job,) = h.jobs()
    assert job.state == "delivered" and job.attempts == 2
    h.assert_exactly_once(client_id)
    assert len([row for row in h.ledger() if row.job_id == job.id]) == 3  # recorded once: plan, two goals


def restart_command() -> list[str] | None:
    """pg_ctlcluster for the local PostgreSQL cluster, when this machine can restart it."""
    tool = shutil.which("pg_ctlcluster")
    versions = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").is_dir() else []
    if tool is None or not versions:
        return None
    version = versions[-1].parent.name
    return [tool, "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"]


@pytest.mark.postgresql_only  # SQLite is a file, not a server to restart
def test_the_database_restarted_mid_run_loses_and_repeats_nothing(
    harness: Harness, database_url: str
) -> None:
    command = restart_command()
    if command is None:
        pytest.skip("pg_ctlcluster and /etc/postgresql/*/main are needed to restart PostgreSQL")
    h = harness
    h.proxy.delay_seconds = 0.02
    clients = [h.new_client() for _ in range(5)]
    for n in range(6):
        for client_id in clients:
            h.change_plan(client_id, f"revision {n}")
    processes = [worker_process(database_url, h.org_id) for _ in range(2)]
    try:
        wait_for(lambda: len(h.jobs("delivered")) >= 5, "the first deliveries")
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        h.service.engine.dispose()  # this test's own pool held connections to the old server
        wait_for(lambda: not [j for j in h.jobs() if j.state != "delivered"], "every job delivered", 60)
    finally:
        for process in processes:
            kill(process)
    assert len(h.jobs("delivered")) == 35
    for client_id in clients:
        plan = next(r for r in h.assert_exactly_once(client_id) if r["resourceType"] == "CarePlan")
        assert plan["title"] == "revision 5"
