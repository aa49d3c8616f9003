"""Runs a plan's DAG at full parallelism and reports every step as it happens.

Each sub-task is an asyncio task that awaits its dependencies' futures, so it starts the
moment the last of them finishes: a fast branch never waits for a slow sibling (LangGraph
supersteps would hold it back, langgraph issue 6320, hence this scheduler inside one node).
Events leave through ``emit`` while they arrive. A failure stays local: the failed task's
dependents are skipped with a reason, independent tasks carry on.

Everything goes out through the run's ``Emitter``: typed payloads (``TaskStatus``,
``TaskOutput``, ``TaskFailure``) for what the executor decides, ``relay`` for the worker's
own events as read, so a relayed token costs one tuple and one ``publish``, no pydantic.
A task's output is folded from its events by ``mesh_contracts.OutputFold``, the same fold
the worker SDK uses for ``/invoke``.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import httpx

from mesh_contracts import (
    AgentDescriptor,
    ExecutionPlan,
    NodeStatus,
    OutputFold,
    SubTask,
    TaskFailure,
    TaskOutput,
    TaskRequest,
    TaskStatus,
)
from mesh_orchestrator.relay.stream_client import StreamClient
from mesh_orchestrator.relay.worker_client import (
    WorkerBusy,
    WorkerFailed,
    WorkerUnreachable,
    call_worker,
)
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.runs.emitter import Emitter
from mesh_orchestrator.tracing import RunTracer, WorkerCall

# What a worker sends that the client sees as is (``done`` ends the call, never relayed).
_RELAYED = frozenset({"token", "message", "progress", "artifact", "result", "error"})


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
        stream_client: str = "httptools",
        tracer: RunTracer | None = None,
    ) -> None:
        self.http = http
        self.tracer = tracer
        self.resolver = resolver
        self.max_retry_after = max_retry_after
        self.max_context_chars = max_context_chars
        # "httpx": every stream through ``http`` (no StreamClient), for the bench's comparison.
        self.streams: StreamClient | None = None
        if stream_client == "httptools":
            self.streams = StreamClient(
                max_connections=max_streams, connect_timeout=connect_timeout
            )

    async def aclose(self) -> None:
        if self.streams is not None:
            await self.streams.aclose()

    async def run(
        self,
        plan: ExecutionPlan,
        emit: Emitter,
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
        emit: Emitter,
        run_id: str | None,
        timeout_seconds: float | None,
    ) -> None:
        upstream = {d: await futures[d] for d in t.depends_on}
        broken = [(d, o) for d, o in upstream.items() if o.status != "completed"]
        if broken:
            d, o = broken[0]
            reason = f"upstream task {d!r} {o.status}"
            emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), t.task_id)
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
        self, t: SubTask, d: AgentDescriptor | None, emit: Emitter, error: str, code: str
    ) -> TaskOutcome:
        agent = d.agent_id if d else None
        emit.emit(TaskFailure(error=error, code=code), t.task_id, agent)
        emit.emit(TaskStatus(status=NodeStatus.FAILED, reason=error), t.task_id, agent)
        return TaskOutcome(
            "failed", error=error, agent_id=agent, instance_id=d.instance_id if d else None
        )

    async def _execute(
        self,
        t: SubTask,
        upstream: dict[str, TaskOutcome],
        emit: Emitter,
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
        self, t: SubTask, request: TaskRequest, emit: Emitter, current: list[AgentDescriptor]
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
        self, tracer: RunTracer, t: SubTask, d: AgentDescriptor, request: TaskRequest, emit: Emitter
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
        emit: Emitter,
        call: WorkerCall | None = None,
    ) -> TaskOutcome:
        agent = d.agent_id
        task_id = t.task_id
        fold = OutputFold()
        add = fold.add
        relay = emit.relay

        def accepted() -> None:
            status = TaskStatus(
                status=NodeStatus.RUNNING,
                agent_id=agent,
                instance_id=d.instance_id,
                endpoint=d.endpoint,
                started_at=time.time(),
            )
            emit.emit(status, task_id, agent)

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
                    if type_ == "done":
                        break
                    if type_ in _RELAYED:
                        add(type_, body)
                        relay(type_, body, task_id, agent)
        except WorkerFailed as exc:
            return self._fail(t, d, emit, str(exc), exc.code)
        finally:
            self.resolver.release(d.instance_id)
        if fold.failed:
            failure = fold.errors[-1]
            emit.emit(TaskStatus(status=NodeStatus.FAILED, reason=failure), task_id, agent)
            return TaskOutcome("failed", error=failure, agent_id=agent)
        output = fold.output()
        if not fold.results:  # a worker's own result event was relayed already
            emit.emit(TaskOutput(output=output), task_id, agent)
        emit.emit(TaskStatus(status=NodeStatus.COMPLETED), task_id, agent)
        return TaskOutcome("completed", output, None, agent, d.instance_id, fold.artifacts)
