"""Admission benchmark: how fast `fhir-adapter mllp` acknowledges HL7 v2 ADT, and how long an A01 takes to
put the client's records into the EHR.

Set-up: a fresh PostgreSQL database; clients made through the service layer in this process (what the HTTP
API calls) from fixtures/cases/discharge-kim.json, each with its own ids and its own medical record number
(a client identifier of the EHR's MRN system), then ANALYZE: the planner's statistics, which autovacuum
keeps in a running database (without them, matching by MRN takes a plan that reads every client); the
stand-in EHR (tests/ehr/server.js, as in tests/bench/delivery.py) behind the fault proxy, which adds
BENCH_EHR_LATENCY_MS (default 20) to every request, holding a Patient with the MRN and an Encounter with the
visit number for each admission. The listener is one `fhir-adapter mllp --org --ehr` process, logging at
INFO to a file, as deployed; the messages come from this process over MLLP (tests/support/adt.py). Where
the time goes: the CPU each process used (from /proc: the listener, the workers, PostgreSQL's processes for
this database, node, this process, anything else on the machine, which should be near 0) and how long the
EHR took to answer each kind of request, past the proxy's added latency.

ACK latency: BENCH_ADT_SECONDS (default 30) × BENCH_ADT_RATE (default 30) messages/s, open loop: each
message has its time on a fixed schedule and latency counts from that time to its ACK, so a slow answer is
not hidden by the sender waiting for it. A sender waits for each ACK before its connection's next message
(MLLP), so the messages go over BENCH_ADT_CONNECTIONS (default 4) connections in turn, each carrying every
fourth message; a message whose connection is still waiting goes late, and the wait counts. The mix:
visits of 4 known clients for every unknown MRN, each visit an A01, then its A08 2 s later, then its A03
2 s after that (A01/A08/A03 a third each). No worker runs meanwhile: the queued pushes wait (another
organisation than the next scenario's). Target (issue): p99 <= 100 ms.

Admission to the EHR: BENCH_ADT_BURSTS (default 6) bursts of 20 A01s, one every 10 s (2 admissions/s on
average), each burst's 20 sent at once over the same connections, each A01 a client not yet linked to the
EHR; 2 `fhir-adapter worker --org` processes (FHIR_ADAPTER_POLL_SECONDS=0.05 as in the delivery benchmark)
find the EHR's Patient by MRN and the Encounter by visit number, then send the push: the client's active
plan with its goals, latest assessments, open referral and its Task, the episode's care team, in one
transaction Bundle. Per admission: from the A01's ACK (received here) to the EHR's meta.lastUpdated of the
last resource that push wrote (the EHR's own clock, the same machine's), and for comparison to the job's
finished_at (stamped by the worker after the EHR's 2xx, with the delivery recorded). Before the bursts, a
few admissions are sent one at a time, each waiting for the last to arrive (the first absorbs the workers'
start-up): what one admission takes with no queue. Target (issue): p95 <= 2 s.

Afterwards the EHR must hold, for each admitted client, one CarePlan linked to its admission's Encounter: a
duplicate, a miss or a wrong link fails the run (non-zero exit status). Misses of the targets are printed,
never fatal. About 2 minutes. Repeat with `make bench`, or alone with
`.venv/bin/python -m tests.bench.adt`; BENCH_PG_URL names the PostgreSQL server (default
postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from fhir_adapter.adapters import ehr_store
from fhir_adapter.adapters.db import reading, writing
from fhir_adapter.adapters.tables import delivery_ledger, inbound_messages, outbox_jobs
from fhir_adapter.api.http import Services
from fhir_adapter.delivery.writes import provenance_id
from fhir_adapter.service import records
from fhir_adapter.service.auth import register_client
from fhir_adapter.service.context import Principal, stamp, utc_now
from fhir_adapter.service.kinds import KINDS
from tests.bench.delivery import (
    POLL,
    WORKER_SETTINGS,
    WorkerProcess,
    WrongContent,
    last_job,
    moment,
    rig,
    verdict,
    wait_delivered,
    workers,
)
from tests.bench.service import BIN, CASE_FILE, BenchError
from tests.support import adt
from tests.support.ehr_server import EhrServer
from tests.support.fault_proxy import FaultProxy

LATENCY_MS = float(os.environ.get("BENCH_EHR_LATENCY_MS", "20"))
RATE = float(os.environ.get("BENCH_ADT_RATE", "30"))
SECONDS = float(os.environ.get("BENCH_ADT_SECONDS", "30"))
CONNECTIONS = int(os.environ.get("BENCH_ADT_CONNECTIONS", "4"))
BURSTS = int(os.environ.get("BENCH_ADT_BURSTS", "6"))
BURST, BURST_EVERY = 20, 10.0
ALONE = 5  # admissions sent one at a time, after one that absorbs the workers' start-up
WORKERS = 2
UNKNOWN_EVERY = 5  # every fifth visit is of an MRN no client has
LAG = 2.0  # seconds from a visit's A01 to its A08, and from its A08 to its A03
LATE = 0.005  # a message sent this far behind its time was held up by its connection's previous ACK
EHR_ID = "hospital"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.7"
VISIT_SYSTEM = "urn:oid:2.16.840.1.113883.19.5.9"
AUTHORITY = "RGH"
COLLECTIONS = (
    ("episodes", "episode"),
    ("assessments", "assessment"),
    ("service_plans", "service-plan"),
    ("referrals", "referral"),
)
SUBJECT = {"Task": "for", "EpisodeOfCare": "patient"}  # the others name their patient in `subject`


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def pct(values: list[float], p: int) -> float:
    """The p-th percentile (statistics.quantiles, inclusive method: never beyond the largest)."""
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


# --- where the CPU goes ---

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
OTHERS = "anything else on the machine"


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _postgres(database: str) -> list[int]:
    """The PostgreSQL server's processes serving `database`, and its background ones (WAL writer,
    checkpointer, ...): not the backends of other databases. Backends come and go."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
        backend = "(" in title or "[local]" in title
        if not backend or f" {database} " in title:
            found.append(int(entry.name))
    return found


