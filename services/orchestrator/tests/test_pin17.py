"""Round 17, the pinned run (bench/README.md, "Round 17: the pinned run"): a flush that
finds admissions left open (``admit(commit=False)``: streams not yet at their first byte)
stores them and its own rows and events in one commit, where the store's lock committed the
admissions first and the flush then its own (~0.56 commits of a pinned run's 1.6 at 16 in
flight). A run's record is read once when its row is made, and written in its
``__dict__`` at its reservation and its end. Counted, never timed; what is stored, and
when, kept."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mesh_contracts import RunStatus, StreamEvent
from mesh_orchestrator.runs.mux import RESERVE, EventMux, reserve
from mesh_orchestrator.runs.service import _SET
from mesh_orchestrator.runs.store.base import NO_LIMIT, RunRecord
from mesh_orchestrator.runs.store.rows import run_from_row, run_row
from mesh_orchestrator.runs.store.sqlite import AdmissionLost, SQLiteRunStore


def _record(run_id: str) -> RunRecord:
    now = time.time()
    record = RunRecord(
        run_id=run_id, query="q", created_at=now, lease_owner="r1", epoch=1,
        lease_expires_at=now + 10,
    )  # fmt: skip
    object.__setattr__(record, "__pydantic_fields_set__", _SET)  # as ``RunService.start``
    return record


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


# A run's record in memory: read once when its row is made, written in its ``__dict__``.

_FIELDS = tuple(RunRecord.model_fields)


@pytest.fixture
def counted_record(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Reads of ``RunRecord``'s fields through the model, and its pydantic ``__setattr__``
    calls (``set:<name>``), counted."""
    seen: Counter[str] = Counter()

    def read(obj: Any, name: str) -> Any:
        if name in _FIELDS:
            seen[name] += 1
        return object.__getattribute__(obj, name)

    real = RunRecord.__setattr__

    def assign(obj: Any, name: str, value: Any) -> None:
        seen[f"set:{name}"] += 1
        real(obj, name, value)

    monkeypatch.setattr(RunRecord, "__getattribute__", read, raising=False)
    monkeypatch.setattr(RunRecord, "__setattr__", assign)
    return seen


def test_a_row_reads_its_record_once(counted_record: Counter[str]) -> None:
    """``run_row`` reads the record's ``__dict__``, no field through the model (16 reads on
    630cec9), and makes the same row as the fields read one by one."""
    run = _record("a")
    run.__dict__.update(plan=[{"task_id": "t"}], options={"k": 1}, owner="client:x")
    counted_record.clear()
    row = run_row(run)
    assert sum(counted_record.values()) == 0
    f = run.__dict__
    assert row == (
        "a", "q", f["status"], f["created_at"], None, '[{"task_id":"t"}]', None, 0, '{"k":1}',
        0, "r1", 1, f["lease_expires_at"], 0, "client:x",
    )  # fmt: skip
    assert run_from_row(row) == run


async def test_a_runs_end_and_reservation_assign_no_field_through_pydantic(
    counted_record: Counter[str], tmp_path: Path
) -> None:
    """``reserve`` (twice a run) and ``EventMux.close`` write the record's ``__dict__``: no
    pydantic ``__setattr__`` (5 on 630cec9), the same values."""
    mux = EventMux(SQLiteRunStore(tmp_path / "x.sqlite3"))
    run = _record("a")
    reserve(run)
    mux.open(run, stored=True)
    mux.close("a", RunStatus.COMPLETED, "done")
    assert not [k for k in counted_record if k.startswith("set:")]
    f = run.__dict__
    assert (f["seq_reserved"], f["status"], f["answer"]) == (RESERVE, RunStatus.COMPLETED, "done")
    assert f["finished_at"] is not None and run.finished
    parked = _record("b")
    mux.open(parked, stored=True)
    mux.close("b", RunStatus.AWAITING_APPROVAL, None)
    assert parked.finished_at is None and parked.status is RunStatus.AWAITING_APPROVAL
    bigger = _record("c")
    bigger.seq_reserved = RESERVE * 3  # a reservation already larger is kept
    reserve(bigger)
    assert bigger.seq_reserved == RESERVE * 3
