"""The MLLP listener (python-hl7's asyncio streams): each framed message is handed, as text, to a blocking
handler on a worker thread, and its ACK is written back before the connection's next message is read.

A listener holds a bounded number of connections (more are closed at once) and closes one that stays idle,
or leaves a frame unfinished, for longer than the idle time; a frame larger than the cap is not read."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from hl7.mllp import InvalidBlockError, start_hl7_server

from fhir_adapter.events.v2_ack import ack
from fhir_adapter.logs import raised_at

log = structlog.get_logger("fhir_adapter.mllp")
MAX_MESSAGE = 1_000_000
HANDSHAKE_SECONDS = 30.0


@dataclass(frozen=True)
class Limits:
    idle_seconds: float = 60.0  # between messages, and for a whole frame to arrive once begun
    max_connections: int = 100  # held at once by one listener
    max_message: int = MAX_MESSAGE  # bytes in one frame


def _guarded(handle: Callable[[str], str], text: str) -> str:
    """A fault of ours is an AR (the sender keeps the message and sends it again), never a dropped line."""
    try:
        return handle(text)
    except Exception as err:
        log.error("mllp.internal_error", error=type(err).__name__, where=raised_at(err))
        return ack(text, "AR", "internal error: send the message again")


def tls(cert: Path, key: Path | None = None, client_ca: Path | None = None) -> ssl.SSLContext:
    """A server context for MLLP over TLS (1.2 at least); with `client_ca`, senders must present a
    certificate those authorities signed. OSError or ssl.SSLError when the files cannot be used."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


async def _secured(
    writer: asyncio.StreamWriter, context: ssl.SSLContext, peer: object, seconds: float
) -> bool:
    """The TLS handshake, ours to run so that a sender it refuses is logged (asyncio would say nothing)."""
    try:
        await writer.start_tls(context, ssl_handshake_timeout=seconds)
        return True
    except (ssl.SSLError, OSError, TimeoutError) as err:
        log.warning("mllp.tls_refused", peer=str(peer), error=str(err)[:200] or type(err).__name__)
        writer.close()
        return False


async def _converse(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handle: Callable[[str], str], idle: float
) -> None:
    """Message, ACK, message ...: until the sender closes, sends a broken frame or goes quiet too long."""
    peer = writer.get_extra_info("peername")
    while not reader.at_eof():
        try:
            block = await asyncio.wait_for(reader.readblock(), idle)  # type: ignore[attr-defined]
        except TimeoutError:
            log.info("mllp.idle_closed", peer=str(peer), seconds=idle)
            return
        except asyncio.IncompleteReadError:
            return
        except (InvalidBlockError, ValueError) as err:
            log.warning("mllp.bad_frame", peer=str(peer), error=str(err)[:200])
            return
        text = block.decode("utf-8", errors="replace")
        ack = await asyncio.to_thread(_guarded, handle, text)
        writer.writeblock(ack.encode("utf-8"))  # type: ignore[attr-defined]
        await asyncio.wait_for(writer.drain(), idle)


async def serve(
    host: str,
    port: int,
    handle: Callable[[str], str],
    ready: Callable[[int], None] | None = None,
    context: ssl.SSLContext | None = None,
    limits: Limits = Limits(),
) -> None:
    """Listen until cancelled (over TLS with `context`); `handle` takes one message's text and returns
    the ACK's."""
    held: set[asyncio.StreamWriter] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if len(held) >= limits.max_connections:
            log.warning(
                "mllp.connection_refused", peer=str(peer), held=len(held), limit=limits.max_connections
            )
            writer.close()
            return
        held.add(writer)
        try:
            handshake = min(HANDSHAKE_SECONDS, limits.idle_seconds)
            if context is None or await _secured(writer, context, peer, handshake):
                await _converse(reader, writer, handle, limits.idle_seconds)
        except (ConnectionError, TimeoutError):
            pass
        finally:
            held.discard(writer)
            writer.close()

    server = await start_hl7_server(on_connection, host, port, limit=limits.max_message)
    async with server:
        if ready is not None:
            ready(server.sockets[0].getsockname()[1])
        await server.serve_forever()