def _machine() -> float:
    """CPU seconds the machine spent busy (all cores), from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / TICK


class CpuWatch:
    """CPU seconds per group of processes between start() and stop(), PostgreSQL's for `database` among
    them, and the whole machine's; on Linux (/proc), else nothing."""

    def __init__(self, groups: dict[str, list[int]], database: str) -> None:
        self.groups = groups
        self.database = database
        self.available = Path("/proc/stat").exists()
        self.used: dict[str, float] = {}
        self.machine = 0.0
        self.wall = 0.0

    def _snapshot(self) -> dict[str, dict[int, float]]:
        pids = self.groups | {"PostgreSQL": _postgres(self.database)}
        return {name: {pid: _cpu_of(pid) for pid in group} for name, group in pids.items()}

    def start(self) -> CpuWatch:
        if self.available:
            self._begin, self._machine, self._t = self._snapshot(), _machine(), time.perf_counter()
        return self

    def stop(self) -> CpuWatch:
        if not self.available:
            return self
        end = self._snapshot()
        self.wall = time.perf_counter() - self._t
        for name, group in end.items():
            before = self._begin.get(name, {})
            self.used[name] = sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in group.items())
        self.machine = _machine() - self._machine
        self.used[OTHERS] = max(0.0, self.machine - sum(self.used.values()))
        return self

    def net(self, idle: CpuWatch | None = None, idle_seconds: float = 0.0) -> dict[str, float]:
        """CPU seconds by group, less what the same group uses idle (polling) in `idle_seconds`."""
        out = {}
        for name, used in self.used.items():
            base = idle.used.get(name, 0.0) / idle.wall * idle_seconds if idle and idle.wall else 0.0
            out[name] = max(0.0, used - base)
        return out

    def per(self, count: int, idle: CpuWatch | None = None, idle_seconds: float = 0.0) -> str:
        """CPU ms per item by group, idle polling taken out as net() does."""
        if not self.used:
            return "(no /proc: not measured)"
        return ", ".join(
            f"{name} {used / count * 1000:.1f}" for name, used in self.net(idle, idle_seconds).items()
        )

    def disturbed(self) -> str:
        """A warning when other processes used a noticeable share of the machine meanwhile."""
        other = self.used.get(OTHERS, 0.0) / self.wall if self.wall else 0.0
        if other < 0.1:
            return ""
        return (
            f"  WARNING: other processes used {other:.2f} cores meanwhile: these numbers are disturbed, "
            "run again on a quiet machine"
        )


# --- the EHR's share ---


