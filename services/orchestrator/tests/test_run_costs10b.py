"""A run's Python steps (``bench/README.md``, "Round 10: a run's Python steps"): a live
run's stream writes its headers and its first frames to the client in one write, not two;
the server's exit check reads SIGTERM's handler without ``signal.getsignal``'s enum."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest

from mesh_orchestrator.api import sse
from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.runs.events import RelayedEvent, encode_frames
from mesh_orchestrator.runs.mux import Subscription

TS = 1_700_000_000.0


def _event(seq: int, type_: str, data: dict[str, Any]) -> RelayedEvent:
    return RelayedEvent("run-1", seq, type_, None, None, data, TS)


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False


class _Cycle:
    """What ``api.http_protocol``'s cycle shows a response: ``on_gone``, ``disconnected``,
    ``transport``; its ``send`` writes each message to the transport, as uvicorn's does."""

    def __init__(self) -> None:
        self.transport = _Transport()
        self.on_gone = None
        self.disconnected = False

    async def receive(self) -> Any:
        await asyncio.Event().wait()

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.transport.write(b"HEADERS|")
        elif message["body"] or not message["more_body"]:
            self.transport.write(message["body"] + (b"" if message["more_body"] else b"|END"))


async def test_a_live_runs_headers_and_first_frames_go_in_one_write() -> None:
    run = _event(1, "run", {"run_id": "run-1"})
    sub = Subscription([run])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    token = _event(2, "token", {"token": "a"})
    done = _event(3, "done", {"status": "completed"})

    async def the_run() -> None:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        sub.push(token)
        await asyncio.sleep(0)
        sub.push(done)
        sub.close()

    task = asyncio.get_running_loop().create_task(the_run())
    await stream({"type": "http", "method": "POST"}, cycle.receive, cycle.send)
    await task
    writes = cycle.transport.writes
    # The token came within the first write's wait: it went with the headers and ``run``
    # (``test_first_write.py``).
    assert writes[0] == b"HEADERS|" + encode_frames([run]) + encode_frames([token]), writes
    body = b"".join(writes)
    assert body == b"HEADERS|" + b"".join(encode_frames([e]) for e in (run, token, done)) + b"|END"
    assert cycle.transport is not None and type(cycle.transport) is _Transport


async def test_a_stream_with_nothing_queued_writes_its_headers_alone() -> None:
    sub = Subscription([])
    cycle = _Cycle()
    stream = RunStream(sub, ping_seconds=0, on_end=lambda: None)
    done = _event(1, "done", {"status": "completed"})

    async def the_run() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        sub.push(done)
        sub.close()

    task = asyncio.get_running_loop().create_task(the_run())
    await stream({"type": "http", "method": "POST"}, cycle.receive, cycle.send)
    await task
    assert cycle.transport.writes == [b"HEADERS|", encode_frames([done]) + b"|END"]


def test_the_exit_check_reads_the_handler_without_the_enum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_enum(_: int) -> Any:
        raise AssertionError("signal.getsignal")

    class _Server:
        should_exit = True

        def handle_exit(self, *_: Any) -> None: ...

    monkeypatch.setattr(signal, "getsignal", no_enum)
    monkeypatch.setattr(sse.AppStatus, "should_exit", False)
    monkeypatch.setattr(sse.AppStatus, "enable_automatic_graceful_drain", True)
    previous = signal.signal(signal.SIGTERM, _Server().handle_exit)
    try:
        assert sse._exiting() is True
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_closed_breakers_success_skips_aiobreakers_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from mesh_orchestrator.routing.breakers import BreakerState, InstanceBreaker

    b = InstanceBreaker("i-1", fail_max=3)
    b.failed("boom")
    b.failed("boom")
    assert b.breaker.fail_counter == 2
    monkeypatch.setattr(b.breaker, "call", _refused)
    b.succeeded()  # closed: the failures in a row start over, no call made
    assert b.breaker.fail_counter == 0
    assert b.state is BreakerState.CLOSED
    monkeypatch.undo()
    for _ in range(3):
        b.failed("boom")
    assert b.state is BreakerState.OPEN
    b.succeeded()  # ejected meanwhile: that decision stands, through aiobreaker as before
    assert b.state is BreakerState.OPEN
    assert b.ejections == 1


def _refused(*_: Any) -> Any:
    raise AssertionError("aiobreaker's call")


def test_unresolvable_tasks_are_found_without_ranking_the_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from mesh_contracts import AgentDescriptor, AgentRecord, ExecutionPlan, HealthStatus
    from mesh_orchestrator.routing.resolver import Resolver

    now = time.time()

    def agent(instance: str, cap: str, *, healthy: bool = True) -> AgentRecord:
        d = AgentDescriptor(agent_id=instance, instance_id=instance, description="d",
                            capabilities=[cap], endpoint=f"http://127.0.0.1:1/{instance}")  # fmt: skip
        status = HealthStatus.PASSING if healthy else HealthStatus.CRITICAL
        return AgentRecord(descriptor=d, status=status, registered_at=now, last_heartbeat=now)

    records = [agent("a", "text"), agent("b", "vision"), agent("c", "audio", healthy=False)]
    resolver = Resolver(lambda: records)
    for _ in range(3):
        resolver.failed("b", "boom")  # b ejected
    plan = ExecutionPlan.model_validate({"tasks": [
        {"task_id": "t1", "capability": "text"},
        {"task_id": "t2", "capability": "vision"},
        {"task_id": "t3", "capability": "audio"},
        {"task_id": "t4", "capability": "text", "requires": {"gpu": True}},
        {"task_id": "t5", "capability": "x", "agent_id": "a"},
        {"task_id": "t6", "capability": "text", "agent_id": "b"},
    ]})  # fmt: skip
    ranked = {t.task_id for t in plan.tasks if not resolver.candidates(t)}
    monkeypatch.setattr(resolver, "_ranked", _refused)
    found = resolver.unresolvable(plan)
    assert set(found) == ranked == {"t2", "t3", "t4", "t6"}
    assert found["t2"].startswith("every instance serving capability 'vision' is ejected")


def _refused(*_: Any) -> Any:
    raise AssertionError("called")
