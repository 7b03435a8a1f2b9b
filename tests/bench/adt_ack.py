"""The admission benchmark's ACK latency: a mix of A01, A08 and A03 sent open loop at BENCH_ADT_RATE a
second for BENCH_ADT_SECONDS to one `fhir-adapter mllp` listener, latency counted from each message's time
on the schedule to its ACK, with no worker running; and the CPU the listener used per message."""

from __future__ import annotations

import os
import statistics
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from fhir_adapter.adapters.db import reading
from fhir_adapter.adapters.sync_tables import inbound_messages
from tests.bench.adt_setup import CONNECTIONS, Org, visit
from tests.bench.cpu import CpuWatch
from tests.bench.delivery import verdict
from tests.bench.figures import ms, pct
from tests.bench.mllp import Answer, Message, listener, send_on_schedule
from tests.bench.service import BenchError
from tests.support import adt

RATE = float(os.environ.get("BENCH_ADT_RATE", "30"))
SECONDS = float(os.environ.get("BENCH_ADT_SECONDS", "30"))
UNKNOWN_EVERY = 5  # every fifth visit is of an MRN no client has
LAG = 2.0  # seconds from a visit's A01 to its A08, and from its A08 to its A03
LATE = 0.005  # a message sent this far behind its time was held up by its connection's previous ACK


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
        patient_visit = visit(tag, f"MRN-NOBODY-{tag}" if unknown else None)
        extra = {}
        if event == "A08":
            extra = {"location": "5W^501^A^RGH"}
        elif event == "A03":
            extra = {"disposition": "01^Discharged to home", "discharged": "20251020140000-0500"}
        text = adt.message(event, patient_visit, control_id=f"{event}-{tag}", **extra)
        out.append(Message(i / RATE, event, tag, text))
    return out


def inbound_states(engine: sa.Engine, org_id: str) -> dict[str, int]:
    m = inbound_messages.c
    query = sa.select(m.state, sa.func.count()).where(m.org_id == org_id).group_by(m.state)
    with reading(engine) as conn:
        return {state: int(n) for state, n in conn.execute(query)}


def ack_latency(url: str, org: Org, case: dict[str, Any]) -> None:
    """Send the mix to a listener for `org`, its known clients made first, and print what it took; a
    BenchError unless every message was accepted."""
    visits = round(RATE * SECONDS / 3)
    messages = ack_messages(visits)
    known = sorted({m.tag for m in messages if "NOBODY" not in m.text})
    each = org.add_clients(case, known)
    _print_plan(messages, visits, len(known), each)
    answers, cpu = _send(url, org, messages)
    codes = Counter(a.code for a in answers)
    _print_latency(answers)
    stored = dict(sorted(inbound_states(org.engine, org.id).items()))
    print(f"  ACKs: {dict(sorted(codes.items()))}; stored (with one warm-up A08 first): {stored}")
    _print_cpu(cpu, len(answers))
    if set(codes) != {"AA"}:
        raise BenchError(f"not every message was accepted: {dict(codes)}")


def _print_plan(messages: list[Message], visits: int, known: int, each: float) -> None:
    events = Counter(m.event for m in messages)
    print(
        f"ACK latency: {len(messages)} messages at {RATE:g}/s for {SECONDS:g} s, open loop "
        f"({', '.join(f'{e} {n}' for e, n in sorted(events.items()))}); {visits} visits, "
        f"{known} of known clients (made at {ms(each)} a client, then ANALYZE), {visits - known} "
        "of unknown MRNs"
    )
    print(
        f"  {CONNECTIONS} MLLP connections, the messages dealt to them in turn: each connection waits for its "
        f"ACK before its next message, {RATE / CONNECTIONS:g}/s each ({ms(CONNECTIONS / RATE)} apart); "
        "latency counts from the message's time on the schedule; no worker runs"
    )


def _send(url: str, org: Org, messages: list[Message]) -> tuple[list[Answer], CpuWatch]:
    """The messages on their schedule, after one warm-up message; the CPU used while they went."""
    database = sa.make_url(url).database or ""
    with listener(url, org.id) as (port, pid):
        warm = [Message(0.0, "A08", "warm", adt.message("A08", visit("warm"), control_id="A08-warm"))]
        send_on_schedule(port, warm, 1)  # the listener's first message: imports, the first connection
        cpu = CpuWatch({"listener": [pid], "this process (sender)": [os.getpid()]}, database).start()
        answers = send_on_schedule(port, messages, CONNECTIONS)
        cpu.stop()
    return answers, cpu


def _print_latency(answers: list[Answer]) -> None:
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


def _print_cpu(cpu: CpuWatch, count: int) -> None:
    busy = cpu.machine / cpu.wall if cpu.wall else 0.0
    print(f"  CPU ms per message: {cpu.per(count)}; the machine {busy:.2f} of {os.cpu_count()} cores busy")
    if cpu.disturbed():
        print(cpu.disturbed())
