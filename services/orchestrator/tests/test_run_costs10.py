"""What round 10 cut from a run's store work on Postgres keeps its behaviour (bench/README.md,
"Round 10: cheaper runs").

A flush without webhook deliveries goes in one round trip (one Sync, no ``BEGIN``), is one
transaction (a statement that fails leaves nothing of the flush) and refuses what the two-trip
path refused (which a flush with webhook deliveries still takes, storing them with the rows
saved only); its event rows go as one JSON parameter and read back exactly (texts, floats,
blocks of tokens); the push configs' read and the admission send no ``BEGIN``/``COMMIT``;
admissions that arrive together go in one statement (group commit), a duplicate fails alone,
a cancelled one is not stored, and they go on after their connection is lost.
Each fails with its cut undone (the sync and ``BEGIN`` counts) or made wrong (the others).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import _connection_base, _pipeline_base

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store import PostgresRunStore
from mesh_orchestrator.runs.store.base import NO_LIMIT, RunRecord
from mesh_orchestrator.runs.store.deliveries import Delivery
from mesh_orchestrator.runs.store.outbox import PostgresTables, SQLOutbox
from mesh_testkit.postgres import scratch_database


def _run(**kw: Any) -> RunRecord:
    # A lapsed lease: another replica ("b") may claim it.
    lease = {"lease_owner": "a", "epoch": 1, "lease_expires_at": time.time() - 1}
    return RunRecord(run_id=uuid.uuid4().hex, query="q", created_at=time.time(), **lease | kw)


def _ev(run_id: str, seq: int, type_: str = "status", **data: Any) -> StreamEvent:
    return StreamEvent.model_validate(
        {"run_id": run_id, "seq": seq, "type": type_, "data": data or {"n": seq}}
    )


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    with scratch_database("mesh_costs10") as url:
        yield url


@pytest.fixture
async def pg_store(pg_database: str) -> AsyncIterator[PostgresRunStore]:
    store = PostgresRunStore(pg_database)
    await store.open()
    yield store
    await store.close()


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Pipeline Syncs and transaction commands psycopg sends from now on."""
    seen: dict[str, Any] = {"syncs": 0, "commands": []}
    sync, command = (
        _pipeline_base.BasePipeline._enqueue_sync,
        _connection_base.BaseConnection._exec_command,
    )

    def counted_sync(self: Any) -> None:
        seen["syncs"] += 1
        sync(self)

    def counted_command(self: Any, cmd: Any, *args: Any, **kw: Any) -> Any:
        seen["commands"].append(bytes(cmd) if isinstance(cmd, bytes | bytearray) else str(cmd))
        return command(self, cmd, *args, **kw)

    monkeypatch.setattr(_pipeline_base.BasePipeline, "_enqueue_sync", counted_sync)
    monkeypatch.setattr(_connection_base.BaseConnection, "_exec_command", counted_command)
    return seen


