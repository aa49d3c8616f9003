"""Fakes for the orchestrator's tests (imported by conftest and test modules): workers and a discovery registry served by real uvicorn
on loopback (SSE needs a real streaming transport), plus a running orchestrator."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from mesh_auth.dialing import default_ssl_context
from mesh_contracts import (
    AgentDescriptor,
    AgentRecord,
    TaskRequest,
    WorkerResult,
    encode_event,
)
from mesh_testkit import free_port


class Served:
    def __init__(self, app: FastAPI, server: uvicorn.Server, task: asyncio.Task[None], url: str):
        self.app, self.server, self.task, self.url = app, server, task, url


async def serve(app: FastAPI) -> Served:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        await asyncio.sleep(0.01)
    return Served(app, server, task, f"http://127.0.0.1:{port}")


async def stop(s: Served) -> None:
    s.server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await s.task


class FakeWorkerState:
    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.calls: list[str] = []
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.busy_left: dict[str, int] = {}
        self.traceparents: list[str | None] = []  # the header of each call, in order
        self.keys: list[str | None] = []  # the Idempotency-Key of each call, in order
        self.hang_all = False  # every stream hangs, whatever its input (a planned task's)
        # Awaited with each call's request as it arrives, before anything is answered.
        self.on_call: Callable[[TaskRequest, Request], Awaitable[None]] | None = None

    def gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())


def fake_worker_app(name: str = "fake") -> FastAPI:
    """Streams tokens; ``input`` steers it: tokens (``interval`` seconds apart), gate, hang,
    fail, malformed, huge, die, busy, usage (a final result reporting it)."""
    app = FastAPI()
    st = FakeWorkerState()
    app.state.fake = st

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "cancelled": len(st.cancelled)}

    def busy(task: TaskRequest) -> JSONResponse | None:
        left = st.busy_left.setdefault(task.task_id, int(task.input.get("busy", 0)))
        if left > 0:
            st.busy_left[task.task_id] = left - 1
            return JSONResponse({"detail": "busy"}, status_code=429, headers={"Retry-After": "0"})
        return None

    @app.post("/stream", response_model=None)
    async def stream(task: TaskRequest, request: Request) -> Any:
        st.calls.append(task.task_id)
        st.traceparents.append(request.headers.get("traceparent"))
        st.keys.append(request.headers.get("idempotency-key"))
        if st.on_call is not None:
            await st.on_call(task, request)
        refusal = busy(task)
        if refusal is not None:
            return refusal
        if task.input.get("reject"):
            return JSONResponse({"detail": "input.prompt: bad"}, status_code=422)
        inp = task.input

        async def gen() -> AsyncIterator[bytes]:
            st.started.append(task.task_id)
            try:
                if inp.get("gate"):
                    await st.gate(inp["gate"]).wait()
                if inp.get("hang") or st.hang_all:
                    await asyncio.Event().wait()
                for tok in inp.get("tokens", ["hello", " world"]):
                    yield encode_event({"type": "token", "token": tok})
                    await asyncio.sleep(float(inp.get("interval", 0)))
                if inp.get("malformed"):
                    yield b"data: {not json\n\n"
                if inp.get("huge"):  # one frame that never ends, past the relay's bound
                    yield b"data: " + b"x" * (17 << 20)
                    await asyncio.Event().wait()
                if inp.get("die"):
                    raise RuntimeError("worker died mid-stream")
                if inp.get("fail"):
                    yield encode_event({"type": "error", "error": "model exploded"})
                if inp.get("usage"):  # what it cost, in its final event (run budgets)
                    yield encode_event({"type": "result", "output": "used", "usage": inp["usage"]})
                if inp.get("echo_context"):
                    yield encode_event(
                        {
                            "type": "result",
                            "output": {"prompt": inp.get("prompt"), "context": task.context},
                        }
                    )
                if not inp.get("no_done"):
                    yield encode_event({"type": "done"})
            except asyncio.CancelledError:
                st.cancelled.append(task.task_id)
                raise

        return StreamingResponse(gen(), media_type="text/event-stream")

    @app.post("/invoke")
    async def invoke(task: TaskRequest, request: Request) -> Any:
        st.calls.append(task.task_id)
        st.traceparents.append(request.headers.get("traceparent"))
        refusal = busy(task)
        if refusal is not None:
            return refusal
        return WorkerResult(
            task_id=task.task_id, agent_id=name, output={"answer": f"{name} says hi"}
        )

    @app.post("/release/{gate}")
    async def release(gate: str) -> dict[str, str]:
        st.gate(gate).set()
        return {"released": gate}

    return app


def fake_discovery_app() -> FastAPI:
    """GET /v1/agents with Consul-style blocking and conditional reads (``If-None-Match``
    with the index's tag answers 304), as discovery serves it; tests ``publish`` records.

    ``app.state.hold``, when set to an ``asyncio.Event``, holds answers until it is set:
    blocking queries (the watch) with ``hold_kind="watch"``, every read with ``"all"``.
    ``app.state.reads`` keeps the ``traceparent`` header of each non-blocking read."""
    app = FastAPI()
    app.state.records = []
    app.state.index = 1
    app.state.changed = asyncio.Event()
    app.state.hold = None
    app.state.hold_kind = "watch"
    app.state.reads = []

    def publish(records: list[AgentRecord]) -> None:
        app.state.records = records
        app.state.index += 1
        app.state.changed.set()
        app.state.changed = asyncio.Event()

    app.state.publish = publish

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "index": app.state.index}

    @app.get("/v1/agents")
    async def agents(request: Request, index: int | None = None) -> Response:
        if index is None:
            app.state.reads.append(request.headers.get("traceparent"))
        elif index == app.state.index:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await app.state.changed.wait()
        hold: asyncio.Event | None = app.state.hold
        if hold is not None and (index is not None or app.state.hold_kind == "all"):
            await hold.wait()
        tag = f'"{app.state.index}"'
        headers = {"X-Mesh-Index": str(app.state.index), "ETag": tag}
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
        body = [r.model_dump(mode="json") for r in app.state.records]
        return JSONResponse(body, headers=headers)

    return app


def record(**kw: Any) -> AgentRecord:
    now = time.time()
    return AgentRecord(descriptor=AgentDescriptor(**kw), registered_at=now, last_heartbeat=now)


def writer_like(
    url: str, agent_id: str = "fakewriter", instance: str | None = None, **kw: Any
) -> AgentRecord:
    return record(
        agent_id=agent_id,
        instance_id=instance or agent_id,
        endpoint=url,
        capabilities=kw.pop("capabilities", ["text_generation", "summarization"]),
        streaming_mode="dynamic_events",
        description="Writes text: stories, poems, summaries.",
        input_schema={"type": "object", "properties": {"prompt": {"type": "string"}}},
        **kw,
    )


class Mesh:
    """A fake discovery, two fake workers and an orchestrator, all on loopback."""

    def __init__(self, disc: Served, workers: list[Served], orch: Served) -> None:
        self.disc, self.workers, self.orch = disc, workers, orch
        self.url = orch.url

    def worker(self, i: int = 0) -> FakeWorkerState:
        st: FakeWorkerState = self.workers[i].app.state.fake
        return st

    async def register(self, *records: AgentRecord) -> None:
        """Publish ``records`` and wait until the orchestrator's watch has seen them."""
        self.disc.app.state.publish(list(records))
        want = self.disc.app.state.index
        # http only: no client of its own that loads the CA bundle (~20 ms CPU) per call
        async with httpx.AsyncClient(verify=default_ssl_context()) as c:
            deadline = time.monotonic() + 10
            while True:
                r = await c.get(self.url + "/health")
                if r.json()["registry_index"] >= want:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError("orchestrator did not see the registry change")
                await asyncio.sleep(0.02)
