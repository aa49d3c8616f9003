"""Retention in the run store (SQLite, and Postgres in a database of its own when
127.0.0.1:5432 answers): only finished, old, unpinned runs go, per owner; one replica at a
time holds the retention lease."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from test_run_store import PG_URL, _pg_reachable

from mesh_contracts import RunStatus, StreamEvent
from mesh_orchestrator.runs.retention import Retention, parse_clients
from mesh_orchestrator.runs.store import PostgresRunStore, RunRecord, RunStore, SQLiteRunStore


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunStore]:
    s: RunStore
    name = None
    if request.param == "sqlite":
        s = SQLiteRunStore(tmp_path / "runs.sqlite3")
    else:
        if not _pg_reachable():
            pytest.skip("Postgres is not reachable at 127.0.0.1:5432 (db 'test', trust auth)")
        name = f"mesh_retention_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        s = PostgresRunStore(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    await s.open()
    yield s
    await s.close()
    if name is not None:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def add(
    store: RunStore, run_id: str, status: RunStatus, finished: float | None, owner: str | None
) -> None:
    await store.save_run(
        RunRecord(run_id=run_id, query="q", created_at=0, status=status,
                  finished_at=finished, owner=owner, epoch=1)
    )  # fmt: skip
    events = [StreamEvent(run_id=run_id, seq=i, type="status", data={"i": i}, ts=0) for i in (1, 2)]
    await store.append_events(events)


async def test_only_finished_old_unpinned_runs_go_each_by_its_owners_retention(
    store: RunStore,
) -> None:
    now = 10_000.0
    await add(store, "old", RunStatus.COMPLETED, now - 500, None)
    await add(store, "old-pinned", RunStatus.FAILED, now - 500, None)
    await add(store, "young", RunStatus.COMPLETED, now - 50, None)
    await add(store, "parked", RunStatus.PAUSED, None, None)
    await add(store, "running", RunStatus.RUNNING, None, None)
    await add(store, "alice-old", RunStatus.COMPLETED, now - 500, "client:alice")
    await add(store, "alice-young", RunStatus.COMPLETED, now - 50, "client:alice")
    await add(store, "bob-kept-longer", RunStatus.COMPLETED, now - 500, "client:bob")
    assert await store.pin("old-pinned", True)
    assert not await store.pin("nope", True)
    retention = Retention(
        store, "r1", seconds=100, clients=parse_clients("client:alice=10, client:bob=1000"),
        batch=1,  # one run per batch: the batches go on until none is left
    )  # fmt: skip
    assert await retention.sweep(now) == (3, 6)
    left = {r.run_id for r in await store.list_runs(100)}
    assert left == {"old-pinned", "young", "parked", "running", "bob-kept-longer"}
    assert await store.events_after("old") == []
    assert len(await store.events_after("old-pinned")) == 2
    assert retention.removed == {"runs": 3, "events": 6}
    assert await store.pin("old-pinned", False)
    assert await retention.sweep(now) == (1, 2)


async def test_one_replica_at_a_time_holds_the_retention_lease(store: RunStore) -> None:
    assert await store.take_singleton("retention", "a", 60)
    assert not await store.take_singleton("retention", "b", 60)
    assert await store.take_singleton("retention", "a", 60)  # renewed by its holder
    assert await store.take_singleton("other", "b", 60)
    assert await store.take_singleton("lapsing", "a", -1)  # already lapsed
    assert await store.take_singleton("lapsing", "b", 60)


def test_per_client_retention_is_parsed_or_refused() -> None:
    assert parse_clients("client:a=60,admin=0") == {"client:a": 60.0, "admin": 0.0}
    assert parse_clients("") == {}
    for bad in ("client:a", "=5", "client:a=-1", "client:a=x"):
        with pytest.raises(ValueError):
            parse_clients(bad)
