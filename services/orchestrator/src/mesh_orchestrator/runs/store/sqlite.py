"""Embedded run store on SQLite (aiosqlite), the default: one orchestrator replica.

Leases work here as on Postgres (one code path), but one process holds the file: a
restarted orchestrator with the same ``ORCH_REPLICA_ID`` claims its previous incarnation's
runs at once, without waiting for their leases to lapse.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store.base import Fenced, RunRecord, StoredEvent

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
# Columns added after the first schema, each (name, SQL type with default): a database
# made by an older version gets them on open (ALTER TABLE ADD COLUMN), nothing is lost.
ADDED_COLUMNS = [
    ("lease_owner", "TEXT"),
    ("epoch", "INTEGER NOT NULL DEFAULT 0"),
    ("lease_expires_at", "REAL"),
    ("seq_reserved", "INTEGER NOT NULL DEFAULT 0"),
    ("cancel_requested", "INTEGER NOT NULL DEFAULT 0"),
    ("owner", "TEXT"),  # written on insert only: a run never changes hands
]
# What save_run writes (the lease columns only on insert).
_SAVED = (
    "run_id, query, status, created_at, finished_at, plan, answer, last_seq, options, seq_reserved"
)
_LEASE = "lease_owner, epoch, lease_expires_at, cancel_requested"
_COLUMNS = f"{_SAVED}, {_LEASE}, owner"


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _one_at_a_time(method: F) -> F:
    """One statement sequence on the connection at a time: aiosqlite runs each call in its
    thread, but coroutines interleave between calls, and SQLite refuses a commit while
    another coroutine's statement (a cursor not yet read to its end) is in progress."""

    @functools.wraps(method)
    async def serialized(self: SQLiteRunStore, *args: Any, **kwargs: Any) -> Any:
        async with self._lock:
            return await method(self, *args, **kwargs)

    return cast(F, serialized)


