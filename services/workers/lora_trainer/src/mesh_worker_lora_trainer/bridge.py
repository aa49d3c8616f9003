"""Run blocking GPU work in a thread and relay its events to the async ``emit``.

The thread never waits on the event loop: it posts events into an asyncio queue, and the
coroutine drains that queue into ``emit`` (which may be slow: a slow client only delays
delivery, not the GPU). When the caller is cancelled the thread is told to stop through a
``threading.Event`` and is awaited, so no job keeps the GPU after ``run`` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

from mesh_contracts import WorkerEvent
from mesh_worker.worker import Emit

T = TypeVar("T")
Post = Callable[[WorkerEvent], None]
"""Thread-side: hand one event to the event loop (never blocks)."""

Job = Callable[[Post, threading.Event], T]
"""The blocking work: gets ``post`` and the stop flag, returns its result or raises."""


async def run_in_thread(job: Job[T], emit: Emit) -> T:
    """Run ``job`` in a worker thread, emitting what it posts in order; return its result.

    Exceptions from the job propagate after the events it posted before failing. On
    cancellation (or if ``emit`` fails) the stop flag is set and the thread is awaited
    before the exception propagates.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[WorkerEvent | None] = asyncio.Queue()
    stop = threading.Event()

    def post(event: WorkerEvent) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def target() -> T:
        try:
            return job(post, stop)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    future = asyncio.ensure_future(asyncio.to_thread(target))
    try:
        while (event := await queue.get()) is not None:
            await emit(event)
        return await future
    except BaseException:
        stop.set()
        # The job ends at its next step; wait so the GPU is free (and checkpoints are
        # written) before the SDK hands the slot to the next request.
        with contextlib.suppress(BaseException):
            await asyncio.shield(future)
        raise
