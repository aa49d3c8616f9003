"""The SQLite run store's ``runs_owner`` index is partial (``WHERE owner IS NOT NULL``):
a run without an owner (an open mesh's) writes no entry in it, so its admission and each
change of its status write one page less (bench/README.md, "Round 12: CPU per run").

A database made by an earlier version (the whole index, and an older one still without the
added columns) opens, has its index made again so, in place, keeps every run, and works:
quotas counted, runs listed by owner, new runs admitted and stored; opened again, it is
left as it is. The owner queries use the index."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from mesh_orchestrator.runs.store.base import IN_PROGRESS, RunRecord, RunStatus
from mesh_orchestrator.runs.store.rows import COLUMNS, INDEXES
from mesh_orchestrator.runs.store.sqlite import OWNER_INDEX, SQLiteRunStore

PARTIAL = "CREATE INDEX runs_owner ON runs (owner, status) WHERE owner IS NOT NULL"

# The runs table as the first schema made it (the columns added later are not there).
FIRST_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, query TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, finished_at REAL, plan TEXT, answer TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0, options TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_created ON runs (created_at DESC);
CREATE TABLE events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, task_id TEXT,
    agent_id TEXT, data TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (run_id, seq)
);
"""
ROUND11_ADDED = [
    "ALTER TABLE runs ADD COLUMN lease_owner TEXT",
    "ALTER TABLE runs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN lease_expires_at REAL",
    "ALTER TABLE runs ADD COLUMN seq_reserved INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN owner TEXT",
]


def _index_sql(path: Path) -> str | None:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT sql FROM sqlite_master WHERE name = 'runs_owner'").fetchone()
    return None if row is None else row[0]


