"""Requests to workers and their collected results."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mesh_contracts.events import ArtifactEvent


class TaskRequest(BaseModel):
    """Body of a worker's ``POST /invoke`` and ``POST /stream``.

    ``input`` must fit the worker's ``input_schema``; ``context`` carries the outputs of the
    sub-tasks this one depends on, keyed by their task ids.
    """

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex[:12], min_length=1, max_length=128
    )
    run_id: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)


class WorkerResult(BaseModel):
    """What one sub-task produced: the answer of ``/invoke``, or a stream collected."""

    model_config = ConfigDict(extra="forbid")

    task_id: str
    agent_id: str
    status: Literal["completed", "failed", "cancelled"] = "completed"
    output: Any = None  # text for token/message workers, structured for static ones
    messages: list[str] = Field(default_factory=list)
    artifacts: list[ArtifactEvent] = Field(default_factory=list)
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"
