"""Request bodies of the orchestrator API."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mesh_contracts import Budget, ExecutionPlan

MAX_QUERY = 8000


class Webhook(BaseModel):
    """Where a run's state changes are posted (README "Webhooks"); ``secret`` signs each
    delivery (a new one is made when none is given, shown in ``GET /v1/runs/{id}``)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000)
    secret: str | None = Field(default=None, min_length=8, max_length=200)


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_disconnect: Literal["cancel", "continue"] = "cancel"
    timeout_seconds: float | None = Field(default=None, gt=0, le=86_400)
    # "required": the run stops after planning, awaiting POST /v1/runs/{id}/approve
    approval: Literal["none", "required"] = "none"
    # What the run may spend across its DAG (README "Runs"); unset bounds fall back to the
    # client's default (ORCH_BUDGET_DEFAULTS).
    budget: Budget | None = None
    webhook: Webhook | None = None


class OrchestrateRequest(BaseModel):
    """``query`` (1..8000 chars, not blank) unless a ``plan`` is given."""

    model_config = ConfigDict(extra="forbid")

    query: str | None = Field(default=None, max_length=MAX_QUERY)
    plan: ExecutionPlan | None = None
    options: RunOptions = Field(default_factory=RunOptions)
    # A run on a thread (``POST /v1/threads``) sees its earlier turns; while the thread's
    # last run still runs, ``multitask_strategy`` says what happens (``runs.threads``).
    thread_id: str | None = Field(default=None, min_length=1, max_length=128)
    multitask_strategy: Literal["reject", "enqueue", "interrupt"] = "enqueue"

    @model_validator(mode="after")
    def _query_or_plan(self) -> Self:
        if self.plan is None and (self.query is None or not self.query.strip()):
            raise ValueError("query must not be empty or blank unless a plan is given")
        return self


class PlanRequest(BaseModel):
    """``POST /v1/plans``: the query a run would be started with (and its options)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY)
    options: RunOptions = Field(default_factory=RunOptions)

    @model_validator(mode="after")
    def _not_blank(self) -> Self:
        if not self.query.strip():
            raise ValueError("query must not be blank")
        return self


class ApproveRequest(BaseModel):
    """``POST /v1/runs/{id}/approve``: optionally a replacement plan, validated like a
    client's plan (a DAG of known ids; 422 otherwise)."""

    model_config = ConfigDict(extra="forbid")

    plan: ExecutionPlan | None = None
    # A run parked for tasks in doubt (README "Failures"): run them again as new attempts
    # (``rerun``, the default), or fail them and go on without them (``fail``).
    decision: Literal["rerun", "fail"] = "rerun"


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="rejected", min_length=1, max_length=500)


class ThreadRequest(BaseModel):
    """``POST /v1/threads``: optionally the id to give it and metadata to keep with it."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    metadata: dict[str, str] = Field(default_factory=dict, max_length=32)
