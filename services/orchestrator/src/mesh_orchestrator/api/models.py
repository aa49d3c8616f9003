"""Request bodies of the orchestrator API."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mesh_contracts import ExecutionPlan

MAX_QUERY = 8000


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_disconnect: Literal["cancel", "continue"] = "cancel"
    timeout_seconds: float | None = Field(default=None, gt=0, le=86_400)


class OrchestrateRequest(BaseModel):
    """``query`` (1..8000 chars, not blank) unless a ``plan`` is given."""

    model_config = ConfigDict(extra="forbid")

    query: str | None = Field(default=None, max_length=MAX_QUERY)
    plan: ExecutionPlan | None = None
    options: RunOptions = Field(default_factory=RunOptions)

    @model_validator(mode="after")
    def _query_or_plan(self) -> Self:
        if self.plan is None and (self.query is None or not self.query.strip()):
            raise ValueError("query must not be empty or blank unless a plan is given")
        return self
