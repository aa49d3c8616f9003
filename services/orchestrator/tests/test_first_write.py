"""A live run's first write (``bench/README.md``, "Round 12: first token under
concurrency"): the headers, the ``run`` event and the run's first content (a token) go to
the client in one write when the content comes within ``RunStream.first_wait``; a run whose
worker is slower still gets its headers and ``run`` event once the wait is over, without
its first token, and nothing is lost or reordered either way."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mesh_orchestrator.api import sse
from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.runs.events import RelayedEvent, encode_frames
from mesh_orchestrator.runs.mux import Subscription

TS = 1_700_000_000.0
# A liveness guard only (a stream that waited for the token would never end): no figure
# of time is asserted.
GUARD_SECONDS = 30.0


def _event(seq: int, type_: str, data: dict[str, Any]) -> RelayedEvent:
    return RelayedEvent("run-1", seq, type_, None, None, data, TS)


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.written = asyncio.Event()

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.written.set()

    def is_closing(self) -> bool:
        return False


class _Cycle:
    """``api.http_protocol``'s cycle as a response sees it (``test_run_costs10b.py``'s)."""

    def __init__(self) -> None:
        self.transport = _Transport()
        self.on_gone: Any = None
        self.disconnected = False

    async def receive(self) -> Any:
        await asyncio.Event().wait()

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.transport.write(b"HEADERS|")
        elif message["body"] or not message["more_body"]:
            self.transport.write(message["body"] + (b"" if message["more_body"] else b"|END"))


RUN = _event(1, "run", {"run_id": "run-1"})
RUNNING = _event(2, "status", {"status": "running"})
TOKENS = [_event(3 + i, "token", {"token": str(i)}) for i in range(3)]
DONE = _event(6, "done", {"status": "completed"})


def _frames(events: list[RelayedEvent]) -> bytes:
    return b"".join(encode_frames([e]) for e in events)


async def _serve(stream: RunStream, cycle: _Cycle) -> None:
    await asyncio.wait_for(
        stream({"type": "http", "method": "POST"}, cycle.receive, cycle.send), GUARD_SECONDS
    )


async def test_the_first_token_goes_in_the_write_of_the_headers_and_run() -> None:
    sub = Subscription([RUN])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    stream.first_wait = GUARD_SECONDS  # whatever the bound: the token comes turns later

    async def the_run() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        sub.push(RUNNING)  # a task's status first: the write still waits for content
        for _ in range(3):
            await asyncio.sleep(0)
        sub.push_many(TOKENS[:2])
        await cycle.transport.written.wait()
        sub.push(TOKENS[2])
        sub.push(DONE)
        sub.close()

    task = asyncio.get_running_loop().create_task(the_run())
    await _serve(stream, cycle)
    await task
    writes = cycle.transport.writes
    assert writes[0] == b"HEADERS|" + _frames([RUN, RUNNING, *TOKENS[:2]]), writes
    # Nothing lost, nothing out of order, the end last.
    assert b"".join(writes) == b"HEADERS|" + _frames([RUN, RUNNING, *TOKENS, DONE]) + b"|END"


async def test_a_slow_workers_stream_gets_its_run_event_without_its_first_token() -> None:
    """The worker answers only once the client has the ``run`` event: a stream that waited
    for its first token past the bound would never end (the guard fails it)."""
    sub = Subscription([RUN])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    stream.first_wait = 0.001
    seen_before_the_token: list[bytes] = []

    async def the_slow_run() -> None:
        sub.push(RUNNING)
        await cycle.transport.written.wait()  # the client has its headers and ``run``
        seen_before_the_token.extend(cycle.transport.writes)
        sub.push_many(TOKENS)
        sub.push(DONE)
        sub.close()

    task = asyncio.get_running_loop().create_task(the_slow_run())
    await _serve(stream, cycle)
    await task
    assert seen_before_the_token == [b"HEADERS|" + _frames([RUN, RUNNING])]
    assert b"".join(cycle.transport.writes) == (
        b"HEADERS|" + _frames([RUN, RUNNING, *TOKENS, DONE]) + b"|END"
    )


async def test_a_status_that_comes_alone_after_the_headers_waits_for_the_first_token() -> None:
    """The worker's headers came before its body: the task's ``running`` status goes with
    the first token, not in a write of its own."""
    sub = Subscription([RUN])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    stream.first_wait = 0.001  # the headers and ``run`` go alone: a slow worker

    async def the_run() -> None:
        await cycle.transport.written.wait()
        stream.first_wait = GUARD_SECONDS  # whatever the bound: the token comes turns later
        sub.push(RUNNING)
        for _ in range(3):
            await asyncio.sleep(0)
        sub.push_many(TOKENS)
        sub.push(DONE)
        sub.close()

    task = asyncio.get_running_loop().create_task(the_run())
    await _serve(stream, cycle)
    await task
    assert cycle.transport.writes == [
        b"HEADERS|" + _frames([RUN]),
        _frames([RUNNING, *TOKENS, DONE]) + b"|END",
    ]


async def test_once_content_is_out_a_status_is_written_at_once() -> None:
    sub = Subscription([RUN, *TOKENS[:1]])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    stream.first_wait = GUARD_SECONDS  # a wait would hang: only the guard would end it
    writes = cycle.transport.writes

    async def the_run() -> None:
        await cycle.transport.written.wait()
        cycle.transport.written.clear()
        sub.push(_event(4, "status", {"status": "waiting"}))
        await cycle.transport.written.wait()  # written alone, no content with it
        sub.push(DONE)
        sub.close()

    task = asyncio.get_running_loop().create_task(the_run())
    await _serve(stream, cycle)
    await task
    assert writes[0] == b"HEADERS|" + _frames([RUN, TOKENS[0]])
    assert writes[1] == _frames([_event(4, "status", {"status": "waiting"})])


async def test_the_default_bound_is_short_and_the_wait_can_be_turned_off() -> None:
    assert 0 < sse.FIRST_WRITE_WAIT_SECONDS <= 0.05
    assert RunStream.first_wait == sse.FIRST_WRITE_WAIT_SECONDS
    sub = Subscription([RUN])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    stream.first_wait = 0  # as before: the headers and ``run`` at once

    async def the_run() -> None:
        await cycle.transport.written.wait()
        sub.push_many(TOKENS)
        sub.push(DONE)
        sub.close()

    task = asyncio.get_running_loop().create_task(the_run())
    await _serve(stream, cycle)
    await task
    assert cycle.transport.writes[0] == b"HEADERS|" + _frames([RUN])


async def test_a_run_that_ends_within_the_wait_loses_nothing() -> None:
    sub = Subscription([RUN])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    stream.first_wait = GUARD_SECONDS

    async def the_run() -> None:
        await asyncio.sleep(0)
        sub.push(RUNNING)
        await asyncio.sleep(0)
        sub.push(DONE)  # content: the end itself
        sub.close()

    task = asyncio.get_running_loop().create_task(the_run())
    await _serve(stream, cycle)
    await task
    assert b"".join(cycle.transport.writes) == (
        b"HEADERS|" + _frames([RUN, RUNNING, DONE]) + b"|END"
    )


async def test_a_client_that_leaves_during_the_wait_ends_the_stream() -> None:
    sub = Subscription([RUN])
    cycle = _Cycle()
    ended: list[str] = []
    left: list[str] = []
    stream = RunStream(
        sub,
        ping_seconds=0,
        on_end=lambda: ended.append("end"),
        on_disconnect=lambda: left.append("gone"),
    )
    stream.first_wait = GUARD_SECONDS  # only the client's leaving ends this wait

    async def the_client_leaves() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        assert cycle.on_gone is not None
        cycle.on_gone()

    task = asyncio.get_running_loop().create_task(the_client_leaves())
    await _serve(stream, cycle)
    await task
    assert left == ["gone"] and ended == ["end"]
    assert all(b"token" not in w for w in cycle.transport.writes)


@pytest.mark.parametrize("opening", ["run", "plan", "status"])
def test_only_a_runs_opening_waits(opening: str) -> None:
    assert not sse._content([_event(1, opening, {})])
    for other in ("token", "message", "progress", "artifact", "result", "error", "done"):
        assert sse._content([_event(1, opening, {}), _event(2, other, {})])
