"""A relayed stream held open, served as ``__main__`` serves it (``stream_path.Front`` over
uvicorn with ``LeanHttpToolsProtocol``): what it holds while open (no task listening for
the client, no FastAPI or Starlette frame, none of its request's headers) and what it
lets go of once the client leaves (the run cancelled, the response collected)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import weakref
from pathlib import Path
from types import AsyncGeneratorType, CoroutineType, SimpleNamespace
from typing import Any

import httpx
import uvicorn
from orch_fakes import Mesh, writer_like

from conftest import MeshFactory
from mesh_contracts.plan import NO_REQUIREMENTS
from mesh_contracts.results import TaskRequest
from mesh_orchestrator.api import stream_path
from mesh_orchestrator.api.http_protocol import LeanHttpToolsProtocol, _asgi, _Pipeline
from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.app import create_app
from mesh_orchestrator.relay import executor
from mesh_orchestrator.relay.stream_client import _StallWatch
from mesh_orchestrator.relay.timers import Deadline, loop_timers
from mesh_orchestrator.runs import service as run_service
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.settings import Settings
from mesh_testkit import free_port

DEADLINE = 20.0


async def _serve_as_main(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    config = uvicorn.Config(
        stream_path.Front(app),
        interface="asgi3",
        http=LeanHttpToolsProtocol,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert not task.done() and time.monotonic() < deadline, "server did not start"
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}"


def _chain(task: asyncio.Task[Any]) -> list[str]:
    """The functions whose frames are suspended under ``task`` now."""
    coro: Any = task.get_coro()
    chain = []
    while coro is not None:
        chain.append(getattr(coro, "__qualname__", type(coro).__name__))
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return chain


def _coroutines(name: str) -> list[Any]:
    """The suspended coroutines of function ``name`` now."""
    return [
        o for o in gc.get_objects()
        if type(o) is CoroutineType and o.__qualname__ == name and o.cr_frame is not None
    ]  # fmt: skip


def _frames(stream: RunStream) -> list[str]:
    """The functions whose frames are suspended under the request's task now."""
    names: list[str] = []
    for task in asyncio.all_tasks():
        chain = _chain(task)
        if "RunStream.__call__" in chain:
            names += chain
    return names


