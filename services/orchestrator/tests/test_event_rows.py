"""A run's log as rows: a relayed block of tokens is one row, read back event by event."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from mesh_contracts import RunStatus
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store import RunRecord, SQLiteRunStore
from mesh_orchestrator.runs.store.event_rows import MAX_BLOCK, TOKEN_BLOCK, event_rows

TS = 1765000000.5


def token(seq: int, ts: float = TS, task: str = "t1") -> RelayedEvent:
    return RelayedEvent("run-1", seq, "token", task, "writer", {"token": f"w{seq}"}, ts)


def test_consecutive_tokens_of_one_task_and_timestamp_share_one_row() -> None:
    status = RelayedEvent("run-1", 1, "status", "t1", "writer", {"status": "running"}, TS)
    rows = event_rows([status, *(token(i) for i in range(2, 32))])
    assert [(r[1], r[2]) for r in rows] == [(1, "status"), (31, TOKEN_BLOCK)]
    assert rows[1][5] == "[" + ",".join(f'{{"token":"w{i}"}}' for i in range(2, 32)) + "]"


def test_a_block_ends_at_another_task_another_timestamp_a_gap_or_its_size() -> None:
    events = [token(1), token(2), token(3, task="t2"), token(4, ts=TS + 1), token(6, ts=TS + 1)]
    assert [(r[1], r[2]) for r in event_rows(events)] == [
        (2, TOKEN_BLOCK), (3, "token"), (4, "token"), (6, "token"),
    ]  # fmt: skip
    long = event_rows([token(i) for i in range(1, MAX_BLOCK + 2)])
    assert [(r[1], r[2]) for r in long] == [(MAX_BLOCK, TOKEN_BLOCK), (MAX_BLOCK + 1, "token")]


async def test_the_store_writes_a_block_as_one_row_and_purges_it_as_its_events(
    tmp_path: Path,
) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    try:
        now = time.time()
        run = RunRecord(run_id="run-1", query="q", created_at=now - 10)
        await store.save_run(run)
        await store.append_events([token(i) for i in range(1, 101)])
        with sqlite3.connect(tmp_path / "runs.sqlite3") as db:
            assert db.execute("SELECT count(*) FROM events").fetchone() == (1,)
        assert [e.seq for e in await store.events_after("run-1", 50, 10)] == list(range(51, 61))
        run.status, run.finished_at = RunStatus.COMPLETED, now - 5
        await store.save_run(run)
        assert await store.purge(now, None, (), 10) == (1, 100)
    finally:
        await store.close()