@dataclass(frozen=True)
class Trip:
    method: str
    path: str
    arrived: float  # wall clock, the request read by the proxy
    answered: float  # wall clock, the EHR's answer back at the proxy
    ehr: float  # seconds the EHR took, the added latency apart

    @property
    def kind(self) -> str:
        resource = self.path.split("?", 1)[0].strip("/").split("/")[-1] or "(transaction)"
        return f"{self.method} {resource}{'?' if '?' in self.path else ''}"


class TimedProxy(FaultProxy):
    """The fault proxy, also timing each request's trip on to the EHR and back."""

    def __init__(self, upstream: str, delay_seconds: float = 0.0) -> None:
        super().__init__(upstream, delay_seconds)
        self.trips: list[Trip] = []

    def forward(self, method: str, path: str, body: bytes, headers: Any) -> Any:
        arrived, started = time.time(), time.perf_counter()
        reply = super().forward(method, path, body, headers)
        took = time.perf_counter() - started
        self.trips.append(Trip(method, path, arrived, arrived + took, took - self.delay_seconds))
        return reply


# --- the clients ---


@dataclass
class Org:
    services: Services
    principal: Principal

    @property
    def id(self) -> str:
        return self.principal.org.id

    @property
    def engine(self) -> sa.Engine:
        return self.services.engine

    def add_clients(self, case: dict[str, Any], tags: list[str]) -> float:
        """One client per tag, with the case file's records under ids of its own and MRN `MRN-<tag>`, each
        client in one transaction. Seconds per client."""
        ids = [case["client"]["id"]] + [r["id"] for key, _ in COLLECTIONS for r in case.get(key, [])]
        started = time.perf_counter()
        for tag in tags:
            renamed = {old: f"{old}-{tag}" for old in ids}
            mine = _renamed(copy.deepcopy(case), renamed)
            mine["client"]["identifiers"] = [
                {"system": MRN_SYSTEM, "value": f"MRN-{tag}", "type": "MR", "assigner": AUTHORITY}
            ]
            deps = self.services.deps
            with writing(self.services.engine) as conn:
                records.create(conn, deps, self.principal, KINDS["client"], mine["client"])
                for key, kind in COLLECTIONS:
                    for record in mine.get(key, []):
                        records.create(conn, deps, self.principal, KINDS[kind], record)
        took = (time.perf_counter() - started) / max(1, len(tags))
        with self.engine.connect() as conn:  # the planner's statistics, as autovacuum keeps them
            conn.execute(sa.text("ANALYZE"))
            conn.commit()
        return took


