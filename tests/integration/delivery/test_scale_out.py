"""Four worker processes on one PostgreSQL database, 1,000 jobs across 50 patients, written while the
workers run: every job delivered, no duplicate in the EHR, each patient's jobs one at a time and in order."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest

from tests.support.delivery import Harness, worker_process

PATIENTS, CHANGES = 50, 19  # each patient: its plan's creation, then 19 changes: 1,000 jobs


@pytest.mark.postgresql_only  # the scale-out deployment; SQLite runs one in-process worker
def test_four_workers_deliver_1000_jobs_once_each_in_order_per_patient(
    harness: Harness, database_url: str
) -> None:
    h = harness
    processes = [worker_process(database_url, h.org_id) for _ in range(4)]
    try:
        clients = [h.new_client() for _ in range(PATIENTS)]
        for n in range(CHANGES):
            for client_id in clients:
                h.change_plan(client_id, f"revision {n}")
        deadline = time.monotonic() + 120
        while [j for j in h.jobs() if j.state != "delivered"]:
            assert time.monotonic() < deadline, {j.state for j in h.jobs()}
            time.sleep(0.2)
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)
    jobs = h.job_rows()
    assert len(jobs) == PATIENTS * (CHANGES + 1)
    assert {j.state for j in jobs} == {"delivered"}
    lanes: dict[str, list[object]] = {}
    for job in jobs:
        lanes.setdefault(job.lane, []).append(job)
    assert len(lanes) == PATIENTS
    for lane in lanes.values():
        for before, after in pairwise(lane):  # id order: sent together, or one after the other
            together = before.batch_head == after.batch_head  # type: ignore[attr-defined]
            assert together or before.finished_at <= after.claimed_at, (before.id, after.id)  # type: ignore[attr-defined]
    sent: dict[str, list[int]] = {}
    for row in h.ledger():
        if row.resource_type == "CarePlan":
            sent.setdefault(row.id, []).append(row.version_id)
    assert all(versions == sorted(versions) for versions in sent.values())
    for client_id in clients:
        plan = next(r for r in h.assert_exactly_once(client_id) if r["resourceType"] == "CarePlan")
        assert plan["title"] == f"revision {CHANGES - 1}"