async def test_a_postgres_flush_without_deliveries_is_one_round_trip(
    pg_store: PostgresRunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [_run() for _ in range(3)]
    await pg_store.store_batch(runs, [], {})
    seen = _counting(monkeypatch)
    ended = [r.model_copy(update={"status": "completed", "answer": "x"}) for r in runs]
    events = [_ev(r.run_id, 1) for r in runs]
    assert await pg_store.store_batch(ended, events, {r.run_id: 1 for r in runs}) == set()
    assert seen == {"syncs": 1, "commands": []}  # no BEGIN, no COMMIT: the Sync commits
    for r in runs:
        got = await pg_store.get_run(r.run_id)
        assert got is not None and (got.status, got.answer) == ("completed", "x")
        assert [e.seq for e in await pg_store.events_after(r.run_id)] == [1]


async def test_a_postgres_flush_whose_statement_fails_stores_none_of_it(
    pg_store: PostgresRunStore,
) -> None:
    run = _run()
    await pg_store.store_batch([run], [_ev(run.run_id, 1)], {run.run_id: 1})
    ended = run.model_copy(update={"status": "completed", "answer": "x"})
    too_far = _ev(run.run_id, 2**40)  # past the seq column's integer: its insert fails
    with pytest.raises(psycopg.Error):
        await pg_store.store_batch([ended], [_ev(run.run_id, 2), too_far], {run.run_id: 1})
    got = await pg_store.get_run(run.run_id)
    assert got is not None and (got.status, got.answer) == ("running", None)  # the row too
    assert [e.seq for e in await pg_store.events_after(run.run_id)] == [1]
    # The connection went back whole: the next flush is stored.
    assert await pg_store.store_batch([ended], [_ev(run.run_id, 2)], {run.run_id: 1}) == set()
    assert [e.seq for e in await pg_store.events_after(run.run_id)] == [1, 2]


async def test_a_postgres_flush_refuses_a_claimed_run_it_stores_no_row_of(
    pg_store: PostgresRunStore,
) -> None:
    kept, taken, free = _run(), _run(), _run()
    await pg_store.store_batch([kept, taken, free], [], {})
    assert await pg_store.claim(taken.run_id, "b", 30) is not None  # epoch 2 is b's
    events = [_ev(kept.run_id, 1), _ev(taken.run_id, 1), _ev(free.run_id, 1)]
    # ``free``: no epoch given (stored whatever its row says), as before.
    fenced = await pg_store.store_batch([], events, {kept.run_id: 1, taken.run_id: 1})
    assert fenced == {taken.run_id}
    assert [e.seq for e in await pg_store.events_after(kept.run_id)] == [1]
    assert await pg_store.events_after(taken.run_id) == []
    assert [e.seq for e in await pg_store.events_after(free.run_id)] == [1]


async def test_event_rows_read_back_exactly_through_one_json_parameter(
    pg_store: PostgresRunStore,
) -> None:
    run = _run()
    await pg_store.store_batch([run], [], {})
    odd = 'quote " back \\ nl \n tab \t ünï 😀 \u2028 <\u0001>'
    ts = 1733550000.1234567  # a double that a decimal text with fewer digits would not give
    events: list[Any] = [_ev(run.run_id, 1, text=odd, nested={"a": [1.5, None, True]})]
    events[0] = events[0].model_copy(update={"ts": ts, "task_id": odd, "agent_id": None})
    # a worker's block of tokens: one row of three events
    events += [
        RelayedEvent(run.run_id, seq, "token", "t1", "w", {"token": odd[: seq * 3]}, ts + 1)
        for seq in (2, 3, 4)
    ]
    assert await pg_store.store_batch([], events, {run.run_id: 1}) == set()
    back = await pg_store.events_after(run.run_id)
    assert [(e.seq, e.type, e.task_id, e.agent_id, e.ts) for e in back] == [
        (1, "status", odd, None, ts),
        *[(seq, "token", "t1", "w", ts + 1) for seq in (2, 3, 4)],
    ]
    assert back[0].data == {"text": odd, "nested": {"a": [1.5, None, True]}}
    assert [e.data["token"] for e in back[1:]] == [odd[:6], odd[:9], odd[:12]]


async def test_the_push_configs_read_and_the_admission_open_no_transaction(
    pg_store: PostgresRunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = SQLOutbox(PostgresTables(pg_store))
    await outbox.open()
    run = _run()
    seen = _counting(monkeypatch)
    assert await pg_store.admit(run, NO_LIMIT)
    assert await outbox.push_of([run.run_id]) == {}
    assert seen["commands"] == []  # one statement each, in autocommit
    assert await pg_store.get_run(run.run_id) is not None  # committed


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows of each admission statement sent from now on."""
    sent: list[int] = []
    execute = psycopg.AsyncRawCursor.execute

    async def counted(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        if str(query).startswith("INSERT INTO mesh_runs (") and "ON CONFLICT" not in str(query):
            sent.append(str(query).count("($"))
        return await execute(self, query, params, **kw)

    monkeypatch.setattr(psycopg.AsyncRawCursor, "execute", counted)
    return sent


async def test_admissions_that_arrive_together_are_committed_in_one_statement(
    pg_store: PostgresRunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _statements(monkeypatch)
    runs = [_run() for _ in range(5)]
    assert await pg_store.admit(runs[0], NO_LIMIT)  # alone: at once, one row
    assert await asyncio.gather(*(pg_store.admit(r, NO_LIMIT) for r in runs[1:])) == [True] * 4
    assert sent == [1, 4]
    for r in runs:  # each committed when its admit returned
        assert await pg_store.get_run(r.run_id) is not None


async def test_a_duplicate_admission_fails_alone_and_the_others_of_its_statement_are_stored(
    pg_store: PostgresRunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _run()
    assert await pg_store.admit(first, NO_LIMIT)
    sent = _statements(monkeypatch)
    again = first.model_copy()
    others = [_run(), _run()]
    got = await asyncio.gather(
        *(pg_store.admit(r, NO_LIMIT) for r in (others[0], again, others[1])),
        return_exceptions=True,
    )
    assert got[0] is True and got[2] is True
    assert isinstance(got[1], psycopg.errors.UniqueViolation)
    assert sent == [3, 1, 1, 1]  # the three refused together, then each alone
    for r in others:
        assert await pg_store.get_run(r.run_id) is not None


async def test_an_admission_cancelled_before_its_statement_is_not_stored(
    pg_store: PostgresRunStore,
) -> None:
    first, later = _run(), _run()
    out = asyncio.create_task(pg_store.admit(first, NO_LIMIT))
    for _ in range(3):  # its statement is out (the connection waits on the server)
        await asyncio.sleep(0)
    queued = asyncio.create_task(pg_store.admit(later, NO_LIMIT))
    await asyncio.sleep(0)
    queued.cancel()
    assert await out
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert await pg_store.admit(_run(), NO_LIMIT)  # the next statement skipped it
    assert await pg_store.get_run(first.run_id) is not None
    assert await pg_store.get_run(later.run_id) is None


async def test_admissions_go_on_after_their_connection_is_lost(
    pg_store: PostgresRunStore, pg_database: str
) -> None:
    assert await pg_store.admit(_run(), NO_LIMIT)
    with psycopg.connect(pg_database, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'INSERT INTO mesh_runs (%'"
        )
    run = _run()
    try:  # the statement that finds it lost fails (as a pooled one did)
        await pg_store.admit(run, NO_LIMIT)
    except psycopg.OperationalError:
        assert await pg_store.admit(run, NO_LIMIT)  # a new connection
    assert await pg_store.get_run(run.run_id) is not None


async def test_a_postgres_flush_with_deliveries_stores_them_with_the_saved_rows_only(
    pg_store: PostgresRunStore,
) -> None:
    outbox = SQLOutbox(PostgresTables(pg_store))
    await outbox.open()
    kept, taken = _run(), _run()
    await pg_store.store_batch([kept, taken], [], {})
    assert await pg_store.claim(taken.run_id, "b", 30) is not None  # epoch 2 is b's
    ended = [r.model_copy(update={"status": "completed", "answer": "x"}) for r in (kept, taken)]
    hooks = {
        r.run_id: [
            Delivery(
                delivery_id=f"d-{r.run_id}",
                run_id=r.run_id,
                event="completed",
                url="http://127.0.0.1:9/hook",
                body="{}",
            )
        ]
        for r in ended
    }
    events = [_ev(r.run_id, 1) for r in ended]
    epochs = {r.run_id: 1 for r in ended}
    # The two-trip path: the rows' result decides which deliveries are stored.
    assert await pg_store.store_batch(ended, events, epochs, hooks) == {taken.run_id}
    assert [d.delivery_id for d in await outbox.deliveries(kept.run_id)] == [f"d-{kept.run_id}"]
    assert await outbox.deliveries(taken.run_id) == []
    assert [e.seq for e in await pg_store.events_after(kept.run_id)] == [1]
    assert await pg_store.events_after(taken.run_id) == []