def _renamed(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def client_id(tag: str) -> str:
    return f"CL-20417-{tag}"


def visit(tag: str, mrn: str | None = None) -> adt.Visit:
    return adt.Visit(mrn=mrn or f"MRN-{tag}", number=f"V-{tag}", authority=AUTHORITY)


def in_ehr(ehr: EhrServer, tag: str) -> None:
    """The hospital's Patient (with the MRN) and the admission's Encounter (with the visit number)."""
    ehr.put(
        {
            "resourceType": "Patient",
            "id": f"pt-{tag}",
            "identifier": [{"system": MRN_SYSTEM, "value": f"MRN-{tag}"}],
            "name": [{"family": "Kim", "given": ["Seo-yeon"]}],
        }
    )
    ehr.put(
        {
            "resourceType": "Encounter",
            "id": f"enc-{tag}",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "identifier": [{"system": VISIT_SYSTEM, "value": f"V-{tag}"}],
            "subject": {"reference": f"Patient/pt-{tag}"},
        }
    )


# --- the listener ---


@contextmanager
def listener(url: str, org_id: str) -> Iterator[tuple[int, int]]:
    """`fhir-adapter mllp --org --ehr --port 0`, up once it says where it listens; stopped at the end."""
    env = os.environ | {"FHIR_ADAPTER_DATABASE_URL": url, "FHIR_ADAPTER_LOG_LEVEL": "INFO"}
    command = [str(BIN / "fhir-adapter"), "mllp", "--org", org_id, "--ehr", EHR_ID, "--port", "0"]
    with tempfile.NamedTemporaryFile("w+b") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            yield _wait_listening(proc, log.name), proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_listening(proc: subprocess.Popen[bytes], log: str) -> int:
    deadline = time.monotonic() + 30
    text = ""
    while time.monotonic() < deadline and proc.poll() is None:
        with open(log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for line in text.splitlines():
            if line.startswith("fhir-adapter MLLP listening on "):
                return int(line.split()[4].rsplit(":", 1)[1])
        time.sleep(0.1)
    raise BenchError(f"`fhir-adapter mllp` did not listen (exit status {proc.poll()}):\n{text[-2000:]}")


# --- the sender ---


@dataclass(frozen=True)
class Message:
    at: float  # seconds after the start, on the schedule
    event: str
    tag: str
    text: str


@dataclass(frozen=True)
class Answer:
    message: Message
    due: float  # perf_counter seconds
    sent: float
    acked: float
    acked_wall: float  # time.time() when the ACK was read
    code: str

    @property
    def latency(self) -> float:
        """From the message's time on the schedule to its ACK."""
        return self.acked - self.due

    @property
    def service(self) -> float:
        """From the message's send to its ACK."""
        return self.acked - self.sent


def send_on_schedule(port: int, messages: list[Message], connections: int) -> list[Answer]:
    """Each message sent at its time (or as soon as its connection's previous ACK is in), the messages
    dealt to the connections in turn; one thread per connection."""
    lanes = [messages[i::connections] for i in range(connections)]
    senders = [adt.Sender(port) for _ in lanes]
    answers: list[list[Answer]] = [[] for _ in lanes]
    errors: list[BaseException] = []
    start = time.perf_counter() + 0.2

    def run(sender: adt.Sender, lane: list[Message], out: list[Answer]) -> None:
        try:
            for m in lane:
                due = start + m.at
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                sent = time.perf_counter()
                ack = sender.send(m.text)
                acked, wall = time.perf_counter(), time.time()
                out.append(Answer(m, due, sent, acked, wall, adt.ack_code(ack)))
        except (OSError, StopIteration) as err:
            errors.append(err)

    threads = [
        threading.Thread(target=run, args=(s, lane, out), name=f"mllp-sender-{i}", daemon=True)
        for i, (s, lane, out) in enumerate(zip(senders, lanes, answers, strict=True))
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in senders:
            s.close()
    if errors:
        raise BenchError(f"an MLLP connection failed: {errors[0]!r}")
    return sorted((a for out in answers for a in out), key=lambda a: (a.message.at, a.due))


# --- ACK latency ---


def ack_messages(visits: int) -> list[Message]:
    """Visit v's A01 at step v, its A08 LAG later, its A03 2 × LAG later; the messages in step order,
    each at its place on the RATE schedule. Every UNKNOWN_EVERY-th visit is of an MRN no client has."""
    lag = round(LAG * RATE / 3)  # steps: each step carries about three messages
    plan: list[tuple[str, str, str]] = []
    for step in range(visits + 2 * lag):
        for event, v in (("A01", step), ("A08", step - lag), ("A03", step - 2 * lag)):
            if 0 <= v < visits:
                plan.append((event, f"a{v:04d}", "x" if v % UNKNOWN_EVERY == UNKNOWN_EVERY - 1 else ""))
    out = []
    for i, (event, tag, unknown) in enumerate(plan):
        v = visit(tag, f"MRN-NOBODY-{tag}" if unknown else None)
        extra = {}
        if event == "A08":
            extra = {"location": "5W^501^A^RGH"}
        elif event == "A03":
            extra = {"disposition": "01^Discharged to home", "discharged": "20251020140000-0500"}
        text = adt.message(event, v, control_id=f"{event}-{tag}", **extra)
        out.append(Message(i / RATE, event, tag, text))
    return out


def inbound_states(engine: sa.Engine, org_id: str) -> dict[str, int]:
    m = inbound_messages.c
    query = sa.select(m.state, sa.func.count()).where(m.org_id == org_id).group_by(m.state)
    with reading(engine) as conn:
        return {state: int(n) for state, n in conn.execute(query)}


def ack_latency(url: str, org: Org, case: dict[str, Any]) -> None:
    database = sa.make_url(url).database or ""
    visits = round(RATE * SECONDS / 3)
    messages = ack_messages(visits)
    known = sorted({m.tag for m in messages if "NOBODY" not in m.text})
    each = org.add_clients(case, known)
    events = Counter(m.event for m in messages)
    print(
        f"ACK latency: {len(messages)} messages at {RATE:g}/s for {SECONDS:g} s, open loop "
        f"({', '.join(f'{e} {n}' for e, n in sorted(events.items()))}); {visits} visits, "
        f"{len(known)} of known clients (made at {ms(each)} a client, then ANALYZE), {visits - len(known)} "
        "of unknown MRNs"
    )
    print(
        f"  {CONNECTIONS} MLLP connections, the messages dealt to them in turn: each connection waits for its "
        f"ACK before its next message, {RATE / CONNECTIONS:g}/s each ({ms(CONNECTIONS / RATE)} apart); "
        "latency counts from the message's time on the schedule; no worker runs"
    )
    with listener(url, org.id) as (port, pid):
        warm = [Message(0.0, "A08", "warm", adt.message("A08", visit("warm"), control_id="A08-warm"))]
        send_on_schedule(port, warm, 1)  # the listener's first message: imports, the first connection
        cpu = CpuWatch({"listener": [pid], "this process (sender)": [os.getpid()]}, database).start()
        answers = send_on_schedule(port, messages, CONNECTIONS)
        cpu.stop()
    codes = Counter(a.code for a in answers)
    lat = [a.latency for a in answers]
    service = [a.service for a in answers]
    late = sum(1 for a in answers if a.sent - a.due > LATE)
    span = max(a.acked for a in answers) - min(a.due for a in answers)
    p50, p99 = statistics.median(lat), pct(lat, 99)
    print(
        f"  scheduled send to ACK: p50 {ms(p50)}, p99 {ms(p99)}, max {ms(max(lat))} "
        f"(target p99 <= 100 ms: {verdict(p99 <= 0.1)})"
    )
    print(
        f"  send to ACK: p50 {ms(statistics.median(service))}, p99 {ms(pct(service, 99))}; "
        f"{late} of {len(answers)} sent more than {ms(LATE)} late; {len(answers) / span:.1f} messages/s "
        f"achieved; p99 / p50: {p99 / p50:.1f}"
    )
    by_event = defaultdict(list)
    for a in answers:
        by_event[a.message.event].append(a.latency)
    print(
        "  by event (p50 / p99): "
        + "; ".join(f"{e} {ms(statistics.median(v))} / {ms(pct(v, 99))}" for e, v in sorted(by_event.items()))
    )
    stored = dict(sorted(inbound_states(org.engine, org.id).items()))
    print(f"  ACKs: {dict(sorted(codes.items()))}; stored (with one warm-up A08 first): {stored}")
    busy = cpu.machine / cpu.wall if cpu.wall else 0.0
    print(
        f"  CPU ms per message: {cpu.per(len(answers))}; the machine {busy:.2f} of {os.cpu_count()} cores "
        "busy"
    )
    if cpu.disturbed():
        print(cpu.disturbed())
    if set(codes) != {"AA"}:
        raise BenchError(f"not every message was accepted: {dict(codes)}")


# --- admission to the EHR ---


@dataclass(frozen=True)
class Admission:
    tag: str
    acked: float  # wall clock, the A01's ACK read here
    claimed: float  # the push job's (last) claim, as the worker stamped it
    committed: float  # the EHR's meta.lastUpdated of the last resource the push wrote
    finished: float  # the job's finished_at: after the EHR's 2xx, the delivery recorded
    place: int  # in its burst, 0 first

    @property
    def to_ehr(self) -> float:
        return self.committed - self.acked

    @property
    def to_finished(self) -> float:
        return self.finished - self.acked


def push_jobs(org: Org, after: int) -> dict[str, Any]:
    """The push job of each client (the A01's), after job `after`."""
    j = outbox_jobs.c
    query = sa.select(j.id, j.client_id, j.state, j.claimed_at, j.finished_at).where(
        j.org_id == org.id, j.id > after, j.action == "push"
    )
    with reading(org.engine) as conn:
        rows = list(conn.execute(query))
    found: dict[str, Any] = {}
    for row in rows:
        if row.client_id in found:
            raise WrongContent(f"client {row.client_id} has two push jobs from one admission")
        found[row.client_id] = row
    return found


def written(org: Org, job_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Each job's resources as the EHR named them (the delivery ledger)."""
    ledger = delivery_ledger.c
    query = sa.select(ledger.job_id, ledger.resource_type, ledger.ehr_resource_id, ledger.id).where(
        ledger.org_id == org.id, ledger.job_id.in_(job_ids), ledger.action == "PUT"
    )
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    with reading(org.engine) as conn:
        for job_id, rtype, ehr_id, our_id in conn.execute(query):
            out[job_id].append((rtype, ehr_id or our_id))
    return out


def ehr_resources(ehr: EhrServer, types: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for rtype in sorted(types):
        page = ehr.search(rtype)
        if len(page) >= 1000:
            raise BenchError(f"the EHR holds 1,000 {rtype} or more: one search page no longer sees them all")
        found |= {(rtype, r["id"]): r for r in page}
    return found


def admissions(
    org: Org, ehr: EhrServer, answers: list[Answer], after: int, places: dict[str, int]
) -> list[Admission]:
    """Per A01: its ACK, its push's claim and finish, the EHR's last write of it; WrongContent when the
    EHR does not hold what was sent, once, for the right patient and encounter."""
    jobs = push_jobs(org, after)
    ledger = written(org, [row.id for row in jobs.values()])
    types = {rtype for keys in ledger.values() for rtype, _ in keys} | {"Provenance"}
    held = ehr_resources(ehr, types)
    plans = defaultdict(list)
    for (rtype, _), r in held.items():
        if rtype == "CarePlan":
            plans[r.get("subject", {}).get("reference")].append(r)
    out, wrong = [], []
    for a in answers:
        tag = a.message.tag
        row = jobs.get(client_id(tag))
        if row is None or row.state != "delivered" or not ledger.get(row.id):
            wrong.append(f"{tag}: no delivered push ({row.state if row is not None else 'no job'})")
            continue
        keys = [*ledger[row.id], ("Provenance", provenance_id(org.id, EHR_ID, row.id))]
        missing = [k for k in keys if k not in held]
        if missing:
            wrong.append(f"{tag}: {len(missing)} resources not in the EHR ({missing[0]})")
            continue
        mine = plans.get(f"Patient/pt-{tag}", [])
        if len(mine) != 1 or mine[0].get("encounter", {}).get("reference") != f"Encounter/enc-{tag}":
            wrong.append(f"{tag}: {len(mine)} CarePlans, encounter {[p.get('encounter') for p in mine]}")
            continue
        for rtype, rid in ledger[row.id]:
            field = SUBJECT.get(rtype, "subject")
            subject = (held[(rtype, rid)].get(field) or {}).get("reference")
            if subject is not None and subject != f"Patient/pt-{tag}":
                wrong.append(f"{tag}: {rtype}/{rid} is about {subject}")
        committed = max(moment(held[k]["meta"]["lastUpdated"]) for k in keys)
        out.append(
            Admission(
                tag, a.acked_wall, moment(row.claimed_at), committed, moment(row.finished_at), places[tag]
            )
        )
    if wrong:
        raise WrongContent(f"the EHR's admissions are wrong: {'; '.join(wrong[:10])}")
    return out


def worker_steps(done: list[Admission], trips: list[Trip]) -> dict[str, list[float]]:
    """From the claim to the EHR's commit, step by step: the Patient lookup by MRN and the Encounter lookup
    by visit number (each the added latency and the EHR's time), and the gaps the worker spends between."""
    steps: dict[str, list[float]] = defaultdict(list)
    for d in done:
        patient = [t for t in trips if t.path.startswith("/Patient?") and t.path.endswith(f"MRN-{d.tag}")]
        encounter = [t for t in trips if t.path.startswith("/Encounter?") and f"V-{d.tag}" in t.path]
        if len(patient) != 1 or len(encounter) != 1:
            continue
        (p,), (e,) = patient, encounter
        steps["claim to the Patient lookup"].append(p.arrived - d.claimed)
        steps["Patient lookup"].append(p.answered - p.arrived)
        steps["then to the Encounter lookup"].append(e.arrived - p.answered)
        steps["Encounter lookup"].append(e.answered - e.arrived)
        steps["then to the last resource committed"].append(d.committed - e.answered)
    return steps


def wait_all(org: Org, after: int, running: list[WorkerProcess]) -> None:
    wait_delivered(org.engine, org.id, after, running)


def alone(org: Org, port: int, running: list[WorkerProcess], ehr: EhrServer, tags: list[str]) -> list[float]:
    """Admissions one at a time, each delivered before the next is sent: seconds from ACK to the EHR."""
    took = []
    for tag in tags:
        after = last_job(org.engine)
        message = Message(0.0, "A01", tag, adt.message("A01", visit(tag), control_id=f"A01-{tag}"))
        answers = send_on_schedule(port, [message], 1)
        wait_all(org, after, running)
        (one,) = admissions(org, ehr, answers, after, {tag: 0})
        took.append(one.to_ehr)
    return took


def admission_to_ehr(url: str, org: Org, ehr: EhrServer, proxy: TimedProxy, case: dict[str, Any]) -> None:
    database = sa.make_url(url).database or ""
    warm = [f"w{n:02d}" for n in range(1 + ALONE)]
    burst_tags = [f"b{b}{n:02d}" for b in range(BURSTS) for n in range(BURST)]
    each = org.add_clients(case, warm + burst_tags)
    for tag in warm + burst_tags:
        in_ehr(ehr, tag)
    print(
        f"admission to the EHR: {BURSTS} bursts of {BURST} A01s, one every {BURST_EVERY:g} s "
        f"({BURST / BURST_EVERY:g} admissions/s), each burst's A01s sent at once over {CONNECTIONS} MLLP "
        f"connections; each a client not yet linked (made at {ms(each)} a client, then ANALYZE); {WORKERS} "
        f"`fhir-adapter worker --org` processes, FHIR_ADAPTER_POLL_SECONDS={POLL}"
    )
    print(
        "  per admission: from the A01's ACK to the EHR's meta.lastUpdated of the last resource its push "
        "wrote (the EHR's clock); the job's finished_at (after the EHR's 2xx, recorded) for comparison"
    )
    with listener(url, org.id) as (port, pid), workers(url, org.id, WORKERS, WORKER_SETTINGS) as running:
        groups = {
            "workers": [w.process.pid for w in running],
            "EHR (node)": [ehr.process.pid],
            "listener": [pid],
            "this process (sender, proxy)": [os.getpid()],
        }
        started = time.perf_counter()
        alone(org, port, running, ehr, warm[:1])  # the workers' start-up
        startup = time.perf_counter() - started
        single = alone(org, port, running, ehr, warm[1:])
        idle = CpuWatch(groups, database).start()
        time.sleep(2.0)
        idle.stop()
        after = last_job(org.engine)
        seen = len(proxy.trips)
        messages = [
            Message(b * BURST_EVERY, "A01", tag, adt.message("A01", visit(tag), control_id=f"A01-{tag}"))
            for b in range(BURSTS)
            for tag in burst_tags[b * BURST : (b + 1) * BURST]
        ]
        cpu = CpuWatch(groups, database).start()
        answers = send_on_schedule(port, messages, CONNECTIONS)
        wait_all(org, after, running)
        cpu.stop()
        trips = proxy.trips[seen:]
    if any(a.code != "AA" for a in answers):
        raise BenchError(f"not every A01 was accepted: {Counter(a.code for a in answers)}")
    places = {tag: n % BURST for n, tag in enumerate(burst_tags)}
    done = admissions(org, ehr, answers, after, places)
    to_ehr = [d.to_ehr for d in done]
    p50, p95 = statistics.median(to_ehr), pct(to_ehr, 95)
    print(
        f"  ACK to committed in the EHR: p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(to_ehr):.2f} s over "
        f"{len(done)} admissions (target p95 <= 2 s: {verdict(p95 <= 2.0)})"
    )
    fin = [d.to_finished for d in done]
    print(f"  ACK to the job's finished_at: p50 {statistics.median(fin):.2f} s, p95 {pct(fin, 95):.2f} s")
    base = statistics.median(single)
    print(
        f"  one admission alone (no queue): median {ms(base)} of {len(single)}; a burst's p50 / alone: "
        f"{p50 / base:.1f}; worker start-up and the first admission (not counted): {startup:.2f} s"
    )
    parts = {
        "ACK to claimed by a worker": [d.claimed - d.acked for d in done],
        "claimed to committed in the EHR": [d.committed - d.claimed for d in done],
        "committed to finished_at": [d.finished - d.committed for d in done],
    }
    print(
        "  where the time goes (p50 / p95): "
        + "; ".join(f"{name} {ms(statistics.median(v))} / {ms(pct(v, 95))}" for name, v in parts.items())
    )
    quarter = BURST // 4
    firsts = [d.to_ehr for d in done if d.place < quarter]
    lasts = [d.to_ehr for d in done if d.place >= BURST - quarter]
    spans = []
    for b in range(BURSTS):
        mine = [d for d in done if d.tag.startswith(f"b{b}")]
        spans.append(max(d.committed for d in mine) - min(d.acked for d in mine))
    span = statistics.median(spans)
    print(
        f"  by place in the burst (median): first {quarter} {statistics.median(firsts):.2f} s, "
        f"last {quarter} {statistics.median(lasts):.2f} s; a burst is in the EHR {span:.2f} s after its first "
        f"ACK (median): {BURST / span:.1f} admissions/s with {WORKERS} workers, "
        f"{span / BURST * WORKERS * 1000:.0f} ms per admission per worker"
    )
    by_kind: dict[str, list[float]] = defaultdict(list)
    for trip in trips:
        by_kind[trip.kind].append(trip.ehr)
    print(
        f"  EHR requests per admission, {LATENCY_MS:g} ms added to each, then the EHR's own time (median; "
        "node serves one request at a time, and waiting behind another is included): "
        + ", ".join(
            f"{kind} {len(v) / len(done):.2f} x {ms(statistics.median(v))}"
            for kind, v in sorted(by_kind.items())
        )
    )
    steps = worker_steps(done, trips)
    if steps:
        print(
            "  a worker's steps, as the proxy saw them (p50 / p95): "
            + "; ".join(f"{name} {ms(statistics.median(v))} / {ms(pct(v, 95))}" for name, v in steps.items())
        )
    acks = [a.latency for a in answers]
    print(
        f"  the bursts' A01s, scheduled send to ACK: p50 {ms(statistics.median(acks))}, p99 {ms(pct(acks, 99))}"
    )
    quiet = max(0.0, cpu.wall - sum(spans))  # the workers poll between the bursts
    net = cpu.net(idle, quiet)
    ours = sum(used for name, used in net.items() if name != OTHERS) / sum(spans)
    print(
        f"  CPU ms per admission (idle polling between the bursts taken out): {cpu.per(len(done), idle, quiet)}; "
        f"while bursts were delivered, these processes used about {ours:.2f} of {os.cpu_count()} cores"
    )
    if cpu.disturbed():
        print(cpu.disturbed())
    print(
        f"  EHR: for each of the {len(done) + len(warm)} admitted clients one CarePlan linked to its Encounter, "
        "every resource sent present, about the right Patient"
    )


def run() -> None:
    case = json.loads(CASE_FILE.read_text())
    with ExitStack() as stack:
        url, label, ehr, proxy, services = rig(stack, TimedProxy)
        orgs = {}
        for org_id in ("bench-adt-ack", "bench-adt-ehr"):
            _, token = register_client(
                services.engine, services.settings, org_id, "bench", "system/*.read system/*.write"
            )
            ehr_row = ehr_store.Ehr(
                org_id, EHR_ID, proxy.url, "none", mrn_system=MRN_SYSTEM, mrn_authority=AUTHORITY
            )
            with writing(services.engine) as conn:
                ehr_store.add_ehr(conn, ehr_row, stamp(utc_now()))
            orgs[org_id] = Org(services, services.auth.authenticate(f"Bearer {token}"))
        print(
            f"admission benchmark: one `fhir-adapter mllp` process, {label}; stand-in EHR (node, "
            f"@medplum/fhir-router in memory) behind the fault proxy, {LATENCY_MS:g} ms added per request; "
            f"only {os.cpu_count()} cores, shared by the listener, the workers, the database, the EHR, the "
            "proxy and the sender"
        )
        ack_latency(url, orgs["bench-adt-ack"], case)
        admission_to_ehr(url, orgs["bench-adt-ehr"], ehr, proxy, case)
        if proxy.errors:
            print(
                f"  WARNING: the fault proxy's handlers raised {len(proxy.errors)} times:\n{proxy.errors[0]}"
            )
    print("repeat: `make bench`, or alone `.venv/bin/python -m tests.bench.adt`")


def main() -> None:
    """Run the benchmark; exit non-zero when it could not run or the EHR's content is wrong (not for a miss)."""
    try:
        run()
    except WrongContent as err:
        raise SystemExit(f"ADMISSIONS ARE WRONG: {err}") from err
    except (BenchError, OSError, RuntimeError, requests.RequestException, sa.exc.SQLAlchemyError) as err:
        raise SystemExit(f"the admission benchmark could not run: {err}") from err


if __name__ == "__main__":
    main()
