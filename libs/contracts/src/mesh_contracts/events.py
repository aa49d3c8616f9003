"""Events on the wire.

Two families:

* **Worker events** are what a worker's ``POST /stream`` sends, one JSON object per SSE
  frame, a discriminated union on ``type``.
* **StreamEvent** is what the orchestrator sends to its client: a worker event (or a
  run-level event) labelled with the run, the task and the agent, ordered by ``seq``.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _WorkerEventBase(BaseModel):
    model_config = ConfigDict(extra="allow")


class TokenEvent(_WorkerEventBase):
    type: Literal["token"] = "token"
    token: str


class MessageEvent(_WorkerEventBase):
    type: Literal["message"] = "message"
    role: str = "assistant"
    content: str


class ProgressEvent(_WorkerEventBase):
    type: Literal["progress"] = "progress"
    step: int | None = None
    total: int | None = None
    message: str | None = None


class ArtifactEvent(_WorkerEventBase):
    type: Literal["artifact"] = "artifact"
    name: str
    url: str | None = None
    content_type: str = "application/octet-stream"
    size_bytes: int | None = None
    data_base64: str | None = None


class ResultEvent(_WorkerEventBase):
    """A whole answer at once (static agents, or a streaming worker's structured output)."""

    type: Literal["result"] = "result"
    output: Any = None


class ErrorEvent(_WorkerEventBase):
    type: Literal["error"] = "error"
    error: str
    code: str = "worker_error"
    retryable: bool = False


class DoneEvent(_WorkerEventBase):
    type: Literal["done"] = "done"


WorkerEvent = Annotated[
    TokenEvent
    | MessageEvent
    | ProgressEvent
    | ArtifactEvent
    | ResultEvent
    | ErrorEvent
    | DoneEvent,
    Field(discriminator="type"),
]
_worker_event_adapter: TypeAdapter[WorkerEvent] = TypeAdapter(WorkerEvent)


def parse_worker_event(obj: dict[str, Any]) -> WorkerEvent:
    """Validate one decoded frame. A bare ``{"role", "content"}`` is a message event.

    Raises ``pydantic.ValidationError`` for anything else that does not fit.
    """
    if "type" not in obj and "content" in obj:
        obj = {**obj, "type": "message"}
    return _worker_event_adapter.validate_python(obj)


StreamEventType = Literal[
    "run", "plan", "status", "token", "message", "progress", "artifact", "result", "error", "done"
]


class StreamEvent(BaseModel):
    """One event of a run, as the orchestrator's client receives it.

    ``seq`` is assigned by the orchestrator, starts at 1 and increases by one per event of
    the run; it is the SSE ``id`` so a client resumes with ``Last-Event-ID``.
    """

    model_config = ConfigDict(extra="forbid")

    run_id: str
    seq: int = Field(ge=0)
    type: StreamEventType
    task_id: str | None = None
    agent_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    ts: float = Field(default_factory=time.time)
