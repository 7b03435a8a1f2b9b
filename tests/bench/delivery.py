"""Delivery benchmark: jobs/s that `fhir-adapter worker` processes deliver to an EHR, with 1 and 2 workers,
and how fast a backlog built up while the EHR was unreachable drains once it is back.

Set-up: a fresh PostgreSQL database; the stand-in EHR (tests/ehr/server.js: node with @medplum/fhir-router
over memory, a real FHIR server answering transaction Bundles) behind the fault proxy
(tests/support/fault_proxy.py), which adds BENCH_EHR_LATENCY_MS (default 20) to every request: a real
hospital EHR's network and processing time. A worker sends one job at a time, so in production it spends
much of each job waiting on that round trip, and a second worker can use the wait. With no added latency
nothing here waits: the workers, PostgreSQL, the proxy and node all run on this machine's 2 cores, and the
ratio of 2 workers to 1 would measure their competition for CPU, not whether workers scale (node itself
is not the limit: about 2.5 ms of CPU a job). The proxy's answers are sent with TCP_NODELAY here (see run()).
Workers run as separate `fhir-adapter worker --org` processes with FHIR_ADAPTER_POLL_SECONDS=0.05, logging
at INFO to a file, as deployed. Records are written through the service layer in this process (what the
HTTP API calls), never while a measurement runs.

Throughput: 50 clients, each with a service plan and linked to a patient in the EHR (their first
deliveries are made before any measurement). Each batch is BENCH_JOBS (default 200) plan changes spread
round-robin over the 50 clients, so 50 patient lanes of jobs, made while no worker runs; then 1 or 2
workers start with FHIR_ADAPTER_BATCH_JOBS=1, each job its own write as in steady state (a worker would
otherwise take a patient's queued jobs together, and the batch would measure that instead) and the batch is timed from its first claim to its last delivery, both as the workers stamp
them in outbox_jobs (their start-up, about 2 s of imports, is printed apart and not counted).
BENCH_DELIVERY_ROUNDS (default 3) rounds, each with one batch for 1 and one for 2 workers, in alternating
order; medians and the ratio 2 workers / 1 worker are printed.

Drain: 50 other clients (another organisation) are delivered once; then the EHR goes unreachable (the
proxy resets every connection) while 2 workers run with FHIR_ADAPTER_RETRY_BASE_SECONDS=0.5 and
RETRY_CAP_SECONDS=2, and BENCH_BACKLOG (default 1,000) plan changes over those 50 clients pile up as the
workers fail and back off (how long a plan change takes meanwhile is printed too); once every lane's first
job has failed, the EHR comes back, and the drain is timed from that moment to the last delivery (it
includes the wait for the backed-off lane heads, at most the 2 s cap). The workers take up to
FHIR_ADAPTER_BATCH_JOBS (default 50) of a patient's queued jobs in one claim and one write. The same drain
runs again with FHIR_ADAPTER_BATCH_JOBS=1 for comparison.

After every batch the EHR must hold exactly one CarePlan per client, with the title last written: a
duplicate or a lost update fails the run (non-zero exit status). Targets (issue): drain >= 50 jobs/s on
this 2-core machine; 2 workers >= 1.6 x one. Misses are printed, never fatal; the exit status is non-zero
only when the benchmark could not run or the EHR's content is wrong. About 4 minutes. Repeat with
`make bench`, or alone with `.venv/bin/python -m tests.bench.delivery`; BENCH_PG_URL names the PostgreSQL
server (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

import requests
import sqlalchemy as sa

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.migrate import upgrade
from fhir_adapter.adapters.sync_tables import delivery_attempts, outbox_jobs
from fhir_adapter.adapters.unit_of_work import SqlWork
from fhir_adapter.api.http import Services
from fhir_adapter.bootstrap import bootstrap
from fhir_adapter.config import Settings
from fhir_adapter.domain.sync import Ehr, Link
from fhir_adapter.mapping.kinds import RECORD_KINDS as KINDS
from fhir_adapter.service import outbox, records
from fhir_adapter.service.auth import register_client
from fhir_adapter.service.context import Principal, stamp, utc_now
from tests.bench.service import BIN, CASE_FILE, BenchError, _unpin, database
from tests.support.ehr_server import EhrServer, node_available, start_ehr
from tests.support.fault_proxy import FaultProxy

LATENCY_MS = float(os.environ.get("BENCH_EHR_LATENCY_MS", "20"))
JOBS = int(os.environ.get("BENCH_JOBS", "200"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "1000"))
ROUNDS = int(os.environ.get("BENCH_DELIVERY_ROUNDS", "3"))
CLIENTS = 50
EHR_ID = "hospital"
POLL = 0.05  # how often this process looks at the queue, and the workers' FHIR_ADAPTER_POLL_SECONDS
WORKER_SETTINGS = {"POLL_SECONDS": POLL, "LEASE_SECONDS": 60, "EHR_TIMEOUT_SECONDS": 5}
# Throughput: each job its own write, as when a patient's changes arrive apart (no backlog to take along).
SINGLE = WORKER_SETTINGS | {"BATCH_JOBS": 1}
DRAIN_SETTINGS = WORKER_SETTINGS | {"RETRY_BASE_SECONDS": 0.5, "RETRY_CAP_SECONDS": 2}
BATCH_TIMEOUT = 300.0
OPEN = ("pending", "leased")


class WrongContent(Exception):
    """The EHR does not hold exactly one CarePlan per client as last written: a delivery bug."""


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


@dataclass
class Org:
    """One organisation's clients, linked to patients in the EHR, and the plan title each had last."""

    services: Services
    principal: Principal
    prefix: str
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)  # client id -> its plan as stored
    patients: dict[str, str] = field(default_factory=dict)  # client id -> the EHR's patient id
    changes: int = 0

    @property
    def id(self) -> str:
        return self.principal.org.id

    def add_clients(self, case: dict[str, Any], count: int) -> None:
        """Clients with a service plan (a CarePlan with its goals), each linked to a patient: one job each."""
        for n in range(count):
            client_id = f"CL-{self.prefix}-{n:03d}"
            client = copy.deepcopy(case["client"]) | {"id": client_id}
            plan = copy.deepcopy(case["service_plans"][0]) | {"client_id": client_id, "id": f"SP-{client_id}"}
            plan.pop("episode_id", None)
            patient = f"pt-{self.prefix}-{n:03d}"
            deps = self.services.deps
            with writing(self.services.engine) as conn:
                records.create(SqlWork(conn), deps, self.principal, KINDS["client"], client)
                stored = records.create(SqlWork(conn), deps, self.principal, KINDS["service-plan"], plan)
                now = stamp(utc_now())
                link = Link(self.id, client_id, EHR_ID, patient, client_id, None, now)
                outbox.link(SqlWork(conn), self.principal, link)
            self.plans[client_id] = stored.data
            self.patients[client_id] = patient

    def change_plans(self, count: int) -> float:
        """`count` plan changes (new titles), round-robin over the clients: one job each. Seconds taken."""
        clients = list(self.plans)
        started = time.perf_counter()
        for _ in range(count):
            client_id = clients[self.changes % len(clients)]
            plan = self.plans[client_id] | {"title": f"{self.prefix} plan, change {self.changes}"}
            plan.pop("version", None)
            with writing(self.services.engine) as conn:
                stored = records.update(
                    SqlWork(conn),
                    self.services.deps,
                    self.principal,
                    KINDS["service-plan"],
                    f"SP-{client_id}",
                    plan,
                )
            self.plans[client_id] = stored.data
            self.changes += 1
        return time.perf_counter() - started


