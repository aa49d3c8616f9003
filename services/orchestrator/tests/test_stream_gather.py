"""``StreamResponse.blocks(gather=True)`` (the worker call's read): a stream in full flow is
handed out in fewer, larger blocks, while its first block goes at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from orch_fakes import serve, stop

from mesh_orchestrator.relay import stream_client
from mesh_orchestrator.relay.stream_client import StreamClient

FRAMES = 200


class _Loop:
    """The running loop, with the delays of its ``call_later`` calls counted."""

    def __init__(self, loop: asyncio.AbstractEventLoop, waits: list[float]) -> None:
        self.loop, self.waits = loop, waits

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loop, name)

    def call_later(self, delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        self.waits.append(delay)
        return self.loop.call_later(delay, callback, *args)


class _Asyncio:
    """``asyncio`` as ``stream_client`` sees it, with its waits counted (a reader's gathering
    wait is a timer of the loop, ``sleeps`` anything it sleeps)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    def get_running_loop(self) -> _Loop:
        return _Loop(asyncio.get_running_loop(), self.sleeps)

    def _get_running_loop(self) -> _Loop:  # a connection's, taken as it is made
        return self.get_running_loop()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(seconds)


async def _read(gather: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[list[bytes], list[float]]:
    go = asyncio.Event()
    api = FastAPI()

    @api.post("/sse")
    async def sse() -> StreamingResponse:
        async def frames() -> AsyncIterator[bytes]:
            yield b"data: 0\n\n"
            await go.wait()  # the rest only once the reader holds the first block
            for i in range(1, FRAMES):
                yield f"data: {i}\n\n".encode()  # each its own chunk, back to back
                await asyncio.sleep(0)

        return StreamingResponse(frames(), media_type="text/event-stream")

    seen = _Asyncio()
    monkeypatch.setattr(stream_client, "asyncio", seen)
    served = await serve(api)
    client = StreamClient()
    blocks: list[bytes] = []
    try:
        url = served.url + "/sse"
        async with client.post(httpx.URL(url), b"{}") as r:
            async for block in r.blocks(gather=gather):
                if not blocks:
                    assert stream_client.GATHER_SECONDS not in seen.sleeps  # the first went at once
                    go.set()
                blocks.append(block)
    finally:
        await client.aclose()
        await stop(served)
    return blocks, seen.sleeps


async def test_a_stream_in_full_flow_is_gathered_into_fewer_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks, sleeps = await _read(True, monkeypatch)
    assert blocks[0] == b"data: 0\n\n"
    assert b"".join(blocks) == b"".join(f"data: {i}\n\n".encode() for i in range(FRAMES))
    assert stream_client.GATHER_SECONDS in sleeps
    assert len(blocks) < FRAMES // 4  # each wait took in many of the worker's chunks


async def test_without_gather_no_block_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks, sleeps = await _read(False, monkeypatch)
    assert b"".join(blocks) == b"".join(f"data: {i}\n\n".encode() for i in range(FRAMES))
    assert stream_client.GATHER_SECONDS not in sleeps