def _old_database(path: Path, *, added: bool) -> None:
    """A database as round 11 left it (``added``: its columns and the whole owner index),
    or as the first schema did, holding runs of two owners and of none, and their events."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(FIRST_SCHEMA)
        now = time.time()
        if added:
            for statement in ROUND11_ADDED:
                db.execute(statement)
            db.execute(INDEXES.format(runs="runs"))  # round 11's: the whole index
            rows = [
                (
                    f"run-{i}",
                    f"q{i}",
                    status,
                    now - 100 + i,
                    None,
                    None,
                    None,
                    1,
                    "{}",
                    0,
                    None,
                    1,
                    None,
                    0,
                    owner,
                )
                for i, (owner, status) in enumerate(
                    [
                        ("alice", "running"),
                        ("alice", "running"),
                        ("alice", "completed"),
                        ("bob", "running"),
                        (None, "running"),
                        (None, "completed"),
                    ]
                )
            ]
            db.executemany(f"INSERT INTO runs ({COLUMNS}) VALUES ({','.join('?' * 15)})", rows)
        else:
            db.executemany(
                "INSERT INTO runs (run_id, query, status, created_at) VALUES (?,?,?,?)",
                [(f"run-{i}", f"q{i}", "completed", now - 100 + i) for i in range(6)],
            )
        db.executemany(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?)",
            [(f"run-{i}", 1, "run", None, None, '{"run_id":"x"}', now) for i in range(6)],
        )
    if added:
        assert "WHERE" not in (_index_sql(path) or "")


def _record(run_id: str, owner: str | None) -> RunRecord:
    now = time.time()
    return RunRecord(
        run_id=run_id, query="q", created_at=now, owner=owner, lease_owner="r", epoch=1,
        lease_expires_at=now + 30,
    )  # fmt: skip


def _plan(store: SQLiteRunStore, sql: str, args: tuple[object, ...]) -> str:
    rows = store.db._conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
    return " ".join(str(r[-1]) for r in rows)


async def test_a_new_database_has_the_partial_index_and_its_queries_use_it(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        assert (
            _index_sql(tmp_path / "runs.sqlite3")
            == PARTIAL
            == OWNER_INDEX.replace("IF NOT EXISTS ", "")
        )
        marks = ",".join("?" * len(IN_PROGRESS))
        counted = _plan(
            store,
            f"SELECT count(*) FROM runs WHERE owner = ? AND status IN ({marks})",
            ("alice", *IN_PROGRESS),
        )
        assert "runs_owner" in counted and "SCAN" not in counted
        listed = _plan(
            store,
            f"SELECT {COLUMNS} FROM runs WHERE owner = ? ORDER BY created_at DESC, rowid DESC "
            "LIMIT ?",
            ("alice", 20),
        )
        assert "runs_owner" in listed
    finally:
        await store.close()


async def test_a_round11_database_is_upgraded_in_place_and_works(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    _old_database(path, added=True)
    store = SQLiteRunStore(path)
    await store.open()
    try:
        assert _index_sql(path) == PARTIAL
        # Every run is there, with its events.
        assert {r.run_id for r in await store.list_runs(100)} == {f"run-{i}" for i in range(6)}
        assert [e.type for e in await store.events_after("run-0")] == ["run"]
        # Quotas: alice has two in progress, bob one.
        assert await store.runs_in_progress("alice") == 2
        assert await store.runs_in_progress("bob") == 1
        assert not await store.admit(_record("new-a", "alice"), 2)  # at her limit
        assert await store.admit(_record("new-a", "alice"), 3)
        assert await store.runs_in_progress("alice") == 3
        assert [r.run_id for r in await store.list_runs(10, owner="bob")] == ["run-3"]
        alice = [r.run_id for r in await store.list_runs(10, owner="alice")]
        assert alice == ["new-a", "run-2", "run-1", "run-0"]
        # A run without an owner: admitted, stored, its end counted nowhere.
        free = _record("new-free", None)
        assert await store.admit(free, 1)
        free.status, free.finished_at = RunStatus.COMPLETED, time.time()
        assert await store.store_batch([free], [], {}) == set()
        got = await store.get_run("new-free")
        assert got is not None and got.status == RunStatus.COMPLETED and got.owner is None
        # A status change of an owned run moves it out of the count.
        rec = await store.get_run("run-0")
        assert rec is not None
        rec.status, rec.finished_at = RunStatus.COMPLETED, time.time()
        await store.store_batch([rec], [], {})
        assert await store.runs_in_progress("alice") == 2
        assert store.db._conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        await store.close()
    # Opened again: left as it is, everything still there.
    again = SQLiteRunStore(path)
    await again.open()
    try:
        assert _index_sql(path) == PARTIAL
        assert len(await again.list_runs(100)) == 8
        assert await again.runs_in_progress("alice") == 2
    finally:
        await again.close()


async def test_a_first_schema_database_gets_its_columns_and_the_partial_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "runs.sqlite3"
    _old_database(path, added=False)
    assert _index_sql(path) is None
    store = SQLiteRunStore(path)
    await store.open()
    try:
        assert _index_sql(path) == PARTIAL
        assert len(await store.list_runs(100)) == 6
        assert await store.admit(_record("new-a", "alice"), 1)
        assert await store.runs_in_progress("alice") == 1
        assert store.db._conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        await store.close()


def _frames(path: Path) -> int:
    wal = Path(str(path) + "-wal")
    return (wal.stat().st_size - 32) // (4096 + 24) if wal.exists() else 0


async def _admission_frames(path: Path, whole: bool) -> int:
    """WAL frames written by 200 admissions of runs without an owner."""
    store = SQLiteRunStore(path)
    await store.open()
    try:
        if whole:  # round 11's index
            await store.db.executescript(
                f"BEGIN; DROP INDEX runs_owner; {INDEXES.format(runs='runs')}; COMMIT;"
            )
        store.db._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        before = _frames(path)
        for i in range(200):
            assert await store.admit(_record(f"run-{i:04d}", None), 10**9)
        return _frames(path) - before
    finally:
        await store.close()


async def test_an_ownerless_admission_writes_a_page_less(tmp_path: Path) -> None:
    """Counted in WAL frames (a page each): the whole index takes a frame an admission that
    the partial one does not."""
    partial = await _admission_frames(tmp_path / "a.sqlite3", whole=False)
    whole = await _admission_frames(tmp_path / "b.sqlite3", whole=True)
    assert whole - partial >= 180, (whole, partial)