# --- the queue ---


def last_job(engine: sa.Engine) -> int:
    with reading(engine) as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(outbox_jobs.c.id), 0))).scalar_one())


def states(engine: sa.Engine, org_id: str, after: int) -> dict[str, int]:
    query = (
        sa.select(outbox_jobs.c.state, sa.func.count())
        .where(outbox_jobs.c.org_id == org_id, outbox_jobs.c.id > after)
        .group_by(outbox_jobs.c.state)
    )
    with reading(engine) as conn:
        return {state: int(n) for state, n in conn.execute(query)}


def moment(value: str) -> float:
    """A stamp (2025-10-02T07:30:00.000000Z) as seconds since the epoch."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def window(engine: sa.Engine, org_id: str, after: int) -> tuple[float, float, float]:
    """The batch's first claim, first delivery and last delivery, as the workers stamped them."""
    jobs = outbox_jobs.c
    query = sa.select(
        sa.func.min(jobs.claimed_at), sa.func.min(jobs.finished_at), sa.func.max(jobs.finished_at)
    )
    with reading(engine) as conn:
        first_claim, first_done, last_done = conn.execute(
            query.where(jobs.org_id == org_id, jobs.id > after)
        ).one()
    return moment(first_claim), moment(first_done), moment(last_done)


def heads_failed(engine: sa.Engine, after: int, deadline: float) -> None:
    """Until every lane's first job has failed at least once (or the deadline passes)."""
    query = sa.select(sa.func.count(sa.distinct(delivery_attempts.c.job_id)))
    while time.monotonic() < deadline:
        with reading(engine) as conn:
            if conn.execute(query.where(delivery_attempts.c.job_id > after)).scalar_one() >= CLIENTS:
                return
        time.sleep(POLL)


