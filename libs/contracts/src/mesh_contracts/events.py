"""Events on the wire.

Two families:

* **Worker events** are what a worker's ``POST /stream`` sends, one JSON object per SSE
  frame, a discriminated union on ``type``.
* **StreamEvent** is what the orchestrator sends to its client: a worker event (or a
  run-level event) labelled with the run, the task and the agent, ordered by ``seq``.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator


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


# What an artifact's ``url`` may be: a web link, or an inline PNG/JPEG image. Anything else
# (``javascript:``, ``file:``, ``data:text/html``, ...) would be a script or a local file in
# the dashboard's ``href``/``img src``: the event is malformed and the relay refuses it.
_DATA_IMAGE = re.compile(r"(?i:data:image/(?:png|jpeg);base64,)[A-Za-z0-9+/]*={0,2}")
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")


def link_problem(url: str) -> str | None:
    """Why ``url`` may not be an artifact's link, or None: http(s) with a host, or a
    ``data:image/png`` / ``data:image/jpeg`` base64 URL; no spaces or control characters."""
    if _SPACE_OR_CONTROL.search(url):
        return "an artifact URL must not contain spaces or control characters"
    if url[:5].lower() == "data:":
        if _DATA_IMAGE.fullmatch(url):
            return None
        return "a data: artifact URL must be a base64 data:image/png or data:image/jpeg"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"an artifact URL must be http(s), not {parts.scheme or 'relative'!r}"[:120]
    return None


class ArtifactEvent(_WorkerEventBase):
    type: Literal["artifact"] = "artifact"
    name: str
    url: str | None = None
    content_type: str = "application/octet-stream"
    size_bytes: int | None = None
    data_base64: str | None = None

    @field_validator("url")
    @classmethod
    def _a_safe_link(cls, value: str | None) -> str | None:
        if value is not None:
            problem = link_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value


class Usage(BaseModel):
    """What producing one answer cost, as the worker measured it: the ``usage`` of its final
    ``result`` event (and of ``/invoke``'s ``WorkerResult``). The orchestrator counts it
    against the run's budget (``completion_tokens`` against ``tokens``, ``gpu_s`` against
    ``gpu_s``) in place of the tokens it counted as they streamed, and in its metrics.

    A field left out (None) is unknown, never zero: ``prompt_tokens`` tokens the model read
    (the prompt after its chat template); ``completion_tokens`` tokens it generated;
    ``gpu_s`` GPU-seconds, the wall seconds the job held a CUDA device times the devices it
    held (0 on CPU); ``wall_s`` the wall seconds of the call's run, from ``run`` called to
    its return (the worker SDK measures it)."""

    model_config = ConfigDict(extra="ignore")

    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    gpu_s: float | None = Field(default=None, ge=0)
    wall_s: float | None = Field(default=None, ge=0)

    def known(self) -> dict[str, float]:
        """The fields that were reported (``{"completion_tokens": 12, "wall_s": 0.4}``)."""
        return self.model_dump(exclude_none=True)


class ResultEvent(_WorkerEventBase):
    """A whole answer at once (static agents, or a streaming worker's structured output).

    ``usage``: what producing the answer cost (``Usage``), in this final event; the worker
    SDK fills it (``mesh_worker.report_usage``)."""

    type: Literal["result"] = "result"
    output: Any = None
    usage: Usage | None = None


class ErrorEvent(_WorkerEventBase):
    type: Literal["error"] = "error"
    error: str
    code: str = "worker_error"
    retryable: bool = False


class InputRequiredEvent(_WorkerEventBase):
    """The worker needs an answer from the user to go on (A2A's ``input-required``): its
    call ends after this event (then ``done``); the orchestrator parks the task, and calls
    the worker again once answered, with every answer so far, in order, in
    ``TaskRequest.context["@input"]["answers"]`` (the worker SDK's ``Asker`` reads them)."""

    type: Literal["input_required"] = "input_required"
    question: str = Field(min_length=1, max_length=2000)
    choices: list[str] | None = Field(default=None, max_length=20)
    answer_schema: dict[str, Any] | None = None


class DoneEvent(_WorkerEventBase):
    type: Literal["done"] = "done"


WorkerEvent = Annotated[
    TokenEvent
    | MessageEvent
    | ProgressEvent
    | ArtifactEvent
    | ResultEvent
    | ErrorEvent
    | InputRequiredEvent
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
