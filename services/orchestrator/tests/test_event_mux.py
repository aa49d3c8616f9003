"""The multiplexer: live batches, replay without gaps, persistence, forgetting finished runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.replay import PAGE_EVENTS
from mesh_orchestrator.runs.store import RunRecord, RunStore, SQLiteRunStore


@pytest.fixture
async def mux(tmp_path: Path) -> AsyncIterator[EventMux]:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    m = EventMux(store, interval=3600)  # flushed by hand in these tests
    yield m
    await store.close()


def opened(mux: EventMux, run_id: str = "r1") -> str:
    mux.open(RunRecord(run_id=run_id, query="q", created_at=time.time()))
    return run_id


async def test_events_published_while_a_listener_is_busy_arrive_as_one_batch_in_order(
    mux: EventMux,
) -> None:
    run = opened(mux)
    sub = await mux.subscribe(run)
    for tok in "abc":
        mux.publish(run, "token", {"token": tok}, "t1", "w")
    batch = await sub.take(1.0)
    assert batch is not None
    assert [(e.seq, e.data["token"]) for e in batch] == [(1, "a"), (2, "b"), (3, "c")]


async def test_a_waiting_listener_gets_one_event_at_once_and_nothing_on_idle(
    mux: EventMux,
) -> None:
    run = opened(mux)
    sub = await mux.subscribe(run)
    assert await sub.take(0.01) == []  # idle: the writer sends a ping
    waiting = asyncio.create_task(sub.take(30))
    await asyncio.sleep(0)
    mux.publish(run, "token", {"token": "x"})
    async with asyncio.timeout(5):  # a batch is never held back to grow
        batch = await waiting
    assert batch is not None and [e.seq for e in batch] == [1]
    mux.publish(run, "done", {"status": "completed"})
    mux.close(run, "completed", None)
    last = await sub.take(1)
    assert last is not None and [e.type for e in last] == ["done"]
    assert await sub.take(1) is None


async def test_a_late_subscriber_replays_after_its_seq_then_follows_live(mux: EventMux) -> None:
    run = opened(mux)
    for i in range(4):
        mux.publish(run, "token", {"token": str(i)})
    sub = await mux.subscribe(run, after=2)
    mux.publish(run, "token", {"token": "4"})
    batch = await sub.take(1)
    assert batch is not None and [e.seq for e in batch] == [3, 4, 5]


async def test_a_finished_run_leaves_memory_once_stored_and_replays_from_the_store(
    mux: EventMux,
) -> None:
    run = opened(mux)
    mux.publish(run, "run", {"run_id": run})
    mux.publish(run, "token", {"token": "é"}, "t1", "w")
    mux.publish(run, "done", {"status": "completed"})
    mux.close(run, "completed", "answer")
    await mux.flush()
    assert run not in mux.channels
    stored = await mux.store.get_run(run)
    assert stored is not None and stored.status == "completed" and stored.last_seq == 3
    sub = await mux.subscribe(run, after=1)
    batch = await sub.take(1)
    assert batch is not None
    assert [(e.seq, e.type, e.data) for e in batch] == [
        (2, "token", {"token": "é"}),
        (3, "done", {"status": "completed"}),
    ]
    assert await sub.take(1) is None


async def test_a_reader_that_falls_too_far_behind_is_let_go_and_resumes_from_the_log(
    tmp_path: Path,
) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    m = EventMux(store, interval=3600, max_backlog=5)
    run = opened(m)
    slow = await m.subscribe(run)
    for i in range(6):  # one more than the reader may fall behind by
        m.publish(run, "token", {"token": str(i)})
    assert slow.overflowed and await slow.take() is None  # its stream ends, no done
    again = await m.subscribe(run, after=0)  # the reconnect with Last-Event-ID: 0
    assert [e.seq for e in await again.take() or []] == [1, 2, 3, 4, 5, 6]
    m.unsubscribe(run, again)
    await store.close()


class CountingStore:
    """A store that notes how many events each read of a log returned (this test's spy)."""

    def __init__(self, store: SQLiteRunStore) -> None:
        self.store = store
        self.pages: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def events_after(self, *args: Any, **kw: Any) -> list[StreamEvent]:
        events = await self.store.events_after(*args, **kw)
        self.pages.append(len(events))
        return events


async def test_a_long_finished_log_is_replayed_a_page_at_a_time_as_the_reader_takes(
    tmp_path: Path,
) -> None:
    sqlite = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await sqlite.open()
    store = CountingStore(sqlite)
    try:
        mux = EventMux(cast(RunStore, store), interval=3600)
        run = opened(mux)
        total = PAGE_EVENTS * 4 + 7
        for i in range(total - 1):
            mux.publish(run, "token", {"token": str(i)})
        mux.publish(run, "done", {"status": "completed"})
        mux.close(run, "completed", None)
        await mux.flush()
        assert run not in mux.channels  # finished and stored: replayed from the store
        sub = await mux.subscribe(run, 3)
        assert store.pages == []  # nothing read before the reader asks
        first = await sub.take()
        assert first is not None and [e.seq for e in first] == list(range(4, 4 + PAGE_EVENTS))
        assert store.pages == [PAGE_EVENTS]  # one page in memory, not the log
        seqs = [e.seq for e in first]
        while (batch := await sub.take()) is not None:
            seqs += [e.seq for e in batch]
        assert seqs == list(range(4, total + 1))
        assert max(store.pages) == PAGE_EVENTS
    finally:
        await sqlite.close()


async def test_a_flush_stores_rows_and_events_in_one_batch_and_a_state_only_with_its_deliveries(
    mux: EventMux,
) -> None:
    from mesh_orchestrator.runs.store.outbox import Delivery

    store = cast(SQLiteRunStore, mux.store)
    one, two = opened(mux, "r1"), opened(mux, "r2")
    mux.publish(one, "token", {"token": "a"})
    mux.publish(two, "token", {"token": "b"})
    asked: list[list[str]] = []

    async def deliveries(runs: list[RunRecord]) -> dict[str, list[Delivery]]:
        # This test's stand-in for the notifier: the runs ended when asked have their
        # (here: no) rows; r2 ends while they are being read.
        ended = [r.run_id for r in runs if r.status != "running"]
        asked.append(sorted(ended))
        if (rec := mux.record(two)) is not None and rec.status == "running":
            mux.publish(two, "done", {"status": "completed"})
            mux.close(two, "completed", None)
        return {run_id: [] for run_id in ended}

    mux.outbox_for = deliveries
    assert await mux.flush()
    # r2 ended while its deliveries were read: they are read again for its ended state
    # before it is stored so (a state is never stored without its rows).
    assert asked == [[], ["r2"]]
    assert [e.seq for e in await store.events_after(one)] == [1]
    stored = await store.get_run(two)
    assert stored is not None and stored.status == "completed"
    assert [e.type for e in await store.events_after(two)] == ["token"]  # done came later
    assert await mux.flush()
    assert [e.type for e in await store.events_after(two)] == ["token", "done"]
    assert two not in mux.channels  # ended, stored and nobody listens: let go


class RefusingStore:
    """A store that refuses its first ``refusals`` batches, then stores as ``inner``."""

    def __init__(self, inner: RunStore, refusals: int) -> None:
        self.inner = inner
        self.refusals = refusals
        self.tries = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def store_batch(self, *args: Any) -> set[str]:
        self.tries += 1
        if self.tries <= self.refusals:
            raise RuntimeError("the store is away")
        return cast(set[str], await self.inner.store_batch(*args))


async def test_a_store_that_refuses_flushes_gets_every_event_once_it_is_back(
    tmp_path: Path,
) -> None:
    sqlite = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await sqlite.open()
    store = RefusingStore(sqlite, refusals=3)
    mux = EventMux(cast(RunStore, store), interval=0.01)
    await mux.start()
    try:
        run = opened(mux)
        sub = await mux.subscribe(run)
        for tok in "abc":
            mux.publish(run, "token", {"token": tok}, "t1", "w")
        async with asyncio.timeout(10):
            assert await mux.persisted()
        assert store.tries == 4  # the first try, then tenacity's, until one went through
        page = await sqlite.events_after(run, 0)
        assert [e.data for e in page] == [{"token": t} for t in "abc"]
        batch = await sub.take(1.0)
        assert batch is not None and [e.seq for e in batch] == [1, 2, 3]
    finally:
        await mux.stop()
        await sqlite.close()


class _Escapes(BaseException):
    """What the flush loop's ``except Exception`` does not catch (a bug, a stray
    ``SystemExit`` of a library)."""


async def test_a_flusher_that_dies_is_logged_and_started_again_and_the_events_are_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sqlite = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await sqlite.open()
    mux = EventMux(sqlite, interval=0.01)
    real = mux._flush_counted
    calls = 0
    again = asyncio.Event()

    async def dies_once() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise _Escapes("the flush loop ends here")
        again.set()
        await real()

    mux._flush_counted = dies_once  # type: ignore[method-assign]
    await mux.start()
    first = mux._flusher
    try:
        run = opened(mux)
        mux.publish(run, "token", {"token": "a"}, "t1", "w")
        async with asyncio.timeout(10):
            await again.wait()
            assert await mux.persisted()
        assert mux._flusher is not first and not mux._flusher.done()
        assert "event flusher stopped" in caplog.text
        page = await sqlite.events_after(run, 0)
        assert [e.data for e in page] == [{"token": "a"}]
    finally:
        await mux.stop()
        await sqlite.close()
    assert mux._flusher is not None and mux._flusher.cancelled()


async def test_a_live_runs_stored_events_leave_memory_and_later_listeners_still_get_them_all(
    mux: EventMux,
) -> None:
    """Once a flush stored them, a live run's events but its last leave memory (an open
    stream holds none of its ``plan`` or ``status`` payloads, a long one not every token);
    a listener that comes later reads them from the store, then the live tail, with no gap
    nor repeat, and one that listened before goes on as it was."""
    run = opened(mux)
    early = await mux.subscribe(run)
    for tok in "abcde":
        mux.publish(run, "token", {"token": tok}, "t1", "w")
    assert await mux.flush()
    ch = mux.channels[run]
    assert [e.seq for e in ch.events] == [5] and ch.base == 4  # the last one stays
    late, middle = await mux.subscribe(run, 0), await mux.subscribe(run, 3)
    mux.publish(run, "token", {"token": "f"}, "t1", "w")
    mux.publish(run, "done", {"status": "completed"})
    mux.close(run, "completed", None)

    async def seqs(sub: Any) -> list[int]:
        got: list[int] = []
        async with asyncio.timeout(5):
            while (batch := await sub.take(1)) is not None:
                got += [e.seq for e in batch]
        return got

    assert await seqs(early) == [1, 2, 3, 4, 5, 6, 7]
    assert await seqs(late) == [1, 2, 3, 4, 5, 6, 7]
    assert await seqs(middle) == [4, 5, 6, 7]


async def test_a_block_past_the_reserved_ids_is_held_then_released_in_order_once(
    mux: EventMux,
) -> None:
    """Ids past the reservation stored so far wait for the flush that stores the next: a
    block that crosses it goes out in two parts, every event once, in seq order."""
    from mesh_orchestrator.runs.mux import RESERVE

    run = opened(mux)
    await mux.flush()  # the run's row and its first reservation stored
    sub = await mux.subscribe(run)
    first = mux.publish_many(run, [("token", {"token": "a"})] * (RESERVE - 10), "t", "w")
    assert [e.seq for e in first] == list(range(1, RESERVE - 9))
    block = mux.publish_many(run, [("token", {"token": "b"})] * 40, "t", "w")
    got = await sub.take(1.0)
    assert got is not None and [e.seq for e in got] == list(range(1, RESERVE + 1))
    assert [e.seq for e in mux.channels[run].held] == list(range(RESERVE + 1, RESERVE + 31))
    assert await sub.take(0.01) == []  # nothing past the reservation before the flush
    await mux.flush()  # stores the renewed reservation: the held events go out
    rest = await sub.take(1.0)
    assert rest is not None and [e.seq for e in rest] == [e.seq for e in block[10:]]
    assert mux.channels[run].held == []
    mux.publish(run, "token", {"token": "c"})  # past the held ones: out at once
    after = await sub.take(1.0)
    assert after is not None and [e.seq for e in after] == [RESERVE + 31]
