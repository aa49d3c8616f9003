"""The run store interface and the record it keeps per run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from mesh_contracts import RunStatus, StreamEvent
from mesh_orchestrator.runs.events import RelayedEvent

# What ``append_events`` takes: the contract model, or the multiplexer's own record of it.
StoredEvent = StreamEvent | RelayedEvent


class RunRecord(BaseModel):
    """One run: what ``GET /v1/runs/{id}`` reports (``plan`` is a list of PlanNode dicts)."""

    run_id: str
    query: str
    status: RunStatus = RunStatus.RUNNING
    created_at: float
    finished_at: float | None = None
    plan: list[dict[str, Any]] | None = None
    answer: str | None = None
    last_seq: int = 0
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status.terminal

    def summary(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", include={"run_id", "query", "status", "created_at", "finished_at"}
        )


class RunStore(Protocol):
    """Async persistence of runs and event logs. Writes are idempotent upserts."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def save_run(self, run: RunRecord) -> None:
        """Insert or replace the run's row."""
        ...

    async def append_events(self, events: Sequence[StoredEvent]) -> None:
        """Store a batch of events (any runs); re-appending a (run_id, seq) is a no-op."""
        ...

    async def events_after(self, run_id: str, after: int = 0) -> list[StreamEvent]:
        """Events of ``run_id`` with ``seq > after``, in seq order."""
        ...

    async def get_run(self, run_id: str) -> RunRecord | None: ...

    async def list_runs(self, limit: int = 20) -> list[RunRecord]:
        """Newest first."""
        ...

    async def mark_interrupted(self) -> list[str]:
        """At start-up: every run still ``running`` becomes ``interrupted``; returns their ids."""
        ...


def open_store(database_url: str | None, db_path: Path) -> RunStore:
    """Postgres when ``database_url`` is a postgresql:// URL, else embedded SQLite."""
    if database_url:
        from mesh_orchestrator.runs.store.postgres import PostgresRunStore

        return PostgresRunStore(database_url)
    from mesh_orchestrator.runs.store.sqlite import SQLiteRunStore

    return SQLiteRunStore(db_path)
