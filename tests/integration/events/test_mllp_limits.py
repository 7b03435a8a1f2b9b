"""The MLLP listener's limits, against the real listener on loopback with small settings: a connection
left idle or with a frame unfinished is closed after the idle time, connections over the cap are closed
at once (and logged), a frame over the size cap is not read, and a sender that pauses between messages for
less than the idle time is served as before."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fhir_adapter.cli import main
from fhir_adapter.events import mllp, v2_ack
from tests.support import adt

MESSAGE = adt.message("A01", adt.Visit(mrn="M1", number="V1"), control_id="LIM-1")


def accept(text: str) -> str:
    return v2_ack.ack(text, "AA")


@pytest.fixture
def small() -> Iterator[adt.Listener]:
    limits = mllp.Limits(idle_seconds=0.5, max_connections=3, max_message=10_000)
    running = adt.Listener(accept, limits=limits).start()
    yield running
    running.stop()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(5)
    return sock


def _closed_after(sock: socket.socket) -> float:
    """Seconds until the listener closes the connection (the read sees the end), at most 5."""
    started = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


@pytest.mark.parametrize(
    "sent", [b"", b"\x0bMSH|", b"\x0b" + MESSAGE.encode()[:-20]], ids=["nothing", "msh", "most"]
)
def test_an_idle_or_unfinished_connection_is_closed_after_the_idle_time(
    small: adt.Listener, sent: bytes
) -> None:
    sock = _connect(small.port)
    try:
        sock.sendall(sent)
        assert 0.3 < _closed_after(sock) < 3
    finally:
        sock.close()


def test_a_sender_pausing_less_than_the_idle_time_between_messages_is_served(small: adt.Listener) -> None:
    sender = adt.Sender(small.port)
    try:
        for _ in range(4):  # 4 x 0.3 s: longer than the idle time in all, shorter between any two
            assert adt.ack_code(sender.send(MESSAGE)) == "AA"
            time.sleep(0.3)
    finally:
        sender.close()


def test_connections_over_the_cap_are_closed_at_once_and_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    limits = mllp.Limits(idle_seconds=5, max_connections=3)
    listener = adt.Listener(accept, limits=limits).start()
    held = [adt.Sender(listener.port) for _ in range(3)]
    try:
        for sender in held:  # each held: served
            assert adt.ack_code(sender.send(MESSAGE)) == "AA"
        extra = _connect(listener.port)
        assert _closed_after(extra) < 1
        extra.close()
        held.pop().close()  # a place comes free
        deadline = time.monotonic() + 5
        while True:
            again = adt.Sender(listener.port)
            try:
                assert adt.ack_code(again.send(MESSAGE)) == "AA"
                break
            except ConnectionError:
                assert time.monotonic() < deadline
            finally:
                again.close()
    finally:
        for sender in held:
            sender.close()
        listener.stop()
    said = capsys.readouterr()
    logged = said.out + said.err  # wherever the log goes in this process
    assert logged.count("mllp.connection_refused") >= 1 and "LIM-1" not in logged


def test_a_frame_over_the_size_cap_is_not_read(small: adt.Listener) -> None:
    sock = _connect(small.port)
    try:
        sock.sendall(b"\x0bMSH|^~\\&|" + b"x" * 20_000)
        assert _closed_after(sock) < 0.4  # closed for its size, before the idle time
    finally:
        sock.close()


def test_the_command_refuses_limits_it_cannot_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FHIR_ADAPTER_DATABASE_URL", f"sqlite:///{tmp_path / 'limits.db'}")
    assert main(["clients", "add", "--org", "acme", "--scopes", "system/*.write"]) == 0
    assert (
        main(["ehrs", "add", "general", "--org", "acme", "--base-url", "https://ehr.example.org/fhir"]) == 0
    )
    capsys.readouterr()
    for option in (["--idle-seconds", "0"], ["--max-connections", "0"]):
        assert main(["mllp", "--org", "acme", "--ehr", "general", "--port", "0", *option]) == 2
        assert "--idle-seconds must be above 0" in capsys.readouterr().err
