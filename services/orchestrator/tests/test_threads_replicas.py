"""Threads across replicas: two orchestrators on one Postgres database (a database of its
own, made and dropped here), a thread made on one and continued on the other.

Skips when Postgres is not at 127.0.0.1:5432 (db ``test``, trust auth).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_fakes import Mesh, Served, fake_discovery_app, fake_worker_app, serve, stop, writer_like
from test_orchestrator_api import collect, plan, wait_for
from test_run_store import PG_URL, _pg_reachable

from mesh_orchestrator.app import create_app
from mesh_orchestrator.settings import Settings
from mesh_testkit.postgres import scratch_database

pytestmark = pytest.mark.skipif(not _pg_reachable(), reason=f"no Postgres at {PG_URL}")

FIRST = ["Rain falls softly on the roofs.", "\n\n", "The sun comes back at noon."]


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[Mesh, str]]:
    """One discovery, one fake worker, replicas ``a`` (the mesh's) and ``b`` (its url)."""
    with scratch_database("mesh_threads") as url:
        disc = await serve(fake_discovery_app())
        worker = await serve(fake_worker_app("w0"))
        started: list[Served] = [disc, worker]
        try:
            orchs = []
            for replica in ("a", "b"):
                s = Settings(
                    discovery_url=disc.url,
                    database_url=url,
                    replica_id=replica,
                    db_path=tmp_path / f"{replica}.sqlite3",
                    watch_wait_seconds=1.0,
                    discovery_retry_seconds=0.05,
                )
                orchs.append(await serve(create_app(s)))
            started += orchs
            mesh = Mesh(disc, [worker], orchs[0])
            yield mesh, orchs[1].url
        finally:
            for s in reversed(started):
                await stop(s)


async def _seen_by(url: str, n: int) -> bool:
    async with httpx.AsyncClient() as c:
        return bool((await c.get(url + "/health")).json()["agents"] >= n)


async def test_a_follow_up_on_another_replica_waits_for_the_run_and_plans_against_it(
    replicas: tuple[Mesh, str],
) -> None:
    mesh, b = replicas
    await mesh.register(
        writer_like(
            mesh.workers[0].url, capabilities=["text_generation", "summarization", "translation"]
        )
    )
    await wait_for(lambda: _seen_by(b, 1), "replica b to see the writer")
    async with httpx.AsyncClient(timeout=30) as c:
        thread_id = (await c.post(mesh.url + "/v1/threads", json={})).json()["thread_id"]
        gated: dict[str, Any] = {
            "plan": plan({"task_id": "essay", "input": {"gate": "x", "tokens": FIRST}}),
            "thread_id": thread_id,
            "options": {"on_disconnect": "continue"},
        }

        async def started(e: dict[str, Any]) -> bool:
            return e["type"] == "status" and e["data"].get("status") == "running"

        first = (await collect(mesh.url, gated, until=started))[0]["run_id"]
        refused = await c.post(
            b + "/orchestrate",
            json={"query": "write a poem", "thread_id": thread_id, "multitask_strategy": "reject"},
        )

        async def queued(e: dict[str, Any]) -> bool:
            return e["type"] == "status" and e["data"].get("status") == "queued"

        follow_up = {
            "query": "now translate the second paragraph into German",
            "thread_id": thread_id,
            "options": {"on_disconnect": "continue"},
        }
        events = await collect(b, follow_up, until=queued)
        second = events[0]["run_id"]
        await c.post(mesh.workers[0].url + "/release/x")

        async def ended() -> bool:
            return (await c.get(f"{b}/v1/runs/{second}")).json()["status"] == "completed"

        await wait_for(ended, "the follow-up on replica b to complete", 30)
        run = (await c.get(f"{b}/v1/runs/{second}")).json()
        thread = (await c.get(f"{b}/v1/threads/{thread_id}")).json()
    assert refused.status_code == 409 and first in refused.json()["detail"]
    assert events[-1]["data"]["reason"] == f"after run {first}"
    assert "The sun comes back at noon." in run["plan"][0]["input"]["prompt"]
    assert "Rain falls" not in run["plan"][0]["input"]["prompt"]
    assert run["lease"]["owner"] == "b"
    assert [r["run_id"] for r in thread["runs"]] == [first, second]