async def test_a_held_stream_holds_no_listener_nor_stack_frames_and_is_let_go_when_its_client_leaves(
    mesh_factory: MeshFactory, tmp_path: Path, monkeypatch: Any
) -> None:
    mesh: Mesh = await mesh_factory()
    await mesh.register(writer_like(mesh.workers[0].url))
    settings = Settings(
        discovery_url=mesh.disc.url,
        db_path=tmp_path / "main.sqlite3",
        ping_seconds=5.0,
        watch_wait_seconds=1.0,
        discovery_retry_seconds=0.05,
    )
    app = create_app(settings)
    made: list[weakref.ref[RunStream]] = []
    real = stream_path.open_run_stream

    async def opened(*args: Any) -> Any:
        response = await real(*args)
        made.append(weakref.ref(response))
        return response

    monkeypatch.setattr(stream_path, "open_run_stream", opened)
    server, serving, url = await _serve_as_main(app)
    body = {
        "plan": {"tasks": [{"task_id": "t", "capability": "text_generation",
                            "input": {"gate": "held", "tokens": ["a"]}}]},
        "options": {"on_disconnect": "cancel"},
    }  # fmt: skip
    worker = mesh.worker(0)
    try:
        async with httpx.AsyncClient(timeout=DEADLINE) as c:
            for _ in range(int(DEADLINE / 0.05)):  # this orchestrator's own registry watch
                agents = (await c.get(url + "/v1/agents")).json()
                if agents:
                    break
                await asyncio.sleep(0.05)
            async with asyncio.timeout(DEADLINE):
                async with c.stream("POST", url + "/orchestrate/stream", json=body) as r:
                    assert r.status_code == 200
                    # The worker call is out: the run waits (the fake's own list).
                    while "t" not in worker.started:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    await asyncio.sleep(0.05)
                    assert len(made) == 1  # served by the fast path
                    stream = made[0]()
                    assert stream is not None
                    frames = _frames(stream)
                    # The connection says when the client leaves: no task parked in receive.
                    listening = [t.get_coro().__qualname__ for t in asyncio.all_tasks()]
                    assert "RunStream._listen" not in listening, listening
                    assert "RunStream.__call__" in frames and "StreamPath.__call__" in frames
                    assert not any(f.startswith(("FastAPI.", "Starlette.")) for f in frames)
                    # uvicorn's proxy-headers middleware: a plain function, no frame held.
                    assert not any("ProxyHeaders" in f for f in frames), frames
                    # Nothing of what went out is held while the stream waits: its start
                    # message, its last batch of events, their frames.
                    (writing,) = _coroutines("RunStream.__call__")
                    held_locals = writing.cr_frame.f_locals
                    assert "start" not in held_locals and "frames" not in held_locals
                    assert held_locals.get("batch") is None
                    # Nor the graph's last node's update, by the driver or by the graph.
                    (drive,) = _coroutines("RunDriver._drive")
                    assert "chunk" not in drive.cr_frame.f_locals
                    assert drive.cr_frame.f_locals.get("update") is None
                    (graph,) = [
                        o for o in gc.get_objects()
                        if type(o) is AsyncGeneratorType and o.__qualname__ == "GraphRunner.astream"
                    ]  # fmt: skip
                    assert "update" not in graph.ag_frame.f_locals
                    del writing, held_locals, drive, graph
                    (proto,) = [p for p in server.server_state.connections if p.cycle is not None]
                    assert proto.cycle.on_gone == stream._gone
                    assert proto.cycle.scope["headers"] == []  # its request's: dropped
                    assert type(proto.pipeline) is _Pipeline
                    assert proto.cycle.scope["asgi"] is _asgi(proto.asgi_version)  # shared
                    # The run's task: a task that is no loop is called without a frame of
                    # ``_iterate``, under a deadline on the loop's one shared timer (no
                    # ``asyncio.Timeout`` and its timer handle of its own).
                    held = [
                        o.__qualname__ for o in gc.get_objects()
                        if issubclass(type(o), CoroutineType) and o.cr_frame is not None
                    ]  # fmt: skip
                    assert "Executor._attempts" in held and "WorkerCalls.call" in held, held
                    # ``_execute`` makes the request and hands ``_attempts`` (under the
                    # task's deadline) to ``_node``: no frame of its own held.
                    assert "Executor._execute" not in held, held
                    assert "Executor._iterate" not in held, held
                    # An untraced run is driven without a ``_traced`` frame over ``_drive``;
                    # the worker connection's reader awaits its future, no ``wait`` frame.
                    assert "RunDriver._drive" in held and "RunDriver._traced" not in held, held
                    assert "_Connection.wait" not in held, held
                    # The worker call's connection: a slotted post, no generator of an
                    # ``asynccontextmanager`` under it, no ``aclosing`` objects around its
                    # streams.
                    gens = [
                        o.__qualname__ for o in gc.get_objects()
                        if type(o) is AsyncGeneratorType and o.ag_frame is not None
                    ]  # fmt: skip
                    assert "call_worker_batches" in gens and "StreamClient.post" not in gens
                    # ``call_worker_batches`` reads the connection's blocks itself: no
                    # ``_until_done`` generator between them.
                    assert "StreamResponse.blocks" in gens and "_until_done" not in gens, gens
                    assert not [o for o in gc.get_objects() if type(o) is contextlib.aclosing]
                    (calling,) = _coroutines("WorkerCalls.call")
                    task_request = calling.cr_frame.f_locals["request"]
                    sub_task = calling.cr_frame.f_locals["t"]
                    (running,) = _coroutines("Executor.run")
                    plan = running.cr_frame.f_locals["plan"]
                    del calling, running
                    assert type(task_request) is TaskRequest
                    # Its fields-set is every worker request's one (naming every field).
                    assert task_request.__pydantic_fields_set__ is executor._REQUEST_SET
                    assert task_request.model_fields_set == set(TaskRequest.model_fields)
                    # The run's record, its plan and sub-task share their fields-sets with
                    # every live run's (each naming every field); the sub-task, which names
                    # no requirements, shares one frozen ``Requirements``.
                    (record,) = [ch.record for ch in app.state.services.runs.mux.channels.values()]
                    assert record.__pydantic_fields_set__ is run_service._SET
                    assert record.model_fields_set == set(RunRecord.model_fields)
                    assert plan.__pydantic_fields_set__ is run_service._PLAN_SET
                    assert sub_task in plan.tasks
                    assert sub_task.__pydantic_fields_set__ is run_service._TASK_SET
                    assert sub_task.requires is NO_REQUIREMENTS
                    del record, plan, sub_task
                    del gens, task_request
                    (run,) = [t for t in asyncio.all_tasks() if "RunDriver._drive" in _chain(t)]
                    timeouts = [
                        o for o in gc.get_objects()
                        if issubclass(type(o), asyncio.Timeout) and o._task is run
                    ]  # fmt: skip
                    assert timeouts == []
                    # Its deadline and its worker stream's stall watch: entries of the loop's
                    # one shared timer, no timer handle of their own.
                    armed = [e for _, _, e in loop_timers()._heap if e.live]
                    assert {type(e) for e in armed} >= {Deadline, _StallWatch}, armed
                    del run, armed
                    # The run's state: one dict, the graph's (the driver's starting state, its
                    # merge with the prelude's keys and the execute node's copy are not held
                    # while the calls stream: 4 dicts before).
                    states = [
                        o for o in gc.get_objects()
                        if type(o) is dict and "max_llm_attempts" in o and type(o.get("run_id")) is str
                    ]  # fmt: skip
                    assert len(states) == 1, len(states)
                    del states
                    del held
                    del stream, frames, proto
            # The client left (the response closed): the run is cancelled, the stream ends.
            while "t" not in worker.cancelled:  # noqa: ASYNC110 - the fake's own list
                await asyncio.sleep(0.01)
            for _ in range(int(DEADLINE / 0.01)):
                gc.collect()
                if made[0]() is None:
                    break
                await asyncio.sleep(0.01)
            assert made[0]() is None
    finally:
        worker.gate("held").set()
        server.should_exit = True
        await asyncio.wait_for(serving, DEADLINE)


