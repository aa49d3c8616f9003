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
idempotency keys (``<run>:<task>:<attempt>@<epoch>``, the SDK's ``execution_key``): ``keys_twice``
(keys whose run started more than once here), ``overlaps`` (runs started while another
run of the same run's task was active here) and ``tasks_rerun`` (run tasks run here under
more than one key). ``FAULT_RETRY_SAFE=0`` declares the agent not safe to retry;
``FAULT_KEYS_LOG`` (a file) gets one line per run started, ``<instance> <key>``, appended at
once, so the count survives the process being killed (the chaos bench reads it). Settings: the SDK's
``WORKER_*`` plus ``FaultSettings`` (``FAULT_*``). ``python -m bench.fault_worker`` serves it
with the SDK's ``serve`` on ``WORKER_PORT`` (default 8091).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.middleware import Middleware

from mesh_contracts import AgentDescriptor, StreamingMode, TaskRequest, TokenEvent, encode_event
from mesh_worker import Emit, Worker, WorkerSettings, execution_key, serve

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

    def __init__(
        self,
        counters: Counters,
        agent_id: str,
        capability: str,
        priority: int,
        *,
        retry_safe: bool = True,
        keys_log: str | None = None,
    ) -> None:
        self.counters = counters
        self.retry_safe = retry_safe
        self.keys_log = keys_log
        self.agent_id = agent_id
        self.capability = capability
        self.priority = priority
        self.instance_id = ""
        self.mode = "ok"  # what FAULT_MODE made of its work endpoints (shown by /health)

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
            retry_safe=self.retry_safe,
        )

    def health(self) -> dict[str, Any]:
        c = self.counters
        return {
            "mode": self.mode,
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
        if log_path := self.keys_log:
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


class FaultSettings(BaseSettings):
    """The fault worker's own knobs (``FAULT_*``); the SDK's ``WORKER_*`` apply too."""

    model_config = SettingsConfigDict(env_prefix="FAULT_", extra="ignore")

    mode: str = Field(default="ok", description="ok, error500, huge_frame or garbage")
    agent_id: str = Field(default="fault", description="the agent id it registers")
    capability: str = Field(default="text_generation", description="its one capability")
    priority: int = Field(default=0, description="its priority in the registry")
    lead_tokens: int = Field(default=0, ge=0, description="good frames before a bad one")
    frame_mb: int = Field(default=64, ge=1, description="size of huge_frame's endless frame")
    unguarded: bool = Field(
        default=False,
        description="serve open on a non-loopback address (the partition test's network namespace only)",
    )
    retry_safe: bool = Field(
        default=True, description="false: the agent declares it is not safe to retry"
    )
    keys_log: str | None = Field(
        default=None, description="a file that gets one line per run started, `<instance> <key>`"
    )


def main() -> None:
    fault = FaultSettings()
    if fault.mode not in MODES:
        raise SystemExit(f"FAULT_MODE must be one of {', '.join(MODES)}, not {fault.mode!r}")
    settings = WorkerSettings.for_port(DEFAULT_PORT)
    counters = Counters()
    worker = FaultWorker(
        counters,
        fault.agent_id,
        fault.capability,
        fault.priority,
        retry_safe=fault.retry_safe,
        keys_log=fault.keys_log,
    )
    worker.instance_id = settings.instance_id_for(worker.agent_id)
    worker.mode = fault.mode
    inject = Middleware(
        FaultMiddleware,
        mode=fault.mode,
        counters=counters,
        instance_id=worker.instance_id,
        lead=fault.lead_tokens,
        frame_mb=fault.frame_mb,
    )
    serve(
        worker,
        default_port=DEFAULT_PORT,
        settings=settings,
        middleware=[inject],
        unguarded=fault.unguarded,
    )


if __name__ == "__main__":
    main()
