"""A stream's run is admitted with its row's commit left open (``RunService.start``'s
``commit=False``, SQLite) and committed after the run's worker request, before the stream's
first byte (``bench/README.md``, "Round 15: the first token"). What must hold: no id goes out
before its row is committed; a run whose commit did not happen is not stored (not visible,
not resumable); nothing else on the connection shares or rolls back an open admission."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import plan

from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.relay.stream_client import StreamClient
from mesh_orchestrator.runs.store.base import NO_LIMIT, RunRecord
from mesh_orchestrator.runs.store.sqlite import AdmissionLost, SQLiteRunStore


def _record(run_id: str, owner: str | None = None) -> RunRecord:
    now = time.time()
    return RunRecord(
        run_id=run_id, query="q", created_at=now, owner=owner, lease_owner="r1", epoch=1,
        lease_expires_at=now + 10,
    )  # fmt: skip


def _stored(path: Path, run_id: str) -> bool:
    """Whether another connection (another process, a restarted one) sees the run's row."""
    with sqlite3.connect(path) as other:
        return (
            other.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None
        )


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    s = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await s.open()
    yield s
    await s.close()


async def test_an_open_admission_is_counted_but_not_stored_until_committed(
    store: SQLiteRunStore,
) -> None:
    assert await store.admit(_record("a", "client:x"), 5, commit=False)
    assert not _stored(store.path, "a")
    # Counted at once: the owner's next admission sees it (one connection, one at a time).
    assert not await store.admit(_record("b", "client:x"), 1, commit=False)
    assert not _stored(store.path, "a")  # a refused admission leaves the open one open
    assert not _stored(store.path, "b")
    store.commit_admitted("a")
    assert _stored(store.path, "a")
    store.commit_admitted("a")  # nothing left: a no-op
    assert await store.admit(_record("c"), NO_LIMIT, commit=False)
    store.commit_admitted("c")
    assert _stored(store.path, "c")


async def test_whoever_takes_the_stores_lock_commits_an_open_admission_first(
    store: SQLiteRunStore,
) -> None:
    assert await store.admit(_record("a"), NO_LIMIT, commit=False)

    def fails(conn: sqlite3.Connection) -> None:
        try:
            conn.execute(
                "INSERT INTO runs (run_id, query, status, created_at) VALUES ('x', 'q', 'running', 0)"
            )
            conn.execute(
                "INSERT INTO runs (run_id, query, status, created_at) VALUES ('x', 'q', 'running', 0)"
            )
        except sqlite3.Error:
            conn.rollback()
            raise

    async with store.lock:  # what the thread, outbox and flush sequences take
        assert _stored(store.path, "a")
        with pytest.raises(sqlite3.IntegrityError):
            await store.in_thread(fails)
    assert _stored(store.path, "a")  # that sequence's rollback did not take it along
    assert (await store.get_run("a")) is not None
    # A failed admission rolls back itself alone.
    assert await store.admit(_record("b"), NO_LIMIT, commit=False)
    with pytest.raises(sqlite3.IntegrityError):
        await store.admit(_record("b"), NO_LIMIT, commit=False)
    store.commit_admitted("b")
    assert _stored(store.path, "b")


async def test_admissions_left_open_share_one_commit(store: SQLiteRunStore) -> None:
    """Streams starting in the same turns (20 concurrent): each admission joins those left
    open, and one commit, whoever makes it, stores them all; a failed insert among them
    rolls back itself alone, and a refused one leaves the others open."""
    assert await store.admit(_record("a", "client:x"), 5, commit=False)
    assert await store.admit(_record("b", "client:x"), 5, commit=False)
    assert await store.admit(_record("c"), NO_LIMIT, commit=False)
    with pytest.raises(sqlite3.IntegrityError):  # a duplicate id: itself alone rolled back
        await store.admit(_record("b"), NO_LIMIT, commit=False)
    # Counted, open: the owner's two, bounded at two.
    assert not await store.admit(_record("d", "client:x"), 2, commit=False)
    assert not any(_stored(store.path, r) for r in "abcd")
    commits = store._commits
    store.commit_admitted("b")  # b's stream, first to its first byte
    assert store._commits == commits + 1
    assert [_stored(store.path, r) for r in "abcd"] == [True, True, True, False]
    store.commit_admitted("a")  # the others' streams: nothing left to commit
    store.commit_admitted("c")
    assert store._commits == commits + 1
    # A committed admission commits those left open with it.
    assert await store.admit(_record("e"), NO_LIMIT, commit=False)
    assert await store.admit(_record("f"), NO_LIMIT)
    assert _stored(store.path, "e") and _stored(store.path, "f")


