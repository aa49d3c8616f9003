"""The run store conformance suite: what every orchestrator run store backend must do.

Subclass ``RunStoreConformance`` in a test module and override two fixtures: ``store`` (an
open store, closed by the fixture afterwards) and ``record_factory`` (the run record type,
or any callable taking its keyword fields)::

    from mesh_orchestrator.runs.store import RunRecord
    from mesh_testkit.conformance.run_store import RunStoreConformance

    class TestMyRunStore(RunStoreConformance):
        @pytest.fixture
        def record_factory(self):
            return RunRecord

        @pytest_asyncio.fixture
        async def store(self, tmp_path):
            store = MyRunStore(tmp_path / "runs")
            await store.open()
            yield store
            await store.close()

The suite calls only the store's public methods (the ``RunStoreLike`` protocol) and builds
events with ``mesh_contracts``. A backend on a shared database may hold runs other tests
left; the suite's checks allow for that.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pytest

from mesh_contracts import StreamEvent

__all__ = ["RecordFactory", "RunRecordLike", "RunStoreConformance", "RunStoreLike"]


class RunRecordLike(Protocol):
    """What the suite reads of a run record (``mesh_orchestrator.runs.store.RunRecord``)."""

    @property
    def run_id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def created_at(self) -> float: ...

    @property
    def finished_at(self) -> float | None: ...


RecordFactory = Callable[..., RunRecordLike]
"""Builds a run record from its keyword fields: run_id, query, created_at (required), status,
answer, last_seq, plan (a list of PlanNode dicts) and options."""


class RunStoreLike(Protocol):
    """The public methods of a run store that the suite calls (``RunStore``)."""

    async def save_run(self, run: Any) -> None: ...

    async def append_events(
        self, events: Sequence[StreamEvent], epochs: Any = None
    ) -> set[str] | None: ...

    async def store_batch(
        self, runs: Sequence[Any], events: Sequence[StreamEvent], epochs: Any, outbox: Any = None
    ) -> set[str]: ...

    async def events_after(
        self, run_id: str, after: int = 0, limit: int | None = None, max_bytes: int | None = None
    ) -> list[StreamEvent]: ...

    async def get_run(self, run_id: str) -> Any: ...

    async def list_runs(self, limit: int = 20) -> Sequence[RunRecordLike]: ...

    async def mark_interrupted(self) -> list[str]: ...

    async def claim(self, run_id: str, owner: str, lease_seconds: float) -> Any: ...

    async def renew(
        self, epochs: Any, owner: str, lease_seconds: float
    ) -> tuple[set[str], set[str]]: ...

    async def release(self, run_id: str, epoch: int) -> None: ...

    async def orphans(self, owner: str, limit: int = 100) -> list[str]: ...

    async def request_cancel(self, run_id: str) -> bool: ...

    async def claim_waiting(self, run_id: str, owner: str, lease_seconds: float) -> Any: ...

    async def admit(self, run: Any, limit: int) -> bool: ...

    async def runs_in_progress(self, owner: str) -> int: ...

    async def take_token(self, key: str, rate: float, burst: int) -> float: ...


def _ev(run_id: str, seq: int, type_: str = "token", token: str | None = None) -> StreamEvent:
    return StreamEvent.model_validate(
        {"run_id": run_id, "seq": seq, "type": type_, "data": {"token": token or str(seq)}}
    )


@pytest.mark.asyncio
class RunStoreConformance:
    """Every run store backend passes these tests. Override ``store`` and ``record_factory``."""

    @pytest.fixture
    def store(self) -> RunStoreLike:
        raise NotImplementedError(
            f"{type(self).__name__} must override the `store` fixture of RunStoreConformance"
        )

    @pytest.fixture
    def record_factory(self) -> RecordFactory:
        raise NotImplementedError(
            f"{type(self).__name__} must override the `record_factory` fixture of "
            "RunStoreConformance"
        )

    @pytest.fixture
    def new_run(self, record_factory: RecordFactory) -> RecordFactory:
        """A record with a fresh run_id, query "q" and created now, unless ``fields`` say."""

        def new_run(**fields: Any) -> RunRecordLike:
            defaults: dict[str, Any] = {
                "run_id": uuid.uuid4().hex,
                "query": "q",
                "created_at": time.time(),
            }
            return record_factory(**(defaults | fields))

        return new_run

    async def test_a_saved_run_reads_back_and_updates_in_place(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        r = new_run(options={"on_disconnect": "cancel"})
        await store.save_run(r)
        assert await store.get_run(r.run_id) == r
        updated = new_run(
            run_id=r.run_id,
            created_at=r.created_at,
            options={"on_disconnect": "cancel"},
            status="completed",
            answer="done",
            last_seq=7,
            plan=[{"task_id": "t1", "status": "completed", "output": {"x": 1}}],
        )
        await store.save_run(updated)
        assert await store.get_run(r.run_id) == updated
        assert await store.get_run("unknown") is None

    async def test_events_replay_after_a_seq_in_order_and_duplicates_are_ignored(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        r = new_run()
        await store.save_run(r)
        await store.append_events([_ev(r.run_id, 3), _ev(r.run_id, 1), _ev(r.run_id, 2)])
        await store.append_events([_ev(r.run_id, 2), _ev(r.run_id, 4, "done")])
        assert [e.seq for e in await store.events_after(r.run_id, 0)] == [1, 2, 3, 4]
        later = await store.events_after(r.run_id, 2)
        assert [(e.seq, e.type, e.data) for e in later] == [
            (3, "token", {"token": "3"}),
            (4, "done", {"token": "4"}),
        ]
        assert await store.events_after("unknown", 0) == []

    async def test_runs_are_listed_newest_first(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        base = time.time() + 1000  # after anything an earlier test left in a shared database
        ids = []
        for i in range(3):
            r = new_run(query=f"q{i}", created_at=base + i)
            await store.save_run(r)
            ids.append(r.run_id)
        listed = [r.run_id for r in await store.list_runs(2)]
        assert listed == [ids[2], ids[1]]

    async def test_runs_left_running_are_marked_interrupted(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        live, done = new_run(), new_run(status="completed")
        await store.save_run(live)
        await store.save_run(done)
        assert live.run_id in await store.mark_interrupted()
        got = await store.get_run(live.run_id)
        assert got is not None and got.status == "interrupted" and got.finished_at is not None
        finished = await store.get_run(done.run_id)
        assert finished is not None and finished.status == "completed"

    # ---- leases and fencing (a run outlives its replica) ---------------------------------

    async def test_an_orphaned_run_is_claimed_once_with_a_new_epoch(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        r = new_run(lease_owner="a", epoch=1, lease_expires_at=time.time() - 1, seq_reserved=10)
        await store.save_run(r)
        assert r.run_id in await store.orphans("b")
        won = await store.claim(r.run_id, "b", 30)
        assert won is not None and won.epoch == 2 and won.lease_owner == "b"
        assert won.seq_reserved == 10
        assert await store.claim(r.run_id, "c", 30) is None  # b holds it now
        assert r.run_id not in await store.orphans("c")
        assert r.run_id in await store.orphans("b")  # b's own (e.g. after b restarted)

    async def test_a_run_awaiting_approval_is_no_orphan_and_is_taken_once_to_run_again(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        # paused by replica a, whose lease then lapsed (a died): nobody resumes it on their own
        r = new_run(
            status="awaiting_approval",
            lease_owner="a",
            epoch=1,
            lease_expires_at=time.time() - 1,
            finished_at=None,
        )
        await store.save_run(r)
        assert r.run_id not in await store.orphans("b")
        assert await store.claim(r.run_id, "b", 30) is None
        assert r.run_id not in await store.mark_interrupted()
        won = await store.claim_waiting(r.run_id, "b", 30)  # approved on replica b
        assert won is not None and won.status == "running" and won.epoch == 2
        assert won.lease_owner == "b" and won.finished_at is None
        assert await store.claim_waiting(r.run_id, "c", 30) is None  # approved only once
        assert await store.claim_waiting(uuid.uuid4().hex, "c", 30) is None

    async def test_a_live_lease_is_not_taken_and_a_released_one_is(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        r = new_run(lease_owner="a", epoch=1, lease_expires_at=time.time() + 60)
        await store.save_run(r)
        assert await store.claim(r.run_id, "b", 30) is None
        await store.release(r.run_id, 1)
        won = await store.claim(r.run_id, "b", 30)
        assert won is not None and won.epoch == 2

    async def test_a_stale_owner_cannot_write_the_run_or_its_events(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        r = new_run(lease_owner="a", epoch=1, lease_expires_at=time.time() - 1)
        await store.save_run(r)
        await store.append_events([_ev(r.run_id, 1)], {r.run_id: 1})
        assert await store.claim(r.run_id, "b", 30) is not None  # epoch 2 is b's
        fenced = await store.append_events([_ev(r.run_id, 2)], {r.run_id: 1})
        assert fenced == {r.run_id}
        assert [e.seq for e in await store.events_after(r.run_id)] == [1]
        stale = new_run(
            run_id=r.run_id, created_at=r.created_at, epoch=1, status="completed", answer="x"
        )
        with pytest.raises(Exception, match="fenced"):
            await store.save_run(stale)
        got = await store.get_run(r.run_id)
        assert got is not None and got.status == "running" and got.answer is None
        lost, _ = await store.renew({r.run_id: 1}, "a", 30)
        assert lost == {r.run_id}
        kept, _ = await store.renew({r.run_id: 2}, "b", 30)
        assert kept == set()
        assert await store.append_events([_ev(r.run_id, 2)], {r.run_id: 2}) == set()

    async def test_a_batch_stores_rows_and_events_at_once_and_refuses_only_the_fenced(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        lease = {"lease_owner": "a", "epoch": 1, "lease_expires_at": time.time() - 1}
        kept, stale, quiet = new_run(**lease), new_run(**lease), new_run(**lease)
        assert await store.store_batch([kept, stale, quiet], [], {}) == set()
        assert await store.claim(stale.run_id, "b", 30) is not None  # epoch 2 is b's
        assert await store.claim(quiet.run_id, "b", 30) is not None
        done = new_run(run_id=kept.run_id, created_at=kept.created_at, **lease,
                       status="completed", answer="x", last_seq=2)  # fmt: skip
        late = new_run(run_id=stale.run_id, created_at=stale.created_at, **lease,
                       status="completed", answer="y")  # fmt: skip
        events = [_ev(kept.run_id, 1), _ev(kept.run_id, 2, "done"), _ev(stale.run_id, 1),
                  _ev(quiet.run_id, 1)]  # fmt: skip
        epochs = {kept.run_id: 1, stale.run_id: 1, quiet.run_id: 1}
        # ``quiet`` has events but no row in the batch: its stored epoch refuses them too.
        fenced = await store.store_batch([done, late], events, epochs)
        assert fenced == {stale.run_id, quiet.run_id}
        got = await store.get_run(kept.run_id)
        assert got is not None and got.status == "completed" and got.answer == "x"
        assert [e.seq for e in await store.events_after(kept.run_id)] == [1, 2]
        other = await store.get_run(stale.run_id)
        assert other is not None and other.status == "running" and other.answer is None
        assert await store.events_after(stale.run_id) == []
        assert await store.events_after(quiet.run_id) == []

    async def test_a_cancel_asked_anywhere_reaches_the_owner_with_its_renewal(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        r = new_run(lease_owner="a", epoch=1, lease_expires_at=time.time() + 60)
        await store.save_run(r)
        assert await store.request_cancel(r.run_id)
        _, cancels = await store.renew({r.run_id: 1}, "a", 30)
        assert cancels == {r.run_id}
        done = new_run(status="completed")
        await store.save_run(done)
        assert not await store.request_cancel(done.run_id)

    # ---- what a client holds, counted for every replica ----------------------------------

    async def test_a_clients_runs_in_progress_count_parked_ones_and_stop_at_the_limit(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        owner = f"client:{uuid.uuid4().hex}"  # its own: a shared database holds others' runs
        first, second = new_run(owner=owner), new_run(owner=owner)
        assert await store.admit(first, 2) and await store.admit(second, 2)
        assert await store.get_run(first.run_id) == first  # admitted: stored at once
        parked = new_run(
            run_id=second.run_id, created_at=second.created_at, owner=owner,
            status="awaiting_approval",
        )  # fmt: skip
        await store.save_run(parked)
        third = new_run(owner=owner)
        assert await store.runs_in_progress(owner) == 2
        assert not await store.admit(third, 2)  # a parked run still counts
        assert await store.get_run(third.run_id) is None  # refused: nothing stored
        ended = new_run(
            run_id=first.run_id, created_at=first.created_at, owner=owner, status="completed"
        )
        await store.save_run(ended)
        assert await store.runs_in_progress(owner) == 1
        assert await store.admit(third, 2)
        assert await store.admit(new_run(owner=f"client:{uuid.uuid4().hex}"), 1)  # another's

    async def test_admissions_at_once_never_pass_the_limit(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        owner = f"client:{uuid.uuid4().hex}"
        admitted = await asyncio.gather(*(store.admit(new_run(owner=owner), 3) for _ in range(12)))
        assert sum(admitted) == 3
        assert await store.runs_in_progress(owner) == 3

    async def test_a_token_bucket_gives_its_burst_then_says_how_long_to_wait(
        self, store: RunStoreLike
    ) -> None:
        key = f"starts:client:{uuid.uuid4().hex}"
        taken = await asyncio.gather(*(store.take_token(key, 0.5, 3) for _ in range(8)))
        assert sorted(taken)[:3] == [0.0, 0.0, 0.0]  # the burst, however the takers interleave
        refused = [w for w in taken if w > 0]
        assert len(refused) == 5
        assert all(0 < w <= 2.0 for w in refused)  # one token every 2 s at 0.5/s
        assert await store.take_token(f"{key}-other", 0.5, 3) == 0.0  # buckets are per key
        # refilled with time: a fast bucket has a token again once its wait has passed
        fast = f"{key}-fast"
        assert await store.take_token(fast, 1000.0, 1) == 0.0
        wait = await store.take_token(fast, 1000.0, 1)
        await asyncio.sleep(wait + 0.01)
        assert await store.take_token(fast, 1000.0, 1) == 0.0

    async def test_a_relayed_block_of_tokens_reads_back_event_by_event_in_any_page(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        # A worker's block as the relay publishes it: consecutive tokens of one task with
        # one timestamp, between events of other types.
        r = new_run()
        await store.save_run(r)
        ts = 1765000000.25
        tokens = [
            StreamEvent.model_validate(
                {"run_id": r.run_id, "seq": i, "type": "token", "task_id": "t", "agent_id": "w",
                 "data": {"token": f"tok{i} é", "attempt": 1}, "ts": ts}
            )
            for i in range(2, 42)
        ]  # fmt: skip
        events = [_ev(r.run_id, 1, "status"), *tokens, _ev(r.run_id, 42, "done")]
        await store.append_events(events[:12])  # the same events again in a retried flush
        await store.append_events(events)
        want = [(e.seq, e.type, e.task_id, e.agent_id, e.data, e.ts) for e in events]
        got = await store.events_after(r.run_id)
        assert [(e.seq, e.type, e.task_id, e.agent_id, e.data, e.ts) for e in got] == want
        for after in (0, 1, 2, 20, 40, 41, 42):
            assert [e.seq for e in await store.events_after(r.run_id, after)] == list(
                range(after + 1, 43)
            )
            page = await store.events_after(r.run_id, after, 3)
            assert [e.seq for e in page] == list(range(after + 1, min(after + 4, 43)))
        # pages bounded by size walk the whole log, none past the bound but for its first
        after, seen = 0, []
        for _ in range(100):
            page = await store.events_after(r.run_id, after, 500, 100)
            if not page:
                break
            assert sum(len(json.dumps(e.data)) for e in page[1:]) <= 100
            seen += [e.seq for e in page]
            after = page[-1].seq
        assert seen == list(range(1, 43))

    async def test_a_log_is_read_in_pages_bounded_by_count_and_by_size(
        self, store: RunStoreLike, new_run: RecordFactory
    ) -> None:
        r = new_run()
        await store.save_run(r)
        sizes = [10, 10, 10, 5000, 10, 10]
        await store.append_events(
            [_ev(r.run_id, i + 1, token="x" * n) for i, n in enumerate(sizes)]
        )
        assert [e.seq for e in await store.events_after(r.run_id, 0, 2)] == [1, 2]
        assert [e.seq for e in await store.events_after(r.run_id, 2, 10)] == [3, 4, 5, 6]
        # by size: the page ends before the event that would take it past the bound ...
        assert [e.seq for e in await store.events_after(r.run_id, 0, 10, 200)] == [1, 2, 3]
        # ... but a page holds at least one event, however large
        assert [e.seq for e in await store.events_after(r.run_id, 3, 10, 200)] == [4]
        assert [e.seq for e in await store.events_after(r.run_id, 4, 1, 200)] == [5]
