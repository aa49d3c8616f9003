"""A call that must never run twice is logged before it goes out: when the worker receives
the request, the run store already holds the task's ``running`` status with the call's
idempotency key and instance. A replica that dies at any moment after that leaves a log
whose next owner asks the instance about the key (and parks the task in doubt when nobody
knows it); before, a replica killed between the worker taking the call and the 50 ms flush
left a task that looked unstarted, and the next owner ran it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import Request
from orch_fakes import writer_like
from test_orchestrator_api import plan

from mesh_contracts import TaskRequest
from mesh_orchestrator.runs.store import SQLiteRunStore


async def stored_statuses(db: Path, run_id: str, task_id: str) -> list[dict[str, Any]]:
    store = SQLiteRunStore(db)
    await store.open()
    try:
        events = await store.events_after(run_id)
    finally:
        await store.close()
    return [e.data for e in events if e.type == "status" and e.task_id == task_id]


async def seen_at_the_worker(mesh_factory: Any, tmp_path: Path, retry_safe: bool) -> list[Any]:
    """What the store held about task ``a`` when the worker received its call."""
    mesh = await mesh_factory()
    seen: list[Any] = []

    async def on_call(task: TaskRequest, request: Request) -> None:
        assert task.run_id is not None
        statuses = await stored_statuses(tmp_path / "orch.sqlite3", task.run_id, "a")
        seen.append((request.headers.get("idempotency-key"), statuses))

    mesh.worker(0).on_call = on_call
    await mesh.register(writer_like(mesh.workers[0].url, retry_safe=retry_safe))
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(mesh.url + "/orchestrate", json={"plan": plan({"task_id": "a"})})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    return seen


async def test_a_call_not_safe_to_retry_is_stored_as_running_before_the_worker_gets_it(
    mesh_factory: Any, tmp_path: Path
) -> None:
    [(key, statuses)] = await seen_at_the_worker(mesh_factory, tmp_path, retry_safe=False)
    assert key and key.endswith("@1"), key
    running = [s for s in statuses if s["status"] == "running"]
    assert len(running) == 1, statuses
    assert running[0]["key"] == key
    assert running[0]["instance_id"] == "fakewriter" and running[0]["attempt"] == 1


async def test_a_call_safe_to_retry_does_not_wait_for_the_store(
    mesh_factory: Any, tmp_path: Path
) -> None:
    """Only calls that must never run twice pay the store's round trip: a retry-safe one
    goes out at once (its ``running`` status follows the worker's answer)."""
    [(key, statuses)] = await seen_at_the_worker(mesh_factory, tmp_path, retry_safe=True)
    assert key
    assert not [s for s in statuses if s["status"] == "running"], statuses