async def test_a_failed_shared_commit_is_told_to_every_run_in_it(store: SQLiteRunStore) -> None:
    assert await store.admit(_record("a"), NO_LIMIT, commit=False)
    assert await store.admit(_record("b"), NO_LIMIT, commit=False)
    real = store.db._connection
    store.db._connection = _FailingCommit(real)
    try:
        with pytest.raises(AdmissionLost):
            store.commit_admitted("a")
    finally:
        store.db._connection = real
    with pytest.raises(AdmissionLost):
        store.commit_admitted("b")  # told at its own stream's call
    assert await store.get_run("a") is None and await store.get_run("b") is None


class _FailingCommit:
    """The store's ``sqlite3`` connection, whose commit fails (a full disk)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def commit(self) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


async def test_a_failed_commit_is_told_to_its_run_and_stores_nothing(
    store: SQLiteRunStore,
) -> None:
    assert await store.admit(_record("a"), NO_LIMIT, commit=False)
    real = store.db._connection
    store.db._connection = _FailingCommit(real)
    try:
        # Whoever commits it (here the lock's next taker) fails, and rolls it back...
        with pytest.raises(AdmissionLost):
            async with store.lock:
                pass
    finally:
        store.db._connection = real
    assert not _stored(store.path, "a")
    # ...and the run's own ``commit_admitted`` (its stream, before the first byte) is told.
    with pytest.raises(AdmissionLost):
        store.commit_admitted("a")
    store.commit_admitted("a")  # told once
    assert await store.get_run("a") is None


_CRASH = """
import asyncio, os, sys, time
from mesh_orchestrator.runs.store.base import NO_LIMIT, RunRecord
from mesh_orchestrator.runs.store.sqlite import SQLiteRunStore

async def main() -> None:
    store = SQLiteRunStore(sys.argv[1])
    await store.open()
    now = time.time()
    for run_id, commit in (("kept", True), ("open", False)):
        run = RunRecord(run_id=run_id, query="q", created_at=now, lease_owner="r1", epoch=1,
                        lease_expires_at=now - 1)
        assert await store.admit(run, NO_LIMIT, commit=commit)
    os._exit(0)  # the process dies: no commit, no close, no atexit

asyncio.run(main())
"""


async def test_a_crash_before_the_commit_leaves_no_run_to_see_or_resume(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    crash = [sys.executable, "-c", textwrap.dedent(_CRASH), str(path)]
    await asyncio.to_thread(subprocess.run, crash, check=True)
    store = SQLiteRunStore(path)  # the replica's restart (or another reading the file)
    await store.open()
    try:
        assert await store.get_run("open") is None
        assert [r.run_id for r in await store.list_runs()] == ["kept"]
        # Resumable: the committed one only (its lease lapsed), the other is no run at all.
        assert await store.claim("open", "r2", 10) is None
        assert (await store.claim("kept", "r2", 10)) is not None
        assert await store.mark_interrupted() == ["kept"]
    finally:
        await store.close()


async def test_a_streams_run_is_committed_after_its_worker_request_before_its_first_byte(
    mesh: Mesh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    path = tmp_path / "orch.sqlite3"
    seen: list[tuple[str, bool]] = []
    run: dict[str, str] = {}

    exchange = StreamClient._exchange

    async def request_written(self: StreamClient, conn: Any, request: bytes) -> None:
        head = request.lower().split(b"idempotency-key:", 1)[1]
        run.setdefault("id", head.split(b":", 1)[0].strip().decode())
        seen.append(("worker request", _stored(path, run["id"])))
        await exchange(self, conn, request)

    call = RunStream.__call__

    async def first_byte(self: RunStream, scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if not any(what == "first byte" for what, _ in seen):
                # the headers go with the first frames: the id is in its Content-Location
                headers = dict(message.get("headers") or ())
                run_id = headers[b"content-location"].decode().rsplit("/", 1)[-1]
                seen.append(("first byte", _stored(path, run_id)))
            await send(message)

        await call(self, scope, receive, sending)

    monkeypatch.setattr(StreamClient, "_exchange", request_written)
    monkeypatch.setattr(RunStream, "__call__", first_byte)
    body = {"plan": plan({"task_id": "t", "input": {"tokens": ["a", "b"]}})}
    async with httpx.AsyncClient(timeout=10) as c:
        for _ in range(2):  # the first dials the worker (its request waits for the connection)
            seen.clear()
            run.clear()
            async with c.stream("POST", mesh.url + "/orchestrate/stream", json=body) as r:
                assert r.status_code == 200
                location = r.headers["content-location"]
                lines = [line async for line in r.aiter_lines()]
            assert ("first byte", True) in seen and ("first byte", False) not in seen
    assert location == f"/v1/runs/{run['id']}"
    assert any('"done"' in line or "event: done" in line for line in lines)
    # The worker was asked before the row's commit, the client's first byte came after it.
    assert seen[:2] == [("worker request", False), ("first byte", True)]
