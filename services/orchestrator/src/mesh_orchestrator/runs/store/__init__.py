"""Run stores: where runs and their event logs outlive the process.

``RunStore`` is the interface; ``SQLiteRunStore`` (embedded, the default) and
``PostgresRunStore`` (production) implement it and pass the same conformance suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.runs.store.sqlite import SQLiteRunStore

if TYPE_CHECKING:
    from mesh_orchestrator.runs.store.postgres import PostgresRunStore


def open_store(database_url: str | None, db_path: Path) -> RunStore:
    """Postgres when ``database_url`` is a postgresql:// URL, else embedded SQLite."""
    if database_url:
        from mesh_orchestrator.runs.store.postgres import PostgresRunStore

        return PostgresRunStore(database_url)
    return SQLiteRunStore(db_path)


def __getattr__(name: str) -> Any:
    # psycopg (~0.2 s of imports) loads only where Postgres is used: on first use of the name.
    if name == "PostgresRunStore":
        from mesh_orchestrator.runs.store.postgres import PostgresRunStore

        return PostgresRunStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["PostgresRunStore", "RunRecord", "RunStore", "SQLiteRunStore", "open_store"]
