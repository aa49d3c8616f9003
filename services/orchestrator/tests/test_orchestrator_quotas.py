"""What one client may hold, each bound attacked over real HTTP (uvicorn on loopback, a fake
discovery and a fake worker, a mesh secret): runs in progress counting parked ones, approval
checking it, the token bucket of starts, SSE streams per client and per run; on Postgres,
two replicas sharing the runs and the bucket, and a follower on the other replica woken by
NOTIFY instead of polling."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from orch_fakes import Served, fake_discovery_app, fake_worker_app, record, serve, stop

from mesh_auth import Keys
from mesh_contracts import StreamEvent
from mesh_orchestrator.app import create_app
from mesh_orchestrator.runs.build import build_runs
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.store import PostgresRunStore, RunRecord
from mesh_orchestrator.settings import Settings
from mesh_testkit.postgres import PG_ADMIN, postgres_answers, scratch_database

KEYS = Keys(b"q" * 48)
DEADLINE = 15.0


def auth(scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS.issue(scope, 86400)}"}


ALICE, BOB, ADMIN = auth("client:alice"), auth("client:bob"), auth("admin")


def body(gate: str = "", **options: Any) -> dict[str, Any]:
    task = {"task_id": "t1", "capability": "text_generation", "agent_id": "w0", "input": {}}
    if gate:
        task["input"] = {"gate": gate}
    return {"plan": {"tasks": [task]}, "options": {"on_disconnect": "continue", **options}}


class Orchestrators:
    """A fake discovery and worker, and orchestrators over them (``add``)."""

    def __init__(self) -> None:
        self.served: list[Served] = []

    async def start(self) -> Orchestrators:
        self.disc = await serve(fake_discovery_app())
        self.worker = await serve(fake_worker_app("w0"))
        self.served += [self.disc, self.worker]
        self.disc.app.state.publish(
            [
                record(
                    agent_id="w0",
                    endpoint=self.worker.url,
                    capabilities=["text_generation"],
                    streaming_mode="dynamic_events",
                )
            ]
        )
        return self

    async def add(self, **settings: Any) -> Served:
        s = Settings(
            discovery_url=self.disc.url,
            watch_wait_seconds=1.0,
            discovery_retry_seconds=0.05,
            planner="deterministic",
            **settings,
        )
        orch = await serve(create_app(s, keys=KEYS))
        self.served.append(orch)
        async with httpx.AsyncClient() as c:
            for _ in range(500):
                if (await c.get(orch.url + "/health")).json()["agents"] == 1:
                    break
                await asyncio.sleep(0.02)
        return orch

    async def remove(self, orch: Served) -> None:
        self.served.remove(orch)
        await stop(orch)

    def release(self, gate: str) -> None:
        self.worker.app.state.fake.gate(gate).set()

    async def close(self) -> None:
        for s in reversed(self.served):
            await stop(s)


@pytest.fixture
async def mesh() -> AsyncIterator[Orchestrators]:
    m = await Orchestrators().start()
    yield m
    await m.close()


async def parked(c: httpx.AsyncClient, url: str, who: dict[str, str]) -> str:
    r = await c.post(url + "/orchestrate", json=body(approval="required"), headers=who)
    assert r.status_code == 200 and r.json()["status"] == "awaiting_approval", r.text
    return str(r.json()["run_id"])


async def until_accepted(send: Any) -> httpx.Response:
    """Send until the answer is not a 429 (a slot given back on another task), bounded."""
    deadline = time.monotonic() + DEADLINE
    while True:
        r: httpx.Response = await send()
        if r.status_code != 429 or time.monotonic() > deadline:
            return r
        await asyncio.sleep(0.05)


async def test_parked_runs_count_against_the_clients_runs_in_progress(
    mesh: Orchestrators, tmp_path: Path
) -> None:
    orch = await mesh.add(db_path=tmp_path / "o.sqlite3", max_runs_per_client=2)
    async with httpx.AsyncClient(base_url=orch.url, timeout=DEADLINE) as c:
        first = await parked(c, orch.url, ALICE)
        await parked(c, orch.url, ALICE)
        third = await c.post("/orchestrate", json=body(), headers=ALICE)
        assert third.status_code == 429 and third.headers["retry-after"] == "5"
        assert "2 runs in progress (running or awaiting approval)" in third.json()["detail"]
        assert (await c.post("/orchestrate", json=body(), headers=BOB)).status_code == 200
        assert (await c.post("/orchestrate", json=body(), headers=ADMIN)).status_code == 200
        rejected = await c.post(f"/v1/runs/{first}/reject", headers=ALICE)
        assert rejected.status_code == 202
        again = await c.post("/orchestrate", json=body(), headers=ALICE)
        assert again.status_code == 200 and again.json()["status"] == "completed"


async def test_approving_is_refused_while_the_client_holds_more_runs_than_it_may(
    mesh: Orchestrators, tmp_path: Path
) -> None:
    db = tmp_path / "o.sqlite3"
    orch = await mesh.add(db_path=db, max_runs_per_client=2)
    async with httpx.AsyncClient(timeout=DEADLINE) as c:
        a, b = await parked(c, orch.url, ALICE), await parked(c, orch.url, ALICE)
    await mesh.remove(orch)
    # the operator lowers the limit: alice holds 2 parked runs, 1 is allowed now
    orch = await mesh.add(db_path=db, max_runs_per_client=1)
    async with httpx.AsyncClient(base_url=orch.url, timeout=DEADLINE) as c:
        refused = await c.post(f"/v1/runs/{a}/approve", headers=ADMIN)  # whoever approves
        assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
        assert "1 runs in progress" in refused.json()["detail"]
        assert (await c.get(f"/v1/runs/{a}", headers=ALICE)).json()["status"] == (
            "awaiting_approval"
        )
        assert (await c.post(f"/v1/runs/{b}/reject", headers=ALICE)).status_code == 202
        assert (await c.post(f"/v1/runs/{a}/approve", headers=ALICE)).status_code == 202


async def test_runs_and_plans_draw_on_one_bucket_per_client_answered_429_with_retry_after(
    mesh: Orchestrators, tmp_path: Path
) -> None:
    orch = await mesh.add(
        db_path=tmp_path / "o.sqlite3", client_burst=2, client_rate_per_second=0.01
    )
    async with httpx.AsyncClient(base_url=orch.url, timeout=DEADLINE) as c:
        plan = await c.post("/v1/plans", json={"query": "write a poem"}, headers=ALICE)
        assert plan.status_code != 429
        assert (await c.post("/orchestrate", json=body(), headers=ALICE)).status_code == 200
        for path, sent in (("/v1/plans", {"query": "write a poem"}), ("/orchestrate", body())):
            r = await c.post(path, json=sent, headers=ALICE)
            assert r.status_code == 429, path
            assert 1 <= int(r.headers["retry-after"]) <= 100  # a token every 100 s
            assert "faster than 0.01 per second" in r.json()["detail"]
        assert (await c.post("/orchestrate", json=body(), headers=BOB)).status_code == 200
        for _ in range(3):  # admin is not bounded
            assert (await c.post("/orchestrate", json=body(), headers=ADMIN)).status_code == 200


async def test_streams_are_capped_per_client_and_per_run(
    mesh: Orchestrators, tmp_path: Path
) -> None:
    orch = await mesh.add(
        db_path=tmp_path / "o.sqlite3", max_streams_per_client=1, max_streams_per_run=2
    )
    async with httpx.AsyncClient(base_url=orch.url, timeout=DEADLINE) as c:
        async with c.stream("POST", "/orchestrate/stream", json=body("g"), headers=ALICE) as s:
            assert s.status_code == 200
            run_id = s.headers["content-location"].rsplit("/", 1)[1]
            more = await c.get(f"/v1/runs/{run_id}/events", headers=ALICE)
            assert more.status_code == 429 and more.headers["retry-after"] == "5"
            assert "already has 1 streams open" in more.json()["detail"]
            async with c.stream("GET", f"/v1/runs/{run_id}/events", headers=ADMIN) as second:
                assert second.status_code == 200  # alice's and this one: the run's 2
                third = await c.get(f"/v1/runs/{run_id}/events", headers=ADMIN)
                assert third.status_code == 429
                assert f"run {run_id!r} already has 2 streams open" in third.json()["detail"]
        # alice's stream ended: her slot comes back (once the server saw her leave)
        mesh.release("g")
        again = await until_accepted(lambda: c.get(f"/v1/runs/{run_id}/events", headers=ALICE))
        assert again.status_code == 200 and '"type":"done"' in again.text


# ---- Postgres: the bounds hold across replicas ---------------------------------------------


needs_postgres = pytest.mark.skipif(not postgres_answers(), reason=f"no Postgres at {PG_ADMIN}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_database("mesh_quota") as url:
        yield url


@needs_postgres
async def test_two_replicas_share_a_clients_runs_in_progress_and_its_bucket(
    pg_url: str,
    mesh: Orchestrators,
    tmp_path: Path,  # the database outlives the replicas
) -> None:
    limits = {"max_runs_per_client": 1, "client_burst": 3, "client_rate_per_second": 0.01}
    a = await mesh.add(database_url=pg_url, replica_id="a", db_path=tmp_path / "a", **limits)
    b = await mesh.add(database_url=pg_url, replica_id="b", db_path=tmp_path / "b", **limits)
    live = {"json": body("g"), "headers": ALICE}
    async with (
        httpx.AsyncClient(timeout=DEADLINE) as c,
        c.stream("POST", a.url + "/orchestrate/stream", **live),  # token 1
    ):
        on_b = await c.post(b.url + "/orchestrate", json=body(), headers=ALICE)  # token 2
        assert on_b.status_code == 429 and "1 runs in progress" in on_b.json()["detail"]
        plans = await c.post(b.url + "/v1/plans", json={"query": "a poem"}, headers=ALICE)
        assert plans.status_code != 429  # token 3: the last of the burst, on either
        on_a = await c.post(a.url + "/v1/plans", json={"query": "a poem"}, headers=ALICE)
        assert on_a.status_code == 429 and "faster than" in on_a.json()["detail"]
        mesh.release("g")


@needs_postgres
async def test_a_follower_on_another_replica_is_woken_by_notify_not_by_polling(
    pg_url: str,
) -> None:
    writer, reader = PostgresRunStore(pg_url), PostgresRunStore(pg_url)
    await writer.open()
    await reader.open()
    # Its follow_poll_seconds (0.2 s) is what it would poll at, were notifications not heard.
    runs = build_runs(None, EventMux(reader), reader, lease_seconds=60)
    try:
        await runs.recover()
        run = RunRecord(
            run_id=uuid.uuid4().hex, query="q", created_at=time.time(), lease_owner="other",
            epoch=1, lease_expires_at=time.time() + 60,
        )  # fmt: skip
        await writer.save_run(run)
        feed = await runs.events(run.run_id)
        assert feed is not None
        async with asyncio.timeout(DEADLINE):
            while not runs.wakeups.listening:  # noqa: ASYNC110 - the listener's own flag
                await asyncio.sleep(0.02)
        read = asyncio.Event()
        store_read = reader.events_after

        async def noting(*args: Any, **kw: Any) -> list[StreamEvent]:
            events = await store_read(*args, **kw)
            reads.append(len(events))
            read.set()
            return events

        reads: list[int] = []
        reader.events_after = noting  # type: ignore[method-assign]
        first = asyncio.create_task(feed.take())
        await read.wait()  # it read the empty log: from now on only a wake-up re-reads it
        # A second with nothing stored: no poll (five at 0.2 s) reads the store meanwhile.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(first), 1.0)
        assert reads == [0]
        ev = {"run_id": run.run_id, "type": "token", "data": {"token": "hi"}}
        await writer.append_events([StreamEvent.model_validate({**ev, "seq": 1})], {run.run_id: 1})
        async with asyncio.timeout(DEADLINE):
            got = await first
        assert got is not None and [e.seq for e in got] == [1]
        assert reads == [0, 1]  # read once more: woken by the writer's notification
        run.status, run.last_seq = "completed", 2  # type: ignore[assignment]
        done = {"run_id": run.run_id, "seq": 2, "type": "done", "data": {"status": "completed"}}
        await writer.append_events([StreamEvent.model_validate(done)], {run.run_id: 1})
        await writer.save_run(run)
        async with asyncio.timeout(DEADLINE):
            last = await feed.take()
            assert last is not None and [e.type for e in last] == ["done"]
            assert await feed.take() is None
    finally:
        await runs.shutdown()
        await reader.close()
        await writer.close()
