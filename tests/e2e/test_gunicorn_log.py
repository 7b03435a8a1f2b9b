"""The service under gunicorn, as docs/deployment.md runs it: what gunicorn itself logs of a request it
refuses (a broken request line, a bad header, a line too long) or of one it serves, with its access log on,
holds nothing the caller wrote."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.test_serve import free_port
from tests.support.processes import stop

BIN = Path(sys.executable).parent
CANARY = "Zzyzxcanary"


@pytest.fixture
def gunicorn(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = os.environ | {"FHIR_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}"}
    subprocess.run(
        [BIN / "fhir-adapter", "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60
    )
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w+")  # noqa: SIM115 - read back after the server stops
    server = subprocess.Popen(
        [BIN / "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "--access-logfile", "-",
         "--control-socket", str(tmp_path / "gunicorn.ctl"), "fhir_adapter.bootstrap:web_app()"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    for _ in range(60):
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.5)
    else:
        stop(server)
        pytest.fail(f"gunicorn did not answer /health within a minute:\n{Path(log.name).read_text()}")
    yield port, log
    stop(server)
    log.close()


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        return s.recv(4096)


def test_what_gunicorn_logs_holds_nothing_the_caller_wrote(gunicorn) -> None:  # type: ignore[no-untyped-def]
    port, log = gunicorn
    refused = [
        f"GET /fhir/Patient?name={CANARY}\r\n\r\n",  # a request line of two parts: quoted whole
        f"GET /fhir/Patient?name={CANARY} HTTP/1.1 extra\r\n\r\n",  # an HTTP version that is not one
        f"GET /fhir/Patient?name={CANARY} HTTP/1.1\r\nHost: x\r\nBad{CANARY} Header: {CANARY}\r\n\r\n",
        f"GET /fhir/Patient?name={CANARY}{'x' * 9000} HTTP/1.1\r\n\r\n",  # past the line limit
    ]
    for request in refused:
        assert raw(port, request.encode()).startswith(b"HTTP/1.1 4")
    served = requests.get(
        f"http://127.0.0.1:{port}/fhir/Patient?name={CANARY}", headers={"User-Agent": CANARY}, timeout=10
    )
    assert served.status_code == 401
    time.sleep(0.5)  # the access log is written after the answer
    log.seek(0)
    output = log.read()
    assert "Invalid HTTP request line" in output and "Invalid HTTP header name" in output  # logged...
    assert CANARY not in output  # ...without what was in them
