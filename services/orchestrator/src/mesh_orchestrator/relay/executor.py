"""Runs a plan's DAG at full parallelism and reports every step as it happens.

Each sub-task is an asyncio task that awaits its dependencies' futures, so it starts the
moment the last of them finishes: a fast branch never waits for a slow sibling (LangGraph
supersteps would hold it back, langgraph issue 6320, hence this scheduler inside one node).
Events leave through ``emit`` while they arrive. A failure stays local: the failed task's
dependents are skipped with a reason, independent tasks carry on.

Emitted drafts are plain dicts ``{"type", "task_id", "agent_id", "data"}``; the run's
multiplexer numbers them. The ``execute`` node passes the run's live channel (the
multiplexer itself) when the run has one, so a relayed token costs one dict and one
``publish``, not a trip through LangGraph's stream queue.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx

from mesh_contracts import AgentDescriptor, ExecutionPlan, SubTask, TaskRequest
from mesh_orchestrator.relay.stream_client import StreamClient
from mesh_orchestrator.relay.worker_client import (
    WorkerBusy,
    WorkerFailed,
    WorkerUnreachable,
    call_worker,
)
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.tracing import RunTracer, WorkerCall

Emit = Callable[[dict[str, Any]], None]


@dataclass
class TaskOutcome:
    """How one sub-task ended."""

    status: str  # completed | failed | skipped
    output: Any = None
    error: str | None = None
    agent_id: str | None = None
    instance_id: str | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """The shape of ``result.data.results[task_id]`` on the wire."""
        return {
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "agent_id": self.agent_id,
        }


def draft(
    type_: str, data: dict[str, Any], task_id: str | None = None, agent_id: str | None = None
) -> dict[str, Any]:
    return {"type": type_, "task_id": task_id, "agent_id": agent_id, "data": data}


def render(output: Any) -> str:
    """Upstream output as text for a downstream prompt."""
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        for key in ("text", "answer", "conclusion", "summary", "content"):
            if isinstance(output.get(key), str):
                return str(output[key])
    return json.dumps(output, ensure_ascii=False, default=str)


class Executor:
    """Shared by all runs (the HTTP clients, one resolver); ``run`` is per plan.

    Worker streams over plain HTTP go through the executor's own ``StreamClient`` (at most
    ``max_streams`` at once, ``connect_timeout`` to connect); ``aclose`` closes its pooled
    connections. Everything else goes through ``http``. With a ``tracer`` each call to a
    worker is a CLIENT span whose trace context goes out with the request.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        resolver: Resolver,
        *,
        max_retry_after: float = 5.0,
        max_context_chars: int = 6000,
        max_streams: int = 256,
        connect_timeout: float = 5.0,
        tracer: RunTracer | None = None,
    ) -> None:
        self.http = http
        self.tracer = tracer
        self.resolver = resolver
        self.max_retry_after = max_retry_after
        self.max_context_chars = max_context_chars
        self.streams = StreamClient(max_connections=max_streams, connect_timeout=connect_timeout)

    async def aclose(self) -> None:
        await self.streams.aclose()

    async def run(
        self,
        plan: ExecutionPlan,
        emit: Emit,
        *,
        run_id: str | None = None,
        timeout_seconds: float | None = None,
    ) -> dict[str, TaskOutcome]:
        """Run every task; return outcomes keyed by task_id, in plan order.

        Cancellation (the run was cancelled, the client left) cancels every in-flight call,
        which closes the workers' streams; the caller reports what was left undone.
        """
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[TaskOutcome]] = {
            t.task_id: loop.create_future() for t in plan.tasks
        }
        async with asyncio.TaskGroup() as group:
            for t in plan.tasks:
                group.create_task(self._node(t, futures, emit, run_id, timeout_seconds))
        return {t.task_id: futures[t.task_id].result() for t in plan.tasks}

    async def _node(
        self,
        t: SubTask,
        futures: dict[str, asyncio.Future[TaskOutcome]],
        emit: Emit,
        run_id: str | None,
        timeout_seconds: float | None,
    ) -> None:
        upstream = {d: await futures[d] for d in t.depends_on}
        broken = [(d, o) for d, o in upstream.items() if o.status != "completed"]
        if broken:
            d, o = broken[0]
            reason = f"upstream task {d!r} {o.status}"
            emit(draft("status", {"status": "skipped", "reason": reason}, t.task_id))
            futures[t.task_id].set_result(TaskOutcome("skipped", error=reason))
            return
        try:
            outcome = await self._execute(t, upstream, emit, run_id, timeout_seconds)
        except Exception as exc:  # a bug here must not take the other tasks down
            outcome = self._fail(t, None, emit, f"internal error: {exc!r}", "internal")
        futures[t.task_id].set_result(outcome)

    def _input(
        self, t: SubTask, upstream: dict[str, TaskOutcome], agent: AgentDescriptor
    ) -> dict[str, Any]:
        """The worker's input. Upstream outputs always travel in ``context``; they are also
        appended to a ``prompt`` unless the agent says it reads ``context`` itself
        (``metadata.reads_context``), which would show a small model everything twice."""
        inp = dict(t.input)
        prompt = inp.get("prompt")
        if upstream and isinstance(prompt, str) and not agent.metadata.get("reads_context"):
            text = "\n\n".join(render(o.output) for o in upstream.values())
            # Workers cap prompts (the writer at 8000 chars): the upstream text gives way.
            room = max(0, min(self.max_context_chars, 7900 - len(prompt)))
            inp["prompt"] = f"{prompt}\n\n{text[:room]}"
        return inp

    def _fail(
        self, t: SubTask, d: AgentDescriptor | None, emit: Emit, error: str, code: str
    ) -> TaskOutcome:
        agent = d.agent_id if d else None
        emit(draft("error", {"error": error, "code": code}, t.task_id, agent))
        emit(draft("status", {"status": "failed", "reason": error}, t.task_id, agent))
        return TaskOutcome(
            "failed", error=error, agent_id=agent, instance_id=d.instance_id if d else None
        )

    async def _execute(
        self,
        t: SubTask,
        upstream: dict[str, TaskOutcome],
        emit: Emit,
        run_id: str | None,
        timeout_seconds: float | None,
    ) -> TaskOutcome:
        first = self.resolver.pick(t)
        if first is None:
            return self._fail(t, None, emit, self.resolver.why_not(t), "unresolvable")
        request = TaskRequest(
            task_id=t.task_id,
            run_id=run_id,
            input=self._input(t, upstream, first),
            context={d: o.output for d, o in upstream.items()},
        )
        limit = timeout_seconds or first.timeout_seconds
        current: list[AgentDescriptor] = [first]
        try:
            async with asyncio.timeout(limit):
                return await self._attempts(t, request, emit, current)
        except TimeoutError:
            return self._fail(t, current[-1], emit, f"timed out after {limit:g}s", "timeout")

    async def _attempts(
        self, t: SubTask, request: TaskRequest, emit: Emit, current: list[AgentDescriptor]
    ) -> TaskOutcome:
        """Try replicas in preference order; when all are busy, wait Retry-After and retry."""
        tried: set[str] = set()
        unreachable: list[str] = []
        busy_wait: float | None = None
        while True:
            d = self.resolver.pick(t, exclude=tried)
            if d is None:
                if busy_wait is None:
                    error = "; ".join(unreachable) or self.resolver.why_not(t)
                    return self._fail(t, current[-1], emit, error, "unreachable")
                await asyncio.sleep(min(busy_wait, self.max_retry_after))
                tried.clear()
                unreachable.clear()
                busy_wait = None
                continue
            tried.add(d.instance_id)
            current.append(d)
            try:
                if self.tracer is None:
                    return await self._call(t, d, request, emit)
                return await self._traced_call(self.tracer, t, d, request, emit)
            except WorkerBusy as busy:
                busy_wait = min(busy_wait or busy.retry_after, busy.retry_after)
            except WorkerUnreachable as exc:
                unreachable.append(str(exc))

    async def _traced_call(
        self, tracer: RunTracer, t: SubTask, d: AgentDescriptor, request: TaskRequest, emit: Emit
    ) -> TaskOutcome:
        with tracer.worker_call(t, d) as call:
            outcome = await self._call(t, d, request, emit, call)
            call.finish(outcome.status, outcome.error)
            return outcome

    async def _call(
        self,
        t: SubTask,
        d: AgentDescriptor,
        request: TaskRequest,
        emit: Emit,
        call: WorkerCall | None = None,
    ) -> TaskOutcome:
        agent = d.agent_id
        task_id = t.task_id
        tokens: list[str] = []
        messages: list[str] = []
        artifacts: list[dict[str, Any]] = []
        result: list[Any] = []
        failure: str | None = None

        def accepted() -> None:
            data = {
                "status": "running",
                "agent_id": agent,
                "instance_id": d.instance_id,
                "endpoint": d.endpoint,
                "started_at": time.time(),
            }
            emit(draft("status", data, task_id, agent))

        self.resolver.acquire(d.instance_id)
        try:
            if call is None:
                calls = call_worker(self.http, d, request, accepted, self.streams)
            else:  # traced: the trace context goes along, the events are counted
                calls = call.counted(
                    call_worker(self.http, d, request, accepted, self.streams, call.headers)
                )
            async with aclosing(calls) as events:
                # The hot loop: one (type, body) pair per worker event, relabelled as is.
                async for type_, body in events:
                    if type_ == "token":
                        tokens.append(body["token"])
                    elif type_ == "done":
                        break
                    elif type_ == "message":
                        messages.append(body["content"])
                    elif type_ == "artifact":
                        artifacts.append(body)
                    elif type_ == "result":
                        result[:] = [body.get("output")]
                    elif type_ == "error":
                        failure = body["error"]
                    elif type_ != "progress":
                        continue
                    emit({"type": type_, "task_id": task_id, "agent_id": agent, "data": body})
        except WorkerFailed as exc:
            return self._fail(t, d, emit, str(exc), exc.code)
        finally:
            self.resolver.release(d.instance_id)
        if failure is not None:
            emit(draft("status", {"status": "failed", "reason": failure}, task_id, agent))
            return TaskOutcome("failed", error=failure, agent_id=agent)
        if result:
            output = result[0]
        else:
            output = "".join(tokens) if tokens else "\n\n".join(messages) if messages else None
            if output is None and artifacts:
                output = {"artifacts": artifacts}
            emit(draft("result", {"output": output}, task_id, agent))
        emit(draft("status", {"status": "completed"}, task_id, agent))
        return TaskOutcome("completed", output, None, agent, d.instance_id, artifacts)
