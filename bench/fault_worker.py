"""A mesh worker that misbehaves on purpose: the controllable side of the fault suite and of
the bench's failover figures.

A real worker on the worker SDK (registration, heartbeats, ``/stream`` with pings,
cancellation on disconnect). Healthy, it streams ``tokens`` token events at ``rate`` per
second, each naming this instance (``"{instance_id}:{i} "``), so a test can tell which
replica wrote which part of a task's text. ``FAULT_MODE`` turns its work endpoints
(``POST /stream`` and ``POST /invoke``) into a fault; ``/health`` and ``/descriptor`` stay
healthy, so it registers and looks alive like the real thing:

- ``ok`` (default): the SDK's own stream;
- ``error500``: every call is answered ``500``;
- ``huge_frame``: ``FAULT_LEAD_TOKENS`` good token frames, then one SSE frame of
  ``FAULT_FRAME_MB`` (64) MiB that never ends (no blank line), sent in 1 MiB chunks;
- ``garbage``: ``FAULT_LEAD_TOKENS`` good token frames, then frames that are not JSON.

``GET /health`` counts the calls: ``calls`` (every POST to a work endpoint, faulty or not),
``started``, ``completed`` and ``cancelled`` runs and ``active`` ones; and, by the calls'
idempotency keys (``<run>:<task>:<attempt>``, the SDK's ``execution_key``): ``keys_twice``
(keys whose run started more than once here), ``overlaps`` (runs started while another
run of the same run's task was active here) and ``tasks_rerun`` (run tasks run here under
more than one key). ``FAULT_RETRY_SAFE=0`` declares the agent not safe to retry;
``FAULT_KEYS_LOG`` (a file) gets one line per run started, ``<instance> <key>``, appended at
once, so the count survives the process being killed (the chaos bench reads it). Settings: the SDK's
``WORKER_*`` plus ``FAULT_AGENT_ID`` (default ``fault``), ``FAULT_CAPABILITY``
(``text_generation``) and ``FAULT_PRIORITY`` (0). ``python -m bench.fault_worker`` serves it
on ``WORKER_PORT`` (default 8091).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from pydantic import BaseModel, Field

from mesh_contracts import AgentDescriptor, StreamingMode, TaskRequest, TokenEvent, encode_event
from mesh_worker import Emit, Worker, WorkerSettings, create_worker_app, execution_key

DEFAULT_PORT = 8091
MODES = ("ok", "error500", "huge_frame", "garbage")
CHUNK = 1 << 20

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class FaultInput(BaseModel):
    tokens: int = Field(default=20, ge=0, le=1_000_000)
    rate: float = Field(default=0.0, ge=0, description="tokens per second; 0: as fast as it can")


@dataclass
class Counters:
    calls: int = 0
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    active: int = 0
    keys: Counter[str] = field(default_factory=Counter)  # runs started, by key
    running: Counter[str] = field(default_factory=Counter)  # active runs, by run:task
    tasks: dict[str, set[str]] = field(default_factory=dict)  # run:task -> its keys
    overlaps: int = 0

    def began(self, key: str | None) -> str | None:
        if key is None:
            return None
        self.keys[key] += 1
        task = key.rsplit(":", 1)[0]
        if self.running[task]:
            self.overlaps += 1
        self.running[task] += 1
        self.tasks.setdefault(task, set()).add(key)
        return task

    def ended(self, task: str | None) -> None:
        if task is not None:
            self.running[task] -= 1

    def facts(self) -> dict[str, int]:
        return {
            "keys": len(self.keys),
            "keys_twice": sum(1 for n in self.keys.values() if n > 1),
            "overlaps": self.overlaps,
            "tasks_rerun": sum(1 for keys in self.tasks.values() if len(keys) > 1),
        }


class FaultWorker(Worker[FaultInput]):
    """Streams ``"{instance_id}:{i} "`` tokens at ``rate``; counts its runs."""

    Input = FaultInput

    def __init__(self, counters: Counters, agent_id: str, capability: str, priority: int) -> None:
        self.counters = counters
        self.agent_id = agent_id
        self.capability = capability
        self.priority = priority
        self.instance_id = ""

    def describe(self) -> AgentDescriptor:
        return self.descriptor(
            agent_id=self.agent_id,
            description="Fault-suite worker: streams tokens that name their instance.",
            capabilities=[self.capability],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            priority=self.priority,
            max_concurrency=64,
            timeout_seconds=300,
            tags=["test"],
            retry_safe=os.environ.get("FAULT_RETRY_SAFE", "1") != "0",
        )

    def health(self) -> dict[str, Any]:
        c = self.counters
        return {
            "mode": os.environ.get("FAULT_MODE", "ok"),
            "calls": c.calls,
            "started": c.started,
            "completed": c.completed,
            "cancelled": c.cancelled,
            "active": c.active,
            **c.facts(),
        }

    async def run(self, task: TaskRequest, inp: FaultInput, emit: Emit) -> Any:
        c = self.counters
        c.started += 1
        c.active += 1
        key = execution_key()
        running = c.began(key)
        if log_path := os.environ.get("FAULT_KEYS_LOG"):
            with open(log_path, "a") as log:  # noqa: ASYNC230 - one short line, flushed now
                log.write(f"{self.instance_id} {key}\n")
        try:
            for i in range(inp.tokens):
                await emit(TokenEvent(token=f"{self.instance_id}:{i} "))
                if inp.rate:
                    await asyncio.sleep(1 / inp.rate)
            c.completed += 1
        except asyncio.CancelledError:
            c.cancelled += 1
            raise
        finally:
            c.active -= 1
            c.ended(running)
        return None


def _frames(instance_id: str, lead: int) -> list[bytes]:
    return [encode_event({"type": "token", "token": f"{instance_id}:{i} "}) for i in range(lead)]


class FaultMiddleware:
    """Counts every call to a work endpoint and, unless ``mode`` is ok, answers it with the
    fault instead of the SDK."""

    def __init__(
        self, app: ASGIApp, *, mode: str, counters: Counters, instance_id: str, lead: int,
        frame_mb: int,
    ) -> None:  # fmt: skip
        self.app = app
        self.mode = mode
        self.counters = counters
        self.lead = _frames(instance_id, lead)
        self.frame_mb = frame_mb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        work = scope["type"] == "http" and scope["method"] == "POST"
        if not (work and scope["path"] in ("/stream", "/invoke")):
            await self.app(scope, receive, send)
            return
        self.counters.calls += 1
        if self.mode == "ok":
            await self.app(scope, receive, send)
            return
        while (await receive()).get("more_body"):  # the request body, unread
            pass
        if self.mode == "error500":
            body = b'{"detail": "fault worker: 500 by design"}'
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        gone = asyncio.create_task(_disconnected(receive))
        try:
            for frame in self.lead:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            if self.mode == "huge_frame":
                await self._huge(send, gone)
            else:
                await self._garbage(send, gone)
            with contextlib.suppress(TimeoutError):  # hold the stream until the caller leaves
                await asyncio.wait_for(asyncio.shield(gone), 60)
        finally:
            gone.cancel()
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b""})

    async def _huge(self, send: Send, gone: asyncio.Task[None]) -> None:
        await send({"type": "http.response.body", "body": b"data: ", "more_body": True})
        chunk = b"x" * CHUNK
        for _ in range(self.frame_mb):
            if gone.done():
                return
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(0.02)  # a slow sender: the orchestrator has to cut it

    async def _garbage(self, send: Send, gone: asyncio.Task[None]) -> None:
        for junk in (b"data: {this is not json\n\n", b"data: \xff\xfe[1, 2\n\n"):
            if gone.done():
                return
            await send({"type": "http.response.body", "body": junk, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def main() -> None:
    mode = os.environ.get("FAULT_MODE", "ok")
    if mode not in MODES:
        raise SystemExit(f"FAULT_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    settings = WorkerSettings.for_port(DEFAULT_PORT)
    counters = Counters()
    worker = FaultWorker(
        counters,
        os.environ.get("FAULT_AGENT_ID", "fault"),
        os.environ.get("FAULT_CAPABILITY", "text_generation"),
        int(os.environ.get("FAULT_PRIORITY", "0")),
    )
    worker.instance_id = settings.instance_id_for(worker.agent_id)
    app = create_worker_app(worker, settings)
    app.add_middleware(
        FaultMiddleware,
        mode=mode,
        counters=counters,
        instance_id=worker.instance_id,
        lead=int(os.environ.get("FAULT_LEAD_TOKENS", "0")),
        frame_mb=int(os.environ.get("FAULT_FRAME_MB", "64")),
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        lifespan="on",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
