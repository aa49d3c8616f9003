"""Run stores: where runs and their event logs outlive the process.

``RunStore`` is the interface; ``SQLiteRunStore`` (embedded, the default) and
``PostgresRunStore`` (production) implement it and pass the same conformance suite.
"""

from __future__ import annotations

from pathlib import Path

from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.runs.store.postgres import PostgresRunStore
from mesh_orchestrator.runs.store.sqlite import SQLiteRunStore


def open_store(database_url: str | None, db_path: Path) -> RunStore:
    """Postgres when ``database_url`` is a postgresql:// URL, else embedded SQLite."""
    if database_url:
        return PostgresRunStore(database_url)
    return SQLiteRunStore(db_path)


__all__ = ["PostgresRunStore", "RunRecord", "RunStore", "SQLiteRunStore", "open_store"]
