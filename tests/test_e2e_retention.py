"""Retention on a real orchestrator process: finished runs past ``ORCH_RETENTION_SECONDS``
are removed with their events; a pinned run and a run still in progress stay; the
removals are counted in ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mesh_testkit import ServiceProcess, read_sse
from mesh_testkit.mesh import process_mesh


@pytest.fixture(scope="module")
def orch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    env = {"ORCH_PLANNER": "deterministic", "ORCH_LOG_LEVEL": "warning",
           "ORCH_RETENTION_SECONDS": "2", "ORCH_RETENTION_EVERY_SECONDS": "0.3"}  # fmt: skip
    with process_mesh(
        tmp_path_factory.mktemp("retention"), {"script": "bench.script_worker"},
        orchestrator_env=env, worker_env={"WORKER_LOG_LEVEL": "warning"},
    ) as mesh:  # fmt: skip
        yield mesh.orch


async def run(c: httpx.AsyncClient, url: str, task_input: dict[str, Any]) -> str:
    plan = {"tasks": [{"task_id": "t", "capability": "data_analysis", "input": task_input}]}
    body = {"plan": plan, "options": {"on_disconnect": "continue"}}
    run_id = ""
    async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json=body):
        run_id = msg.json()["run_id"]
    return run_id


async def test_retention_removes_only_old_unpinned_finished_runs(orch: ServiceProcess) -> None:
    async with asyncio.timeout(60), httpx.AsyncClient(base_url=orch.url, timeout=30) as c:
        kept = await run(c, orch.url, {"reply": "keep me"})
        gone = await run(c, orch.url, {"reply": "let me go"})
        waiting = await run(c, orch.url, {"ask": ["Still there?"]})  # parked: in progress
        pin = await c.post(f"/v1/runs/{kept}/pin")
        assert pin.status_code == 200 and pin.json() == {"run_id": kept, "pinned": True}
        assert (await c.post("/v1/runs/nope/pin")).status_code == 404
        while (await c.get(f"/v1/runs/{gone}")).status_code != 404:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        assert (await c.get(f"/v1/runs/{gone}/events")).status_code == 404
        assert (await c.get(f"/v1/runs/{kept}")).json()["pinned"] is True
        assert (await c.get(f"/v1/runs/{waiting}")).json()["status"] == "input_required"
        metrics = (await c.get("/metrics")).text
    removed = [line for line in metrics.splitlines()
               if line.startswith('mesh_retention_removed_total{kind="runs"}')]  # fmt: skip
    assert removed and float(removed[0].split()[-1]) >= 1
