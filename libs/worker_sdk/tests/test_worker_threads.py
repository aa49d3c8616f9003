"""mesh_worker.threads: blocking jobs in a thread, their events relayed in order, their end awaited."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from mesh_contracts import ProgressEvent, TokenEvent, WorkerEvent
from mesh_worker.threads import ThreadEmit, run_in_thread

DEADLINE = 10.0


class Recorder:
    """An async ``Emit`` that records events and can be made slow (to show order is kept)."""

    def __init__(self, slow_every: int = 0) -> None:
        self.events: list[Any] = []  # what the thread emitted, dicts included
        self.first = asyncio.Event()
        self.slow_every = slow_every

    async def __call__(self, event: WorkerEvent) -> None:
        if self.slow_every and len(self.events) % self.slow_every == 0:
            for _ in range(3):
                await asyncio.sleep(0)  # yield: the thread keeps emitting meanwhile
        self.events.append(event)
        self.first.set()


async def test_events_arrive_in_order_before_the_result_even_with_a_slow_emit() -> None:
    def job(emit: ThreadEmit, cancel: threading.Event) -> str:
        for i in range(200):
            emit(ProgressEvent(step=i + 1, total=200))
        emit({"type": "token", "token": "last"})
        return "done"

    recorder = Recorder(slow_every=7)
    assert await run_in_thread(job, recorder) == "done"
    steps = [e.step for e in recorder.events if isinstance(e, ProgressEvent)]
    assert steps == list(range(1, 201))
    assert recorder.events[-1] == {"type": "token", "token": "last"}


async def test_the_job_runs_off_the_event_loop_thread() -> None:
    loop_thread = threading.get_ident()

    def job(emit: ThreadEmit, cancel: threading.Event) -> int:
        return threading.get_ident()

    assert await run_in_thread(job, Recorder()) != loop_thread


async def test_an_exception_in_the_job_is_reraised_after_the_events_it_emitted() -> None:
    class Boom(RuntimeError):
        pass

    def job(emit: ThreadEmit, cancel: threading.Event) -> None:
        emit(TokenEvent(token="a"))
        emit(TokenEvent(token="b"))
        raise Boom("the device fell over")

    recorder = Recorder()
    with pytest.raises(Boom, match="the device fell over"):
        await run_in_thread(job, recorder)
    assert recorder.events == [TokenEvent(token="a"), TokenEvent(token="b")]


async def test_cancelling_sets_the_flag_and_waits_for_the_thread_to_end() -> None:
    finished = threading.Event()
    let_go = threading.Event()

    def job(emit: ThreadEmit, cancel: threading.Event) -> None:
        emit(ProgressEvent(step=1, total=2))
        assert cancel.wait(DEADLINE), "the cancel flag was never set"
        # Like a GPU step or a checkpoint write: the job takes a while to stop.
        assert let_go.wait(DEADLINE)
        finished.set()

    recorder = Recorder()
    run = asyncio.create_task(run_in_thread(job, recorder))
    await asyncio.wait_for(recorder.first.wait(), DEADLINE)
    run.cancel()
    # Still running: the coroutine must not end before the thread does.
    await asyncio.sleep(0)
    assert not run.done()
    await asyncio.to_thread(let_go.set)
    with pytest.raises(asyncio.CancelledError):
        await run
    assert finished.is_set()


async def test_a_second_cancellation_does_not_cut_the_wait_for_the_thread_short() -> None:
    stopping = threading.Event()
    let_go = threading.Event()
    finished = threading.Event()

    def job(emit: ThreadEmit, cancel: threading.Event) -> None:
        emit(ProgressEvent(step=1, total=1))
        assert cancel.wait(DEADLINE)
        stopping.set()
        assert let_go.wait(DEADLINE)
        finished.set()

    recorder = Recorder()
    run = asyncio.create_task(run_in_thread(job, recorder))
    await asyncio.wait_for(recorder.first.wait(), DEADLINE)
    run.cancel()
    assert await asyncio.to_thread(stopping.wait, DEADLINE)
    run.cancel()
    await asyncio.sleep(0)
    assert not run.done()
    let_go.set()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert finished.is_set()


async def test_a_failing_emit_stops_the_job_and_propagates_after_it_ended() -> None:
    finished = threading.Event()

    def job(emit: ThreadEmit, cancel: threading.Event) -> None:
        while not cancel.is_set():
            emit(TokenEvent(token="x"))
            cancel.wait(0.01)
        finished.set()

    async def broken_emit(event: Any) -> None:
        raise ConnectionError("client gone")

    with pytest.raises(ConnectionError):
        await run_in_thread(job, broken_emit)
    assert finished.is_set()
