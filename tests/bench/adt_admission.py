"""The admission benchmark's admission to the EHR: bursts of A01s, each for a client not yet linked to the
EHR, delivered by `fhir-adapter worker` processes; per admission the time from its ACK to the EHR's last
write of its push, where that time goes, and the CPU each process used."""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tests.bench.adt_ehr import Admission, TimedProxy, Trip, admissions, worker_steps
from tests.bench.adt_setup import CONNECTIONS, LATENCY_MS, Org, in_ehr, visit
from tests.bench.cpu import OTHERS, CpuWatch
from tests.bench.delivery import (
    POLL,
    WORKER_SETTINGS,
    WorkerProcess,
    last_job,
    verdict,
    wait_delivered,
    workers,
)
from tests.bench.figures import ms, pct
from tests.bench.mllp import Answer, Message, listener, send_on_schedule
from tests.bench.service import BenchError
from tests.support import adt
from tests.support.ehr_server import EhrServer

BURSTS = int(os.environ.get("BENCH_ADT_BURSTS", "6"))
BURST, BURST_EVERY = 20, 10.0
ALONE = 5  # admissions sent one at a time, after one that absorbs the workers' start-up
WORKERS = 2


@dataclass(frozen=True)
class Bursts:
    """What sending the bursts gave, and what came before them."""

    answers: list[Answer]  # the bursts' A01s
    after: int  # the last job before the bursts
    trips: list[Trip]  # the EHR's requests while the bursts were delivered
    cpu: CpuWatch  # from the bursts' first send to their last delivery
    idle: CpuWatch  # the same processes with nothing to do
    startup: float  # seconds: the workers' start-up and the first admission
    single: list[float]  # seconds from ACK to the EHR, each admission sent alone


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
    """Make the clients and their Patients and Encounters, send the admissions (a few alone, then the
    bursts), check what the EHR holds and print what it took."""
    warm = [f"w{n:02d}" for n in range(1 + ALONE)]
    burst_tags = [f"b{b}{n:02d}" for b in range(BURSTS) for n in range(BURST)]
    each = org.add_clients(case, warm + burst_tags)
    for tag in warm + burst_tags:
        in_ehr(ehr, tag)
    _print_plan(each)
    sent = _send(url, org, ehr, proxy, warm, burst_tags)
    if any(a.code != "AA" for a in sent.answers):
        raise BenchError(f"not every A01 was accepted: {Counter(a.code for a in sent.answers)}")
    places = {tag: n % BURST for n, tag in enumerate(burst_tags)}
    done = admissions(org, ehr, sent.answers, sent.after, places)
    _print_to_ehr(done, sent.single, sent.startup)
    spans = _print_places(done)
    _print_ehr_requests(done, sent.trips)
    acks = [a.latency for a in sent.answers]
    print(
        f"  the bursts' A01s, scheduled send to ACK: p50 {ms(statistics.median(acks))}, p99 {ms(pct(acks, 99))}"
    )
    _print_cpu(sent, len(done), spans)
    print(
        f"  EHR: for each of the {len(done) + len(warm)} admitted clients one CarePlan linked to its Encounter, "
        "every resource sent present, about the right Patient"
    )


def _print_plan(each: float) -> None:
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


def _send(
    url: str, org: Org, ehr: EhrServer, proxy: TimedProxy, warm: list[str], burst_tags: list[str]
) -> Bursts:
    """With the listener and the workers up: the warm-up admissions one at a time, the idle CPU, then the
    bursts on their schedule until every push is delivered."""
    database = sa.make_url(url).database or ""
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
        messages = _burst_messages(burst_tags)
        cpu = CpuWatch(groups, database).start()
        answers = send_on_schedule(port, messages, CONNECTIONS)
        wait_all(org, after, running)
        cpu.stop()
        trips = proxy.trips[seen:]
    return Bursts(answers, after, trips, cpu, idle, startup, single)


def _burst_messages(burst_tags: list[str]) -> list[Message]:
    """Each burst's A01s, all at the burst's time on the schedule."""
    return [
        Message(b * BURST_EVERY, "A01", tag, adt.message("A01", visit(tag), control_id=f"A01-{tag}"))
        for b in range(BURSTS)
        for tag in burst_tags[b * BURST : (b + 1) * BURST]
    ]


def _print_to_ehr(done: list[Admission], single: list[float], startup: float) -> None:
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


def _print_places(done: list[Admission]) -> list[float]:
    """Early and late places in a burst compared; each burst's span from its first ACK to its last
    commit in the EHR, returned."""
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
    return spans


def _print_ehr_requests(done: list[Admission], trips: list[Trip]) -> None:
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


def _print_cpu(sent: Bursts, count: int, spans: list[float]) -> None:
    cpu, idle = sent.cpu, sent.idle
    quiet = max(0.0, cpu.wall - sum(spans))  # the workers poll between the bursts
    net = cpu.net(idle, quiet)
    ours = sum(used for name, used in net.items() if name != OTHERS) / sum(spans)
    print(
        f"  CPU ms per admission (idle polling between the bursts taken out): {cpu.per(count, idle, quiet)}; "
        f"while bursts were delivered, these processes used about {ours:.2f} of {os.cpu_count()} cores"
    )
    if cpu.disturbed():
        print(cpu.disturbed())
