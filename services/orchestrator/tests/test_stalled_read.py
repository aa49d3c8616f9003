"""The one stalled-read helper both worker stream clients (SSE and A2A) read through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mesh_orchestrator.relay.worker_client import WorkerFailed, next_or_stall


async def _items(*items: str, then_hang: bool = False) -> AsyncIterator[str]:
    for item in items:
        yield item
    if then_hang:
        await asyncio.Event().wait()


async def test_items_pass_through_and_the_end_is_stop_async_iteration() -> None:
    reading = aiter(_items("a", "b"))
    assert await next_or_stall(reading, 5.0, "w") == "a"
    assert await next_or_stall(reading, None, "w") == "b"
    with pytest.raises(StopAsyncIteration):
        await next_or_stall(reading, 5.0, "w")


async def test_a_silent_stream_fails_as_stalled_naming_the_agent() -> None:
    reading = aiter(_items("a", then_hang=True))
    assert await next_or_stall(reading, 0.05, "writer") == "a"
    with pytest.raises(WorkerFailed, match=r"writer sent nothing for 0.05s \(stalled\)") as info:
        await next_or_stall(reading, 0.05, "writer")
    assert info.value.code == "stalled"
