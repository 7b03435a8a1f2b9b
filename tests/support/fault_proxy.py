"""A reverse proxy before the stand-in EHR: injects faults, adds latency, and plays a SMART token endpoint.

`FaultProxy` forwards each request to the EHR unless a queued `Fault` answers it instead (an error, a
hang, a reset before or after the EHR commits, an answer held back) and logs what it saw. Once given a
static bearer or `enable_smart` it demands a token; the SMART Backend Services token endpoint it then
serves (assertion checks, JWKS, token issuing) is tests/support/smart_endpoint.py.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
import struct
import threading
import traceback
from dataclasses import dataclass, field
from http.client import responses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from tests.support.smart_endpoint import ASSERTION_TYPE as ASSERTION_TYPE
from tests.support.smart_endpoint import GRANT_PATH, NO_STORE, SMART_CONFIGURATION, SmartEndpoint

FHIR_JSON = "application/fhir+json"
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "If-Match", "If-None-Exist", "Prefer")
RETURNED_HEADERS = ("Content-Type", "ETag", "Location", "Retry-After")
KINDS = frozenset({"status", "hang", "reset_after_commit", "reset_before_forward", "hold_after_commit"})
ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 429: "throttled", 503: "transient"}


@dataclass
class Fault:
    kind: str  # "status" | "hang" | "reset_after_commit" | "reset_before_forward" | "hold_after_commit"
    status: int = 503
    retry_after: str | None = None
    body: dict[str, Any] | None = None
    seconds: float = 5.0
    method: str | None = None
    path_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path_prefix is None or path.startswith(self.path_prefix)
        )


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def outcome(status: int, text: str) -> dict[str, Any]:
    code = ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }


def json_reply(status: int, body: Any, content_type: str = FHIR_JSON, **headers: str) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": content_type, **headers})


def fault_reply(fault: Fault) -> Reply:
    text = f"injected fault: {fault.status} {responses.get(fault.status, '')}".strip()
    body = fault.body if fault.body is not None else outcome(fault.status, text)
    extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    return json_reply(fault.status, body, **extra)


class FaultProxy:
    def __init__(self, upstream: str, delay_seconds: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay_seconds = delay_seconds
        self.down = False
        self.url = ""
        self.log: list[tuple[str, str, int]] = []
        self.received: list[tuple[str, str]] = []  # every request as it arrives, before it is answered
        self.token_requests = 0
        self.token_failures: list[str] = []
        self.seen_jti: set[str] = set()
        self.errors: list[str] = []  # tracebacks of the handler threads
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._static: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._session = requests.Session()  # closed by stop(); usable again after
        self._session.mount("http://", HTTPAdapter(pool_maxsize=64))
        self._smart = SmartEndpoint(self, self._lock, self._session)

    def start(self) -> FaultProxy:
        self._stopping.clear()
        self._server = _Server(self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name="fault-proxy"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes hanging requests and delays
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._session.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    return self._faults.pop(index)
        return None

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.log.append((method, path, status))

    def pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def forward(self, method: str, path: str, body: bytes, headers: Any) -> Reply:
        sent = {name: headers[name] for name in FORWARDED_REQUEST_HEADERS if headers.get(name) is not None}
        sent["Accept-Encoding"] = "identity"
        if self.delay_seconds > 0:
            self.pause(self.delay_seconds)
        try:
            answer = self._session.request(
                method,
                self.upstream + path,
                data=body or None,
                headers=sent,
                timeout=(5, 60),
                allow_redirects=False,
            )
        except requests.RequestException as err:
            return json_reply(502, outcome(502, f"the proxy could not reach the EHR: {err}"))
        kept = {name: answer.headers[name] for name in RETURNED_HEADERS if name in answer.headers}
        return Reply(answer.status_code, answer.content, kept)

    def static_bearer(self, token: str) -> None:
        self._static = token

    def authorize(self, headers: Any) -> Reply | None:
        """None when the request may pass; else the 401 to answer."""
        if self._static is None and not self._smart.enabled:
            return None
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and self._token_valid(token.strip()):
            return None
        return json_reply(
            401, outcome(401, "a valid bearer token is required"), **{"WWW-Authenticate": "Bearer"}
        )

    def _token_valid(self, token: str) -> bool:
        if self._static is not None and hmac.compare_digest(token.encode(), self._static.encode()):
            return True
        return self._smart.issued(token)

    def enable_smart(self, jwks_url: str, client_id: str, token_lifetime: int = 300) -> None:
        self._smart.enable(jwks_url, client_id, token_lifetime)

    @property
    def token_url(self) -> str:
        return self.url + GRANT_PATH

    def smart_configuration(self) -> dict[str, Any]:
        return self._smart.configuration()

    def smart_reply(self, method: str, path: str, body: bytes) -> Reply:
        route = urlsplit(path).path
        if not self._smart.enabled:
            return json_reply(404, outcome(404, "SMART is not enabled on this proxy"))
        if route == SMART_CONFIGURATION and method == "GET":
            return json_reply(200, self.smart_configuration(), "application/json")
        if route == GRANT_PATH and method == "POST":
            status, answer = self._smart.grant(body)
            return json_reply(status, answer, "application/json", **NO_STORE)
        return json_reply(405, outcome(405, f"{method} is not allowed on {route}"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: FaultProxy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy
        self.connections: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep a handler's exception for the tests (`FaultProxy.errors`) rather than only printing it."""
        self.proxy.errors.append(traceback.format_exc())
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Wake the handler threads waiting on kept-alive connections."""
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two sends: without this, 40 ms of delayed ACK
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the proxy's log is `FaultProxy.log`
        pass

    def _serve(self) -> None:
        proxy = self.server.proxy
        if proxy.down:
            self._drop(reset=True)
        elif urlsplit(self.path).path in (SMART_CONFIGURATION, GRANT_PATH):
            self._answer(proxy.smart_reply(self.command, self.path, self._read_body()))
        else:
            proxy.received.append((self.command, self.path))
            self._apply(proxy.take_fault(self.command, self.path), self._read_body())

    def _apply(self, fault: Fault | None, body: bytes) -> None:
        if fault is None:
            self._answer(self._pass(body))
        elif fault.kind == "status":
            self._answer(fault_reply(fault))
        elif fault.kind == "hang":
            self.server.proxy.pause(fault.seconds)
            self._drop(reset=False)
        elif fault.kind == "reset_after_commit":
            self._pass(body)  # the EHR commits and answers; the client never hears it
            self._drop(reset=True)
        elif fault.kind == "hold_after_commit":
            reply = self._pass(body)  # the EHR commits; its answer reaches the client `seconds` later
            self.server.proxy.pause(fault.seconds)
            self._answer(reply)
        else:
            self._drop(reset=True)

    def _pass(self, body: bytes) -> Reply:
        proxy = self.server.proxy
        return proxy.authorize(self.headers) or proxy.forward(self.command, self.path, body, self.headers)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, reply: Reply) -> None:
        self.server.proxy.record(self.command, self.path, reply.status)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _drop(self, reset: bool) -> None:
        """Close the connection without an answer: a TCP RST when `reset`, else an orderly FIN."""
        self.server.proxy.record(self.command, self.path, -1)
        self.close_connection = True
        if reset:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # drop the makefile reference so close() really closes (and sends the RST)
            self.connection.close()
