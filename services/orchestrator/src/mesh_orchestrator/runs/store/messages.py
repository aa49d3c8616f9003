"""A2A task history in the run store: the messages a task exchanged after its first one.

An A2A task is a run; its first message is the run's query (the run row has it). What
follows, a client's message continuing the task (an answer, an approval) and the agent's
message it answered (the question, the approval request), is stored here, one row per
message in the order stored, so that ``GetTask`` shows the whole exchange from any
replica and after a restart. The rows hold the message as the A2A JSON of a ``Message``;
this module does not read it. The table is additive (``CREATE TABLE IF NOT EXISTS``);
retention's ``purge`` removes the rows of runs it removed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Protocol

from mesh_orchestrator.runs.store.base import RunStore
from mesh_orchestrator.runs.store.outbox import PostgresTables, SQLiteTables

__all__ = ["SQLTaskMessages", "TaskMessages", "message_store"]

_TABLE = """CREATE TABLE IF NOT EXISTS {p}a2a_messages (
    id {serial}, task_id TEXT NOT NULL, message TEXT NOT NULL, created_at {real} NOT NULL
)"""
_INDEX = "CREATE INDEX IF NOT EXISTS {p}a2a_messages_task ON {p}a2a_messages (task_id, id)"
_LOCK = 0x6D657376  # "mesv": the advisory lock held while the table is made (Postgres)


class TaskMessages(Protocol):
    async def open(self) -> None: ...

    async def add(self, task_id: str, messages: Sequence[dict[str, Any]]) -> None:
        """Store ``messages`` (A2A ``Message`` JSON) after the task's others, together."""
        ...

    async def history(self, task_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Each task's stored messages, in the order stored (a task without any: absent)."""
        ...

    async def purge(self, limit: int = 500) -> int:
        """Remove up to ``limit`` rows whose run is gone; returns how many."""
        ...


class SQLTaskMessages:
    """``TaskMessages`` over the run store's database (either backend's tables)."""

    def __init__(self, tables: SQLiteTables | PostgresTables) -> None:
        self.tables = tables
        p, m = tables.sql.prefix, tables.sql.mark
        self.postgres = isinstance(tables, PostgresTables)
        serial = "BIGSERIAL PRIMARY KEY" if self.postgres else "INTEGER PRIMARY KEY AUTOINCREMENT"
        real = "DOUBLE PRECISION" if self.postgres else "REAL"
        self.schema = (_TABLE.format(p=p, serial=serial, real=real), _INDEX.format(p=p))
        self.insert = (
            f"INSERT INTO {p}a2a_messages (task_id, message, created_at) VALUES ({m},{m},{m})"
        )
        self.select = (
            f"SELECT task_id, message FROM {p}a2a_messages WHERE task_id IN ({{marks}}) ORDER BY id"
        )
        self.mark = m
        self.gone = (
            f"DELETE FROM {p}a2a_messages WHERE id IN (SELECT a.id FROM {p}a2a_messages a "
            f"WHERE NOT EXISTS (SELECT 1 FROM {p}runs r WHERE r.run_id = a.task_id) LIMIT {m})"
        )

    async def open(self) -> None:
        if not self.postgres:
            for statement in self.schema:
                await self.tables.run(statement, (), commit=True)
            return
        async with self.tables.store.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            for statement in self.schema:
                await conn.execute(statement)

    async def add(self, task_id: str, messages: Sequence[dict[str, Any]]) -> None:
        now = time.time()
        rows = [(task_id, json.dumps(m), now) for m in messages]
        await self.tables.insert(self.insert, rows)

    async def history(self, task_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        if not task_ids:
            return out
        statement = self.select.format(marks=",".join([self.mark] * len(task_ids)))
        for task_id, message in await self.tables.run(statement, tuple(task_ids)):
            out.setdefault(task_id, []).append(json.loads(message))
        return out

    async def purge(self, limit: int = 500) -> int:
        rows = await self.tables.run(self.gone + " RETURNING id", (limit,), commit=True)
        return len(rows)


def message_store(store: RunStore) -> TaskMessages:
    """The A2A history table of ``store``'s database (Postgres or SQLite)."""
    from mesh_orchestrator.runs.store.postgres import PostgresRunStore

    if isinstance(store, PostgresRunStore):
        return SQLTaskMessages(PostgresTables(store))
    return SQLTaskMessages(SQLiteTables(store))
