"""Production run store on Postgres (psycopg 3, async pool)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from psycopg_pool import AsyncConnectionPool

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.store.base import RunRecord, StoredEvent
from mesh_orchestrator.runs.store.sqlite import event_from_row, event_row, run_from_row, run_row

SCHEMA = """
CREATE TABLE IF NOT EXISTS mesh_runs (
    run_id TEXT PRIMARY KEY, query TEXT NOT NULL, status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION, plan TEXT,
    answer TEXT, last_seq INTEGER NOT NULL DEFAULT 0, options TEXT NOT NULL DEFAULT '{}',
    inserted BIGSERIAL
);
CREATE INDEX IF NOT EXISTS mesh_runs_created ON mesh_runs (created_at DESC);
CREATE TABLE IF NOT EXISTS mesh_run_events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, task_id TEXT,
    agent_id TEXT, data TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, seq)
);
"""
_COLUMNS = "run_id, query, status, created_at, finished_at, plan, answer, last_seq, options"


class PostgresRunStore:
    """Tables ``mesh_runs`` and ``mesh_run_events``, created on ``open``."""

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(url, min_size=1, max_size=max_size, open=False)

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=5.0)
        async with self._pool.connection() as conn:
            await conn.execute(SCHEMA)

    async def close(self) -> None:
        await self._pool.close()

    async def save_run(self, run: RunRecord) -> None:
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS.split(", ")[1:])
        async with self._pool.connection() as conn:
            await conn.execute(
                f"INSERT INTO mesh_runs ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                f"ON CONFLICT (run_id) DO UPDATE SET {updates}",
                run_row(run),
            )

    async def append_events(self, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO mesh_run_events VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                [event_row(e) for e in events],
            )

    async def events_after(self, run_id: str, after: int = 0) -> list[StreamEvent]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT * FROM mesh_run_events WHERE run_id = %s AND seq > %s ORDER BY seq",
                (run_id, after),
            )
            return [event_from_row(r) for r in await cur.fetchall()]

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM mesh_runs WHERE run_id = %s", (run_id,)
            )
            row = await cur.fetchone()
        return None if row is None else run_from_row(row)

    async def list_runs(self, limit: int = 20) -> list[RunRecord]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM mesh_runs ORDER BY created_at DESC, inserted DESC "
                "LIMIT %s",
                (limit,),
            )
            return [run_from_row(r) for r in await cur.fetchall()]

    async def mark_interrupted(self) -> list[str]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE mesh_runs SET status = 'interrupted', finished_at = %s "
                "WHERE status = 'running' RETURNING run_id",
                (time.time(),),
            )
            return [r[0] for r in await cur.fetchall()]
