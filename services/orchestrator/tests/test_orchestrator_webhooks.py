"""Webhooks and A2A push notifications: a real receiver on loopback that fails, signed
deliveries with one id each, the endpoint policy, and an orchestrator process killed
between a run's state change and its delivery (its restart delivers it; another replica,
a process of its own on the same store, delivers it once the killed one's lease lapses)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from orch_fakes import Served, fake_discovery_app, serve, stop, writer_like
from test_orchestrator_api import plan, wait_for
from test_run_store import PG_URL, _pg_reachable

from conftest import MeshFactory
from mesh_orchestrator.push.delivery import verify
from mesh_testkit import ServiceProcess, free_port
from mesh_testkit.postgres import scratch_database

SECRET = "a-secret-of-this-subscription"


class Receiver:
    """A webhook receiver: answers 500 to the first ``fail`` posts (503 while ``down``),
    keeps every post, and accepts each delivery id once (a repeat is acknowledged and
    dropped, as a receiver should)."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.down = False
        self.posts: list[dict[str, Any]] = []
        self.accepted: dict[str, dict[str, Any]] = {}
        self.repeats = 0
        self.on_post: Callable[[], None] | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> JSONResponse:
            body = await request.body()
            post = {"headers": dict(request.headers), "body": body}
            self.posts.append(post)
            if self.on_post is not None:
                self.on_post()
            if self.down:
                return JSONResponse({"detail": "down"}, status_code=503)
            if self.fail > 0:
                self.fail -= 1
                return JSONResponse({"detail": "try later"}, status_code=500)
            did = request.headers["x-mesh-delivery"]
            if did in self.accepted:
                self.repeats += 1
            else:
                self.accepted[did] = post
            return JSONResponse({"ok": True})

        return app

    def events(self) -> list[str]:
        return [json.loads(p["body"]).get("event", "") for p in self.accepted.values()]


@pytest.fixture
async def receiver_factory() -> Any:
    started: list[Served] = []

    async def make(fail: int = 0) -> tuple[Receiver, str]:
        r = Receiver(fail)
        s = await serve(r.app())
        started.append(s)
        return r, s.url + "/hook"

    yield make
    for s in started:
        await stop(s)


async def test_a_receiver_failing_twice_gets_the_delivery_once_signed_with_one_id(
    mesh_factory: MeshFactory, receiver_factory: Any
) -> None:
    mesh = await mesh_factory(webhook_backoff_seconds=0.05)
    await mesh.register(writer_like(mesh.workers[0].url))
    receiver, url = await receiver_factory(fail=2)
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(
            mesh.url + "/orchestrate",
            json={
                "plan": plan({"task_id": "t", "input": {"tokens": ["done"]}}),
                "options": {"webhook": {"url": url, "secret": SECRET}},
            },
        )
        run_id = r.json()["run_id"]
        await wait_for(lambda: receiver.accepted, "the delivery to be accepted")
        await wait_for(lambda: _delivered(c, mesh.url, run_id), "the outbox to say delivered")
        rows = (await c.get(f"{mesh.url}/v1/runs/{run_id}/webhooks")).json()
        shown = (await c.get(f"{mesh.url}/v1/runs/{run_id}")).json()
    assert len(receiver.posts) == 3  # 500, 500, 200
    ids = {p["headers"]["x-mesh-delivery"] for p in receiver.posts}
    assert len(ids) == 1 and len(receiver.accepted) == 1 and receiver.repeats == 0
    for p in receiver.posts:
        assert verify(SECRET, p["body"], p["headers"]["x-mesh-signature"])
        assert p["headers"]["x-mesh-event"] == "completed"
    body = json.loads(receiver.posts[-1]["body"])
    assert body["run_id"] == run_id and body["event"] == "run.completed"
    assert body["answer"] and body["delivery_id"] in ids
    assert not verify(
        "another-secret-entirely",
        receiver.posts[-1]["body"],
        receiver.posts[-1]["headers"]["x-mesh-signature"],
    )
    [row] = rows
    assert row["attempts"] == 3 and row["delivered_at"] is not None and row["event"] == "completed"
    assert "secret" not in row
    assert shown["webhook"] == {"url": url, "secret": SECRET}


