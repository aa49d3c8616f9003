"""Run store conformance: one suite, every backend (SQLite always; Postgres when reachable)."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.store import PostgresRunStore, RunRecord, RunStore, SQLiteRunStore

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunStore]:
    s: RunStore
    if request.param == "sqlite":
        s = SQLiteRunStore(tmp_path / "runs.sqlite3")
    else:
        if not _pg_reachable():
            pytest.skip("Postgres is not reachable at 127.0.0.1:5432 (db 'test', trust auth)")
        s = PostgresRunStore(PG_URL)
    try:
        await s.open()
    except Exception as exc:  # reachable port, but no such db/user: say so and skip
        pytest.skip(f"Postgres at {PG_URL} unusable: {exc}")
    yield s
    await s.close()


def run(**kw: object) -> RunRecord:
    return RunRecord(run_id=uuid.uuid4().hex, query="q", created_at=time.time(), **kw)  # type: ignore[arg-type]


def ev(run_id: str, seq: int, type_: str = "token") -> StreamEvent:
    return StreamEvent(run_id=run_id, seq=seq, type=type_, data={"token": str(seq)})  # type: ignore[arg-type]


async def test_a_saved_run_reads_back_and_updates_in_place(store: RunStore) -> None:
    r = run(options={"on_disconnect": "cancel"})
    await store.save_run(r)
    assert await store.get_run(r.run_id) == r
    r.status, r.answer, r.last_seq = "completed", "done", 7
    r.plan = [{"task_id": "t1", "status": "completed", "output": {"x": 1}}]
    await store.save_run(r)
    assert await store.get_run(r.run_id) == r
    assert await store.get_run("unknown") is None


async def test_events_replay_after_a_seq_in_order_and_duplicates_are_ignored(
    store: RunStore,
) -> None:
    r = run()
    await store.save_run(r)
    await store.append_events([ev(r.run_id, 3), ev(r.run_id, 1), ev(r.run_id, 2)])
    await store.append_events([ev(r.run_id, 2), ev(r.run_id, 4, "done")])
    assert [e.seq for e in await store.events_after(r.run_id, 0)] == [1, 2, 3, 4]
    later = await store.events_after(r.run_id, 2)
    assert [(e.seq, e.type, e.data) for e in later] == [
        (3, "token", {"token": "3"}),
        (4, "done", {"token": "4"}),
    ]
    assert await store.events_after("unknown", 0) == []


async def test_runs_are_listed_newest_first(store: RunStore) -> None:
    base = time.time() + 1000  # after anything an earlier test left in a shared database
    ids = []
    for i in range(3):
        r = RunRecord(run_id=uuid.uuid4().hex, query=f"q{i}", created_at=base + i)
        await store.save_run(r)
        ids.append(r.run_id)
    listed = [r.run_id for r in await store.list_runs(2)]
    assert listed == [ids[2], ids[1]]


async def test_runs_left_running_are_marked_interrupted(store: RunStore) -> None:
    live, done = run(), run(status="completed")
    await store.save_run(live)
    await store.save_run(done)
    assert live.run_id in await store.mark_interrupted()
    got = await store.get_run(live.run_id)
    assert got is not None and got.status == "interrupted" and got.finished_at is not None
    assert (await store.get_run(done.run_id)).status == "completed"  # type: ignore[union-attr]
