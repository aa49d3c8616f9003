"""Threads in the run store: a thread is an ordered list of runs with one owner.

Two tables beside the run store's own (same database, same connection or pool): ``threads``
(one row per thread: its owner and the last run started on it) and ``thread_runs`` (the
runs in order). ``append_run`` is a compare-and-set on the thread's last run, so two
replicas starting a run on one thread at once cannot both think they came after the same
run: one of them sees the other's and decides again (double-texting, ``runs.threads``).

``thread_store(run_store)`` gives the implementation for the store's backend; ``open``
makes the tables (``CREATE TABLE IF NOT EXISTS``: additive, a database made by an older
version keeps everything; the column ``active_at``, when a run was last appended, is added
to an older ``threads`` table on open and read as ``created_at`` where it is NULL).

``purge`` is retention's part (``runs.retention``): a thread whose last activity
(``active_at``) is older than its owner's retention and none of whose runs is still there
in progress, pinned, or finished too recently (every run is gone, removed by retention, or
finished and old) is removed with its ``thread_runs`` rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, Field

from mesh_orchestrator.runs.store.base import IN_PROGRESS, RunStore
from mesh_orchestrator.runs.store.rows import owner_clause

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT PRIMARY KEY, owner TEXT, created_at REAL NOT NULL,
    last_run_id TEXT, runs INTEGER NOT NULL DEFAULT 0, metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS thread_runs (
    thread_id TEXT NOT NULL, n INTEGER NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, n)
);
"""
PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS mesh_threads (
    thread_id TEXT PRIMARY KEY, owner TEXT, created_at DOUBLE PRECISION NOT NULL,
    last_run_id TEXT, runs INTEGER NOT NULL DEFAULT 0, metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS mesh_thread_runs (
    thread_id TEXT NOT NULL, n INTEGER NOT NULL, run_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, n)
);
"""
ACTIVE_AT = "active_at"  # added after the first schema: when a run was last appended
THREAD_LOCK = 0x6D657374  # "mest": the advisory lock held while the tables are made
_COLUMNS = "thread_id, owner, created_at, last_run_id, runs, metadata"


class ThreadRecord(BaseModel):
    """One thread: what ``GET /v1/threads/{id}`` reports (with its runs beside it)."""

    thread_id: str
    owner: str | None = None
    created_at: float
    last_run_id: str | None = None
    runs: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)


def _row(t: ThreadRecord) -> tuple[Any, ...]:
    return (t.thread_id, t.owner, t.created_at, t.last_run_id, t.runs, json.dumps(t.metadata))


def _record(row: Sequence[Any]) -> ThreadRecord:
    return ThreadRecord(
        thread_id=row[0],
        owner=row[1],
        created_at=row[2],
        last_run_id=row[3],
        runs=row[4],
        metadata=json.loads(row[5] or "{}"),
    )


class ThreadStore(Protocol):
    async def open(self) -> None: ...

    async def create_thread(self, thread: ThreadRecord) -> bool:
        """Store a new thread; False (nothing changed) when its id is taken."""
        ...

    async def get_thread(self, thread_id: str) -> ThreadRecord | None: ...

    async def append_run(self, thread_id: str, run_id: str, after: str | None) -> bool:
        """Make ``run_id`` the thread's next run if its last run is still ``after``
        (None: it has none); False (nothing changed) otherwise."""
        ...

    async def thread_runs(self, thread_id: str, limit: int = 100) -> list[str]:
        """The ids of the thread's last ``limit`` runs, oldest first."""
        ...

    async def purge(
        self, before: float, owners: Sequence[str] | None, exclude: Sequence[str], limit: int
    ) -> int:
        """Remove at most ``limit`` threads (owned by one of ``owners``; None: any owner not
        in ``exclude``) last active before ``before`` whose runs are all gone or finished
        before ``before`` and unpinned, with their ``thread_runs`` rows; returns how many."""
        ...


def _purge_sql(
    prefix: str, mark: str, before: float, owners: Sequence[str] | None, exclude: Sequence[str]
) -> tuple[str, list[Any]]:
    """The ids of the threads ``purge`` may remove (without the LIMIT)."""
    p, m = prefix, mark
    who, who_args = owner_clause("t.owner", owners, exclude, m)
    busy = ",".join([m] * len(IN_PROGRESS))
    sql = (
        f"SELECT t.thread_id FROM {p}threads t WHERE COALESCE(t.{ACTIVE_AT}, t.created_at) < {m}"
        f"{who} AND NOT EXISTS (SELECT 1 FROM {p}thread_runs tr JOIN {p}runs r "
        f"ON r.run_id = tr.run_id WHERE tr.thread_id = t.thread_id AND (r.status IN ({busy}) "
        f"OR r.finished_at IS NULL OR r.finished_at >= {m} "
        f"OR r.run_id IN (SELECT run_id FROM {p}run_pins))) "
        "ORDER BY COALESCE(t.active_at, t.created_at)"
    )
    return sql, [before, *who_args, *IN_PROGRESS, before]


