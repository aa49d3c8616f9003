"""Threads and webhooks with a mesh secret: a thread is its client's like a run, and a
client's default webhook hears its own runs only (``test_orchestrator_auth``'s mesh)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from orch_fakes import serve, stop
from test_orchestrator_api import wait_for
from test_orchestrator_auth import ADMIN, ALICE, BOB, DEADLINE, Mesh, plan
from test_orchestrator_webhooks import Receiver

from mesh_orchestrator.push.delivery import verify


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    m = await Mesh().start(tmp_path)
    yield m
    await m.stop()


async def test_a_thread_is_seen_and_continued_only_by_its_client(mesh: Mesh) -> None:
    async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
        made = await c.post("/v1/threads", json={"thread_id": "alices"}, headers=ALICE)
        assert made.status_code == 201 and made.json()["owner"] == "client:alice"
        run = await c.post("/orchestrate", json={**plan(), "thread_id": "alices"}, headers=ALICE)
        assert run.json()["status"] == "completed"
        for_bob = await c.get("/v1/threads/alices", headers=BOB)
        bob_runs = await c.post("/orchestrate", json={**plan(), "thread_id": "alices"}, headers=BOB)
        for_admin = await c.get("/v1/threads/alices", headers=ADMIN)
        for_alice = await c.get("/v1/threads/alices", headers=ALICE)
        anonymous = await c.get("/v1/threads/alices")
    assert for_bob.status_code == 404 and for_bob.json() == {"detail": "unknown thread 'alices'"}
    assert bob_runs.status_code == 404
    assert for_admin.status_code == 200
    assert [r["run_id"] for r in for_alice.json()["runs"]] == [run.json()["run_id"]]
    assert anonymous.status_code == 401


async def test_a_clients_default_webhook_hears_its_runs_and_not_anothers(mesh: Mesh) -> None:
    receiver = Receiver()
    served = await serve(receiver.app())
    try:
        async with httpx.AsyncClient(base_url=mesh.url, timeout=DEADLINE) as c:
            hook = served.url + "/hook"
            set_ = await c.put("/v1/webhook", json={"url": hook}, headers=ALICE)
            shown = await c.get("/v1/webhook", headers=ALICE)
            none = await c.get("/v1/webhook", headers=BOB)
            # a name that resolves to the metadata address is refused when it is given
            bad = await c.put(
                "/v1/webhook", json={"url": "http://meta.mesh.test:8001/x"}, headers=BOB
            )
            bobs = await c.post("/orchestrate", json=plan(), headers=BOB)
            alices = await c.post("/orchestrate", json=plan(), headers=ALICE)
            await wait_for(lambda: receiver.accepted, "alice's run to be told")
            gone = await c.delete("/v1/webhook", headers=ALICE)
            after = await c.get("/v1/webhook", headers=ALICE)
    finally:
        await stop(served)
    secret = set_.json()["secret"]
    assert set_.status_code == 200 and shown.json() == {"url": hook, "secret": secret}
    assert none.status_code == 404
    assert bad.status_code == 422 and "169.254.169.254" in bad.text
    assert bobs.json()["status"] == alices.json()["status"] == "completed"
    [post] = receiver.accepted.values()
    body = json.loads(post["body"])
    assert body["run_id"] == alices.json()["run_id"] and body["event"] == "run.completed"
    assert verify(secret, post["body"], post["headers"]["x-mesh-signature"])
    assert gone.status_code == 204 and after.status_code == 404