def failed_attempts(engine: sa.Engine, after: int) -> int:
    query = sa.select(sa.func.count()).where(delivery_attempts.c.job_id > after)
    with reading(engine) as conn:
        return int(conn.execute(query).scalar_one())


# --- the workers ---


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def tail(self) -> str:
        self.log.seek(0)
        return b"".join(self.log.readlines()[-15:]).decode("utf-8", "replace").strip()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the worker says it is ready (its mappings loaded, its renderers warm)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.log.seek(0)
            if b"delivery.ready" in self.log.read():
                return
            if self.process.poll() is not None:
                raise BenchError(f"a worker ended at start-up: {self.tail()}")
            time.sleep(0.1)
        raise BenchError(f"a worker was not ready in {timeout:g} s: {self.tail()}")


@contextmanager
def workers(url: str, org_id: str, count: int, settings: dict[str, float]) -> Iterator[list[WorkerProcess]]:
    """`count` × `fhir-adapter worker --org`; stopped (SIGTERM, then SIGKILL) at the end, whatever happens."""
    env = os.environ | {"FHIR_ADAPTER_DATABASE_URL": url}
    env |= {f"FHIR_ADAPTER_{name}": str(value) for name, value in settings.items()}
    command = [str(BIN / "fhir-adapter"), "worker", "--org", org_id]
    started: list[WorkerProcess] = []
    try:
        for _ in range(count):
            log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
            started.append(WorkerProcess(subprocess.Popen(command, env=env, stdout=log, stderr=log), log))
        yield started
    finally:
        for worker in started:
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in started:
            try:
                worker.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.log.close()


