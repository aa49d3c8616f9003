"""Runs that outlive their request: replay with Last-Event-ID, a client leaving (cancel or
continue), and the cancel endpoint, against fake workers served on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import _is, collect, final_status, plan, wait_for
from test_orchestrator_metrics import key, scrape

from mesh_testkit import read_sse

HTTP = "mesh_http_requests_total"


async def test_reconnecting_with_last_event_id_returns_exactly_the_later_events(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan({"task_id": "t1", "input": {"gate": "r", "tokens": ["a", "b", "c"]}}),
        "options": {"on_disconnect": "continue"},
    }

    async def leave_when_running(e: dict[str, Any]) -> bool:
        return bool(e["type"] == "status" and e["data"]["status"] == "running")

    first = await collect(mesh.url, body, until=leave_when_running)
    run_id, k = first[0]["run_id"], first[-1]["seq"]
    async with httpx.AsyncClient(timeout=30) as c:
        await c.post(mesh.workers[0].url + "/release/r")
        rest = [
            m.json()
            async for m in read_sse(
                c, "GET", f"{mesh.url}/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(k)}
            )
        ]
        assert [e["seq"] for e in rest] == list(range(k + 1, k + 1 + len(rest)))
        assert rest[-1]["type"] == "done" and rest[-1]["data"]["status"] == "completed"
        whole = [
            m.json()
            async for m in read_sse(c, "GET", f"{mesh.url}/v1/runs/{run_id}/events?after=0")
        ]
        assert whole == first + rest
        again = [
            m.json()
            async for m in read_sse(c, "GET", f"{mesh.url}/v1/runs/{run_id}/events?after=3")
        ]
        assert again == whole[3:]


async def test_a_client_leaving_cancels_the_run_and_the_worker_generation(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"plan": plan({"task_id": "long", "input": {"hang": True}})}

    async def leave_when_started(e: dict[str, Any]) -> bool:
        return bool(e["type"] == "status" and e["data"]["status"] == "running")

    first = await collect(mesh.url, body, until=leave_when_started)
    await wait_for(lambda: "long" in mesh.worker(0).cancelled, "worker cancelled")
    async with httpx.AsyncClient() as c:
        run = f"{mesh.url}/v1/runs/{first[0]['run_id']}"
        await wait_for(lambda: _is(c, run, "cancelled"), "run cancelled")
        events = [m.json() async for m in read_sse(c, "GET", run + "/events")]
    assert events[-1]["data"] == {"status": "cancelled"}
    assert final_status(events, "long") == {"status": "skipped", "reason": "run cancelled"}


async def test_on_disconnect_continue_keeps_the_run_going(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan({"task_id": "t", "input": {"gate": "c"}}),
        "options": {"on_disconnect": "continue"},
    }

    async def leave_when_started(e: dict[str, Any]) -> bool:
        return bool(e["type"] == "status" and e["data"]["status"] == "running")

    first = await collect(mesh.url, body, until=leave_when_started)
    async with httpx.AsyncClient() as c:
        await c.post(mesh.workers[0].url + "/release/c")
        run = f"{mesh.url}/v1/runs/{first[0]['run_id']}"
        await wait_for(lambda: _is(c, run, "completed"), "run completed")
        got = (await c.get(run)).json()
    assert got["status"] == "completed" and mesh.worker(0).cancelled == []
    assert got["plan"][0]["status"] == "completed" and got["plan"][0]["output"] == "hello world"
    assert got["plan"][0]["assigned_agent"] == "fakewriter"


async def test_the_cancel_endpoint_stops_a_run_and_refuses_a_finished_one(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan(
            {"task_id": "long", "input": {"hang": True}},
            {"task_id": "next", "input": {}, "depends_on": ["long"]},
        )
    }
    async with httpx.AsyncClient(timeout=30) as c:
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(20):
            async for m in read_sse(c, "POST", mesh.url + "/orchestrate/stream", json=body):
                events.append(m.json())
                e = events[-1]
                if e["type"] == "status" and e["data"]["status"] == "running":
                    r = await c.post(f"{mesh.url}/v1/runs/{e['run_id']}/cancel")
                    assert r.status_code == 202 and r.json()["status"] == "cancelling"
        run_id = events[0]["run_id"]
        assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "cancelled"
        assert final_status(events, "next")["status"] == "skipped"
        again = await c.post(f"{mesh.url}/v1/runs/{run_id}/cancel")
        assert again.status_code == 409
        assert (await c.post(f"{mesh.url}/v1/runs/nope/cancel")).status_code == 404
    await wait_for(lambda: "long" in mesh.worker(0).cancelled, "worker cancelled")


async def leave_orchestrate(mesh: Mesh, options: dict[str, Any]) -> str:
    """POST /orchestrate for a task that hangs, and leave once the worker is called; the
    run's id, as the run list has it."""
    body = {"plan": plan({"task_id": "long", "input": {"hang": True}}), "options": options}
    async with httpx.AsyncClient(timeout=30) as c:
        asking = asyncio.create_task(c.post(mesh.url + "/orchestrate", json=body))
        await wait_for(lambda: "long" in mesh.worker(0).started, "the worker called")
        asking.cancel()  # the client gives up: its connection is closed
        with contextlib.suppress(asyncio.CancelledError):
            await asking
        (run,) = (await c.get(mesh.url + "/v1/runs")).json()

    async def noticed() -> bool:  # the handler saw the client go (and answered 499)
        got = await scrape(mesh.url)
        return bool(got.get(key(HTTP, method="POST", route="/orchestrate", status="499")))

    await wait_for(noticed, "the server to notice the client leaving")
    run_id: str = run["run_id"]
    return run_id


async def test_a_client_leaving_a_waiting_orchestrate_cancels_the_run(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    run_id = await leave_orchestrate(mesh, {})
    await wait_for(lambda: "long" in mesh.worker(0).cancelled, "worker cancelled")
    async with httpx.AsyncClient() as c:
        await wait_for(lambda: _is(c, f"{mesh.url}/v1/runs/{run_id}", "cancelled"), "cancelled")


async def test_on_disconnect_continue_keeps_a_left_orchestrate_running(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    run_id = await leave_orchestrate(mesh, {"on_disconnect": "continue"})
    async with httpx.AsyncClient() as c:
        run = f"{mesh.url}/v1/runs/{run_id}"
        assert (await c.get(run)).json()["status"] == "running"
        assert mesh.worker(0).cancelled == []
        assert (await c.post(run + "/cancel")).status_code == 202  # ends it, and the worker
    await wait_for(lambda: "long" in mesh.worker(0).cancelled, "worker cancelled")
    assert mesh.worker(0).calls == ["long"]
