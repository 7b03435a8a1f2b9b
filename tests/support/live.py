"""The app on a real socket, and requests written byte by byte: what a test client cannot send (chunked
bodies, odd methods, a Host of the caller's choosing)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from werkzeug.serving import make_server


@contextmanager
def serving(app: Any) -> Iterator[tuple[str, int]]:
    """The app on a free port of 127.0.0.1, served by werkzeug in a background thread: (host, port)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def send(
    address: tuple[str, int],
    head: str,
    headers: dict[str, str],
    body: bytes = b"",
    chunked: bool = False,
) -> Answer:
    """One request as written here (`head` is the request line), on a connection that closes after it."""
    lines = [head, *(f"{k}: {v}" for k, v in headers.items()), "Connection: close"]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in _pieces(body)) + b"0\r\n\r\n"
    else:
        payload = body
    with socket.create_connection(address, timeout=30) as sock:
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before it read everything: its answer is still to be read
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received.extend(chunk)
        except ConnectionResetError:
            pass
    return _parse(bytes(received))


def _pieces(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _parse(raw: bytes) -> Answer:
    if not raw.startswith(b"HTTP/"):
        return Answer(0, {}, raw)  # an answer in HTTP/0.9 form, to a request line the server cannot read
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return Answer(int(status_line.split()[1]), headers, body)


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.extend(rest[:size])
        body = rest[size + 2 :]
    return bytes(out)
