"""MLLP over TLS: the listener with a certificate, and with client certificates required; the command's
errors for certificate files it cannot use."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fhir_adapter.cli import main
from fhir_adapter.events import mllp
from tests.integration.events.conftest import Hospital
from tests.support import adt
from tests.support.certs import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _sender_context(pki: Pki, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if with_certificate:
        context.load_cert_chain(pki.client_cert, pki.client_key)
    return context


@pytest.fixture
def tls_listener(hospital: Hospital, pki: Pki) -> Iterator[adt.Listener]:
    running = adt.Listener(hospital.handle, mllp.tls(pki.server_cert, pki.server_key)).start()
    yield running
    running.stop()


@pytest.fixture
def mutual_listener(hospital: Hospital, pki: Pki) -> Iterator[adt.Listener]:
    context = mllp.tls(pki.server_cert, pki.server_key, client_ca=pki.ca)
    running = adt.Listener(hospital.handle, context).start()
    yield running
    running.stop()


def test_an_admission_over_tls_is_acknowledged(
    hospital: Hospital, tls_listener: adt.Listener, pki: Pki
) -> None:
    sender = adt.Sender(tls_listener.port, context=_sender_context(pki, False))
    try:
        ack = sender.send(adt.message("A01", hospital.visit(), control_id="TLS-1"))
    finally:
        sender.close()
    assert "MSA|AA|TLS-1" in ack
    assert len(hospital.h.jobs()) == 1


def _refusals(capsys: pytest.CaptureFixture[str]) -> int:
    """How many refused TLS handshakes the listener logged (it logs from its own thread)."""
    deadline = time.monotonic() + 5
    while "mllp.tls_refused" not in (err := capsys.readouterr().err) and time.monotonic() < deadline:
        time.sleep(0.05)
    return err.count("mllp.tls_refused")


def test_a_plain_connection_to_the_tls_listener_gets_no_ack_and_is_logged(
    hospital: Hospital, tls_listener: adt.Listener, capsys: pytest.CaptureFixture[str]
) -> None:
    sender = adt.Sender(tls_listener.port)
    try:
        with pytest.raises((ConnectionError, OSError)):
            sender.send(adt.message("A01", hospital.visit()))
    finally:
        sender.close()
    assert hospital.h.jobs() == []
    assert _refusals(capsys) == 1


def test_client_certificates_when_required(
    hospital: Hospital, mutual_listener: adt.Listener, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        anonymous = adt.Sender(mutual_listener.port, context=_sender_context(pki, False))
        try:
            anonymous.send(adt.message("A01", hospital.visit()))  # TLS 1.3 refuses after the handshake
        finally:
            anonymous.close()
    assert hospital.h.jobs() == []
    assert _refusals(capsys) == 1  # the sender without a certificate
    sender = adt.Sender(mutual_listener.port, context=_sender_context(pki, True))
    try:
        assert "MSA|AA|TLS-2" in sender.send(adt.message("A01", hospital.visit(), control_id="TLS-2"))
    finally:
        sender.close()


@pytest.mark.parametrize(
    "options, said",
    [
        (("--tls-cert", "missing.pem"), "cannot use the TLS certificate, key or CA files"),
        (("--tls-key", "key.pem"), "--tls-key and --tls-client-ca need --tls-cert"),
        (("--tls-cert", "CA"), "cannot use the TLS certificate, key or CA files"),  # a CA has no key
    ],
)
def test_the_command_refuses_certificate_files_it_cannot_use(
    tmp_path: Path,
    pki: Pki,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    said: str,
) -> None:
    monkeypatch.setenv("FHIR_ADAPTER_DATABASE_URL", f"sqlite:///{tmp_path / 'tls.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["clients", "add", "--org", "acme", "--scopes", "system/*.write"]) == 0
    assert (
        main(["ehrs", "add", "general", "--org", "acme", "--base-url", "https://ehr.example.org/fhir"]) == 0
    )
    capsys.readouterr()
    options = tuple(str(pki.ca) if o == "CA" else o for o in options)
    code = main(["mllp", "--org", "acme", "--ehr", "general", "--port", "0", *options])
    err = capsys.readouterr().err
    assert code == 2 and said in err and "Traceback" not in err
