"""The MLLP listener (python-hl7's asyncio streams): each framed message is handed, as text, to a blocking
handler on a worker thread, and its ACK is written back before the connection's next message is read."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from pathlib import Path

import structlog
from hl7.mllp import InvalidBlockError, start_hl7_server

from fhir_adapter.events.v2_ack import ack
from fhir_adapter.logs import raised_at

log = structlog.get_logger("fhir_adapter.mllp")
MAX_MESSAGE = 1_000_000
HANDSHAKE_SECONDS = 30.0


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


async def _secured(writer: asyncio.StreamWriter, context: ssl.SSLContext, peer: object) -> bool:
    """The TLS handshake, ours to run so that a sender it refuses is logged (asyncio would say nothing)."""
    try:
        await writer.start_tls(context, ssl_handshake_timeout=HANDSHAKE_SECONDS)
        return True
    except (ssl.SSLError, OSError, TimeoutError) as err:
        log.warning("mllp.tls_refused", peer=str(peer), error=str(err)[:200] or type(err).__name__)
        writer.close()
        return False


async def serve(
    host: str,
    port: int,
    handle: Callable[[str], str],
    ready: Callable[[int], None] | None = None,
    context: ssl.SSLContext | None = None,
) -> None:
    """Listen until cancelled (over TLS with `context`); `handle` takes one message's text and returns
    the ACK's."""

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if context is not None and not await _secured(writer, context, peer):
            return
        try:
            while not reader.at_eof():
                try:
                    block = await reader.readblock()  # type: ignore[attr-defined]
                except asyncio.IncompleteReadError:
                    break
                except (InvalidBlockError, ValueError) as err:
                    log.warning("mllp.bad_frame", peer=str(peer), error=str(err)[:200])
                    break
                text = block.decode("utf-8", errors="replace")
                ack = await asyncio.to_thread(_guarded, handle, text)
                writer.writeblock(ack.encode("utf-8"))  # type: ignore[attr-defined]
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await start_hl7_server(on_connection, host, port, limit=MAX_MESSAGE)
    async with server:
        if ready is not None:
            ready(server.sockets[0].getsockname()[1])
        await server.serve_forever()
