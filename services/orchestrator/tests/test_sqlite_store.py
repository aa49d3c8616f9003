"""What the SQLite run store does beyond the conformance suite (``test_run_store``): an
admission commits on the loop's thread, without a hand-off to aiosqlite's, and the WAL,
which the connection no longer checkpoints at its commits, is checkpointed by the flushes."""

from __future__ import annotations

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
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 8)
    path = tmp_path / "runs.sqlite3"
    store = SQLiteRunStore(path)
    await store.open()
    try:
        for _ in range(150):  # ~2 MB of rows and events, each run admitted then flushed
            run = _run()
            assert await store.admit(run, UNBOUNDED)
            assert await store.store_batch([run], [_token(run.run_id, 1)], {run.run_id: 0}) == set()
        # Checkpointed every 8 commits, the WAL is rewritten from its start: it holds a few
        # commits' pages, not every page written since the store opened.
        wal = _size(Path(f"{path}-wal"))
        assert wal < 512 * 1024, f"the WAL grew to {wal} bytes"
    finally:
        await store.close()
