"""The spans of a traced run: ``RunTracer`` starts them (see ``mesh_orchestrator.tracing``).

One trace per run: a root ``run`` span (run_id, query length, planner, final status), a
child span per graph phase that does real work (``plan``, ``execute``, ``synthesize``), and
under ``execute`` one CLIENT span per call to a worker (task, agent, instance, endpoint,
status, events received) whose W3C ``traceparent`` travels in the request, so the worker's
SERVER span lands beneath it. The run span links to the HTTP request that started the run
(that request's span is in its own trace: a run outlives a ``POST /orchestrate``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractContextManager, aclosing, contextmanager
from typing import TYPE_CHECKING, Any

from mesh_contracts import AgentDescriptor, SubTask
from mesh_orchestrator.tracing.tracer import CallSpan, Candidates, Outcome, T
from mesh_telemetry import traceparent_headers

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from opentelemetry.trace import Link, Span
    from opentelemetry.trace import Tracer as OtelTracer

    from mesh_orchestrator.routing.registry import DiscoveryClient, Sync

# Graph node -> the phase span it runs in; other nodes (routing, resolve) are not traced.
PHASES = {
    "plan": "plan",
    "execute": "execute",
    "synthesize_llm": "synthesize",
    "synthesize": "synthesize",
}

Node = Callable[..., Awaitable[Any]]


# How a call that raised ended (the executor then tries another replica, or waits).
_REFUSALS = {"WorkerBusy": "busy", "WorkerUnreachable": "unreachable", "AttemptFailed": "failed"}


def _error(span: Span, message: str) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, message))


class RunSpan:
    """The open ``run`` span; ``crashed``/``finish`` record how the run ended."""

    def __init__(self, span: Span) -> None:
        self.span = span

    @property
    def trace_id(self) -> str:
        """The run's trace id as Jaeger shows it (32 hex digits)."""
        return f"{self.span.get_span_context().trace_id:032x}"

    @contextmanager
    def current(self) -> Iterator[RunSpan]:
        """The span current for the block (graph nodes and the executor's tasks inherit it
        through the context); it ends with the block."""
        from opentelemetry.trace import use_span

        with use_span(self.span, end_on_exit=True):
            yield self

    @property
    def span_id(self) -> str:
        """The ``run`` span's id (16 hex digits), kept in the ``run`` event."""
        return f"{self.span.get_span_context().span_id:016x}"

    @property
    def recording(self) -> bool:
        """Whether the run is traced (its span sampled and recorded)."""
        return self.span.is_recording()

    def crashed(self, exc: BaseException) -> None:
        self.span.record_exception(exc)

    def finish(self, status: str, planner: str | None) -> None:
        if planner:
            self.span.set_attribute("mesh.planner", planner)
        self.span.set_attribute("mesh.status", str(status))
        if status == "failed":
            _error(self.span, "run failed")