async def _delivered(c: httpx.AsyncClient, url: str, run_id: str) -> bool:
    rows = (await c.get(f"{url}/v1/runs/{run_id}/webhooks")).json()
    return bool(rows) and all(r["delivered_at"] for r in rows)


async def test_a_run_awaiting_approval_then_cancelled_is_told_twice_with_a_new_secret(
    mesh_factory: MeshFactory, receiver_factory: Any
) -> None:
    mesh = await mesh_factory(webhook_backoff_seconds=0.05)
    await mesh.register(writer_like(mesh.workers[0].url))
    receiver, url = await receiver_factory()
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(
            mesh.url + "/orchestrate",
            json={
                "plan": plan({"task_id": "t", "input": {}}),
                "options": {"approval": "required", "webhook": {"url": url}},
            },
        )
        run_id = r.json()["run_id"]
        await wait_for(lambda: receiver.events() == ["run.awaiting_approval"], "parked")
        await c.post(f"{mesh.url}/v1/runs/{run_id}/cancel")
        await wait_for(lambda: len(receiver.accepted) == 2, "the cancel to be told")
        secret = (await c.get(f"{mesh.url}/v1/runs/{run_id}")).json()["webhook"]["secret"]
    assert receiver.events() == ["run.awaiting_approval", "run.cancelled"]
    assert len(secret) >= 16  # made for the subscription, since none was given
    for p in receiver.accepted.values():
        assert verify(secret, p["body"], p["headers"]["x-mesh-signature"])


async def test_a_webhook_the_endpoint_policy_refuses_is_a_422_and_nothing_runs(
    mesh_factory: MeshFactory,
) -> None:
    mesh = await mesh_factory()
    await mesh.register(writer_like(mesh.workers[0].url))
    async with httpx.AsyncClient(timeout=30) as c:
        for bad in ("http://169.254.169.254/latest/meta-data", "ftp://127.0.0.1/x"):
            r = await c.post(
                mesh.url + "/orchestrate",
                json={"query": "write a poem", "options": {"webhook": {"url": bad}}},
            )
            assert r.status_code == 422 and "endpoint refused" in r.text
        runs = (await c.get(mesh.url + "/v1/runs")).json()
    assert runs == []