def wait_delivered(engine: sa.Engine, org_id: str, after: int, running: list[WorkerProcess]) -> None:
    """Until every job after `after` is delivered; BenchError when one is dead, a worker died, or time runs out."""
    deadline = time.monotonic() + BATCH_TIMEOUT
    while True:
        found = states(engine, org_id, after)
        if not any(found.get(state) for state in OPEN):
            break
        for worker in running:
            if worker.process.poll() is not None:
                raise BenchError(f"a worker exited ({worker.process.returncode}):\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"the jobs were not delivered within {BATCH_TIMEOUT:.0f} s: {found}")
        time.sleep(POLL)
    if set(found) != {"delivered"}:
        raise BenchError(f"not every job was delivered: {found}")


# --- the EHR ---


def check_ehr(ehr: EhrServer, org: Org) -> str:
    """One CarePlan per client in the EHR, with the title last written; WrongContent otherwise."""
    plans = ehr.search("CarePlan")
    if len(plans) >= 1000:
        raise BenchError("the EHR holds 1,000 CarePlans or more: one search page no longer sees them all")
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for plan in plans:
        found[plan.get("subject", {}).get("reference", "")].append(plan)
    wrong = []
    for client_id, patient in org.patients.items():
        theirs = found.get(f"Patient/{patient}", [])
        if len(theirs) != 1:
            wrong.append(f"{client_id}: {len(theirs)} CarePlans")
        elif theirs[0].get("title") != org.plans[client_id]["title"]:
            wrong.append(
                f"{client_id}: title {theirs[0].get('title')!r}, not {org.plans[client_id]['title']!r}"
            )
    if wrong:
        raise WrongContent(f"the EHR's CarePlans of {org.id} are wrong: {'; '.join(wrong[:10])}")
    return f"{len(org.patients)} CarePlans for {len(org.patients)} clients, one each, each as last written"


# --- the scenarios ---


@dataclass
class Batch:
    rate: float  # jobs/s, first claim to last delivery
    startup: float  # s from launching the workers to their first claim
    write: float  # s per plan change, made with no worker running


def throughput_batch(url: str, ehr: EhrServer, org: Org, count: int) -> Batch:
    """JOBS plan changes made with no worker running, then delivered by `count` workers."""
    engine = org.services.engine
    after = last_job(engine)
    write = org.change_plans(JOBS) / JOBS
    queued = states(engine, org.id, after)
    if queued != {"pending": JOBS}:
        raise BenchError(f"{JOBS} plan changes queued {queued}, not {JOBS} pending jobs")
    launched = time.time()
    with workers(url, org.id, count, SINGLE) as running:
        wait_delivered(engine, org.id, after, running)
    first_claim, _, last_done = window(engine, org.id, after)
    check_ehr(ehr, org)
    return Batch(JOBS / (last_done - first_claim), first_claim - launched, write)


def throughput(url: str, ehr: EhrServer, org: Org) -> float:
    """Print the batches' rates; the median time of a plan change made while no worker runs."""
    rates: dict[int, list[float]] = {1: [], 2: []}
    batches = []
    for r in range(ROUNDS):
        for count in (1, 2) if r % 2 == 0 else (2, 1):
            batch = throughput_batch(url, ehr, org, count)
            rates[count].append(batch.rate)
            batches.append(batch)
    median = {count: statistics.median(values) for count, values in rates.items()}
    print(f"  {'workers':<8} {'median jobs/s':>13}   each batch (jobs/s)")
    for count, values in rates.items():
        print(f"  {count:<8} {median[count]:>13.1f}   {', '.join(f'{v:.1f}' for v in values)}")
    startup = statistics.median(b.startup for b in batches)
    print(f"  worker start-up to first claim (not counted): median {startup:.2f} s")
    ratio = median[2] / median[1]
    print(f"  2 workers / 1 worker: {ratio:.2f} (target >= 1.6: {verdict(ratio >= 1.6)})")
    print(f"  EHR after every batch: {check_ehr(ehr, org)}")
    return statistics.median(b.write for b in batches)


def drain(
    url: str,
    ehr: EhrServer,
    proxy: FaultProxy,
    org: Org,
    case: dict[str, Any],
    write: float,
    settings: dict[str, float],
) -> float:
    engine = org.services.engine
    start = last_job(engine)
    org.add_clients(case, CLIENTS)
    with workers(url, org.id, 2, settings) as running:
        wait_delivered(engine, org.id, start, running)  # their first deliveries, the EHR up
        after = last_job(engine)
        proxy.down = True
        went_down = time.monotonic()
        try:
            building = org.change_plans(BACKLOG)
            heads_failed(engine, after, time.monotonic() + 10)
        finally:
            outage = time.monotonic() - went_down
            up = time.time()
            proxy.down = False
        queued = states(engine, org.id, after)
        failures = failed_attempts(engine, after)
        wait_delivered(engine, org.id, after, running)
    _, first_done, last_done = window(engine, org.id, after)
    rate = BACKLOG / (last_done - up)
    print(
        f"  EHR unreachable for {outage:.1f} s while {BACKLOG} plan changes queued; 2 workers failed "
        f"{failures} attempts meanwhile, backing off; at recovery {dict(sorted(queued.items()))}"
    )
    print(
        f"  a plan change took {building / BACKLOG * 1000:.1f} ms while the workers failed and polled, "
        f"{write * 1000:.1f} ms with no worker running (median of the throughput batches)"
    )
    print(
        f"  drain from recovery: first delivery after {first_done - up:.2f} s, last after "
        f"{last_done - up:.2f} s: {rate:.1f} jobs/s (target >= 50: {verdict(rate >= 50)})"
    )
    print(f"  EHR after the drain: {check_ehr(ehr, org)}")
    return rate


def rig(stack: ExitStack, proxy_class: type[FaultProxy] = FaultProxy) -> tuple[str, str, Any, Any, Services]:
    """A fresh PostgreSQL database, migrated, with the service's parts on it; the stand-in EHR behind a
    proxy adding LATENCY_MS: (url, label, ehr, proxy, services), each stopped when `stack` closes."""
    _unpin()
    missing = node_available()
    if missing:
        raise BenchError(f"the stand-in EHR cannot start: {missing}")
    url, label = stack.enter_context(database())
    ehr = start_ehr()
    stack.callback(ehr.stop)
    proxy = proxy_class(ehr.url, delay_seconds=LATENCY_MS / 1000).start()
    stack.callback(proxy.stop)
    services = bootstrap(Settings(database_url=url, log_level="WARNING"))
    stack.callback(services.close)
    upgrade(services.engine)
    return url, label, ehr, proxy, services


def run() -> None:
    case = json.loads(CASE_FILE.read_text())
    with ExitStack() as stack:
        url, label, ehr, proxy, services = rig(stack)
        orgs = {}
        for org_id, prefix in (("bench-throughput", "tp"), ("bench-drain", "dr"), ("bench-drain-1", "d1")):
            _, token = register_client(
                services.storage, services.settings, org_id, "bench", "system/*.read system/*.write"
            )
            with writing(services.engine) as conn:
                ehr_store.add_ehr(conn, Ehr(org_id, EHR_ID, proxy.url, "none"), stamp(utc_now()))
            orgs[prefix] = Org(services, services.auth.authenticate(f"Bearer {token}"), prefix)
        print(
            f"delivery benchmark: stand-in EHR (node, @medplum/fhir-router in memory) behind the fault proxy, "
            f"{LATENCY_MS:g} ms added per request; {label}"
        )
        print(
            f"  `fhir-adapter worker --org` processes, FHIR_ADAPTER_POLL_SECONDS={POLL}; {CLIENTS} clients "
            f"(patient lanes) per scenario; only {os.cpu_count()} cores, shared by the workers, the database, "
            "the EHR and the proxy"
        )
        tp = orgs["tp"]
        tp.add_clients(case, CLIENTS)
        with workers(url, tp.id, 2, WORKER_SETTINGS) as running:  # their first deliveries, not measured
            wait_delivered(services.engine, tp.id, 0, running)
        print(
            f"throughput: {JOBS} plan-change jobs per batch over the {CLIENTS} clients, made before the "
            f"workers start; timed from the first claim to the last delivery; {ROUNDS} rounds, 1 and 2 "
            "workers alternating"
        )
        write = throughput(url, ehr, tp)
        print(
            f"drain: {BACKLOG} jobs over {CLIENTS} other clients, queued while the EHR is unreachable; "
            f"2 workers, FHIR_ADAPTER_RETRY_BASE_SECONDS={DRAIN_SETTINGS['RETRY_BASE_SECONDS']} "
            f"RETRY_CAP_SECONDS={DRAIN_SETTINGS['RETRY_CAP_SECONDS']}"
        )
        batched = drain(url, ehr, proxy, orgs["dr"], case, write, DRAIN_SETTINGS)
        print("the same drain with FHIR_ADAPTER_BATCH_JOBS=1 (each job its own write), for comparison:")
        single = drain(url, ehr, proxy, orgs["d1"], case, write, DRAIN_SETTINGS | {"BATCH_JOBS": 1})
        print(f"  taking a patient's queued jobs together drains {batched / single:.1f}x faster")
        if proxy.errors:
            print(
                f"  WARNING: the fault proxy's handlers raised {len(proxy.errors)} times:\n{proxy.errors[0]}"
            )


def main() -> None:
    """Run the benchmark; exit non-zero when it could not run or the EHR's content is wrong (not for a miss)."""
    try:
        run()
    except WrongContent as err:
        raise SystemExit(f"DELIVERY IS WRONG: {err}") from err
    except (BenchError, OSError, RuntimeError, requests.RequestException, sa.exc.SQLAlchemyError) as err:
        raise SystemExit(f"the delivery benchmark could not run: {err}") from err


if __name__ == "__main__":
    main()