class WorkerCall:
    """The open CLIENT span of one call to a worker."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.events = 0
        # The worker's server span becomes a child of this one.
        self.headers = traceparent_headers(span)

    def counted(self, batches: AsyncGenerator[Sequence[T]]) -> AsyncGenerator[Sequence[T]]:
        """The call's blocks of events as read from the worker, each counted on the way;
        closing what it returns closes ``batches``."""

        async def counting() -> AsyncGenerator[Sequence[T]]:
            async with aclosing(batches) as reading:
                async for batch in reading:
                    self.events += len(batch)
                    yield batch

        return counting()

    def finish(self, status: str, error: str | None) -> None:
        self.span.set_attribute("mesh.status", status)
        if error is not None:
            self.span.add_event(
                "mesh.attempt_failed", {"mesh.outcome": status, "mesh.reason": error[:500]}
            )
            _error(self.span, error)


class RunTracer:
    """Starts a run's spans with ``tracer`` (the orchestrator's ``Tracing.tracer``)."""

    def __init__(self, tracer: OtelTracer) -> None:
        self.tracer = tracer

    def request_link(self) -> Link | None:
        """A link to the span current now (the HTTP request starting a run), if any."""
        from opentelemetry.trace import Link, get_current_span

        ctx = get_current_span().get_span_context()
        return Link(ctx) if ctx.is_valid else None

    def start_run(self, run_id: str, query: str) -> RunSpan:
        """Start the root ``run`` span of a new run, linked to the span current now (the
        HTTP request starting the run). Started before the run's first event, so the
        ``run`` event can name its trace; ``RunSpan.current`` then makes it current for the
        run's task and ends it."""
        from opentelemetry.context import Context

        link = self.request_link()
        span = self.tracer.start_span(
            "run",
            context=Context(),  # a root: one trace per run
            attributes={"mesh.run_id": run_id, "mesh.query_length": len(query)},
            links=[link] if link is not None else None,
        )
        return RunSpan(span)

    async def registry_read(self, discovery: DiscoveryClient, seconds: float) -> Sync:
        """The run's read of discovery (``DiscoveryClient.sync``) as a CLIENT span beneath
        the ``run`` span (``read registry``: the cached index, the outcome, the index
        after). Its trace context travels in the request, so discovery's server span joins
        the run's trace: the trace goes from the run through discovery to the workers."""
        from opentelemetry.trace import SpanKind

        with self.tracer.start_as_current_span(
            "read registry",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": "GET",
                "url.full": f"{discovery.base_url}/v1/agents",
                "mesh.registry.cached_index": discovery.index,
            },
        ) as span:
            outcome = await discovery.sync(seconds, traceparent_headers(span))
            span.set_attribute("mesh.registry.outcome", str(outcome))
            span.set_attribute("mesh.registry.index", discovery.index)
            if outcome == "unreachable":
                _error(span, f"discovery did not answer within {seconds:g} s")
        return outcome

    def continue_run(
        self, run_id: str, query: str, trace: tuple[str, str] | None, *, epoch: int, why: str
    ) -> RunSpan:
        """A ``run`` span for a run taken up again (``why``: resumed, approved) under
        ``epoch``: in the run's own trace, beneath its first ``run`` span (``trace``: the
        ids its ``run`` event keeps), so Jaeger shows every owner's work in one trace; a
        new root when the run was not traced before."""
        from opentelemetry.context import Context
        from opentelemetry.trace import (
            NonRecordingSpan,
            SpanContext,
            TraceFlags,
            set_span_in_context,
        )

        context = Context()
        if trace is not None:
            try:
                parent = SpanContext(
                    int(trace[0], 16),
                    int(trace[1], 16),
                    is_remote=True,
                    trace_flags=TraceFlags(TraceFlags.SAMPLED),
                )
            except ValueError:  # not hex: a new root
                parent = None
            if parent is not None and parent.is_valid:
                context = set_span_in_context(NonRecordingSpan(parent))
        span = self.tracer.start_span(
            "run",
            context=context,
            attributes={
                "mesh.run_id": run_id,
                "mesh.query_length": len(query),
                "mesh.epoch": epoch,
                "mesh.continued": why,
            },
        )
        return RunSpan(span)

    async def around_call(
        self,
        call: Callable[[CallSpan], Awaitable[Outcome]],
        span: Callable[[], AbstractContextManager[CallSpan]],
    ) -> Outcome:
        """The worker call inside its span (``span``: the call's ``worker_call``), which
        records how it ended (an exception: ``worker_call`` records it)."""
        with span() as traced:
            outcome = await call(traced)
            traced.finish(outcome.status, outcome.error)
            return outcome

    def node(self, name: str, fn: Any) -> Any:
        """``fn`` (the graph node ``name``) run inside its phase's span; ``fn`` itself when
        the node belongs to no phase. The wrapper keeps ``fn``'s parameters, which
        LangGraph reads to decide whether to pass the run's config."""
        phase = PHASES.get(name)
        if phase is None:
            return fn

        @contextmanager
        def spanned() -> Iterator[Span]:
            with self.tracer.start_as_current_span(phase, attributes={"mesh.node": name}) as span:
                yield span

        if "config" in inspect.signature(fn).parameters:

            async def with_config(state: Any, config: RunnableConfig) -> Any:
                with spanned() as span:
                    update = await fn(state, config)
                    _describe(span, phase, update)
                    return update

            wrapped: Node = with_config
        else:

            async def plain(state: Any) -> Any:
                with spanned() as span:
                    update = await fn(state)
                    _describe(span, phase, update)
                    return update

            wrapped = plain
        functools.update_wrapper(wrapped, fn, assigned=("__name__", "__qualname__", "__doc__"))
        return wrapped

    @contextmanager
    def worker_call(
        self,
        t: SubTask,
        d: AgentDescriptor,
        attempt: int = 1,
        *,
        candidates: Candidates = tuple,
        excluded: Collection[str] = (),
        previous: str | None = None,
    ) -> Iterator[WorkerCall]:
        """A CLIENT span around one call to instance ``d`` for sub-task ``t``, a child of
        the current span (``execute``). Its events say why ``d`` was chosen: one
        ``mesh.route`` (what the task asked for, the choice and the rule that made it) and
        one ``mesh.candidate`` per instance serving the task (``Resolver.explain``: health,
        fit, priority, load, breaker state; ``excluded`` ones were tried already in this
        task), and ``mesh.failover`` when an earlier try failed (``previous`` says how). A
        busy or unreachable instance, or an exception, marks it as an error with a
        ``mesh.attempt_failed`` event; a call cut off (the run cancelled, the task past its
        timeout) is marked ``cancelled``."""
        from opentelemetry.trace import SpanKind

        span = self.tracer.start_span(
            f"call {d.agent_id}",
            kind=SpanKind.CLIENT,
            attributes={
                "mesh.task_id": t.task_id,
                "mesh.agent_id": d.agent_id,
                "mesh.instance_id": d.instance_id,
                "mesh.endpoint": d.endpoint or "",
                "mesh.attempt": attempt,
            },
        )
        _route_events(span, t, d, candidates(), excluded)
        if previous is not None:
            span.add_event("mesh.failover", {"mesh.previous": previous[:500]})
        call = WorkerCall(span)
        try:
            yield call
        except asyncio.CancelledError:
            span.set_attribute("mesh.status", "cancelled")
            raise
        except BaseException as exc:
            outcome = _REFUSALS.get(type(exc).__name__, "error")
            span.set_attribute("mesh.status", outcome)
            span.add_event(
                "mesh.attempt_failed", {"mesh.outcome": outcome, "mesh.reason": str(exc)[:500]}
            )
            span.record_exception(exc)
            _error(span, str(exc))
            raise
        finally:
            span.set_attribute("mesh.events", call.events)
            span.end()


