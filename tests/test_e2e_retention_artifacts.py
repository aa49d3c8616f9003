"""Retention removes a run's files on the workers too, on real processes with tokens:
discovery, the image worker (tiny model, CPU) and the orchestrator with a mesh secret and
``ORCH_RETENTION_SECONDS``. A removed run's PNG leaves the worker's disk (the orchestrator's
authenticated ``DELETE /artifacts/{name}``); a pinned run keeps its image; the deletions are
counted in ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_auth import Keys
from mesh_testkit import read_sse
from mesh_testkit.mesh import process_mesh

SECRET = "ret-" + "r" * 44
KEYS = Keys(SECRET.encode())
ALICE = {"Authorization": f"Bearer {KEYS.issue('client:alice', 86400)}"}
ADMIN = {"Authorization": f"Bearer {KEYS.issue('admin', 86400)}"}


@dataclass
class World:
    orch: str
    images: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("retention-artifacts")
    images = tmp / "images"
    env = {"ORCH_PLANNER": "deterministic", "ORCH_LOG_LEVEL": "warning",
           "ORCH_RETENTION_SECONDS": "5", "ORCH_RETENTION_EVERY_SECONDS": "0.3"}  # fmt: skip
    with process_mesh(
        tmp,
        {"image-gen": "mesh_worker_image_gen"},
        env={"MESH_AUTH_SECRET": SECRET},
        orchestrator_env=env,
        worker_env={
            "IMAGEGEN_OUTPUT_DIR": str(images),
            "IMAGEGEN_DEVICE": "cpu",
            "WORKER_LOG_LEVEL": "warning",
        },
        headers=ADMIN,
    ) as mesh:
        yield World(mesh.orch.url, images)


async def draw(c: httpx.AsyncClient, prompt: str) -> tuple[str, dict[str, Any]]:
    """Alice's run of one image task: its id and its artifact event's data."""
    plan = {"tasks": [{"task_id": "t", "capability": "image_generation",
                       "input": {"prompt": prompt, "steps": 1}}]}  # fmt: skip
    body = {"plan": plan, "options": {"on_disconnect": "continue"}}
    events: list[dict[str, Any]] = []
    async for msg in read_sse(c, "POST", "/orchestrate/stream", json=body, headers=ALICE):
        events.append(msg.json())
    assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "completed", events[-3:]
    [artifact] = [e["data"] for e in events if e["type"] == "artifact"]
    return events[0]["run_id"], artifact


async def test_a_removed_runs_image_leaves_the_workers_disk_a_pinned_runs_stays(
    world: World,
) -> None:
    async with asyncio.timeout(120), httpx.AsyncClient(base_url=world.orch, timeout=60) as c:
        kept, kept_art = await draw(c, "a lighthouse to keep")
        pin = await c.post(f"/v1/runs/{kept}/pin", headers=ALICE)
        assert pin.status_code == 200, pin.text
        gone, gone_art = await draw(c, "a lighthouse to let go")
        kept_file, gone_file = world.images / kept_art["name"], world.images / gone_art["name"]
        # Young: the run and its file are there until the run is older than the retention.
        assert gone_file.is_file()
        assert (await c.get(f"/v1/runs/{gone}", headers=ALICE)).status_code == 200
        while (await c.get(f"/v1/runs/{gone}", headers=ALICE)).status_code != 404:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        # The run went only once its file was deleted on the worker (with its owner file).
        assert not gone_file.exists()
        assert not (world.images / f"{gone_art['name']}.json").exists()
        assert (await c.get(gone_art["url"], headers=ALICE)).status_code == 404
        # The pinned run keeps its image, on disk and for its owner.
        assert kept_file.is_file()
        assert (await c.get(kept_art["url"], headers=ALICE)).status_code == 200
        assert (await c.get(f"/v1/runs/{kept}", headers=ALICE)).json()["pinned"] is True
        metrics = (await c.get("/metrics", headers=ADMIN)).text
    removed = [line for line in metrics.splitlines()
               if line.startswith('mesh_retention_removed_total{kind="artifacts"}')]  # fmt: skip
    assert removed and float(removed[0].split()[-1]) >= 1, metrics[-2000:]
