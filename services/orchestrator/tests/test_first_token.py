"""What lies on a relayed stream's path to its first token (``bench/README.md``, "Round 10:
the first token"): a worker whose whole answer comes in one block has its tokens written to
the client before the call's and the run's end are worked out; a stream's headers go out
after the run's first steps (the worker's request first), with its first frames; the heap
is frozen once the app is warm, so full collections no longer walk what start-up made."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from mesh_contracts import AgentDescriptor, SubTask, TaskRequest
from mesh_orchestrator import __main__ as main
from mesh_orchestrator.api import stream_path
from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.emitter import TokenBytes
from mesh_orchestrator.relay import calls as calls_module
from mesh_orchestrator.relay.calls import WorkerCalls
from mesh_orchestrator.relay.worker_client import Relayable

AGENT = AgentDescriptor(
    agent_id="w", description="d", capabilities=["c"], endpoint="http://127.0.0.1:1"
)


class _Resolver:
    def acquire(self, instance_id: str) -> None: ...
    def release(self, instance_id: str) -> None: ...
    def succeeded(self, instance_id: str) -> None: ...
    def failed(self, instance_id: str, reason: str) -> None: ...
    def explain(self, task: SubTask) -> list[dict[str, Any]]:
        return []


class _Emitter:
    """Records what the call emits; a relayed block wakes a "subscriber" (a callback
    scheduled on the loop, as a subscription's push wakes the stream's task), which notes
    what had been emitted by the time it ran."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.seen_by_subscriber: list[list[str]] = []

    def emit(self, payload: Any, task_id: str | None = None, agent_id: str | None = None) -> None:
        status = payload.data().get("status")
        self.types.append(f"{payload.TYPE}:{status}" if status else payload.TYPE)

    def relay_many(self, items: Any, task_id: str | None, agent_id: str | None) -> None:
        self.types += [t for t, _ in items]
        asyncio.get_running_loop().call_soon(
            lambda: self.seen_by_subscriber.append(list(self.types))
        )


