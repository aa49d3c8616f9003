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

Failures of an instance (it refused the connection, timed out, answered 5xx, broke its
stream off, sent a malformed or oversized frame, or went silent past ``stream_idle``) are
reported to the resolver, whose circuit breakers eject an instance that keeps failing.
Before the first event the task moves to the next replica at once; after events were
relayed, it runs again elsewhere only when the agent is ``safe_to_retry``, as a new
``attempt`` (announced by a ``retrying`` status; every relayed event carries its attempt
in ``data.attempt``; the output is the last attempt's alone). Between tries the executor
backs off exponentially with jitter (tenacity), inside the task's deadline; a task fails
only when every replica failed or ``max_attempts`` ran out, naming each attempt.
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
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from mesh_auth.endpoints import EndpointPolicy, EndpointRefused
from mesh_contracts import (
    AgentDescriptor,
    ExecutionPlan,
    NodeStatus,
    OutputFold,
    SubTask,
    TaskFailure,
    TaskOutput,
    TaskRequest,
    TaskRetrying,
    TaskStatus,
)
from mesh_orchestrator.metrics import CallMetrics
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
# WorkerFailed codes that say the instance is at fault (the rest: the input, the task).
_INSTANCE_FAULTS = frozenset(
    {"worker_error", "stream_lost", "malformed_stream", "malformed_result", "stalled", "timeout"}
)


class AttemptFailed(Exception):
    """One attempt on one instance failed; ``relayed`` events had already gone out."""

    def __init__(self, instance_id: str, reason: str, code: str, relayed: int) -> None:
        super().__init__(reason)
        self.instance_id = instance_id
        self.reason = reason
        self.code = code
        self.relayed = relayed


class _TryAgain(Exception):
    """Inside the retry loop: go round again after ``busy_wait`` (all busy) or a back-off."""

    def __init__(self, busy_wait: float | None = None) -> None:
        super().__init__("try again")
        self.busy_wait = busy_wait


@dataclass
class TaskOutcome:
    """How one sub-task ended."""

    status: str  # completed | failed | skipped
    output: Any = None
    error: str | None = None
    agent_id: str | None = None
    instance_id: str | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, public: dict[str, Any]) -> TaskOutcome:
        """Back from ``public()`` (a resumed run's completed tasks)."""
        return cls(
            str(public.get("status", "completed")),
            public.get("output"),
            public.get("error"),
            public.get("agent_id"),
        )

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
        stream_idle: float | None = 15.0,
        max_attempts: int = 3,
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
        tracer: RunTracer | None = None,
        metrics: CallMetrics | None = None,
        auth_headers: Callable[[], dict[str, str]] = dict,
        endpoints: EndpointPolicy | None = None,
    ) -> None:
        self.http = http
        # The orchestrator's token on every worker call (the httptools stream client does
        # not go through ``http``'s auth); each endpoint is checked (resolved) before it is
        # called: a name may point elsewhere than when it was registered.
        self.auth_headers = auth_headers
        self.endpoints = endpoints
        self.metrics = metrics
        self.stream_idle = stream_idle
        self.max_attempts = max_attempts
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
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
        done: dict[str, TaskOutcome] | None = None,
        attempts_before: dict[str, int] | None = None,
    ) -> dict[str, TaskOutcome]:
        """Run every task; return outcomes keyed by task_id, in plan order.

        ``done`` (a resumed run): tasks that completed before, with their outputs; they are
        not run again and emit nothing. ``attempts_before``: attempts a task already had, so
        a re-run's events carry the next attempt number.

        Cancellation (the run was cancelled, the client left) cancels every in-flight call,
        which closes the workers' streams; the caller reports what was left undone.
        """
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[TaskOutcome]] = {
            t.task_id: loop.create_future() for t in plan.tasks
        }
        for task_id, outcome in (done or {}).items():
            if task_id in futures:
                futures[task_id].set_result(outcome)
        before = attempts_before or {}
        async with asyncio.TaskGroup() as group:
            for t in plan.tasks:
                if not futures[t.task_id].done():
                    first = before.get(t.task_id, 0)
                    group.create_task(self._node(t, futures, emit, run_id, timeout_seconds, first))
        return {t.task_id: futures[t.task_id].result() for t in plan.tasks}

    async def _node(
        self,
        t: SubTask,
        futures: dict[str, asyncio.Future[TaskOutcome]],
        emit: Emitter,
        run_id: str | None,
        timeout_seconds: float | None,
        attempts_before: int = 0,
    ) -> None:
        upstream = {d: await futures[d] for d in t.depends_on}
        broken = [(d, o) for d, o in upstream.items() if o.status != "completed"]
        if broken:
            d, o = broken[0]
            reason = f"upstream task {d!r} {o.status}"
            emit.emit(TaskStatus(status=NodeStatus.SKIPPED, reason=reason), t.task_id)
            futures[t.task_id].set_result(TaskOutcome("skipped", error=reason))
            return
        started = time.perf_counter()
        try:
            outcome = await self._execute(
                t, upstream, emit, run_id, timeout_seconds, attempts_before
            )
        except Exception as exc:  # a bug here must not take the other tasks down
            outcome = self._fail(t, None, emit, f"internal error: {exc!r}", "internal")
        if self.metrics is not None:
            seconds = time.perf_counter() - started
            self.metrics.task_ended(t.capability, outcome.agent_id, outcome.status, seconds)
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
        attempts_before: int = 0,
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
                return await self._attempts(t, request, emit, current, attempts_before)
        except TimeoutError:
            reason = f"timed out after {limit:g}s"
            if len(current) > 1:  # a call was out when the deadline came
                self.resolver.failed(current[-1].instance_id, reason)
            return self._fail(t, current[-1], emit, reason, "timeout")

    async def _attempts(
        self,
        t: SubTask,
        request: TaskRequest,
        emit: Emitter,
        current: list[AgentDescriptor],
        attempts_before: int = 0,
    ) -> TaskOutcome:
        """Try replicas in preference order until one answers the task.

        A busy replica (429/503) passes the task on; when all are busy the loop waits their
        Retry-After and tries again. A failed attempt is reported to the resolver and the
        next replica is tried after a jittered back-off; after relayed events only if the
        agent is safe to retry, as a new attempt. Ends with the task's outcome, failed
        (naming each attempt) when every replica failed or the attempts ran out.
        """
        tried: set[str] = set()
        failures: list[str] = []
        last_code = "unreachable"
        busy: list[float] = []
        previous: str | None = None  # how the last try went wrong, for the next call's span
        attempt = attempts_before  # a resumed task goes on counting
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_TryAgain),
            wait=self._wait,
            reraise=True,
        )
        async for round_ in retrying:
            with round_:
                d = self.resolver.pick(t, exclude=tried)
                if d is None:
                    if busy:
                        wait = min(min(busy), self.max_retry_after)
                        tried.clear()
                        busy.clear()
                        raise _TryAgain(busy_wait=wait)
                    if not failures:
                        error = self.resolver.why_not(t)
                        return self._fail(t, current[-1], emit, error, "unreachable")
                    if len(failures) == 1:
                        error = failures[0].split(": ", 1)[1]
                    else:
                        error = f"every replica failed ({len(failures)} tries): " + "; ".join(
                            failures
                        )
                    return self._fail(t, current[-1], emit, error, last_code)
                tried.add(d.instance_id)
                current.append(d)
                attempt += 1
                try:
                    if self.tracer is None:
                        return await self._call(t, d, request, emit, attempt)
                    others = tried - {d.instance_id}
                    return await self._traced_call(
                        self.tracer, t, d, request, emit, attempt, others, previous
                    )
                except WorkerBusy as refusal:
                    attempt -= 1  # nothing ran: not an attempt
                    previous = f"{d.instance_id} busy (429), retry after {refusal.retry_after:g}s"
                    busy.append(refusal.retry_after)
                    raise _TryAgain(busy_wait=0.0) from None
                except WorkerUnreachable as exc:
                    self.resolver.failed(d.instance_id, str(exc))
                    failures.append(f"attempt {attempt} on {d.instance_id}: {exc}")
                    previous = failures[-1]
                    last_code = "unreachable"
                    attempt -= 1  # never reached the worker: the next one is the same attempt
                    raise _TryAgain() from None
                except AttemptFailed as exc:
                    failures.append(f"attempt {attempt} on {d.instance_id}: {exc.reason}")
                    previous = failures[-1]
                    last_code = exc.code
                    if exc.relayed and not d.safe_to_retry:
                        return self._fail(t, d, emit, exc.reason, exc.code)
                    if attempt - attempts_before >= self.max_attempts:
                        error = f"gave up after {attempt} attempts: " + "; ".join(failures)
                        return self._fail(t, d, emit, error, exc.code)
                    if exc.relayed:  # the client saw events of this attempt: say so
                        nxt = self.resolver.pick(t, exclude=tried)
                        retry = TaskRetrying(
                            attempt=attempt + 1,
                            reason=exc.reason,
                            failed_instance=d.instance_id,
                            next_instance=nxt.instance_id if nxt else None,
                        )
                        emit.emit(retry, t.task_id, d.agent_id)
                    else:
                        attempt -= 1  # nothing reached the client: the same attempt, elsewhere
                    raise _TryAgain() from None
        raise AssertionError("unreachable")  # the loop returns or raises

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next round: the busy wait, else the jittered back-off."""
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _TryAgain) and exc.busy_wait is not None:
            return exc.busy_wait
        return float(self._backoff(state))

    async def _traced_call(
        self,
        tracer: RunTracer,
        t: SubTask,
        d: AgentDescriptor,
        request: TaskRequest,
        emit: Emitter,
        attempt: int,
        excluded: set[str],
        previous: str | None,
    ) -> TaskOutcome:
        candidates = self.resolver.explain(t)
        with tracer.worker_call(
            t, d, attempt, candidates=candidates, excluded=excluded, previous=previous
        ) as call:
            outcome = await self._call(t, d, request, emit, attempt, call)
            call.finish(outcome.status, outcome.error)
            return outcome

    async def _call(
        self,
        t: SubTask,
        d: AgentDescriptor,
        request: TaskRequest,
        emit: Emitter,
        attempt: int = 1,
        call: WorkerCall | None = None,
    ) -> TaskOutcome:
        """One attempt on instance ``d``: relay its events and fold them into the outcome.
        Raises ``WorkerBusy``/``WorkerUnreachable`` before the worker took the call, and
        ``AttemptFailed`` when the instance failed it (reported to the resolver)."""
        agent = d.agent_id
        task_id = t.task_id
        fold = OutputFold()
        add = fold.add
        relay = emit.relay
        relayed = 0

        def accepted() -> None:
            status = TaskStatus(
                status=NodeStatus.RUNNING,
                agent_id=agent,
                instance_id=d.instance_id,
                endpoint=d.endpoint,
                started_at=time.time(),
                attempt=attempt,
                candidates=self.resolver.explain(t),
            )
            emit.emit(status, task_id, agent)

        self.resolver.acquire(d.instance_id)
        try:
            if self.endpoints is not None and d.endpoint is not None:
                try:
                    await self.endpoints.check(d.endpoint)
                except EndpointRefused as exc:
                    raise WorkerUnreachable(f"{d.instance_id}: {exc}") from None
            headers = {**(call.headers if call is not None else {}), **self.auth_headers()}
            calls = call_worker(
                self.http, d, request, accepted, self.streams, headers, idle=self.stream_idle
            )
            if call is not None:  # traced: the events are counted
                calls = call.counted(calls)
            async with aclosing(calls) as events:
                # The hot loop: one (type, body) pair per worker event, relabelled as is.
                async for type_, body in events:
                    if type_ == "done":
                        break
                    if type_ in _RELAYED:
                        add(type_, body)
                        body["attempt"] = attempt
                        relay(type_, body, task_id, agent)
                        relayed += 1
        except WorkerFailed as exc:
            if exc.code not in _INSTANCE_FAULTS:  # e.g. the input was refused: not the instance
                self.resolver.succeeded(d.instance_id)
                return self._fail(t, d, emit, str(exc), exc.code)
            self.resolver.failed(d.instance_id, str(exc))
            raise AttemptFailed(d.instance_id, str(exc), exc.code, relayed) from None
        except WorkerUnreachable:
            raise
        finally:
            self.resolver.release(d.instance_id)
            if self.metrics is not None and relayed:  # once per call, never per event
                self.metrics.relayed(agent, relayed)
        self.resolver.succeeded(d.instance_id)
        if fold.failed:
            failure = fold.errors[-1]
            emit.emit(TaskStatus(status=NodeStatus.FAILED, reason=failure), task_id, agent)
            return TaskOutcome("failed", error=failure, agent_id=agent)
        output = fold.output()
        if not fold.results:  # a worker's own result event was relayed already
            emit.emit(TaskOutput(output=output), task_id, agent)
        emit.emit(TaskStatus(status=NodeStatus.COMPLETED), task_id, agent)
        return TaskOutcome("completed", output, None, agent, d.instance_id, fold.artifacts)
