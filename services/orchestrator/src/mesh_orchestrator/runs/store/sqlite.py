"""Embedded run store on SQLite (aiosqlite), the default."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store.base import RunRecord, StoredEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, query TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, finished_at REAL, plan TEXT, answer TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0, options TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at DESC);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, task_id TEXT,
    agent_id TEXT, data TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (run_id, seq)
);
"""
_COLUMNS = "run_id, query, status, created_at, finished_at, plan, answer, last_seq, options"


def run_row(run: RunRecord) -> tuple[Any, ...]:
    return (
        run.run_id,
        run.query,
        run.status,
        run.created_at,
        run.finished_at,
        None if run.plan is None else json.dumps(run.plan, default=str),
        run.answer,
        run.last_seq,
        json.dumps(run.options),
    )


def run_from_row(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        query=row[1],
        status=row[2],
        created_at=row[3],
        finished_at=row[4],
        plan=None if row[5] is None else json.loads(row[5]),
        answer=row[6],
        last_seq=row[7],
        options=json.loads(row[8] or "{}"),
    )


def event_row(e: StoredEvent) -> tuple[Any, ...]:
    data = e.data_json() if isinstance(e, RelayedEvent) else json.dumps(e.data, default=str)
    return (e.run_id, e.seq, e.type, e.task_id, e.agent_id, data, e.ts)


def event_from_row(row: Sequence[Any]) -> StreamEvent:
    return StreamEvent(
        run_id=row[0],
        seq=row[1],
        type=row[2],
        task_id=row[3],
        agent_id=row[4],
        data=json.loads(row[5]),
        ts=row[6],
    )


class SQLiteRunStore:
    """One aiosqlite connection (its own thread) in WAL mode."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("SQLiteRunStore is not open")
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path)
        await self._db.execute("PRAGMA journal_mode=WAL")
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.executescript(SCHEMA)
        await self._db.commit()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def save_run(self, run: RunRecord) -> None:
        await self.db.execute(
            f"INSERT OR REPLACE INTO runs ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", run_row(run)
        )
        await self.db.commit()

    async def append_events(self, events: Sequence[StoredEvent]) -> None:
        if not events:
            return
        await self.db.executemany(
            "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?)", [event_row(e) for e in events]
        )
        await self.db.commit()

    async def events_after(self, run_id: str, after: int = 0) -> list[StreamEvent]:
        async with self.db.execute(
            "SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after)
        ) as cur:
            return [event_from_row(r) for r in await cur.fetchall()]

    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self.db.execute(
            f"SELECT {_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else run_from_row(row)

    async def list_runs(self, limit: int = 20) -> list[RunRecord]:
        async with self.db.execute(
            f"SELECT {_COLUMNS} FROM runs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        ) as cur:
            return [run_from_row(r) for r in await cur.fetchall()]

    async def mark_interrupted(self) -> list[str]:
        async with self.db.execute("SELECT run_id FROM runs WHERE status = 'running'") as cur:
            ids = [r[0] for r in await cur.fetchall()]
        await self.db.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
            (time.time(),),
        )
        await self.db.commit()
        return ids
