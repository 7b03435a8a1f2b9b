"""HL7 v2 over MLLP for the admission benchmark: a `fhir-adapter mllp` listener in its own process, and a
sender that puts messages on the wire at their times on a schedule over several connections and reads
each ACK."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.bench.adt_setup import EHR_ID
from tests.bench.service import BIN, BenchError
from tests.support import adt
from tests.support.processes import stop

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
            stop(proc, timeout=15)


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