def _route_events(
    span: Span,
    t: SubTask,
    d: AgentDescriptor,
    candidates: Sequence[Mapping[str, Any]],
    excluded: Collection[str],
) -> None:
    """The routing decision of one call as span events (see ``RunTracer.worker_call``)."""
    eligible = [
        c
        for c in candidates
        if c.get("healthy")
        and c.get("fits")
        and c.get("admits", c.get("breaker") != "open")
        and c.get("instance_id") not in excluded
    ]
    chosen = next((c for c in candidates if c.get("instance_id") == d.instance_id), {})
    wanted = f"agent {t.agent_id}" if t.agent_id else f"capability {t.capability}"
    rule = (
        f"{wanted}: {len(eligible)} of {len(candidates)} serving instances eligible "
        "(healthy, fit, breaker admits, not tried yet); the highest priority wins, "
        f"then the lower load (power of two choices): priority {d.priority}, "
        f"load {chosen.get('load', 'unknown')}"
    )
    span.add_event(
        "mesh.route",
        {
            "mesh.capability": t.capability or "",
            "mesh.pinned_agent": t.agent_id or "",
            "mesh.requires": json.dumps(t.requires.model_dump(exclude_defaults=True)),
            "mesh.chosen": d.instance_id,
            "mesh.candidates": len(candidates),
            "mesh.eligible": len(eligible),
            "mesh.reason": rule,
        },
    )
    for c in candidates:
        iid = str(c.get("instance_id", ""))
        span.add_event(
            "mesh.candidate",
            {
                "mesh.instance_id": iid,
                "mesh.healthy": bool(c.get("healthy")),
                "mesh.fits": bool(c.get("fits")),
                "mesh.priority": int(c.get("priority", 0)),
                "mesh.load": float(c.get("load", 0.0)),
                "mesh.breaker": str(c.get("breaker", "")),
                "mesh.excluded": iid in excluded,
                "mesh.chosen": iid == d.instance_id,
            },
        )


def _describe(span: Span, phase: str, update: Any) -> None:
    """What a phase decided, from the state update its node returned."""
    if not isinstance(update, dict):
        return
    if phase == "plan":
        if update.get("planner"):
            span.set_attribute("mesh.planner", update["planner"])
        plan = update.get("plan")
        if plan is not None:
            span.set_attribute("mesh.tasks", len(plan.tasks))
        if update.get("plan_error"):
            span.set_attribute("mesh.plan_error", str(update["plan_error"])[:500])
    elif phase == "execute":
        results = update.get("results") or {}
        for status in ("completed", "failed", "skipped"):
            n = sum(1 for r in results.values() if r.get("status") == status)
            span.set_attribute(f"mesh.tasks_{status}", n)
    elif phase == "synthesize" and update.get("status"):
        span.set_attribute("mesh.status", str(update["status"]))