async def test_a2a_push_notification_configs_are_set_listed_and_delivered(
    mesh_factory: MeshFactory, receiver_factory: Any
) -> None:
    mesh = await mesh_factory(webhook_backoff_seconds=0.05)
    await mesh.register(writer_like(mesh.workers[0].url))
    receiver, url = await receiver_factory(fail=1)

    async def rpc(c: httpx.AsyncClient, method: str, params: dict[str, Any]) -> Any:
        r = await c.post(
            mesh.url + "/a2a",
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            headers={"A2A-Version": "1.0"},
        )
        return r.json()

    async with httpx.AsyncClient(timeout=30) as c:
        card = (await c.get(mesh.url + "/.well-known/agent-card.json")).json()
        sent = await rpc(
            c,
            "SendMessage",
            {
                "message": {
                    "messageId": "m1",
                    "role": "ROLE_USER",
                    "parts": [{"data": {"plan": plan({"task_id": "t", "input": {"gate": "p"}})}}],
                },
                "configuration": {"returnImmediately": True},
            },
        )
        task_id = sent["result"]["task"]["id"]
        made = await rpc(
            c,
            "CreateTaskPushNotificationConfig",
            {"taskId": task_id, "id": "cfg-1", "url": url, "token": "tok-123"},
        )
        got = await rpc(c, "GetTaskPushNotificationConfig", {"taskId": task_id, "id": "cfg-1"})
        listed = await rpc(c, "ListTaskPushNotificationConfigs", {"taskId": task_id})
        refused = await rpc(
            c,
            "CreateTaskPushNotificationConfig",
            {"taskId": task_id, "id": "cfg-2", "url": "http://169.254.169.254/x"},
        )
        unknown = await rpc(c, "GetTaskPushNotificationConfig", {"taskId": "nope", "id": "cfg-1"})
        await c.post(mesh.workers[0].url + "/release/p")
        await wait_for(lambda: receiver.accepted, "the push notification")
        deleted = await rpc(
            c, "DeleteTaskPushNotificationConfig", {"taskId": task_id, "id": "cfg-1"}
        )
        after = await rpc(c, "ListTaskPushNotificationConfigs", {"taskId": task_id})
    assert card["capabilities"]["pushNotifications"] is True
    assert made["result"]["id"] == "cfg-1" and made["result"]["url"] == url
    assert got["result"]["token"] == "tok-123"
    assert [x["id"] for x in listed["result"]["configs"]] == ["cfg-1"]
    assert "error" in refused and "endpoint refused" in refused["error"]["message"]
    assert unknown["error"]["code"] == -32001  # TaskNotFound
    [accepted] = receiver.accepted.values()
    assert accepted["headers"]["x-a2a-notification-token"] == "tok-123"
    pushed = json.loads(accepted["body"])
    assert pushed["task"]["id"] == task_id
    assert pushed["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert len(receiver.posts) == 2  # one failure, then the same delivery again
    assert len({p["headers"]["x-mesh-delivery"] for p in receiver.posts}) == 1
    assert "error" not in deleted and after["result"].get("configs", []) == []


async def test_a_replica_killed_after_the_state_change_loses_no_delivery(
    tmp_path: Path, receiver_factory: Any
) -> None:
    """The run ends and its delivery is stored; the receiver is down, the orchestrator is
    killed (SIGKILL) while it retries; its restart delivers the same delivery once."""
    receiver, url = await receiver_factory()
    receiver.down = True
    disc = await serve(fake_discovery_app())
    port = free_port()
    env = {
        "ORCH_PORT": str(port),
        "ORCH_DISCOVERY_URL": disc.url,
        "ORCH_DB_PATH": str(tmp_path / "orch.sqlite3"),
        "ORCH_REPLICA_ID": "replica-a",
        "ORCH_PLANNER": "deterministic",
        "ORCH_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "ORCH_WEBHOOK_MAX_ATTEMPTS": "50",
        "ORCH_LOG_LEVEL": "warning",
    }
    env = {k: v for k, v in {**os.environ, **env}.items() if not k.startswith("MESH_AUTH")}
    proc = ServiceProcess("mesh_orchestrator", port, env, startup_timeout=120)
    try:
        await asyncio.to_thread(proc.start)
        async with httpx.AsyncClient(timeout=30) as c:
            # nobody serves the capability: the run ends failed at once
            body = {
                "plan": plan({"task_id": "t", "capability": "nobody_serves_this"}),
                "options": {"webhook": {"url": url, "secret": SECRET}},
            }
            r = await c.post(proc.url + "/orchestrate", json=body)
            assert r.json()["status"] == "failed", r.text
            await wait_for(lambda: receiver.posts, "a first delivery attempt", 20)
            assert proc.proc is not None
            os.killpg(proc.proc.pid, signal.SIGKILL)
            await asyncio.to_thread(proc.proc.wait, 5)
            tried = len(receiver.posts)
            receiver.down = False
            await asyncio.to_thread(proc.start)  # the same replica, restarted
            await wait_for(lambda: receiver.accepted, "the delivery after the restart", 30)
            rows = (await c.get(f"{proc.url}/v1/runs/{r.json()['run_id']}/webhooks")).json()
    finally:
        proc.kill()
        await stop(disc)
    assert tried >= 1 and receiver.repeats == 0
    [(did, post)] = receiver.accepted.items()
    assert {p["headers"]["x-mesh-delivery"] for p in receiver.posts} == {did}
    assert json.loads(post["body"])["event"] == "run.failed"
    assert verify(SECRET, post["body"], post["headers"]["x-mesh-signature"])
    assert len(receiver.posts) > tried  # posted again by the restarted replica
    [row] = rows
    assert row["delivered_at"] is not None


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """What two replicas share: a SQLite file, or a Postgres database of its own."""
    if request.param == "sqlite":
        yield {"ORCH_DB_PATH": str(tmp_path / "shared.sqlite3")}
        return
    if not _pg_reachable():
        pytest.skip(f"no Postgres at {PG_URL}")
    with scratch_database("mesh_hooks") as url:
        yield {"ORCH_DATABASE_URL": url, "ORCH_DB_PATH": str(tmp_path / "unused.sqlite3")}


def _outbox_row(store: dict[str, str], delivery_id: str) -> tuple[Any, ...]:
    """(lease_owner, lease_until, attempts, delivered_at) of a delivery, read from the
    store itself (no replica running)."""
    columns = "lease_owner, lease_until, attempts, delivered_at"
    if "ORCH_DATABASE_URL" in store:
        with psycopg.connect(store["ORCH_DATABASE_URL"]) as conn:
            sql = f"SELECT {columns} FROM mesh_webhook_outbox WHERE delivery_id = %s"
            row = conn.execute(sql, (delivery_id,)).fetchone()
    else:
        with contextlib.closing(sqlite3.connect(store["ORCH_DB_PATH"])) as db:
            sql = f"SELECT {columns} FROM webhook_outbox WHERE delivery_id = ?"
            row = db.execute(sql, (delivery_id,)).fetchone()
    assert row is not None
    return tuple(row)


async def test_a_killed_replicas_delivery_is_posted_by_another_replica_once_its_lease_lapses(
    receiver_factory: Any, shared_store: dict[str, str]
) -> None:
    """Replica A (a process) stores a run's end and its delivery, tries it once against a
    receiver that is down, and is killed (SIGKILL) while it holds the row. Replica B (another
    process, another replica id, the same store) takes the row once A's lease lapses and
    posts it: the receiver accepts the delivery id exactly once, after the lease."""
    receiver, url = await receiver_factory()
    receiver.down = True
    times: list[float] = []
    receiver.on_post = lambda: times.append(time.time())
    disc = await serve(fake_discovery_app())
    lease = 3.0

    def replica(name: str) -> ServiceProcess:
        port = free_port()
        env = {
            "ORCH_PORT": str(port),
            "ORCH_DISCOVERY_URL": disc.url,
            "ORCH_REPLICA_ID": name,
            "ORCH_PLANNER": "deterministic",
            # A's second try would come at least 2 s after its first: it is killed between.
            "ORCH_WEBHOOK_BACKOFF_SECONDS": "2",
            "ORCH_WEBHOOK_MAX_ATTEMPTS": "50",
            "ORCH_WEBHOOK_LEASE_SECONDS": str(lease),
            "ORCH_LOG_LEVEL": "warning",
            **shared_store,
        }
        env = {k: v for k, v in {**os.environ, **env}.items() if not k.startswith("MESH_AUTH")}
        return ServiceProcess("mesh_orchestrator", port, env, startup_timeout=120)

    a, b = replica("replica-a"), replica("replica-b")
    try:
        await asyncio.to_thread(a.start)
        async with httpx.AsyncClient(timeout=30) as c:
            body = {
                "plan": plan({"task_id": "t", "capability": "nobody_serves_this"}),
                "options": {"webhook": {"url": url, "secret": SECRET}},
            }
            r = await c.post(a.url + "/orchestrate", json=body)
            assert r.json()["status"] == "failed", r.text
            run_id = r.json()["run_id"]
            await wait_for(lambda: receiver.posts, "replica A's first try", 20)
            assert a.proc is not None
            os.killpg(a.proc.pid, signal.SIGKILL)
            await asyncio.to_thread(a.proc.wait, 5)
            tried = len(receiver.posts)
            did = receiver.posts[0]["headers"]["x-mesh-delivery"]
            owner, lease_until, attempts, delivered = _outbox_row(shared_store, did)
            assert owner == "replica-a" and delivered is None  # A held it when killed
            assert tried <= attempts <= tried + 1  # each of A's tries was counted
            receiver.down = False
            await asyncio.to_thread(b.start)
            await wait_for(lambda: receiver.accepted, "replica B's delivery", 60)
            await wait_for(lambda: _delivered(c, b.url, run_id), "the outbox to say delivered")
            rows = (await c.get(f"{b.url}/v1/runs/{run_id}/webhooks")).json()
    finally:
        a.kill()
        b.kill()
        await stop(disc)
    assert receiver.repeats == 0
    [(accepted_id, post)] = receiver.accepted.items()
    assert accepted_id == did
    assert {p["headers"]["x-mesh-delivery"] for p in receiver.posts} == {did}
    assert json.loads(post["body"])["event"] == "run.failed"
    assert verify(SECRET, post["body"], post["headers"]["x-mesh-signature"])
    # B took it only once A's lease had lapsed (one clock: this host's)
    assert times[tried] >= lease_until
    [row] = rows
    assert row["delivered_at"] is not None and row["attempts"] == attempts + 1
