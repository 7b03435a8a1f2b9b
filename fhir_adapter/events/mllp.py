"""The MLLP listener (python-hl7's asyncio streams): each framed message is handed, as text, to a blocking
handler on a worker thread, and its ACK is written back before the connection's next message is read."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from hl7.mllp import InvalidBlockError, start_hl7_server

from fhir_adapter.events.hl7v2 import ack
from fhir_adapter.logs import raised_at

log = structlog.get_logger("fhir_adapter.mllp")
MAX_MESSAGE = 1_000_000


def _guarded(handle: Callable[[str], str], text: str) -> str:
    """A fault of ours is an AR (the sender keeps the message and sends it again), never a dropped line."""
    try:
        return handle(text)
    except Exception as err:
        log.error("mllp.internal_error", error=type(err).__name__, where=raised_at(err))
        return ack(None, "AR", "internal error: send the message again")


async def serve(
    host: str, port: int, handle: Callable[[str], str], ready: Callable[[int], None] | None = None
) -> None:
    """Listen until cancelled; `handle` takes one message's text and returns the ACK's."""

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
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