def run_row(run: RunRecord) -> tuple[Any, ...]:
    """The values of ``_COLUMNS``, in order."""
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
        run.seq_reserved,
        run.lease_owner,
        run.epoch,
        run.lease_expires_at,
        int(run.cancel_requested),
        run.owner,
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
        seq_reserved=row[9] or 0,
        lease_owner=row[10],
        epoch=row[11] or 0,
        lease_expires_at=row[12],
        cancel_requested=bool(row[13]),
        owner=row[14],
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
        self._lock = asyncio.Lock()

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
        async with self._db.execute("PRAGMA table_info(runs)") as cur:
            have = {r[1] for r in await cur.fetchall()}
        for name, kind in ADDED_COLUMNS:
            if name not in have:
                await self._db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
        await self._db.commit()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @_one_at_a_time
    async def save_run(self, run: RunRecord) -> None:
        n = len(_COLUMNS.split(", "))
        updates = ", ".join(f"{c} = excluded.{c}" for c in _SAVED.split(", ")[1:])
        cur = await self.db.execute(
            f"INSERT INTO runs ({_COLUMNS}) VALUES ({','.join('?' * n)}) "
            f"ON CONFLICT (run_id) DO UPDATE SET {updates} WHERE runs.epoch = excluded.epoch",
            run_row(run),
        )
        changed = cur.rowcount
        await self.db.commit()
        if changed == 0:
            raise Fenced([run.run_id])

    @_one_at_a_time
    async def append_events(
        self, events: Sequence[StoredEvent], epochs: Mapping[str, int] | None = None
    ) -> set[str]:
        if not events:
            return set()
        fenced: set[str] = set()
        if epochs:
            ids = sorted({e.run_id for e in events if e.run_id in epochs})
            marks = ",".join("?" * len(ids))
            async with self.db.execute(
                f"SELECT run_id, epoch FROM runs WHERE run_id IN ({marks})", ids
            ) as cur:
                stored = {r[0]: r[1] for r in await cur.fetchall()}
            fenced = {r for r in ids if r in stored and stored[r] != epochs[r]}
            if fenced:
                events = [e for e in events if e.run_id not in fenced]
        await self.db.executemany(
            "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?)", [event_row(e) for e in events]
        )
        await self.db.commit()
        return fenced

    @_one_at_a_time
    async def claim(self, run_id: str, owner: str, lease_seconds: float) -> RunRecord | None:
        now = time.time()
        async with self.db.execute(
            "UPDATE runs SET lease_owner = ?, epoch = epoch + 1, lease_expires_at = ? "
            "WHERE run_id = ? AND status = 'running' AND (lease_expires_at IS NULL "
            f"OR lease_expires_at < ? OR lease_owner = ?) RETURNING {_COLUMNS}",
            (owner, now + lease_seconds, run_id, now, owner),
        ) as cur:
            row = await cur.fetchone()
        await self.db.commit()
        return None if row is None else run_from_row(row)

    @_one_at_a_time
    async def claim_waiting(
        self, run_id: str, owner: str, lease_seconds: float
    ) -> RunRecord | None:
        async with self.db.execute(
            "UPDATE runs SET status = 'running', finished_at = NULL, lease_owner = ?, "
            "epoch = epoch + 1, lease_expires_at = ?, cancel_requested = 0 "
            f"WHERE run_id = ? AND status = 'awaiting_approval' RETURNING {_COLUMNS}",
            (owner, time.time() + lease_seconds, run_id),
        ) as cur:
            row = await cur.fetchone()
        await self.db.commit()
        return None if row is None else run_from_row(row)

    @_one_at_a_time
    async def renew(
        self, epochs: Mapping[str, int], owner: str, lease_seconds: float
    ) -> tuple[set[str], set[str]]:
        fenced: set[str] = set()
        cancel: set[str] = set()
        until = time.time() + lease_seconds
        for run_id, epoch in epochs.items():
            async with self.db.execute(
                "UPDATE runs SET lease_expires_at = ? WHERE run_id = ? AND epoch = ? "
                "AND lease_owner = ? RETURNING cancel_requested",
                (until, run_id, epoch, owner),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                fenced.add(run_id)
            elif row[0]:
                cancel.add(run_id)
        await self.db.commit()
        return fenced, cancel

    @_one_at_a_time
    async def release(self, run_id: str, epoch: int) -> None:
        await self.db.execute(
            "UPDATE runs SET lease_expires_at = 0 WHERE run_id = ? AND epoch = ?", (run_id, epoch)
        )
        await self.db.commit()

    @_one_at_a_time
    async def orphans(self, owner: str, limit: int = 100) -> list[str]:
        async with self.db.execute(
            "SELECT run_id FROM runs WHERE status = 'running' AND (lease_expires_at IS NULL "
            "OR lease_expires_at < ? OR lease_owner = ?) ORDER BY created_at LIMIT ?",
            (time.time(), owner, limit),
        ) as cur:
            return [r[0] for r in await cur.fetchall()]

    @_one_at_a_time
    async def request_cancel(self, run_id: str) -> bool:
        cur = await self.db.execute(
            "UPDATE runs SET cancel_requested = 1 WHERE run_id = ? AND status = 'running'",
            (run_id,),
        )
        changed = cur.rowcount
        await self.db.commit()
        return changed > 0

    @_one_at_a_time
    async def events_after(self, run_id: str, after: int = 0) -> list[StreamEvent]:
        async with self.db.execute(
            "SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after)
        ) as cur:
            return [event_from_row(r) for r in await cur.fetchall()]

    @_one_at_a_time
    async def get_run(self, run_id: str) -> RunRecord | None:
        async with self.db.execute(
            f"SELECT {_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else run_from_row(row)

    @_one_at_a_time
    async def list_runs(self, limit: int = 20, owner: str | None = None) -> list[RunRecord]:
        where, args = ("WHERE owner = ? ", (owner, limit)) if owner else ("", (limit,))
        async with self.db.execute(
            f"SELECT {_COLUMNS} FROM runs {where}ORDER BY created_at DESC, rowid DESC LIMIT ?",
            args,
        ) as cur:
            return [run_from_row(r) for r in await cur.fetchall()]

    @_one_at_a_time
    async def mark_interrupted(self) -> list[str]:
        async with self.db.execute("SELECT run_id FROM runs WHERE status = 'running'") as cur:
            ids = [r[0] for r in await cur.fetchall()]
        await self.db.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
            (time.time(),),
        )
        await self.db.commit()
        return ids
