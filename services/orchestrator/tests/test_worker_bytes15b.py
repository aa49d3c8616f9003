"""From a worker's first bytes to the stream's first token (``bench/README.md``, "Round 15:
worker bytes to token"): a call's ``running`` status is made and checked while the worker's
answer is awaited, only its ``started_at`` set when the worker takes the call, the same body
key for key; a worker connection's waits and timers go through its own loop, with no look-up
of the running loop (a ``getpid`` system call each on Python 3.11)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from mesh_contracts import AgentDescriptor, NodeStatus, SubTask, TaskStatus
from mesh_orchestrator.relay import stream_client
from mesh_orchestrator.relay.calls import _Start

AGENT = AgentDescriptor(
    agent_id="w", description="d", capabilities=["c"], endpoint="http://127.0.0.1:1"
)
TASK = SubTask(task_id="t1", capability="c", description="x")
CANDIDATES = [
    {"instance_id": AGENT.instance_id, "healthy": True, "fits": True, "priority": 0,
     "load": 1.0, "breaker": "closed", "admits": True},
]  # fmt: skip


class _Resolver:
    def __init__(self) -> None:
        self.explained = 0

    def explain(self, task: SubTask) -> list[dict[str, Any]]:
        self.explained += 1
        return [dict(c) for c in CANDIDATES]


class _Emitter:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, dict[str, Any], str | None, str | None]] = []

    def emit(self, payload: Any, task_id: str | None = None, agent_id: str | None = None) -> None:
        self.emitted.append((payload.TYPE, payload.data(), task_id, agent_id))


def _expected(body: dict[str, Any]) -> dict[str, Any]:
    """What the model dumps for the same status (the body's own ``started_at``)."""
    return TaskStatus(
        status=NodeStatus.RUNNING, agent_id=AGENT.agent_id, instance_id=AGENT.instance_id,
        endpoint=AGENT.endpoint, started_at=body["started_at"], attempt=2, key="r:t1:2",
        candidates=CANDIDATES,
    ).data()  # fmt: skip


@pytest.mark.parametrize("prepared", [True, False])
def test_the_running_status_is_made_ahead_and_stamped_when_the_worker_takes_the_call(
    prepared: bool,
) -> None:
    resolver, emit = _Resolver(), _Emitter()
    start = _Start(resolver, TASK, AGENT, emit, 2, "r:t1:2", False)  # type: ignore[arg-type]
    if prepared:
        start.prepare()  # the call's callback, while the worker's answer is awaited
        assert resolver.explained == 1 and start.body is not None
    before = time.time()
    start()  # the worker's 2xx
    assert start.took and start.body is None  # not held as long as the call streams
    assert resolver.explained == 1  # ranked once, ahead when it could be
    [(type_, body, task_id, agent_id)] = emit.emitted
    assert (type_, task_id, agent_id) == ("status", "t1", "w")
    # Stamped when the worker took it, not when it was made; the model's body, key for key
    # in the model's order (the frame's bytes).
    assert before <= body["started_at"] <= time.time()
    assert list(body.items()) == list(_expected(body).items())


def test_a_call_taken_before_its_status_was_prepared_makes_it_then() -> None:
    resolver, emit = _Resolver(), _Emitter()
    start = _Start(resolver, TASK, AGENT, emit, 2, "r:t1:2", False)  # type: ignore[arg-type]
    start()
    start.prepare()  # came too late: nothing made, nothing held
    assert start.body is None and resolver.explained == 1 and len(emit.emitted) == 1


def test_a_call_logged_ahead_makes_its_status_before_the_call() -> None:
    resolver, emit = _Resolver(), _Emitter()
    start = _Start(resolver, TASK, AGENT, emit, 2, "r:t1:2", True)  # type: ignore[arg-type]
    start.running()  # before the request (not safe to retry)
    start()  # the worker's 2xx: nothing more emitted
    assert len(emit.emitted) == 1 and start.took
    body = emit.emitted[0][1]
    assert list(body.items()) == list(_expected(body).items())


async def test_a_worker_connections_waits_and_timers_look_up_no_running_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = stream_client._Connection()  # made in the loop, as ``create_connection`` makes it
    assert conn.loop is asyncio.get_running_loop()
    looked_up = 0
    real = asyncio.get_running_loop

    def counting() -> asyncio.AbstractEventLoop:
        nonlocal looked_up
        looked_up += 1
        return real()

    monkeypatch.setattr(asyncio, "get_running_loop", counting)
    waiting = conn.wait()
    conn.gather = True
    conn.defer()
    watch = stream_client._StallWatch(conn, 5.0)
    assert looked_up == 0
    assert conn.deferred is not None
    conn._wake()
    await waiting
    watch.cancel()
    # A later block held for the starters: its wait through the same loop.
    starters = stream_client._Starters()
    starters.count = 1
    held = conn.loop.create_task(starters.hold(conn.loop))
    await asyncio.sleep(0)
    assert not held.done()
    starters.left()
    await held
    assert looked_up == 0


def test_a_connection_made_outside_a_loop_still_parses() -> None:
    conn = stream_client._Connection()
    assert conn.loop is None
    conn.parser.feed_data(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
    assert conn.headers_done and conn.headers == {"content-type": "text/event-stream"}
