"""A stream's opening (``bench/README.md``, "Round 15: the first token"): what it must do
before its first byte (``before_first``: the run's row committed) runs after its turn of the
loop, before anything is sent, and stops the stream with nothing sent when it fails; the
frames of the run's opening (``run``, ``plan``, statuses) are made while it waits for the
run's first content, not after the worker's first token, byte for byte the same."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from test_first_write import DONE, GUARD_SECONDS, RUN, RUNNING, TOKENS, _Cycle, _frames, _serve

from mesh_orchestrator.api import sse
from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.runs.mux import Subscription


async def test_the_opening_is_encoded_while_the_stream_waits_for_its_first_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded: list[tuple[list[str], bool]] = []
    tokens_out = False
    real = sse.encode_frames

    def recording(events: Any, **kw: Any) -> bytes:
        encoded.append(([e.type for e in events], tokens_out))
        return real(events, **kw)

    monkeypatch.setattr(sse, "encode_frames", recording)
    sub = Subscription([RUN])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    stream.first_wait = GUARD_SECONDS

    async def the_run() -> None:
        nonlocal tokens_out
        for _ in range(3):
            await asyncio.sleep(0)
        sub.push(RUNNING)
        for _ in range(3):
            await asyncio.sleep(0)
        tokens_out = True
        sub.push_many(TOKENS)
        await cycle.transport.written.wait()
        sub.push(DONE)
        sub.close()

    task = asyncio.get_running_loop().create_task(the_run())
    await _serve(stream, cycle)
    await task
    # ``run`` and the status encoded before the tokens came; after them, the tokens alone.
    assert encoded[:3] == [(["run"], False), (["status"], False), (["token"] * 3, True)]
    writes = cycle.transport.writes
    assert writes[0] == b"HEADERS|" + _frames([RUN, RUNNING, *TOKENS]), writes
    assert b"".join(writes) == b"HEADERS|" + _frames([RUN, RUNNING, *TOKENS, DONE]) + b"|END"


async def test_before_first_runs_after_the_streams_turn_before_its_first_byte() -> None:
    order: list[str] = []
    sub = Subscription([RUN])
    cycle = _Cycle()
    stream = RunStream(
        sub, ping_seconds=0, on_end=lambda: None, before_first=lambda: order.append("before")
    )
    stream.first_wait = 0

    async def first_steps() -> None:  # the run's task, started with the stream
        order.append("first steps")
        sub.push(DONE)
        sub.close()

    asyncio.get_running_loop().create_task(first_steps())
    await _serve(stream, cycle)
    assert order == ["first steps", "before"]
    assert cycle.transport.writes[0].startswith(b"HEADERS|")
    assert stream.before_first is None  # called once, not held


async def test_a_failing_before_first_sends_nothing() -> None:
    ended: list[bool] = []
    cycle = _Cycle()

    def lost() -> None:
        raise RuntimeError("the run's row was not committed")

    stream = RunStream(
        Subscription([RUN]), ping_seconds=0, on_end=lambda: ended.append(True), before_first=lost
    )
    with pytest.raises(RuntimeError):
        await _serve(stream, cycle)
    assert cycle.transport.writes == []  # the server answers 500: no id went out
    assert ended == [True]
