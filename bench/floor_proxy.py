"""``python -m bench.floor_proxy``: the floor of a relay in Python, a measurement tool only.

A trivial relay: a raw asyncio TCP proxy (``asyncio.Protocol``s, no HTTP parse, no SSE
parse) that passes bytes between each client connection and a connection of its own to
``--upstream`` (the fast worker), both ways, as they come. What it reads beside the
orchestrator at 20 concurrent streams (``python -m bench.fair_ab --floor``) is how much of
a relay's added first token a Python process on this machine pays for the hop alone: one
more process on the same cores, one more loopback read and write per chunk each way. It
holds nothing back: a chunk read is written at once (the kernel's socket buffers bound it;
a client that stops reading pauses the upstream's reading, and back).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys


class _Pipe(asyncio.Protocol):
    """One side of a proxied connection; ``peer`` is the other side's transport."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self.early: list[bytes] = []  # what came before the other side connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.early.append(data)
            return
        peer.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.close()

    # Back-pressure: a side whose writes back up pauses the other side's reading.
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _Client(_Pipe):
    """A client's connection: opens its own to the upstream."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self.host, self.port = host, port

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        asyncio.get_running_loop().create_task(self._dial())

    async def _dial(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.transport is not None
        try:
            _, up = await loop.create_connection(_Pipe, self.host, self.port)
        except OSError:
            self.transport.close()
            return
        up.peer, self.peer = self, up
        if self.transport.is_closing():
            assert up.transport is not None
            up.transport.close()
            return
        for data in self.early:
            assert up.transport is not None
            up.transport.write(data)
        self.early = []


async def serve(port: int, upstream: str) -> None:
    host, _, uport = upstream.rpartition(":")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Client(host, int(uport)), "127.0.0.1", port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.floor_proxy", description=__doc__)
    p.add_argument("--port", type=int, default=int(os.environ.get("FLOOR_PORT", "0")))
    p.add_argument("--upstream", default=os.environ.get("FLOOR_UPSTREAM", ""))
    args = p.parse_args(argv)
    if not args.port or not args.upstream:
        p.error("--port and --upstream (host:port) are needed")
    try:  # the orchestrator's loop (uvicorn's ``loop="auto"`` picks uvloop when installed)
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, args.upstream))
    else:
        uvloop.run(serve(args.port, args.upstream))
    return 0


if __name__ == "__main__":
    sys.exit(main())
