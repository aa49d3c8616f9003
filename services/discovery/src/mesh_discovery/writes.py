"""One socket write per answer: uvicorn's HTTP protocol with the writes of one loop step
joined.

uvicorn writes an answer in two ``transport.write`` calls (the status line and headers, then
the body), and uvloop sends each at once: two ``write`` system calls, two TCP segments,
per heartbeat (strace: 19,525 writes for 9,767 requests read). On loopback a send also
runs the receiver's side of TCP, so the header write alone was 13% of discovery's samples
under the heartbeat load (py-spy, bench/README.md "Round 14: heartbeats"). ``JoinedWrites``
holds what is written during one step of the event loop and sends it as one write at the
next (``loop.call_soon``): a heartbeat's headers and body, sent from one step of its task,
leave in one segment. Nothing else changes: the bytes and their order are the same, a
``close`` sends what is held first, and a streamed answer's chunks leave one step later at
most.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.auto import AutoHTTPProtocol


class JoinedWrites:
    """A transport that joins the writes of one loop step into one write of ``transport``;
    everything else is ``transport``'s own."""

    __slots__ = ("_transport", "_loop", "_held")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is None:
            self._held = [bytes(data)]
            self._loop.call_soon(self.flush)
        else:
            self._held.append(bytes(data))

    def flush(self) -> None:
        """Send what is held now (a no-op when nothing is, or the transport is closing)."""
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        held = sum(len(b) for b in self._held) if self._held else 0
        return held + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        # get_extra_info, pause_reading, resume_reading, set_protocol, ...
        return getattr(self._transport, name)


class JoinedWritesProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol (httptools when installed) over ``JoinedWrites``; pass it
    as ``uvicorn.Config(http=...)``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        joined = JoinedWrites(cast(asyncio.Transport, transport), asyncio.get_running_loop())
        super().connection_made(joined)
