"""The one class a worker author writes. Framework-free: no FastAPI, no httpx.

The SDK (``mesh_worker.create_worker_app``) turns a ``Worker`` into ``GET /health``,
``GET /descriptor``, ``POST /invoke``, ``POST /stream``, self-registration with discovery,
heartbeats, a concurrency limit and cancellation on client disconnect.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from mesh_contracts import AgentDescriptor, TaskRequest, WorkerEvent

InputT = TypeVar("InputT", bound=BaseModel)
"""The worker's input model: what ``run`` receives, validated from the request's ``input``."""

#: What ``Worker.endpoint`` says until the runtime has bound the worker to its address.
UNBOUND_ENDPOINT = "http://127.0.0.1"


class Emit(Protocol):
    """Send one event to the caller. Awaiting it applies back-pressure from a slow client."""

    async def __call__(self, event: WorkerEvent, /) -> None: ...


class InputError(ValueError):
    """Raise from ``run`` for input that fits the schema but cannot be served (a 422 / an
    ``error`` event with code ``invalid_input``), e.g. an unknown adapter id."""


class Worker(ABC, Generic[InputT]):
    """Subclass as ``Worker[MyInput]``, set ``Input = MyInput``, implement ``describe`` and
    ``run``; ``run`` receives the request's ``input`` already validated as ``MyInput``.

    Lifecycle: the SDK binds ``endpoint`` (the address this instance serves at), calls
    ``startup`` once in the app's lifespan (load models there), ``describe`` to build the
    descriptor it registers, ``run`` per request, and ``shutdown`` once at exit. ``run`` is
    cancelled (``asyncio.CancelledError``) when the client goes away; blocking work must
    run off the event loop (``mesh_worker.run_in_thread``) and check a flag.
    """

    Input: type[InputT]
    #: Set True in a GPU worker: the SDK then imports torch (lazily, at start-up, off the
    #: event loop) to fill the descriptor's ``resources`` when ``describe`` left them default.
    #: Text workers leave it False and never pay torch's import time.
    detect_gpu: ClassVar[bool] = False
    #: The public base URL of this instance (``WORKER_PUBLIC_URL``, else ``http://host:port``),
    #: set by the SDK's runtime before ``startup``. Read it (artifact URLs); never set it.
    endpoint: str = UNBOUND_ENDPOINT

    async def startup(self) -> None:
        """Load models and open resources. Runs once before the first request."""

    async def shutdown(self) -> None:
        """Release what ``startup`` took."""

    @abstractmethod
    def describe(self) -> AgentDescriptor:
        """The descriptor to register, usually ``self.descriptor(agent_id=..., ...)``.

        Whatever ``endpoint`` it carries is replaced by the runtime's; ``instance_id`` may
        be left unset (the SDK fills it from its settings); ``input_schema`` defaults to
        ``Input``'s."""

    @abstractmethod
    async def run(self, task: TaskRequest, inp: InputT, emit: Emit) -> Any:
        """Do the work on ``inp`` (``task.input`` validated as ``Input``). Stream progress
        through ``emit`` (tokens, messages, progress, artifacts); return the final output
        (text or JSON-able data). Raise ``InputError`` for input the worker cannot serve;
        any other exception becomes an ``error`` event. The SDK sends the terminal ``done``
        event; ``run`` must not."""

    def health(self) -> dict[str, Any]:
        """Extra facts for ``GET /health`` (model loaded, queue depth ...)."""
        return {}

    def load_facts(self) -> dict[str, Any]:
        """What the worker knows of its own load beyond the SDK's slots, sent with every
        heartbeat: ``queue_depth`` (jobs waiting inside the worker), ``gpu_free_mb``."""
        return {}

    def descriptor(self, **fields: Any) -> AgentDescriptor:
        """An ``AgentDescriptor`` of ``fields`` with ``endpoint`` (the bound address) and
        ``input_schema`` (``Input``'s JSON Schema) filled in unless given."""
        fields.setdefault("endpoint", self.endpoint)
        fields.setdefault("input_schema", self.Input.model_json_schema())
        return AgentDescriptor(**fields)


class AnyInput(BaseModel):
    """An input model that accepts any JSON object (the default of ``StaticWorker``)."""

    model_config = ConfigDict(extra="allow")


class StaticWorker(Worker[AnyInput]):
    """A worker whose answer is its descriptor's ``static_response``: only ``describe`` to write.

    ``run`` returns ``describe().static_response``; ``POST /invoke`` answers with it.
    """

    Input = AnyInput

    async def run(self, task: TaskRequest, inp: AnyInput, emit: Emit) -> Any:
        return self.describe().static_response
