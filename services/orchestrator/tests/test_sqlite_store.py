"""What the SQLite run store does beyond the conformance suite (``test_run_store``): an
admission commits on the loop's thread, without a hand-off to aiosqlite's, and the WAL,
which the connection no longer checkpoints at its commits, is checkpointed by the flushes:
most of those checkpoints beside the store's work, not under its lock, so an admission does
not wait for one to sync the files."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.store import RunRecord, SQLiteRunStore
from mesh_orchestrator.runs.store import sqlite as sqlite_store
from mesh_orchestrator.runs.store.base import NO_LIMIT as UNBOUNDED


def _run(**kw: Any) -> RunRecord:
    return RunRecord(run_id=uuid.uuid4().hex, query="q", created_at=time.time(), **kw)


def _size(path: Path) -> int:
    return path.stat().st_size


def _token(run_id: str, seq: int) -> StreamEvent:
    return StreamEvent.model_validate(
        {"run_id": run_id, "seq": seq, "type": "token", "data": {"token": "x" * 2000}}
    )


async def test_admission_commits_without_a_hand_off_to_the_connection_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        run = _run(owner="alice")

        def no_hand_off(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the admission went to aiosqlite's thread")

        with monkeypatch.context() as m:
            m.setattr(store.db, "_execute", no_hand_off)
            assert await store.admit(run, 1)
            assert not await store.admit(_run(owner="alice"), 1)  # the limit still counts
        got = await store.get_run(run.run_id)  # read back through the thread: committed
        assert got is not None and got.owner == "alice"
    finally:
        await store.close()


async def test_flushes_checkpoint_the_wal_so_it_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every fourth checkpoint is made under the lock (``LOCKED_EVERY``), with nothing written
    # beside it: every 8 commits here. The others, beside the writes, need the loop to turn.
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(sqlite_store, "LOCKED_EVERY", 4)
    path = tmp_path / "runs.sqlite3"
    store = SQLiteRunStore(path)
    await store.open()
    try:
        for _ in range(150):  # ~2 MB of rows and events, each run admitted then flushed
            run = _run()
            assert await store.admit(run, UNBOUNDED)
            assert await store.store_batch([run], [_token(run.run_id, 1)], {run.run_id: 0}) == set()
        # Checkpointed under the lock every 8 commits, the WAL is rewritten from its start: it
        # holds a few commits' pages, not every page written since the store opened.
        wal = _size(Path(f"{path}-wal"))
        assert wal < 512 * 1024, f"the WAL grew to {wal} bytes"
    finally:
        await store.close()


async def test_an_admission_does_not_wait_for_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint syncs the files (tens of ms on a busy disk); a run's admission, on the
    path to its first token, goes on meanwhile."""
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 1)
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    syncing, done = threading.Event(), threading.Event()

    def slow_checkpoint(statement: str) -> None:  # runs where the checkpoint runs
        if "wal_checkpoint" in statement:
            syncing.set()
            done.wait(10)

    for conn in (store.db._conn, getattr(store, "_checkpointer", None)):
        if conn is not None:
            conn.set_trace_callback(slow_checkpoint)
    flushing = None
    try:
        run = _run()
        assert await store.admit(run, UNBOUNDED)
        flushing = asyncio.create_task(
            store.store_batch([run], [_token(run.run_id, 1)], {run.run_id: 0})
        )
        for _ in range(500):
            if syncing.is_set():
                break
            await asyncio.sleep(0.01)
        assert syncing.is_set(), "no checkpoint was made"
        late = _run()
        admitted = await asyncio.wait_for(store.admit(late, UNBOUNDED), 2.0)
        assert admitted
        assert syncing.is_set() and not done.is_set()  # while the checkpoint was under way
    finally:
        done.set()
        if flushing is not None:
            await flushing
        await store.close()
    reopened = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await reopened.open()
    try:  # both runs stored, the flushed one's event with it
        assert await reopened.get_run(late.run_id) is not None
        assert [e.seq for e in await reopened.events_after(run.run_id)] == [1]
    finally:
        await reopened.close()