async def test_front_sends_only_the_stream_path_past_the_apps_call() -> None:
    """``Front`` hands ``POST /orchestrate/stream`` to the built stack itself (with
    ``scope["app"]``, as Starlette does) and everything else, or anything before the stack
    is built, to the app."""
    called: list[str] = []

    async def stack(scope: Any, receive: Any, send: Any) -> None:
        called.append("stack")

    class App:
        root_path = ""
        _native_telemetry = SimpleNamespace(enabled=lambda: False)
        middleware_stack: Any = None

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            called.append("app")

    app = App()
    front = stream_path.Front(app)  # type: ignore[arg-type]
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": stream_path.PATH}
    await front(scope, None, None)  # type: ignore[arg-type]
    app.middleware_stack = stack
    await front(scope, None, None)  # type: ignore[arg-type]
    assert scope["app"] is app
    await front({"type": "http", "method": "GET", "path": "/health"}, None, None)  # type: ignore[arg-type]
    await front({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert called == ["app", "stack", "app", "app"]
    app.root_path = "/mesh"  # FastAPI's own call sets it in the scope: every request goes there
    await stream_path.Front(app)(scope, None, None)  # type: ignore[arg-type]
    assert called[-1] == "app"


def test_the_pipeline_queue_keeps_deque_order() -> None:
    q = _Pipeline()
    assert not q
    q.appendleft(1)
    q.appendleft(2)
    assert q and q.pop() == 1 and q.pop() == 2 and not q
