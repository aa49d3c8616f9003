"""Requests to workers and their collected results."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts.events import ArtifactEvent, InputRequiredEvent, Usage


class TaskRequest(BaseModel):
    """Body of a worker's ``POST /invoke`` and ``POST /stream``.

    ``input`` must fit the worker's ``input_schema``; ``context`` carries the outputs of the
    sub-tasks this one depends on, keyed by their task ids. ``owner``: who the task runs for
    (the run's owner, ``client:<name>`` or ``admin``; None on a mesh running open), set by
    the orchestrator; a worker keeps what it makes for that owner only (the worker SDK
    replaces it with the caller's own scope when the caller is not the orchestrator).
    """

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex[:12], min_length=1, max_length=128
    )
    run_id: str | None = None
    owner: str | None = Field(default=None, max_length=200)
    input: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)


class WorkerResult(BaseModel):
    """What one sub-task produced: the answer of ``/invoke``, or a stream collected."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    agent_id: str
    status: Literal["completed", "failed", "cancelled", "input_required"] = "completed"
    output: Any = None  # text for token/message workers, structured for static ones
    # ``input_required``: the worker asked the user this (the SDK's ``Asker``) and ended the
    # call; the orchestrator parks the task and calls again with the answer.
    input_required: InputRequiredEvent | None = None
    messages: list[str] = Field(default_factory=list)
    artifacts: list[ArtifactEvent] = Field(default_factory=list)
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    usage: Usage | None = None  # what producing it cost (see ``Usage``)

    @property
    def ok(self) -> bool:
        return self.status == "completed"


class OutputFold:
    """Folds one sub-task's worker events into its output, the same way everywhere.

    Used by the worker SDK (``/invoke`` runs a worker to completion) and by the
    orchestrator's executor (a relayed stream), so a task's output never depends on which
    path carried it. ``add`` takes the event's ``type`` and its JSON body (no pydantic: the
    executor calls it once per relayed token).

    The output is: the last ``result`` event's ``output``; else the tokens joined; else the
    messages joined by blank lines; else ``default``; else ``{"artifacts": [...]}`` when
    artifacts were sent. Any ``error`` event makes the task failed.
    """

    __slots__ = ("artifacts", "errors", "messages", "results", "tokens", "usage")

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.messages: list[str] = []
        self.artifacts: list[dict[str, Any]] = []
        self.results: list[Any] = []
        self.errors: list[str] = []
        self.usage: Any = None  # the last ``result``'s ``usage`` as sent (see ``Usage``)

    def add(self, type_: str, body: Mapping[str, Any]) -> None:
        if type_ == "token":
            self.tokens.append(body["token"])
        elif type_ == "message":
            self.messages.append(body["content"])
        elif type_ == "artifact":
            self.artifacts.append(dict(body))
        elif type_ == "result":
            self.results.append(body.get("output"))
            self.usage = body.get("usage", self.usage)
        elif type_ == "error":
            self.errors.append(str(body.get("error")))

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) or None

    def output(self, default: Any = None) -> Any:
        if self.results:
            return self.results[-1]
        if self.tokens:
            return "".join(self.tokens)
        if self.messages:
            return "\n\n".join(self.messages)
        if default is not None:
            return default
        if self.artifacts:
            return {"artifacts": self.artifacts}
        return None


def fold_events(events: Iterable[tuple[str, Mapping[str, Any]]]) -> OutputFold:
    """``OutputFold`` over ``(type, body)`` pairs."""
    fold = OutputFold()
    for type_, body in events:
        fold.add(type_, body)
    return fold
