"""One socket write per answer: uvicorn's HTTP protocol with the writes of one loop step
joined.

uvicorn writes an answer in two ``transport.write`` calls (the status line and headers, then
the body), and uvloop sends each at once: two ``write`` system calls, two TCP segments,
per heartbeat (strace: 19,525 writes for 9,767 requests read). On loopback a send also
runs the receiver's side of TCP, so the header write alone was 13% of discovery's samples
under the heartbeat load (py-spy, bench/README.md "Round 14: heartbeats"). ``JoinedWrites``
holds a small write (``HOLD_BYTES``: a status line and headers) and sends it with the next
one, at once, in one write; a heartbeat's headers and body leave in one segment. What is
held and not followed within the loop's step is sent at the next step (``loop.call_soon``:
a streamed answer's headers, a ``100 Continue``). A larger write goes straight through
(holding a list's 60 KB body for a step cost CPU: ``bench/README.md``). The bytes and their
order are the same, and a ``close`` sends what is held first.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.auto import AutoHTTPProtocol

# A write this small is held for the one after it (a status line and headers are a few
# hundred bytes); a larger one, and one that follows a held one, is written at once.
HOLD_BYTES = 4096


class JoinedWrites:
    """A transport that sends a small write together with the next one (see the module);
    everything else is ``transport``'s own."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None  # a small write, waiting for the next one

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:  # an answer's body after its headers: both now, in one write
            self._held = None
            if len(data) <= HOLD_BYTES:
                self._transport.write(held + bytes(data))
            else:  # uvloop: one writev, the body not copied
                self._transport.writelines((held, data))
        elif len(data) <= HOLD_BYTES:  # headers, perhaps: wait for the body until the next step
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Send what is held now (a no-op when nothing is, or the transport is closing)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        held = len(self._held) if self._held is not None else 0
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
