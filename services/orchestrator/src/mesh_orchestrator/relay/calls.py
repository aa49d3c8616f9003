"""One call of a sub-task to one worker instance: relay its events, fold them into the task's
outcome, and say how the instance did.

``WorkerCalls`` holds what a call needs (the HTTP clients, the resolver, the endpoint
policy, the orchestrator's token, external A2A agents' credentials, the stall bound, the
tracer and the metrics) and makes one attempt (``call``; ``traced_call`` inside the tracer's
CLIENT span, whose trace context goes out with the request; no span with ``NO_TRACER``). The executor (``relay.executor``)
builds the DAG and the attempts on it.

Everything goes out through the run's ``Emitter``: typed payloads (``TaskStatus``,
``TaskOutput``, ``TaskFailure``) for what the executor decides, ``relay`` for the worker's
own events as read, so a relayed token costs one tuple and one ``publish``, no pydantic.
A task's output is folded from its events by ``mesh_contracts.OutputFold``, the same fold
the worker SDK uses for ``/invoke``. Failures of an instance (it refused the connection,
timed out, answered 5xx, broke its stream off, sent a malformed or oversized frame, or went
silent past ``stream_idle``) are reported to the resolver, whose circuit breakers eject an
instance that keeps failing.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import httpx2

from mesh_auth.dialing import default_ssl_context, pinned_transport, pinned_transport2
from mesh_auth.endpoints import EndpointPolicy
from mesh_contracts import (
    AgentDescriptor,
    NodeStatus,
    OutputFold,
    SubTask,
    TaskFailure,
    TaskOutput,
    TaskRequest,
    TaskStatus,
)
from mesh_contracts.a2a import speaks_a2a
from mesh_contracts.event_bodies import Made, task_output, task_status
from mesh_contracts.mcp import speaks_mcp
from mesh_orchestrator.emitter import Emitter, TokenBytes
from mesh_orchestrator.metrics import CallMetrics
from mesh_orchestrator.relay.a2a_credentials import A2ACredentials
from mesh_orchestrator.relay.budget import CURRENT, RunBudget
from mesh_orchestrator.relay.mcp_client import CallHeaders, call_mcp
from mesh_orchestrator.relay.stream_client import StreamClient
from mesh_orchestrator.relay.worker_client import (
    Relayable,
    WorkerFailed,
    WorkerUnreachable,
    call_worker_batches,
)
from mesh_orchestrator.routing.resolver import Resolver
from mesh_orchestrator.tracing import NO_CALL, CallSpan, Tracer

# What a worker sends that the client sees as is (``done`` ends the call, never relayed).
_RELAYED = frozenset({"token", "message", "progress", "artifact", "result", "error"})
# WorkerFailed codes that say the instance is at fault (the rest: the input, the task).
_INSTANCE_FAULTS = frozenset(
    {"worker_error", "stream_lost", "malformed_stream", "malformed_result", "stalled", "timeout"}
)


IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key(run_id: str, task_id: str, attempt: int, epoch: int = 0) -> str:
    """The key of one attempt of a run's task (``Idempotency-Key``, see the worker SDK's
    ``mesh_worker.executions``): ``<run>:<task>:<attempt>@<epoch>``, ``epoch`` being the
    run's lease generation under which the call is first made (0, none: no ``@``).

    The same key for a retry after a lost response (the same attempt, same owner) and for a
    replica that takes the run up and asks again (it reads the key from the ``running``
    status in the log, ``runs.resume``). Attempt numbers are re-derived from the stored log
    by a replica that takes the run up, and a log is stored in batches: the previous owner
    may have used the next numbers for calls the log never heard of (another iteration of a
    loop). The epoch keeps every call of a new owner under keys no earlier owner used."""
    key = f"{run_id}:{task_id}:{attempt}"
    return f"{key}@{epoch}" if epoch else key


#: The lease generation (epoch) of the run whose executor runs in this context (set by
#: ``Executor.run``): every key a call makes names it.
EPOCH: contextvars.ContextVar[int] = contextvars.ContextVar("mesh_run_epoch", default=0)


class _Spent:
    """What one call has counted against its run's budget so far: its tokens, counted once
    per block as they arrive (from the fold: O(1) a block, on the relay's hot path), then
    the worker's final ``usage`` (on its ``result``) in place of that count."""

    __slots__ = ("counted", "since_report", "usage")

    def __init__(self) -> None:
        self.counted = 0  # tokens of the call counted so far
        self.since_report = 0  # of those, the ones a ``usage`` has not replaced yet
        self.usage: Any = None  # the last ``usage`` counted

    def block(self, fold: OutputFold, budget: RunBudget) -> None:
        tokens = len(fold.tokens)
        if tokens != self.counted:
            budget.streamed(tokens - self.counted)
            self.since_report += tokens - self.counted
            self.counted = tokens
        if fold.usage is not self.usage:
            self.usage = fold.usage
            if isinstance(self.usage, dict):
                budget.reported(self.since_report, self.usage)
                self.since_report = 0


class _Start:
    """A call's ``running`` status and the worker's taking of it (``accepted``: the
    callback ``call_worker_batches`` calls at its 2xx). A slotted object rather than two
    closures over the call's locals (their functions, tuples and ~11 cells, held by the
    call's frame as long as the worker streams): ~0.8 KB less an open stream."""

    __slots__ = ("ahead", "attempt", "body", "d", "emit", "keyed", "resolver", "t", "took")

    def __init__(
        self,
        resolver: Any,
        t: SubTask,
        d: AgentDescriptor,
        emit: Emitter,
        attempt: int,
        keyed: str | None,
        ahead: bool,
    ) -> None:
        self.resolver, self.t, self.d, self.emit = resolver, t, d, emit
        self.attempt, self.keyed, self.ahead = attempt, keyed, ahead
        self.took = False  # the worker took the call (it may have started running)
        self.body: dict[str, Any] | None = None  # ``prepare``'s status, until used

    def prepare(self) -> None:
        """The status made ahead, its ``candidates`` ranked and the whole body checked
        (``task_status``), all but its ``started_at`` (a callback the call schedules as it
        starts: it runs once the worker's request is out and the call waits for its
        answer), so the worker's first bytes wait for neither ("Round 14: the first token",
        "Round 15: worker bytes to token"). The same ranking as at the worker's answer,
        this call's own instance already counted in its load."""
        if not self.took:
            self.body = self._status(0.0)  # ``started_at`` set when the worker takes it

    def _status(self, started_at: float) -> dict[str, Any]:
        d = self.d
        return task_status(
            NodeStatus.RUNNING,
            agent_id=d.agent_id,
            instance_id=d.instance_id,
            endpoint=d.endpoint,
            started_at=started_at,
            attempt=self.attempt,
            key=self.keyed,
            candidates=self.resolver.explain(self.t),
        )

    def running(self) -> None:
        status = self.body
        self.body = None  # not held as long as the call streams
        if status is None:
            status = self._status(time.time())
        else:  # the key is there already (a float): its place in the body is kept
            status["started_at"] = time.time()
        self.emit.emit(Made(TaskStatus.TYPE, status), self.t.task_id, self.d.agent_id)

    def __call__(self) -> None:
        self.took = True
        if not self.ahead:
            self.running()


class AttemptFailed(Exception):
    """One attempt on one instance failed; ``relayed`` events had already gone out."""

    def __init__(
        self, instance_id: str, reason: str, code: str, relayed: int, accepted: bool = True
    ) -> None:
        super().__init__(reason)
        self.instance_id = instance_id
        self.reason = reason
        self.code = code
        self.relayed = relayed
        self.accepted = accepted  # the worker took the call (it may have started running)


@dataclass
class TaskOutcome:
    """How one sub-task ended."""

    status: str  # completed | failed | skipped
    output: Any = None
    error: str | None = None
    agent_id: str | None = None
    instance_id: str | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    attempt: int = 0  # the attempt that made it (a loop's next iteration counts on)
    not_taken: bool = False  # skipped because a ``when`` was false (a branch not taken)

    @classmethod
    def of(cls, public: dict[str, Any]) -> TaskOutcome:
        """Back from ``public()`` (a resumed run's completed tasks)."""
        return cls(
            str(public.get("status", "completed")),
            public.get("output"),
            public.get("error"),
            public.get("agent_id"),
            not_taken=bool(public.get("not_taken")),
        )

    def public(self) -> dict[str, Any]:
        """The shape of ``result.data.results[task_id]`` on the wire (``not_taken`` only
        on a branch a false ``when`` skipped)."""
        out = {
            "status": self.status,
            "output": self.output,
            "error": self.error,
            "agent_id": self.agent_id,
        }
        if self.not_taken:
            out["not_taken"] = True
        return out


def fail_task(
    t: SubTask, d: AgentDescriptor | None, emit: Emitter, error: str, code: str
) -> TaskOutcome:
    """Emit ``t``'s failure (its ``task_failure`` and ``failed`` status) and return it."""
    agent = d.agent_id if d else None
    emit.emit(TaskFailure(error=error, code=code), t.task_id, agent)
    emit.emit(TaskStatus(status=NodeStatus.FAILED, reason=error), t.task_id, agent)
    return TaskOutcome(
        "failed", error=error, agent_id=agent, instance_id=d.instance_id if d else None
    )


class WorkerCalls:
    """Shared by all runs (the HTTP clients, one resolver): one attempt on one instance,
    the ``Executor``'s member for every call it makes.

        Worker streams over plain HTTP go through its own ``StreamClient`` (at most
        ``max_streams`` at once, ``connect_timeout`` to connect); ``aclose`` closes its pooled
        connections. Other worker calls go through ``http``. Every call to a mesh worker
        carries ``auth_headers(agent_id)``: the orchestrator's token for that worker alone
        (``AudienceTokens``, audience ``worker:<agent id>``); external A2A agents through ``a2a_http``, which must carry no
        mesh token, with their own ``a2a_credentials``; MCP servers through ``mcp_http`` (httpx2,
    pinned the same way), with their own bearer credential from the same file. Every connection goes to an address
        ``endpoints`` checked when it was made: the stream client asks it, and ``http`` and
        ``a2a_http`` must dial through ``mesh_auth.dialing.pinned_transport(endpoints)``. With
        a ``tracer`` each call to a worker is a CLIENT span whose trace context goes out with
        the request.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        resolver: Resolver,
        *,
        max_streams: int = 256,
        connect_timeout: float = 5.0,
        stream_client: str = "httptools",
        stream_idle: float | None = 15.0,
        metrics: CallMetrics | None = None,
        auth_headers: Callable[[str], dict[str, str]] = lambda _agent: {},
        endpoints: EndpointPolicy | None = None,
        a2a_http: httpx.AsyncClient | None = None,
        a2a_credentials: A2ACredentials | None = None,
    ) -> None:
        self.http = http
        # The orchestrator's token for the called worker on every call to a mesh worker (the
        # httptools stream client does not go through ``http``'s auth), never on a call to
        # an A2A agent or an MCP server.
        self.auth_headers = auth_headers
        self.endpoints = endpoints
        self._own_a2a = a2a_http is None
        self.a2a_http = a2a_http or httpx.AsyncClient(
            follow_redirects=False,
            verify=default_ssl_context(),
            transport=pinned_transport(endpoints) if endpoints is not None else None,
        )
        self.a2a_credentials = a2a_credentials or A2ACredentials()
        # MCP servers as workers: httpx2 (the MCP SDK's client), pinned like the others,
        # with no token but the called server's own (``CallHeaders``); the SDK's timeouts.
        self.mcp_http = httpx2.AsyncClient(
            timeout=httpx2.Timeout(30.0, read=300.0),
            follow_redirects=False,
            auth=CallHeaders(),
            transport=pinned_transport2(endpoints) if endpoints is not None else None,
        )
        self.metrics = metrics
        self.stream_idle = stream_idle
        self.resolver = resolver
        # "httpx": every stream through ``http`` (no StreamClient), for the bench's comparison.
        self.streams: StreamClient | None = None
        if stream_client == "httptools":
            self.streams = StreamClient(
                max_connections=max_streams,
                connect_timeout=connect_timeout,
                dial=endpoints.address if endpoints is not None else None,
            )

    async def aclose(self) -> None:
        if self.streams is not None:
            await self.streams.aclose()
        if self._own_a2a:
            await self.a2a_http.aclose()
        await self.mcp_http.aclose()

    async def cancel_asked(self, agent_id: str, task_id: str) -> bool:
        """``CancelTask`` for the A2A agent ``agent_id``'s task ``task_id``, left waiting on
        the user's answer by a run that was then cancelled (``runs.withdrawal``), with the
        agent's own credentials; False when no A2A agent of that id is registered or it did
        not take it."""
        d = self.resolver.agent(agent_id)
        if d is None or not speaks_a2a(d):
            return False
        await _load_a2a_client()
        from mesh_orchestrator.relay.a2a_client import cancel_a2a  # loaded just above

        return await cancel_a2a(self.a2a_http, d, task_id, self.a2a_credentials)

    async def execution_state(self, d: AgentDescriptor, key: str) -> str:
        """What instance ``d`` knows of the call made with ``key`` (``GET /executions/{key}``
        of the worker SDK): ``running``, ``finished``, or ``unknown`` (it never had it, forgot
        it, cannot be reached or does not answer keys)."""
        if not d.has_process or speaks_a2a(d) or speaks_mcp(d):
            return "unknown"
        url = d.url(f"/executions/{quote(key, safe='')}")
        try:
            resp = await self.http.get(url, headers=self.auth_headers(d.agent_id), timeout=5.0)
            state = resp.json().get("state") if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return "unknown"
        return state if state in ("running", "finished") else "unknown"

    def traced_call(
        self,
        tracer: Tracer,
        t: SubTask,
        d: AgentDescriptor,
        request: TaskRequest,
        emit: Emitter,
        attempt: int,
        tried: set[str],
        previous: str | None,
    ) -> Awaitable[TaskOutcome]:
        """``call`` inside the ``tracer``'s span of the call, which lists the candidates and
        records how the call ended (``RunTracer.around_call``). ``NO_TRACER``: ``call`` itself
        (no span, the candidates never listed, and no frame of this one held as long as the
        call streams: ~0.6 KB of every open stream). ``tried``: the instances the task's
        attempts went to, ``d``'s among them (the span names the others, made only for it)."""
        return tracer.around_call(
            lambda span: self.call(t, d, request, emit, attempt, span),
            lambda: tracer.worker_call(
                t,
                d,
                attempt,
                candidates=lambda: self.resolver.explain(t),
                excluded=tried - {d.instance_id},
                previous=previous,
            ),
        )

    async def call(
        self,
        t: SubTask,
        d: AgentDescriptor,
        request: TaskRequest,
        emit: Emitter,
        attempt: int = 1,
        call: CallSpan = NO_CALL,
        key: str | None = None,
    ) -> TaskOutcome:
        """One attempt on instance ``d``: relay its events and fold them into the outcome.
        Raises ``WorkerBusy``/``WorkerUnreachable`` before the worker took the call, and
        ``AttemptFailed`` when the instance failed it (reported to the resolver). ``key``:
        the idempotency key of a call made again (re-attaching); else the attempt's, under
        the run's epoch (``EPOCH``)."""
        agent, instance = d.agent_id, d.instance_id
        task_id = t.task_id
        # Which protocol, asked once (each ask reads the model's ``metadata``).
        a2a = speaks_a2a(d)
        mcp = not a2a and speaks_mcp(d)
        if key is None and request.run_id is not None:
            key = idempotency_key(request.run_id, task_id, attempt, EPOCH.get())
        keyed = key if not a2a and not mcp else None
        fold = OutputFold()
        add = fold.add
        token_text = fold.tokens.append  # a token's fold, ``add`` without the call
        token_texts = fold.tokens.extend  # a whole block's
        relay_many = emit.relay_many
        relayed = 0
        asked: dict[str, Any] | None = None  # the worker's input_required, if it asked
        # A call that must never run twice is logged, stored, before it goes out: a replica
        # that dies from here on leaves a ``running`` status (its key, its instance) that the
        # next owner asks the instance about (in doubt if nobody knows), never a task that
        # looks unstarted and runs again.
        ahead = not d.safe_to_retry and request.run_id is not None
        accepted = _Start(self.resolver, t, d, emit, attempt, keyed, ahead)
        if ahead:
            accepted.running()
            await emit.persisted()
        else:  # ranked while the worker's answer is awaited, not after it came
            asyncio.get_running_loop().call_soon(accepted.prepare)

        budget = CURRENT.get()  # every run's use is counted, with a budget or without
        spent = _Spent()
        self.resolver.acquire(instance)
        try:
            traced = call.headers
            batches: AsyncGenerator[Sequence[Relayable]]
            if a2a:  # an external agent: no mesh token, its own credentials
                await _load_a2a_client()
                from mesh_orchestrator.relay.a2a_client import call_a2a  # loaded just above

                batches = _singly(
                    call_a2a(
                        self.a2a_http,
                        d,
                        request,
                        accepted,
                        traced,
                        self.stream_idle,
                        self.a2a_credentials,
                    )
                )
            elif mcp:  # an MCP server: a tools/call, no mesh token
                batches = _singly(
                    call_mcp(
                        self.mcp_http,
                        d,
                        t.capability,
                        request,
                        accepted,
                        traced,
                        self.a2a_credentials,
                    )
                )
            else:
                headers = {**traced, **self.auth_headers(agent)}
                if keyed is not None:
                    headers[IDEMPOTENCY_HEADER] = keyed
                batches = call_worker_batches(
                    self.http,
                    d,
                    request,
                    accepted,
                    self.streams,
                    headers,
                    idle=self.stream_idle,
                    attempt=attempt,
                )
                del headers  # the call's own: not kept in this frame while it streams
            batches = call.counted(batches)  # traced: the span counts them; else as they are
            # Closed by hand, not in an ``aclosing`` (an object held as long as the call
            # streams).
            try:
                # The hot loop: the events of one block read from the worker at a time, each
                # a (type, body) pair relabelled as is, relayed together (a block of plain
                # tokens, nearly every block, comes made: stamped with the attempt).
                done = False
                spoke = False  # a token was relayed
                async for batch in batches:
                    first = not spoke  # no token was relayed before this block
                    if type(batch) is TokenBytes:  # plain tokens, stamped: relayed as they are
                        spoke = True
                        token_texts(batch.texts)
                        relay_many(batch, task_id, agent)
                        relayed += len(batch)
                        if budget is not None:
                            spent.block(fold, budget)
                        if first:
                            await asyncio.sleep(0)  # the first token's turn: see below
                        continue
                    out: list[Relayable] = []
                    keep = out.append
                    for pair in batch:
                        type_, body = pair
                        if type_ == "token":  # nearly every event: as is, with its attempt
                            spoke = True
                            token_text(body["token"])
                            body["attempt"] = attempt
                            keep(pair)
                            continue
                        if type_ == "done":
                            done = True
                            break
                        if type_ == "input_required":  # it asks the user: the call ends
                            asked = body
                            continue
                        if type_ in _RELAYED:
                            add(type_, body)
                            body["attempt"] = attempt
                            out.append((type_, body))
                    if out:
                        relay_many(out, task_id, agent)
                        relayed += len(out)
                        if budget is not None:
                            spent.block(fold, budget)
                        if first and spoke:
                            await asyncio.sleep(0)  # the first token's turn: see below
                    if done:
                        break
            finally:
                await batches.aclose()
            # The client's stream writes the call's first token before anything more of the
            # call is read or worked out: the loop's turn is given once, right after the
            # block that relayed it (above). A worker's later blocks already buffered (an
            # SDK worker sends its ``result`` and ``done`` after its tokens: two blocks read
            # without a wait), the call's end and the run's (the outcome, synthesis, the
            # run's end) had the first token wait for all of them (bench/README.md, "Round
            # 10: the first token" and "Round 14: the first token"). The last block of a
            # call whose first token went out with an earlier one goes with the end: one
            # write to the client where there were two ("Round 12: first token under
            # concurrency"). A call that relayed no token (a result alone) gives its turn
            # here, as before.
            if relayed and not spoke:
                await asyncio.sleep(0)
        except WorkerFailed as exc:
            if exc.code not in _INSTANCE_FAULTS:  # e.g. the input was refused: not the instance
                self.resolver.succeeded(instance)
                return fail_task(t, d, emit, str(exc), exc.code)
            self.resolver.failed(instance, str(exc))
            raise AttemptFailed(instance, str(exc), exc.code, relayed, accepted.took) from None
        except WorkerUnreachable:
            raise
        finally:
            self.resolver.release(instance)
            if self.metrics is not None and relayed:  # once per call, never per event
                self.metrics.relayed(agent, relayed)
                self.metrics.reported(agent, fold.usage)
        self.resolver.succeeded(instance)
        if asked is not None and not fold.failed:
            return TaskOutcome("input_required", asked, None, agent, instance, attempt=attempt)
        if fold.failed:
            failure = fold.errors[-1]
            emit.emit(TaskStatus(status=NodeStatus.FAILED, reason=failure), task_id, agent)
            return TaskOutcome("failed", error=failure, agent_id=agent)
        output = fold.output()
        if not fold.results:  # a worker's own result event was relayed already
            emit.emit(Made(TaskOutput.TYPE, task_output(output)), task_id, agent)
        emit.emit(Made(TaskStatus.TYPE, task_status(NodeStatus.COMPLETED)), task_id, agent)
        return TaskOutcome(
            "completed", output, None, agent, instance, fold.artifacts, attempt=attempt
        )


# The a2a-sdk's client is imported by the first call to an A2A agent (``_load_a2a_client``),
# not with the orchestrator: its imports cost ~0.3 s of CPU at every start, and most meshes
# call no A2A agent.
_A2A_CLIENT = "mesh_orchestrator.relay.a2a_client"
_loaded: set[str] = set()  # what _load_a2a_client imported whole


async def _load_a2a_client() -> None:
    """Import ``relay.a2a_client`` on a thread (the event loop keeps relaying meanwhile);
    once loaded, a set lookup. Not ``sys.modules``: a module another call is still
    importing is there already, half run, and importing it on the event loop would block
    it until whole."""
    if _A2A_CLIENT not in _loaded:
        await asyncio.to_thread(importlib.import_module, _A2A_CLIENT)
        _loaded.add(_A2A_CLIENT)


async def settle_a2a_cancels() -> None:
    """Wait for CancelTask calls to A2A agents still on their way (the app's shutdown);
    none where no A2A agent was called (its client never loaded)."""
    if _A2A_CLIENT in sys.modules:
        from mesh_orchestrator.relay.a2a_client import settle_cancels

        await settle_cancels()


async def _singly(events: AsyncGenerator[Relayable]) -> AsyncGenerator[list[Relayable]]:
    """A client that yields one event at a time (A2A, MCP) as ``call_worker_batches``
    yields them; closing this closes ``events``."""
    async with aclosing(events) as reading:
        async for event in reading:
            yield [event]
