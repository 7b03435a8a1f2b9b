"""HL7 v2 ADT for tests, the benchmark and the demo: messages built from a few facts, an MLLP listener in
a thread of this process, and a sender that waits for each ACK."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fhir_adapter.events import mllp

START, END = b"\x0b", b"\x1c\r"


@dataclass(frozen=True)
class Visit:
    mrn: str
    number: str
    authority: str = "RGH"
    family: str = "Kim"
    given: str = "Seo-yeon"
    birth_date: str = "19870412"
    sex: str = "F"
    patient_class: str = "I"
    admitted: str = "20251014083000-0500"


def message(
    event: str, visit: Visit, control_id: str | None = None, evn: str | None = None, **pv1: str
) -> str:
    """An ADT^<event> as the wire carries it (CR between segments). `evn` sets EVN-1, which real feeds
    sometimes fill with another event than MSH-9's."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    control = control_id or uuid.uuid4().hex[:20]
    fields = [""] * 46
    fields[1], fields[2] = "1", visit.patient_class
    fields[3] = pv1.get("location", "4E^412^B^RGH")
    fields[14] = pv1.get("admit_source", "7^Emergency room")
    fields[19] = visit.number
    fields[36] = pv1.get("disposition", "")
    fields[44] = visit.admitted
    fields[45] = pv1.get("discharged", "")
    segments = [
        f"MSH|^~\\&|ADT|RGH|FHIRADAPTER|CMS|{now}||ADT^{event}^ADT_{event}|{control}|P|2.5.1",
        f"EVN|{evn or event}|{now}",
        f"PID|1||{visit.mrn}^^^{visit.authority}^MR||{visit.family}^{visit.given}||{visit.birth_date}|{visit.sex}",
        "PV1|" + "|".join(fields[1:]).rstrip("|"),
    ]
    if event == "A40":
        segments.append(f"MRG|{pv1.get('merged', 'OLD-' + visit.mrn)}^^^{visit.authority}^MR")
    return "\r".join(segments) + "\r"


class Listener:
    """`fhir_adapter.events.mllp.serve` on a free port, in a thread with its own event loop."""

    def __init__(
        self,
        handle: Callable[[str], str],
        context: ssl.SSLContext | None = None,
        limits: mllp.Limits | None = None,
    ) -> None:
        self.handle = handle
        self.context = context
        self.limits = limits or mllp.Limits()
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="mllp", daemon=True)

    def _run(self) -> None:
        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(
            mllp.serve("127.0.0.1", 0, self.handle, ready, self.context, self.limits)
        )
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    def start(self) -> Listener:
        self._thread.start()
        assert self._ready.wait(10), "the MLLP listener did not start"
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)


class Sender:
    """One MLLP connection (over TLS with `context`): send a message, read its ACK."""

    def __init__(self, port: int, host: str = "127.0.0.1", context: ssl.SSLContext | None = None) -> None:
        plain = socket.create_connection((host, port), timeout=30)
        plain.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(plain, server_hostname=host) if context else plain
        self._buffer = b""

    def send(self, text: str) -> str:
        return self.send_bytes(text.encode())

    def send_bytes(self, data: bytes) -> str:
        self.sock.sendall(START + data + END)
        while END not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the listener closed the connection")
            self._buffer += chunk
        block, self._buffer = self._buffer.split(END, 1)
        return block.lstrip(START).decode()

    def close(self) -> None:
        self.sock.close()


def ack_code(ack: str) -> str:
    """MSA-1 of an ACK."""
    msa = next(line for line in ack.split("\r") if line.startswith("MSA"))
    return msa.split("|")[1]