async def test_an_answer_in_one_block_is_written_before_the_call_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def one_block(
        http: Any, d: Any, request: Any, on_accepted: Any, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[list[Relayable]]:
        on_accepted()
        yield [("token", {"token": "a"}), ("token", {"token": "b"})]  # ``done`` came with them

    monkeypatch.setattr(calls_module, "call_worker_batches", one_block)
    async with httpx.AsyncClient() as http:
        calls = WorkerCalls(http, _Resolver(), stream_client="httpx")  # type: ignore[arg-type]
        try:
            emit = _Emitter()
            task = SubTask(task_id="t", capability="c")
            outcome = await calls.call(task, AGENT, TaskRequest(task_id="t"), emit)  # type: ignore[arg-type]
        finally:
            await calls.aclose()
    assert outcome.status == "completed"
    assert emit.types[-1] == "status:completed"
    # The stream's task ran with the tokens relayed and the task not yet ended.
    assert emit.seen_by_subscriber == [["status:running", "token", "token"]]


def _tokens_block(kind: str) -> Any:
    """A block of two plain tokens, as ``call_worker_batches`` yields it: ``TokenBytes``
    (``plain_tokens``'s, nearly every block) or pairs (the frame-by-frame path)."""
    if kind == "token bytes":
        return TokenBytes([b'"a"', b'"b"'], ["a", "b"], None)
    return [("token", {"token": "a"}), ("token", {"token": "b"})]


@pytest.mark.parametrize("kind", ["token bytes", "pairs"])
async def test_tokens_are_written_before_the_blocks_already_read_after_them(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """An SDK worker's answer: its tokens, then its ``result`` and ``done`` in a block of
    their own, both read without a wait. The stream's task gets its turn after the tokens'
    block, not after the call's end (bench/README.md, "Round 14: the first token"); on
    ``main`` the second block took ``first`` away and the turn was never given."""

    async def two_blocks(
        http: Any, d: Any, request: Any, on_accepted: Any, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[Any]:
        on_accepted()
        yield _tokens_block(kind)
        yield [("result", {"output": None})]  # ``done`` came with it

    monkeypatch.setattr(calls_module, "call_worker_batches", two_blocks)
    async with httpx.AsyncClient() as http:
        calls = WorkerCalls(http, _Resolver(), stream_client="httpx")  # type: ignore[arg-type]
        try:
            emit = _Emitter()
            task = SubTask(task_id="t", capability="c")
            outcome = await calls.call(task, AGENT, TaskRequest(task_id="t"), emit)  # type: ignore[arg-type]
        finally:
            await calls.aclose()
    assert outcome.status == "completed"
    assert emit.types[-1] == "status:completed"
    # The stream's task ran once the tokens were relayed: before the result's block.
    assert emit.seen_by_subscriber[0] == ["status:running", "token", "token"]


async def test_a_streaming_calls_later_blocks_give_no_turn_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The turn is given once, after the first token's block: later blocks (read with
    nothing in between) and the call's end go together ("Round 12: first token under
    concurrency": one write to the client where there were two)."""

    async def three_blocks(
        http: Any, d: Any, request: Any, on_accepted: Any, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[Any]:
        on_accepted()
        yield _tokens_block("token bytes")
        yield _tokens_block("pairs")
        yield [("token", {"token": "c"})]  # ``done`` came with it

    monkeypatch.setattr(calls_module, "call_worker_batches", three_blocks)
    async with httpx.AsyncClient() as http:
        calls = WorkerCalls(http, _Resolver(), stream_client="httpx")  # type: ignore[arg-type]
        try:
            emit = _Emitter()
            task = SubTask(task_id="t", capability="c")
            outcome = await calls.call(task, AGENT, TaskRequest(task_id="t"), emit)  # type: ignore[arg-type]
        finally:
            await calls.aclose()
    assert outcome.status == "completed"
    first = ["status:running", "token", "token"]
    # Woken after the first block; the other two blocks' wake-ups ran after the call ended.
    assert emit.seen_by_subscriber[0] == first
    assert all(seen[-1] == "status:completed" for seen in emit.seen_by_subscriber[1:])


class _OneBatch:
    """A feed of one batch, then its end."""

    def __init__(self, first: list[Any]) -> None:
        self.batches: list[list[Any] | None] = [first, None]
        self.overflowed = False

    async def take(self) -> list[Any] | None:
        return self.batches.pop(0)

    def close(self) -> None: ...


async def test_a_streams_headers_go_after_the_runs_first_steps_with_its_first_frames() -> None:
    """The run's task, started with the stream, puts the worker's request out in its first
    steps: no write reaches the client before that, and the headers go in the same turn of
    the loop as the first frames."""
    order: list[str] = []

    async def run_first_steps() -> None:
        order.append("worker request")

    feed = _OneBatch([])
    stream = RunStream(feed, ping_seconds=0, on_end=lambda: None)  # type: ignore[arg-type]
    asyncio.get_running_loop().create_task(run_first_steps())  # as ``RunDriver.go`` does

    turns = 0
    counting = True

    async def count_turns() -> None:
        nonlocal turns
        while counting:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.get_running_loop().create_task(count_turns())
    sent: list[tuple[str, int]] = []

    async def send(message: Any) -> None:
        order.append(message["type"])
        sent.append((message["type"], turns))

    async def receive() -> Any:
        await asyncio.Event().wait()

    scope = {"type": "http", "method": "POST"}
    await stream(scope, receive, send)  # type: ignore[arg-type]
    counting = False
    await counter
    assert order[0] == "worker request", order
    assert [t for t, _ in sent] == ["http.response.start", "http.response.body"]
    assert sent[0][1] == sent[1][1]  # the same turn of the loop


async def test_the_heap_is_frozen_once_the_planner_is_warm(monkeypatch: pytest.MonkeyPatch) -> None:
    draft = SimpleNamespace(ready=False)
    app = SimpleNamespace(
        state=SimpleNamespace(services=SimpleNamespace(planning=SimpleNamespace(draft=draft)))
    )
    frozen: list[bool] = []
    monkeypatch.setattr(main.gc, "freeze", lambda: frozen.append(draft.ready))
    monkeypatch.setattr(main, "WARM_POLL_SECONDS", 0.01)
    main.freeze_when_warm(app)  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert frozen == []  # not before the model is loaded
    draft.ready = True
    for _ in range(200):
        if frozen:
            break
        await asyncio.sleep(0.01)
    assert frozen == [True]


async def test_front_tells_when_the_apps_lifespan_has_started() -> None:
    started: list[str] = []

    class App:
        root_path = ""
        _native_telemetry = SimpleNamespace(enabled=lambda: False)
        middleware_stack: Any = None

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "lifespan.startup.complete"})
            started.append("app said so")

    sent: list[str] = []

    async def send(message: Any) -> None:
        sent.append(message["type"])

    front = stream_path.Front(App(), on_started=lambda: started.append("told"))  # type: ignore[arg-type]
    await front({"type": "lifespan"}, None, send)  # type: ignore[arg-type]
    assert sent == ["lifespan.startup.complete"]
    assert started == ["told", "app said so"]
