"""The HTTP/1.1 protocol the orchestrator is served with: uvicorn's httptools protocol, less
two ``asyncio.Event``s per connection.

Every connection uvicorn holds makes a ``FlowControl`` (its "writable" event) and, per
request, a ``RequestResponseCycle`` (its "message" event, which ``receive`` waits on): an
``asyncio.Event`` each, and each of those a deque for its waiters, ~1.6 KB a connection
held for as long as a relayed stream is open (``bench/README.md``, "Round 8"). Here both
are ``relay.gate.Signal``s, which do the same (``set``, ``clear``, ``is_set``, ``wait``)
with no deque until someone waits. Everything else is uvicorn's own code.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mesh_orchestrator.relay.gate import Signal


class LeanHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``HttpToolsProtocol`` (``uvicorn.run(..., http=LeanHttpToolsProtocol)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        flow = self.flow
        flow._is_writable_event = Signal(not flow.write_paused)  # type: ignore[assignment]

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # Just made (nobody waits on it yet); an upgrade returns early and keeps the last.
        if cycle is not None and type(cycle.message_event) is asyncio.Event:
            event = cycle.message_event
            cycle.message_event = Signal(event.is_set())  # type: ignore[assignment]
