"""A small asyncio HTTP/1.1 load generator for the service benchmark; it runs in its own process.

Closed loop: `connections` clients send back to back for `seconds`. Open loop: requests start on a fixed
schedule (`rate` per second) whatever the server does, and latency counts from the scheduled start, so a
slow server is not hidden by the generator waiting for it (no coordinated omission). Connections are kept
alive while the server allows it; gunicorn's sync workers answer `Connection: close`, so then each request
opens a new loopback connection, and that time is part of its latency.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

OPEN_LOOP_MAX_IN_FLIGHT = 64


@dataclass(frozen=True)
class Spec:
    """One load run: what to send, how many at once (closed loop) or how often (open loop), how long."""

    port: int
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""  # `__N__` in the body is replaced by a number unique within the run
    id_prefix: str = ""
    connections: int = 4
    seconds: float = 2.0
    rate: float | None = None  # requests per second for an open-loop run


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, one per response
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # requests that got no HTTP response
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the generator's own CPU time


def requests(spec: Spec) -> Iterator[bytes]:
    """The raw requests of a run, each with its own number in the body."""
    head = f"{spec.method} {spec.path} HTTP/1.1\r\nHost: 127.0.0.1:{spec.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in spec.headers)
    n = 0
    while True:
        n += 1
        body = spec.body.replace(b"__N__", f"{spec.id_prefix}{n}".encode())
        length = f"Content-Length: {len(body)}\r\n" if body or spec.method != "GET" else ""
        yield (head + length + "\r\n").encode() + body


class Connection:
    """One client connection, reopened when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, raw: bytes) -> int:
        """Send one request and read the whole response; its status code."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        try:
            self.writer.write(raw)
            head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            status = int(head.split(" ", 2)[1])
            headers = dict(line.split(":", 1) for line in head.split("\r\n")[1:] if ":" in line)
            length = headers.get("content-length")
            if length is None:
                await self.reader.read()  # no length: the body runs to the end of the connection
            else:
                await self.reader.readexactly(int(length))
            if length is None or headers.get("connection", "").strip() == "close":
                self.close()
            return status
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _timed(conn: Connection, raw: bytes, started: float, result: Result) -> None:
    loop = asyncio.get_running_loop()
    try:
        status = await conn.send(raw)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
        result.failures[type(err).__name__] += 1
        return
    result.latencies.append(loop.time() - started)
    result.statuses[status] += 1


async def _closed_loop(spec: Spec, result: Result) -> None:
    loop = asyncio.get_running_loop()
    raws = requests(spec)
    deadline = loop.time() + spec.seconds

    async def client() -> None:
        conn = Connection(spec.port)
        while loop.time() < deadline:
            await _timed(conn, next(raws), loop.time(), result)
        conn.close()

    await asyncio.gather(*(client() for _ in range(spec.connections)))


async def _open_loop(spec: Spec, result: Result) -> None:
    assert spec.rate
    loop = asyncio.get_running_loop()
    raws, idle, tasks = requests(spec), [], []
    in_flight = asyncio.Semaphore(OPEN_LOOP_MAX_IN_FLIGHT)
    start = loop.time()

    async def fire(raw: bytes, due: float) -> None:
        async with in_flight:
            conn = idle.pop() if idle else Connection(spec.port)
            await _timed(conn, raw, due, result)
            idle.append(conn)

    for n in range(int(spec.seconds * spec.rate)):
        due = start + n / spec.rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        tasks.append(asyncio.create_task(fire(next(raws), due)))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()


async def _run(spec: Spec) -> Result:
    loop = asyncio.get_running_loop()
    result = Result()
    started, cpu = loop.time(), time.process_time()
    await (_open_loop(spec, result) if spec.rate else _closed_loop(spec, result))
    result.seconds, result.cpu_seconds = loop.time() - started, time.process_time() - cpu
    return result


def run(spec: Spec) -> Result:
    """Entry point in the load-generator process."""
    return asyncio.run(_run(spec))
