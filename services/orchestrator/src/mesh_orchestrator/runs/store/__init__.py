"""Run stores: where runs and their event logs outlive the process.

``RunStore`` is the interface; ``SQLiteRunStore`` (embedded, the default) and
``PostgresRunStore`` (production) implement it and pass the same conformance suite.
"""

from __future__ import annotations

from mesh_orchestrator.runs.store.base import RunRecord, RunStore, open_store
from mesh_orchestrator.runs.store.postgres import PostgresRunStore
from mesh_orchestrator.runs.store.sqlite import SQLiteRunStore

__all__ = ["PostgresRunStore", "RunRecord", "RunStore", "SQLiteRunStore", "open_store"]
