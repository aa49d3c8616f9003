"""A run's own read of discovery (``ORCH_REGISTRY_READ``): a conditional GET that a run makes
when the orchestrator's cached registry cannot place one of its tasks, and at the start of
a traced run (``always``: of every run), never waited for while the cache suffices.

The fake discovery can hold its answers (``app.state.hold``): to the watch only (so the
cache falls behind what discovery knows) or to every read (so a run that waited on
discovery could not finish). ``app.state.reads`` has one entry per non-blocking read."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import final_status, plan, wait_for
from test_orchestrator_metrics import scrape
from test_orchestrator_tracing import run_to_done

from conftest import MeshFactory

BODY = {"query": "q", "plan": plan({"task_id": "t1", "input": {"prompt": "x"}})}


async def registry_index(mesh: Mesh) -> int:
    async with httpx.AsyncClient() as c:
        index: int = (await c.get(mesh.url + "/health")).json()["registry_index"]
    return index


async def reads(mesh: Mesh) -> dict[str, float]:
    return {
        dict(labels)["outcome"]: v
        for (name, labels), v in (await scrape(mesh.url)).items()
        if name == "mesh_registry_reads_total"
    }


async def behind(mesh: Mesh) -> asyncio.Event:
    """Publish the writer without the orchestrator's watch learning of it (until the
    returned event is set)."""
    hold = asyncio.Event()
    mesh.disc.app.state.hold = hold
    mesh.disc.app.state.publish([writer_like(mesh.workers[0].url)])
    assert await registry_index(mesh) < mesh.disc.app.state.index
    return hold


async def test_a_run_whose_cache_falls_short_reads_discovery_before_it_fails(
    mesh_factory: MeshFactory,
) -> None:
    # the read's own timeout well above a loaded machine's pauses: this test is about the
    # read being made and used, not about how long it may take
    mesh = await mesh_factory(registry_read_seconds=10.0)
    hold = await behind(mesh)
    try:
        events = await run_to_done(mesh.url, BODY)
        said = [(e["type"], e["task_id"], e["data"]) for e in events if e["type"] != "token"]
        assert final_status(events, "t1")["status"] == "completed", (
            said
        )  # failed once, in a full run
        assert not [e for e in events if e["data"].get("status") == "replanning"]
        assert await registry_index(mesh) == mesh.disc.app.state.index  # taken by the run
        assert await reads(mesh) == {"changed": 1.0}
    finally:
        hold.set()


async def test_with_reads_off_a_run_whose_cache_falls_short_fails(
    mesh_factory: MeshFactory,
) -> None:
    mesh = await mesh_factory(registry_read="off")
    hold = await behind(mesh)
    before = len(mesh.disc.app.state.reads)  # the start-up read
    try:
        events = await run_to_done(mesh.url, BODY)
        assert events[-1]["data"]["status"] == "failed"
        assert "no healthy agent serves capability 'text_generation'" in str(events)
        assert len(mesh.disc.app.state.reads) == before
        assert await reads(mesh) == {}
    finally:
        hold.set()


@pytest.mark.parametrize(("mode", "made"), [("auto", 0), ("always", 2)])
async def test_an_untraced_run_reads_discovery_only_when_told_to_always(
    mesh_factory: MeshFactory, mode: str, made: int
) -> None:
    mesh = await mesh_factory(registry_read=mode)
    await mesh.register(writer_like(mesh.workers[0].url))
    before = len(mesh.disc.app.state.reads)
    for _ in range(2):
        assert (await run_to_done(mesh.url, BODY))[-1]["data"]["status"] == "completed"

    async def all_answered() -> bool:
        return await reads(mesh) == ({"current": 2.0} if made else {})  # a 304 each

    await wait_for(all_answered, f"{made} reads answered 304")
    assert len(mesh.disc.app.state.reads) == before + made


async def test_a_run_never_waits_for_its_read_when_its_cache_can_place_every_task(
    mesh_factory: MeshFactory,
) -> None:
    mesh = await mesh_factory(registry_read="always")
    await mesh.register(writer_like(mesh.workers[0].url))
    hold = asyncio.Event()
    mesh.disc.app.state.hold, mesh.disc.app.state.hold_kind = hold, "all"
    before = len(mesh.disc.app.state.reads)
    try:
        events: list[dict[str, Any]] = await run_to_done(mesh.url, BODY)
        assert events[-1]["data"]["status"] == "completed"
        assert len(mesh.disc.app.state.reads) == before + 1  # its read, still held
        assert await reads(mesh) == {}
    finally:
        hold.set()
    await wait_for(lambda: reads(mesh), "the held read answered")