class SQLiteThreads:
    """Tables ``threads`` and ``thread_runs`` in the SQLite run store's database."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def open(self) -> None:
        async with self.store.lock:
            db = self.store.db
            await db.executescript(SQLITE_SCHEMA)
            async with db.execute("PRAGMA table_info(threads)") as cur:
                have = {r[1] for r in await cur.fetchall()}
            if ACTIVE_AT not in have:
                await db.execute(f"ALTER TABLE threads ADD COLUMN {ACTIVE_AT} REAL")
            await db.commit()

    async def create_thread(self, thread: ThreadRecord) -> bool:
        async with self.store.lock:
            cur = await self.store.db.execute(
                f"INSERT OR IGNORE INTO threads ({_COLUMNS}) VALUES (?,?,?,?,?,?)", _row(thread)
            )
            created = bool(cur.rowcount == 1)
            await self.store.db.commit()
        return created

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        async with (
            self.store.lock,
            self.store.db.execute(
                f"SELECT {_COLUMNS} FROM threads WHERE thread_id = ?", (thread_id,)
            ) as cur,
        ):
            row = await cur.fetchone()
        return None if row is None else _record(row)

    async def append_run(self, thread_id: str, run_id: str, after: str | None) -> bool:
        db = self.store.db
        async with self.store.lock:
            async with db.execute(
                f"UPDATE threads SET last_run_id = ?, runs = runs + 1, {ACTIVE_AT} = ? "
                "WHERE thread_id = ? AND last_run_id IS ? RETURNING runs",
                (run_id, time.time(), thread_id, after),
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                await db.execute(
                    "INSERT INTO thread_runs (thread_id, n, run_id) VALUES (?,?,?)",
                    (thread_id, row[0], run_id),
                )
            await db.commit()
        return row is not None

    async def thread_runs(self, thread_id: str, limit: int = 100) -> list[str]:
        async with (
            self.store.lock,
            self.store.db.execute(
                "SELECT run_id FROM thread_runs WHERE thread_id = ? ORDER BY n DESC LIMIT ?",
                (thread_id, limit),
            ) as cur,
        ):
            rows = await cur.fetchall()
        return [r[0] for r in reversed(list(rows))]

    async def purge(
        self, before: float, owners: Sequence[str] | None, exclude: Sequence[str], limit: int
    ) -> int:
        sql, args = _purge_sql("", "?", before, owners, exclude)
        db = self.store.db
        async with self.store.lock:  # one connection: nothing interleaves with the deletes
            async with db.execute(sql + " LIMIT ?", (*args, limit)) as cur:
                ids = [r[0] for r in await cur.fetchall()]
            if not ids:
                return 0
            marks = ",".join("?" * len(ids))
            await db.execute(f"DELETE FROM thread_runs WHERE thread_id IN ({marks})", ids)
            cur = await db.execute(f"DELETE FROM threads WHERE thread_id IN ({marks})", ids)
            removed = int(cur.rowcount)
            await db.commit()
        return removed


class PostgresThreads:
    """Tables ``mesh_threads`` and ``mesh_thread_runs`` beside ``mesh_runs``."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def open(self) -> None:
        async with self.store.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (THREAD_LOCK,))
            await conn.execute(PG_SCHEMA)
            await conn.execute(
                f"ALTER TABLE mesh_threads ADD COLUMN IF NOT EXISTS {ACTIVE_AT} DOUBLE PRECISION"
            )

    async def create_thread(self, thread: ThreadRecord) -> bool:
        async with self.store.pool.connection() as conn:
            cur = await conn.execute(
                f"INSERT INTO mesh_threads ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT DO NOTHING RETURNING thread_id",
                _row(thread),
            )
            return await cur.fetchone() is not None

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        async with self.store.pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM mesh_threads WHERE thread_id = %s", (thread_id,)
            )
            row = await cur.fetchone()
        return None if row is None else _record(row)

    async def append_run(self, thread_id: str, run_id: str, after: str | None) -> bool:
        async with self.store.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"UPDATE mesh_threads SET last_run_id = %s, runs = runs + 1, {ACTIVE_AT} = %s "
                "WHERE thread_id = %s AND last_run_id IS NOT DISTINCT FROM %s RETURNING runs",
                (run_id, time.time(), thread_id, after),
            )
            row = await cur.fetchone()
            if row is not None:
                await conn.execute(
                    "INSERT INTO mesh_thread_runs (thread_id, n, run_id) VALUES (%s,%s,%s)",
                    (thread_id, row[0], run_id),
                )
        return row is not None

    async def thread_runs(self, thread_id: str, limit: int = 100) -> list[str]:
        async with self.store.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT run_id FROM mesh_thread_runs WHERE thread_id = %s ORDER BY n DESC LIMIT %s",
                (thread_id, limit),
            )
            rows = await cur.fetchall()
        return [r[0] for r in reversed(rows)]

    async def purge(
        self, before: float, owners: Sequence[str] | None, exclude: Sequence[str], limit: int
    ) -> int:
        sql, args = _purge_sql("mesh_", "%s", before, owners, exclude)
        async with self.store.pool.connection() as conn, conn.transaction():
            # The chosen threads stay locked to the commit: a run appended meanwhile
            # (``append_run`` updates the row) waits, then finds the thread gone.
            cur = await conn.execute(sql + " LIMIT %s FOR UPDATE OF t SKIP LOCKED", (*args, limit))
            ids = [r[0] for r in await cur.fetchall()]
            if not ids:
                return 0
            await conn.execute("DELETE FROM mesh_thread_runs WHERE thread_id = ANY(%s)", (ids,))
            cur = await conn.execute("DELETE FROM mesh_threads WHERE thread_id = ANY(%s)", (ids,))
            return int(cur.rowcount)


def thread_store(store: RunStore) -> ThreadStore:
    """The thread tables of ``store``'s database (Postgres or SQLite)."""
    from mesh_orchestrator.runs.store.postgres import PostgresRunStore

    if isinstance(store, PostgresRunStore):
        return PostgresThreads(store)
    return SQLiteThreads(store)
