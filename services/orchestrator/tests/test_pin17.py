"""Round 17, the pinned run (bench/README.md, "Round 17: the pinned run"): a flush that
finds admissions left open (``admit(commit=False)``: streams not yet at their first byte)
stores them and its own rows and events in one commit, where the store's lock committed the
admissions first and the flush then its own (~0.56 commits of a pinned run's 1.6 at 16 in
flight). Counted, never timed; what is stored, and when, kept."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.store.base import NO_LIMIT, RunRecord
from mesh_orchestrator.runs.store.sqlite import AdmissionLost, SQLiteRunStore


def _record(run_id: str) -> RunRecord:
    now = time.time()
    return RunRecord(
        run_id=run_id, query="q", created_at=now, lease_owner="r1", epoch=1,
        lease_expires_at=now + 10,
    )  # fmt: skip


def _event(run_id: str, seq: int) -> StreamEvent:
    return StreamEvent(run_id=run_id, seq=seq, type="status", data={"status": "running"})


def _seen(path: Path) -> tuple[set[str], int]:
    """What another connection (a restarted replica) sees: the runs, and their events."""
    with sqlite3.connect(path) as other:
        runs = {r[0] for r in other.execute("SELECT run_id FROM runs")}
        (events,) = other.execute("SELECT count(*) FROM events").fetchone()
    return runs, events


class _Counted:
    """The store's ``sqlite3`` connection, its commits counted (and made to fail)."""

    def __init__(self, conn: sqlite3.Connection, fail: bool = False) -> None:
        self.conn = conn
        self.commits = 0
        self.fail = fail

    def commit(self) -> None:
        self.commits += 1
        if self.fail:
            raise sqlite3.OperationalError("database or disk is full")
        self.conn.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    s = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await s.open()
    yield s
    await s.close()


async def test_a_flush_commits_the_admissions_left_open_with_its_own(
    store: SQLiteRunStore,
) -> None:
    """Two streams' admissions left open, then a flush of a run started before: one commit
    (two on 630cec9: the lock's for the admissions, the flush's), every row and event
    stored when it returns, and the streams' own commits find nothing left to commit."""
    assert await store.admit(_record("old"), NO_LIMIT)
    assert await store.admit(_record("a"), NO_LIMIT, commit=False)
    assert await store.admit(_record("b"), NO_LIMIT, commit=False)
    assert _seen(store.path) == ({"old"}, 0)
    counted = _Counted(store.db._connection)
    store.db._connection = counted
    try:
        old = _record("old")
        old.last_seq = 2
        assert await store.store_batch([old], [_event("old", 1), _event("old", 2)], {}) == set()
        assert counted.commits == 1
        assert _seen(store.path) == ({"old", "a", "b"}, 2)
        store.commit_admitted("a")  # the streams' first bytes: nothing left to commit
        store.commit_admitted("b")
        assert counted.commits == 1
        # No admission left open: a flush commits alone, as before.
        assert await store.store_batch([old], [_event("old", 3)], {}) == set()
        assert counted.commits == 2
    finally:
        store.db._connection = counted.conn
    assert store.joined_commits == 1
    stored = await store.get_run("old")
    assert stored is not None and stored.last_seq == 2


async def test_a_failed_flush_still_commits_the_admissions(store: SQLiteRunStore) -> None:
    """The flush's statements fail (its savepoint rolled back): the admissions are committed
    all the same, as the lock committed them before, and the failure is raised."""
    with sqlite3.connect(store.path) as other:  # the event rows' insert fails
        other.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    assert await store.admit(_record("a"), NO_LIMIT, commit=False)
    with pytest.raises(sqlite3.IntegrityError):
        await store.store_batch([_record("a")], [_event("a", 1)], {})
    assert _seen(store.path) == ({"a"}, 0)
    with sqlite3.connect(store.path) as other:
        other.execute("DROP TRIGGER boom")
    store.commit_admitted("a")  # committed: nothing lost to tell
    assert await store.store_batch([_record("a")], [_event("a", 1)], {}) == set()
    assert _seen(store.path) == ({"a"}, 1)


async def test_a_failed_joined_commit_loses_the_admissions_as_before(
    store: SQLiteRunStore,
) -> None:
    """The one commit fails: nothing of either is stored, the admissions' streams are told
    (``AdmissionLost``, their runs stopped before their ids go out) and the flush fails (the
    multiplexer keeps its rows and events for the next)."""
    assert await store.admit(_record("old"), NO_LIMIT)
    assert await store.admit(_record("a"), NO_LIMIT, commit=False)
    counted = _Counted(store.db._connection, fail=True)
    store.db._connection = counted
    try:
        with pytest.raises(AdmissionLost):
            await store.store_batch([_record("old")], [_event("old", 1)], {})
    finally:
        store.db._connection = counted.conn
    assert _seen(store.path) == ({"old"}, 0)
    with pytest.raises(AdmissionLost):
        store.commit_admitted("a")
    assert await store.store_batch([_record("old")], [_event("old", 1)], {}) == set()
    assert _seen(store.path) == ({"old"}, 1)
