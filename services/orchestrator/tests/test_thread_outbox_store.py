"""The thread and outbox tables on SQLite and Postgres: one suite for both backends.

Postgres runs when 127.0.0.1:5432 answers (db ``test``, trust auth), each test in a
database of its own (made and dropped here): a claim takes the oldest due rows, so rows
another test left would crowd this one's out.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from orch_fakes import serve, stop
from test_run_store import _pg_reachable

from mesh_contracts import RunStatus
from mesh_orchestrator.push.delivery import Deliverer
from mesh_orchestrator.runs.store import PostgresRunStore, RunStore, SQLiteRunStore
from mesh_orchestrator.runs.store.base import Fenced, RunRecord
from mesh_orchestrator.runs.store.outbox import Delivery, Outbox, PushConfig, outbox_store
from mesh_orchestrator.runs.store.threads import ThreadRecord, ThreadStore, thread_store
from mesh_testkit.postgres import scratch_database


@pytest.fixture(params=["sqlite", "postgres"])
async def run_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunStore]:
    s: RunStore
    if request.param == "sqlite":
        s = SQLiteRunStore(tmp_path / "runs.sqlite3")
        await s.open()
        yield s
        await s.close()
        return
    if not _pg_reachable():
        pytest.skip("Postgres is not reachable at 127.0.0.1:5432 (db 'test', trust auth)")
    with scratch_database("mesh_outbox") as url:
        s = PostgresRunStore(url)
        await s.open()
        yield s
        await s.close()


@pytest.fixture
async def threads(run_store: RunStore) -> ThreadStore:
    t = thread_store(run_store)
    await t.open()
    await t.open()  # made twice (a second replica, a restart): nothing changes
    return t


@pytest.fixture
async def outbox(run_store: RunStore) -> Outbox:
    o = outbox_store(run_store)
    await o.open()
    return o


def _id() -> str:
    return uuid.uuid4().hex


async def test_a_thread_orders_its_runs_and_refuses_a_stale_append(threads: ThreadStore) -> None:
    tid = _id()
    assert await threads.create_thread(ThreadRecord(thread_id=tid, owner="client:a", created_at=1))
    assert not await threads.create_thread(ThreadRecord(thread_id=tid, created_at=2))
    assert await threads.append_run(tid, "r1", None)
    assert not await threads.append_run(tid, "r2", None)  # r1 came first: decide again
    assert await threads.append_run(tid, "r2", "r1")
    got = await threads.get_thread(tid)
    assert got is not None and got.owner == "client:a" and got.last_run_id == "r2"
    assert got.runs == 2
    assert await threads.thread_runs(tid) == ["r1", "r2"]
    assert await threads.thread_runs(tid, limit=1) == ["r2"]
    assert await threads.get_thread(_id()) is None


async def test_concurrent_appends_on_one_thread_all_land_in_one_order(
    threads: ThreadStore,
) -> None:
    tid = _id()
    await threads.create_thread(ThreadRecord(thread_id=tid, created_at=1))

    async def append(run_id: str) -> None:
        while True:
            last = (await threads.get_thread(tid)).last_run_id  # type: ignore[union-attr]
            if await threads.append_run(tid, run_id, last):
                return

    await asyncio.gather(*(append(f"r{i}") for i in range(8)))
    order = await threads.thread_runs(tid)
    assert sorted(order) == sorted(f"r{i}" for i in range(8))


def _delivery(run_id: str, **kw: Any) -> Delivery:
    return Delivery(
        delivery_id=_id(), run_id=run_id, event="completed", url="http://x/hook", body="{}", **kw
    )


async def test_a_delivery_is_enqueued_once_claimed_once_and_marked(outbox: Outbox) -> None:
    run_id = _id()
    d = _delivery(run_id, secret="s")
    assert await outbox.enqueue([d]) == 1
    assert await outbox.enqueue([d]) == 0  # the same change enqueued again
    owner_a, owner_b = _id(), _id()
    mine = [x for x in await outbox.claim(owner_a, 30) if x.run_id == run_id]
    assert [x.delivery_id for x in mine] == [d.delivery_id]
    assert mine[0].lease_owner == owner_a and mine[0].secret == "s"
    theirs = [x for x in await outbox.claim(owner_b, 30) if x.run_id == run_id]
    assert theirs == []  # held by a
    again = [x for x in await outbox.claim(owner_a, 30) if x.run_id == run_id]
    assert len(again) == 1  # a (restarted) takes its own rows back at once
    await outbox.retry_later(d.delivery_id, 2, time.time() + 3600, "HTTP 500")
    assert [x for x in await outbox.claim(owner_b, 30) if x.run_id == run_id] == []
    await outbox.retry_later(d.delivery_id, 3, time.time() - 1, "HTTP 500")
    taken = [x for x in await outbox.claim(owner_b, 30) if x.run_id == run_id]
    assert [x.attempts for x in taken] == [3]
    await outbox.delivered(d.delivery_id, 4)
    [row] = await outbox.deliveries(run_id)
    assert row.delivered_at is not None and row.attempts == 4 and row.next_at is None
    assert [x for x in await outbox.claim(owner_b, 30) if x.run_id == run_id] == []


async def test_a_lapsed_lease_lets_another_replica_take_the_delivery(outbox: Outbox) -> None:
    run_id = _id()
    d = _delivery(run_id)
    await outbox.enqueue([d])
    assert [x for x in await outbox.claim(_id(), 0.01) if x.run_id == run_id]
    await asyncio.sleep(0.05)  # the holder died: its short lease lapses
    assert [x for x in await outbox.claim(_id(), 30) if x.run_id == run_id]


async def test_two_replicas_claiming_at_once_never_take_the_same_delivery(
    outbox: Outbox,
) -> None:
    run_id = _id()
    rows = [_delivery(run_id) for _ in range(20)]
    await outbox.enqueue(rows)
    a, b = await asyncio.gather(outbox.claim(_id(), 30, 50), outbox.claim(_id(), 30, 50))
    got_a = {x.delivery_id for x in a if x.run_id == run_id}
    got_b = {x.delivery_id for x in b if x.run_id == run_id}
    assert not got_a & got_b
    assert got_a | got_b == {r.delivery_id for r in rows}


async def test_push_configs_and_default_webhooks_are_kept(outbox: Outbox) -> None:
    task = _id()
    await outbox.set_push(PushConfig(task_id=task, config_id="c1", url="http://a", token="t"))
    await outbox.set_push(PushConfig(task_id=task, config_id="c1", url="http://b", token="t2"))
    await outbox.set_push(PushConfig(task_id=task, config_id="c2", url="http://c"))
    got = await outbox.get_push(task, "c1")
    assert got is not None and (got.url, got.token) == ("http://b", "t2")
    assert [c.config_id for c in await outbox.list_push(task)] == ["c1", "c2"]
    assert await outbox.delete_push(task, "c1")
    assert not await outbox.delete_push(task, "c1")
    assert [c.config_id for c in await outbox.list_push(task)] == ["c2"]
    owner = f"client:{_id()}"
    assert await outbox.get_default(owner) is None
    await outbox.set_default(owner, "http://hook", "sec")
    await outbox.set_default(owner, "http://hook2", "sec2")
    assert await outbox.get_default(owner) == ("http://hook2", "sec2")
    assert await outbox.delete_default(owner)
    assert await outbox.get_default(owner) is None


async def test_a_runs_state_and_its_deliveries_are_stored_together_or_not_at_all(
    run_store: RunStore, outbox: Outbox
) -> None:
    """``save_run`` with the state's deliveries: one transaction. A failure between the two
    writes (here the second delivery's insert fails: no body) leaves neither stored."""
    run = RunRecord(run_id=_id(), query="q", created_at=time.time())
    await run_store.save_run(run)
    done = run.model_copy(update={"status": RunStatus.COMPLETED, "answer": "a"})
    good = _delivery(run.run_id)
    bad = Delivery.model_construct(**{**_delivery(run.run_id).model_dump(), "body": None})
    with pytest.raises(Exception, match=r"(?i)null"):
        await run_store.save_run(done, [good, bad])
    stored = await run_store.get_run(run.run_id)
    assert stored is not None and stored.status == RunStatus.RUNNING and stored.answer is None
    assert await outbox.deliveries(run.run_id) == []
    await run_store.save_run(done, [good])  # the flush tried again
    stored = await run_store.get_run(run.run_id)
    assert stored is not None and stored.status == RunStatus.COMPLETED
    assert [d.delivery_id for d in await outbox.deliveries(run.run_id)] == [good.delivery_id]
    await run_store.save_run(done, [good])  # stored again by a later flush: still one row
    assert len(await outbox.deliveries(run.run_id)) == 1
    # a fenced writer (an older epoch) stores neither its row nor its deliveries
    stale = done.model_copy(update={"epoch": done.epoch + 7, "status": RunStatus.FAILED})
    with pytest.raises(Fenced):
        await run_store.save_run(stale, [_delivery(run.run_id, last_error="stale")])
    assert [d.delivery_id for d in await outbox.deliveries(run.run_id)] == [good.delivery_id]


class _FailingReceiver:
    """A webhook receiver on loopback answering 500 (``fail`` true), else 200; its
    ``hang_at``-th post never answers (the replica posting it is killed meanwhile)."""

    def __init__(self, hang_at: int) -> None:
        self.posts: list[str] = []
        self.fail = True
        self.hang_at = hang_at
        self.hanging = asyncio.Event()
        self.release = asyncio.Event()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> JSONResponse:
            self.posts.append(request.headers["x-mesh-delivery"])
            if len(self.posts) == self.hang_at:
                self.hanging.set()
                await self.release.wait()
            return JSONResponse({}, status_code=500 if self.fail else 200)

        return app


async def test_each_try_is_counted_in_the_store_before_it_is_posted(outbox: Outbox) -> None:
    """A replica killed in the middle of its tries (its deliverer cancelled during the
    third POST) leaves the count it reached; another replica goes on from it."""
    receiver = _FailingReceiver(hang_at=3)
    served = await serve(receiver.app())
    run_id = _id()
    d = _delivery(run_id)
    d.url = served.url + "/hook"
    await outbox.enqueue([d])
    a = b = None
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            a = Deliverer(
                outbox, http, owner="replica-a", backoff_seconds=0.01, attempts_per_claim=10,
                lease_seconds=0.5, poll_seconds=0.05,
            )  # fmt: skip
            await a.start()
            await asyncio.wait_for(receiver.hanging.wait(), 30)
            await a.stop()  # killed during its third try
            [row] = await outbox.deliveries(run_id)
            assert row.attempts == 3 and row.last_error == "HTTP 500"
            assert row.lease_owner == "replica-a" and row.delivered_at is None
            receiver.fail = False
            b = Deliverer(outbox, http, owner="replica-b", backoff_seconds=0.01, poll_seconds=0.05)
            await b.start()
            for _ in range(600):
                [row] = await outbox.deliveries(run_id)
                if row.delivered_at is not None:
                    break
                await asyncio.sleep(0.05)
    finally:
        for x in (a, b):
            if x is not None:
                await x.stop()
        receiver.release.set()
        await stop(served)
    assert row.delivered_at is not None and row.attempts == 4  # 3 by a, then b's first
    assert receiver.posts == [d.delivery_id] * 4
