"""What the orchestrator asks of tracing (``Tracer``), and ``NO_TRACER``, which does nothing.

The runs, the graph and the executor hold a ``Tracer`` and never ask whether it traces:
``RunTracer`` (``tracing.spans``) when tracing is on, ``NO_TRACER`` when it is off. The
no-op starts nothing and imports no OpenTelemetry: its spans are shared constants, ``node``
returns the node itself, ``around_call`` the worker call itself, and a worker call's span is a
constant context that hands the relay's blocks of events back as they are (traced,
``counted`` wraps them and counts each block).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mesh_contracts import AgentDescriptor, SubTask

if TYPE_CHECKING:
    from mesh_orchestrator.routing.registry import DiscoveryClient, Sync

T = TypeVar("T")
# The instances serving a task, as ``Resolver.explain`` describes them: asked for only when
# a call is traced (a traced call's span lists them).
Candidates = Callable[[], Sequence[Mapping[str, Any]]]


class TracedRun(Protocol):
    """A run's span, as the run's driver holds it (``RunSpan``, or ``NO_SPAN`` untraced)."""

    @property
    def trace_id(self) -> str | None: ...
    @property
    def span_id(self) -> str | None: ...
    @property
    def recording(self) -> bool: ...
    def current(self) -> AbstractContextManager[object]: ...
    def crashed(self, exc: BaseException) -> None: ...
    def finish(self, status: str, planner: str | None) -> None: ...


class CallSpan(Protocol):
    """One worker call's span (``WorkerCall``, or ``NO_CALL`` untraced)."""

    @property
    def headers(self) -> dict[str, str]: ...
    def counted(self, batches: AsyncGenerator[Sequence[T]]) -> AsyncGenerator[Sequence[T]]: ...
    def finish(self, status: str, error: str | None) -> None: ...


class CallOutcome(Protocol):
    """How a worker call ended, as its span records it (``relay.calls.TaskOutcome``)."""

    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...


Outcome = TypeVar("Outcome", bound=CallOutcome)


class Tracer(Protocol):
    """What the runs, the graph and the executor ask of tracing: ``RunTracer`` when
    tracing is on, ``NO_TRACER`` when it is off (nobody asks which)."""

    def start_run(self, run_id: str, query: str) -> TracedRun: ...
    def continue_run(
        self, run_id: str, query: str, trace: tuple[str, str] | None, *, epoch: int, why: str
    ) -> TracedRun: ...
    def node(self, name: str, fn: Any) -> Any: ...
    def around_call(
        self,
        call: Callable[[CallSpan], Awaitable[Outcome]],
        span: Callable[[], AbstractContextManager[CallSpan]],
    ) -> Awaitable[Outcome]: ...
    async def registry_read(self, discovery: DiscoveryClient, seconds: float) -> Sync: ...
    def worker_call(
        self,
        t: SubTask,
        d: AgentDescriptor,
        attempt: int = 1,
        *,
        candidates: Candidates = tuple,
        excluded: Collection[str] = (),
        previous: str | None = None,
    ) -> AbstractContextManager[CallSpan]: ...


class NoSpan:
    """The span of a run that is not traced: no ids, nothing recorded."""

    __slots__ = ()
    trace_id = None
    span_id = None
    recording = False

    def current(self) -> AbstractContextManager[object]:
        return nullcontext()

    def crashed(self, exc: BaseException) -> None:
        return None

    def finish(self, status: str, planner: str | None) -> None:
        return None


class NoCall:
    """The span of an untraced worker call: its own context manager, shared by every call
    (entering it allocates nothing); no trace context goes out, its events are not counted
    (``counted`` hands the relay's blocks back as they are)."""

    __slots__ = ()

    @property
    def headers(self) -> dict[str, str]:
        return {}

    def counted(self, batches: AsyncGenerator[Sequence[T]]) -> AsyncGenerator[Sequence[T]]:
        return batches  # nothing added per block of events

    def finish(self, status: str, error: str | None) -> None:
        return None

    def __enter__(self) -> NoCall:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


NO_SPAN = NoSpan()
NO_CALL = NoCall()


class NoTracer:
    """Tracing off (``ORCH_OTLP_ENDPOINT`` unset): the ``Tracer`` that starts nothing."""

    __slots__ = ()

    def start_run(self, run_id: str, query: str) -> TracedRun:
        return NO_SPAN

    def continue_run(
        self, run_id: str, query: str, trace: tuple[str, str] | None, *, epoch: int, why: str
    ) -> TracedRun:
        return NO_SPAN

    def node(self, name: str, fn: Any) -> Any:
        return fn

    def around_call(
        self,
        call: Callable[[CallSpan], Awaitable[Outcome]],
        span: Callable[[], AbstractContextManager[CallSpan]],
    ) -> Awaitable[Outcome]:
        """The worker call itself (``call(NO_CALL)``): ``span`` never made, and no frame of a
        wrapper held while it streams."""
        return call(NO_CALL)

    async def registry_read(self, discovery: DiscoveryClient, seconds: float) -> Sync:
        return await discovery.sync(seconds)

    def worker_call(
        self,
        t: SubTask,
        d: AgentDescriptor,
        attempt: int = 1,
        *,
        candidates: Candidates = tuple,
        excluded: Collection[str] = (),
        previous: str | None = None,
    ) -> AbstractContextManager[CallSpan]:
        return NO_CALL


NO_TRACER = NoTracer()
