"""Retention in the run store (SQLite, and Postgres in a database of its own when
127.0.0.1:5432 answers): only finished, old, unpinned runs go, per owner; one replica at a
time holds the retention lease."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from test_run_store import _pg_reachable

from mesh_contracts import RunStatus, StreamEvent
from mesh_orchestrator.relay.artifacts import Deletion
from mesh_orchestrator.runs.retention import GIVE_UP_SECONDS, Retention, parse_clients
from mesh_orchestrator.runs.store import PostgresRunStore, RunRecord, RunStore, SQLiteRunStore
from mesh_orchestrator.runs.store.deliveries import Delivery
from mesh_orchestrator.runs.store.messages import message_store
from mesh_orchestrator.runs.store.outbox import PushConfig, outbox_store
from mesh_orchestrator.runs.store.threads import ThreadRecord, thread_store
from mesh_testkit.postgres import scratch_database


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunStore]:
    s: RunStore
    with ExitStack() as stack:
        if request.param == "sqlite":
            s = SQLiteRunStore(tmp_path / "runs.sqlite3")
        else:
            if not _pg_reachable():
                pytest.skip("Postgres is not reachable at 127.0.0.1:5432 (db 'test', trust auth)")
            s = PostgresRunStore(stack.enter_context(scratch_database("mesh_retention")))
        await s.open()
        yield s
        await s.close()


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


async def test_old_threads_done_deliveries_and_gone_runs_push_configs_go_the_rest_stay(
    store: RunStore,
) -> None:
    threads, outbox = thread_store(store), outbox_store(store)
    await threads.open()
    await outbox.open()
    t = time.time()  # a run appended now is last active at t; the sweep runs at t + 1000
    old, young = t, t + 950  # with 100 s of retention: before t + 900, and after it

    async def thread(tid: str, created: float, *runs: str, owner: str | None = None) -> None:
        assert await threads.create_thread(ThreadRecord(thread_id=tid, owner=owner,
                                                        created_at=created))  # fmt: skip
        last = None
        for run_id in runs:
            assert await threads.append_run(tid, run_id, last)
            last = run_id

    await add(store, "r-old", RunStatus.COMPLETED, old, None)
    await add(store, "r-pinned", RunStatus.COMPLETED, old, None)
    await add(store, "r-running", RunStatus.RUNNING, None, None)
    await add(store, "r-young", RunStatus.COMPLETED, young, None)
    assert await store.pin("r-pinned", True)
    await thread("t-old", old, "r-old")  # its run goes in this sweep, then the thread
    await thread("t-gone", old, "never-stored")  # its run is gone (or never came)
    await thread("t-empty", old)
    await thread("t-young", young)  # made recently, no runs yet
    await thread("t-pinned", old, "r-gone-before", "r-pinned")
    await thread("t-running", old, "r-running")
    await thread("t-young-run", old, "r-young")
    await thread("t-alice", old, owner="client:alice")  # alice keeps hers 2000 s
    await thread("t-alice-old", t - 1500, owner="client:alice")

    def delivery(did: str, run_id: str, **kw: float | None) -> Delivery:
        return Delivery(delivery_id=did, run_id=run_id, event="completed", url="http://h",
                        body="{}", created_at=old, **kw)  # fmt: skip

    await outbox.enqueue([
        delivery("d-done-old", "r-young", next_at=None, delivered_at=old),
        delivery("d-given-up-old", "r-running", next_at=None),
        delivery("d-done-young", "r-young", next_at=None, delivered_at=young),
        delivery("d-pending", "r-young", next_at=old),
        delivery("d-done-gone", "r-old", next_at=None, delivered_at=young),
        delivery("d-pending-gone", "r-old", next_at=old),
    ])  # fmt: skip
    await outbox.set_push(
        PushConfig(task_id="r-old", config_id="c", url="http://h", created_at=old)
    )
    await outbox.set_push(PushConfig(task_id="r-young", config_id="c", url="http://h",
                                     created_at=old))  # fmt: skip

    messages = message_store(store)  # A2A task history: the gone run's rows go
    await messages.open()
    await messages.add("r-old", [{"messageId": "a"}, {"messageId": "b"}])
    await messages.add("r-young", [{"messageId": "c"}])
    retention = Retention(
        store, "r1", seconds=100, clients={"client:alice": 2000.0}, batch=1,
        threads=threads, outbox=outbox, messages=messages,
    )  # fmt: skip
    assert await retention.sweep(t + 1000) == (1, 2)
    assert retention.removed == {
        "runs": 1, "events": 2, "threads": 4, "deliveries": 3, "push_configs": 1,
        "a2a_messages": 2,
    }  # fmt: skip
    assert await messages.history(["r-old", "r-young"]) == {"r-young": [{"messageId": "c"}]}
    for gone in ("t-old", "t-gone", "t-empty", "t-alice-old"):
        assert await threads.get_thread(gone) is None
        assert await threads.thread_runs(gone) == []
    for kept in ("t-young", "t-pinned", "t-running", "t-young-run", "t-alice"):
        assert await threads.get_thread(kept) is not None, kept
    assert await threads.thread_runs("t-pinned") == ["r-gone-before", "r-pinned"]
    young_rows = {d.delivery_id for d in await outbox.deliveries("r-young")}
    assert young_rows == {"d-done-young", "d-pending"}
    assert [d.delivery_id for d in await outbox.deliveries("r-old")] == ["d-pending-gone"]
    assert await outbox.deliveries("r-running") == []
    assert await outbox.list_push("r-old") == []
    assert len(await outbox.list_push("r-young")) == 1

    # Unpinned, the run goes, and with it what held its thread.
    assert await store.pin("r-pinned", False)
    assert await retention.sweep(t + 1000) == (1, 2)
    assert await threads.get_thread("t-pinned") is None
    assert retention.removed["threads"] == 5
    # A thread a run was just appended to is active now: kept, though made long ago.
    await thread("t-appended", t - 5000, "r-new")
    await retention.sweep(time.time() + 50)
    assert await threads.get_thread("t-appended") is not None


class FakeWorkers:
    """A fake artifact deleter (unit tests only): which URLs it was asked to delete, and
    whether its "worker" is up (down: every deletion fails, to be retried)."""

    def __init__(self) -> None:
        self.up = True
        self.asked: list[tuple[str | None, str | None]] = []

    async def delete(self, agent_id: str | None, url: str | None) -> Deletion:
        self.asked.append((agent_id, url))
        if url is None or agent_id != "image-gen":
            return Deletion.NOT_OURS
        return Deletion.REMOVED if self.up else Deletion.FAILED


async def made(store: RunStore, run_id: str, finished: float, *names: str) -> None:
    """A finished run whose image-gen task reported ``names`` (and one inline-only image)."""
    await add(store, run_id, RunStatus.COMPLETED, finished, None)
    arts = [
        StreamEvent(run_id=run_id, seq=3 + i, type="artifact", task_id="t1", agent_id="image-gen",
                    data={"name": n, "url": f"http://127.0.0.1:8004/artifacts/{n}"}, ts=0)
        for i, n in enumerate(names)
    ]  # fmt: skip
    inline = StreamEvent(run_id=run_id, seq=9, type="artifact", task_id="t1", agent_id="writer",
                         data={"name": "x.txt", "data_base64": "eA=="}, ts=0)  # fmt: skip
    await store.append_events([*arts, inline])


async def test_a_removed_runs_artifacts_are_deleted_and_a_failure_keeps_the_run_for_later(
    store: RunStore,
) -> None:
    now = 10_000.0
    workers = FakeWorkers()
    await made(store, "old", now - 500, "a.png", "b.png")
    await made(store, "old-pinned", now - 500, "pinned.png")
    await made(store, "young", now - 50, "young.png")
    assert await store.pin("old-pinned", True)
    retention = Retention(store, "r1", seconds=100, batch=1, artifacts=workers.delete)
    assert await retention.sweep(now) == (1, 5)
    deleted = [url for agent, url in workers.asked if agent == "image-gen"]
    assert deleted == [f"http://127.0.0.1:8004/artifacts/{n}" for n in ("a.png", "b.png")]
    assert retention.removed["artifacts"] == 2

    # The worker is down: the run and its log stay (others go on), and the next pass,
    # with the worker back, deletes its file and removes it.
    await made(store, "old-2", now - 400, "c.png")
    await add(store, "old-plain", RunStatus.COMPLETED, now - 300, None)  # no artifacts
    workers.up = False
    assert await retention.sweep(now) == (1, 2)
    assert {r.run_id for r in await store.list_runs(100)} == {"old-pinned", "young", "old-2"}
    assert retention.artifacts.failures == {"retried": 1}
    workers.up = True
    assert await retention.sweep(now) == (1, 4)
    assert retention.removed["artifacts"] == 3
    assert not any("pinned" in str(url) or "young" in str(url) for _, url in workers.asked)

    # A worker gone for good: past GIVE_UP_SECONDS beyond its due time the run goes anyway.
    await made(store, "ancient", now - 100 - GIVE_UP_SECONDS - 1, "d.png")
    workers.up = False
    assert await retention.sweep(now) == (1, 4)
    assert retention.artifacts.failures == {"retried": 1, "given_up": 1}


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
