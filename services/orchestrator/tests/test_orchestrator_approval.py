"""Plan-only (``POST /v1/plans``) and approval (``options.approval = "required"``) against
fake workers and a fake registry on loopback, including a restart and a second replica on
the same store while a run waits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from orch_fakes import Mesh, Served, serve, stop, writer_like
from test_orchestrator_api import plan, wait_for
from test_orchestrator_tracing import spans_once

from conftest import MeshFactory
from mesh_contracts import PhaseStatus, parse_run_payload
from mesh_orchestrator.app import create_app
from mesh_orchestrator.settings import Settings
from mesh_testkit import read_sse

APPROVAL = {"approval": "required"}
TWO = plan({"task_id": "a", "input": {"tokens": ["A"]}}, {"task_id": "b", "input": {}})


async def stream(url: str, body: dict[str, Any], deadline: float = 20.0) -> list[dict[str, Any]]:
    """Every event of one POST /orchestrate/stream, until the server ends the stream."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(deadline), httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json=body):
            out.append(msg.json())
    return out


async def follow(url: str, run_id: str, after: int, deadline: float = 20.0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(deadline), httpx.AsyncClient(timeout=30) as c:
        path = f"{url}/v1/runs/{run_id}/events?after={after}"
        async for msg in read_sse(c, "GET", path):
            out.append(msg.json())
    return out


async def status_of(url: str, run_id: str) -> str:
    async with httpx.AsyncClient(timeout=10) as c:
        got: str = (await c.get(f"{url}/v1/runs/{run_id}")).json()["status"]
    return got


async def post(url: str, body: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as c:
        return await c.post(url, json=body)


async def parked(url: str, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Start a run that needs approval; its stream ends with ``awaiting_approval``."""
    events = await stream(url, {**body, "options": APPROVAL})
    run_id = events[0]["data"]["run_id"]
    await wait_for(lambda: _is(url, run_id, "awaiting_approval"), "the run to be parked")
    return run_id, events


async def _is(url: str, run_id: str, status: str) -> bool:
    return await status_of(url, run_id) == status


# ---- POST /v1/plans ---------------------------------------------------------------------


async def test_a_plan_request_returns_tasks_planner_and_picked_instances_without_running(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    r = await post(mesh.url + "/v1/plans", {"query": "write a poem about the sea"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["planner"] == "intent" and body["reasons"]
    [task] = body["tasks"]
    assert task["capability"] == "text_generation" and task["input"]["prompt"]
    assert task["would_pick"] == "fakewriter"
    [cand] = task["candidates"]
    assert cand["instance_id"] == "fakewriter" and cand["pick"] and cand["healthy"]
    assert body["plan"]["tasks"][0]["task_id"] == task["task_id"]
    assert mesh.worker(0).calls == []  # nothing ran
    async with httpx.AsyncClient() as c:
        assert (await c.get(mesh.url + "/v1/runs")).json() == []  # nothing stored


async def test_a_plan_names_the_clauses_no_agent_serves(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    r = await post(
        mesh.url + "/v1/plans", {"query": "write a poem about the sea and order a pizza"}
    )
    body = r.json()
    assert [t["capability"] for t in body["tasks"]] == ["text_generation"]
    assert any("order a pizza" in c for c in body["unresolvable"])
    assert body["plan"]["reasoning"].count("order a pizza") == 1  # on the wire for clients


async def test_bad_plan_requests_are_refused_with_a_short_json_error(mesh: Mesh) -> None:
    for bad in ({"query": ""}, {"query": "   "}, {"query": "x", "plan": TWO}, {}):
        r = await post(mesh.url + "/v1/plans", bad)
        assert r.status_code == 422 and "detail" in r.json() and len(r.text) < 2000
    # nothing registered: nothing to plan with
    r = await post(mesh.url + "/v1/plans", {"query": "write a poem about the sea"})
    assert r.status_code == 422 and r.json()["code"] == "planning_failed"


# ---- approval -------------------------------------------------------------------------------


async def test_a_run_needing_approval_waits_after_planning_and_runs_once_approved(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    run_id, events = await parked(mesh.url, {"query": "write a poem about the sea"})
    assert [e["type"] for e in events] == ["run", "plan", "status"]  # no done: it waits
    waiting = parse_run_payload("status", events[-1]["data"], None)
    assert isinstance(waiting, PhaseStatus) and waiting.phase == "approval"
    assert waiting.status == "awaiting_approval"
    assert mesh.worker(0).calls == []
    # a reader of the waiting run gets what it said so far and an end (no done)
    again = await follow(mesh.url, run_id, 0)
    assert [e["seq"] for e in again] == [e["seq"] for e in events]

    r = await post(f"{mesh.url}/v1/runs/{run_id}/approve")
    assert r.status_code == 202 and r.json() == {"run_id": run_id, "status": "running"}
    rest = await follow(mesh.url, run_id, events[-1]["seq"])
    approved = rest[0]["data"]
    assert approved == {"phase": "approval", "status": "approved"}
    assert "plan" not in [e["type"] for e in rest]  # the announced plan runs
    assert rest[-1]["type"] == "done" and rest[-1]["data"]["status"] == "completed"
    assert len(mesh.worker(0).calls) == 1
    assert await status_of(mesh.url, run_id) == "completed"
    r = await post(f"{mesh.url}/v1/runs/{run_id}/approve")
    assert r.status_code == 409 and r.json()["status"] == "completed"


async def test_an_approval_may_replace_the_plan_and_a_bad_plan_is_refused(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    run_id, events = await parked(mesh.url, {"query": "write a poem about the sea"})
    cycle = plan({"task_id": "x", "depends_on": ["y"]}, {"task_id": "y", "depends_on": ["x"]})
    r = await post(f"{mesh.url}/v1/runs/{run_id}/approve", {"plan": cycle})
    assert r.status_code == 422 and "cycle" in r.text
    assert await status_of(mesh.url, run_id) == "awaiting_approval"  # still waiting

    r = await post(f"{mesh.url}/v1/runs/{run_id}/approve", {"plan": TWO})
    assert r.status_code == 202
    rest = await follow(mesh.url, run_id, events[-1]["seq"])
    edited = next(e for e in rest if e["type"] == "plan")
    assert edited["data"]["planner"] == "client"
    assert [t["task_id"] for t in edited["data"]["plan"]["tasks"]] == ["a", "b"]
    assert next(e for e in rest if e["data"].get("phase") == "approval")["data"]["edited"]
    assert sorted(mesh.worker(0).calls) == ["a", "b"]
    assert rest[-1]["data"]["status"] == "completed"


async def test_a_rejected_run_ends_rejected_and_runs_nothing(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    run_id, events = await parked(mesh.url, {"plan": TWO})
    assert events[1]["data"]["planner"] == "client"  # a client's plan waits too
    r = await post(f"{mesh.url}/v1/runs/{run_id}/reject", {"reason": "not today"})
    assert r.status_code == 202 and r.json()["status"] == "rejected"
    rest = await follow(mesh.url, run_id, events[-1]["seq"])
    assert rest[0]["data"] == {"phase": "approval", "status": "rejected", "reason": "not today"}
    assert {e["task_id"]: e["data"]["status"] for e in rest if e["task_id"]} == {
        "a": "skipped",
        "b": "skipped",
    }
    assert rest[-1]["type"] == "done" and rest[-1]["data"]["status"] == "rejected"
    assert mesh.worker(0).calls == []
    assert await status_of(mesh.url, run_id) == "rejected"
    assert (await post(f"{mesh.url}/v1/runs/{run_id}/approve")).status_code == 409
    assert (await post(f"{mesh.url}/v1/runs/nope/approve")).status_code == 404
    assert (await post(f"{mesh.url}/v1/runs/nope/reject")).status_code == 404


async def test_cancelling_a_waiting_run_ends_it_cancelled(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    run_id, events = await parked(mesh.url, {"plan": TWO})
    assert (await post(f"{mesh.url}/v1/runs/{run_id}/cancel")).status_code == 202
    rest = await follow(mesh.url, run_id, events[-1]["seq"])
    assert rest[-1]["data"]["status"] == "cancelled"
    assert mesh.worker(0).calls == []


def _settings(mesh: Mesh, db: Path, replica: str, lease: float = 10.0) -> Settings:
    return Settings(
        discovery_url=mesh.disc.url, db_path=db, replica_id=replica, run_lease_seconds=lease
    )


async def test_a_waiting_run_survives_a_restart_and_is_approved_after_it(
    mesh: Mesh, tmp_path: Path
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    await stop(mesh.orch)
    db = tmp_path / "approval.sqlite3"
    first = await serve(create_app(_settings(mesh, db, "orch-1")))
    try:
        run_id, events = await parked(first.url, {"plan": TWO})
    finally:
        await stop(first)
    # a short lease: the keeper passes every 0.5 s; let it pass a few times over the run
    again = await serve(create_app(_settings(mesh, db, "orch-1", lease=1.5)))
    try:
        keeper = again.app.state.services.runs
        await wait_for(lambda: keeper.keeper_passes >= 3, "three keeper passes")
        assert await status_of(again.url, run_id) == "awaiting_approval"
        assert mesh.worker(0).calls == [] and not keeper.is_live(run_id)
        r = await post(f"{again.url}/v1/runs/{run_id}/approve")
        assert r.status_code == 202
        rest = await follow(again.url, run_id, events[-1]["seq"])
    finally:
        await stop(again)
    assert rest[-1]["data"]["status"] == "completed"
    assert sorted(mesh.worker(0).calls) == ["a", "b"]


async def test_a_run_parked_by_one_replica_is_approved_on_another(
    mesh: Mesh, tmp_path: Path
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    db = tmp_path / "shared.sqlite3"
    replicas: list[Served] = []
    try:
        for name in ("orch-a", "orch-b"):
            replicas.append(await serve(create_app(_settings(mesh, db, name))))
        a, b = replicas
        run_id, events = await parked(a.url, {"plan": TWO})
        assert await status_of(b.url, run_id) == "awaiting_approval"
        assert (await post(f"{b.url}/v1/runs/{run_id}/approve")).status_code == 202
        assert (await post(f"{a.url}/v1/runs/{run_id}/approve")).status_code == 409  # once
        rest = await follow(a.url, run_id, events[-1]["seq"])  # read on the replica that parked it
        async with httpx.AsyncClient() as c:
            run = (await c.get(f"{a.url}/v1/runs/{run_id}")).json()
    finally:
        for s in reversed(replicas):
            await stop(s)
    assert rest[-1]["data"]["status"] == "completed"
    assert run["lease"]["owner"] == "orch-b" and run["lease"]["epoch"] == 2


async def test_a_client_leaving_at_awaiting_approval_does_not_cancel_the_run(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"plan": TWO, "options": {**APPROVAL, "on_disconnect": "cancel"}}
    async with asyncio.timeout(20), httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", mesh.url + "/orchestrate/stream", json=body):
            e = msg.json()
            if e["data"].get("status") == "awaiting_approval":
                break  # leave as soon as the plan waits (before the server ends the stream)
    run_id = e["run_id"]
    await wait_for(lambda: _is(mesh.url, run_id, "awaiting_approval"), "the run to be parked")
    assert (await post(f"{mesh.url}/v1/runs/{run_id}/approve")).status_code == 202
    rest = await follow(mesh.url, run_id, e["seq"])
    assert rest[-1]["data"]["status"] == "completed"


async def test_an_approved_run_goes_on_in_its_own_trace(mesh_factory: MeshFactory) -> None:
    exporter = InMemorySpanExporter()
    mesh = await mesh_factory(span_exporter=exporter)
    await mesh.register(writer_like(mesh.workers[0].url))
    run_id, events = await parked(mesh.url, {"query": "write a poem about the sea"})
    first = next(s for s in await spans_once(exporter, "run") if s.name == "run")
    assert first.attributes is not None
    assert first.attributes["mesh.status"] == "awaiting_approval"
    assert first.context is not None
    assert events[0]["data"]["span_id"] == f"{first.context.span_id:016x}"

    assert (await post(f"{mesh.url}/v1/runs/{run_id}/approve")).status_code == 202
    rest = await follow(mesh.url, run_id, events[-1]["seq"])
    assert rest[-1]["data"]["status"] == "completed"

    async def both_run_spans() -> bool:
        return len([s for s in exporter.get_finished_spans() if s.name == "run"]) == 2

    await wait_for(both_run_spans, "the approved run's span")
    spans = list(exporter.get_finished_spans())
    (second,) = [s for s in spans if s.name == "run" and s is not first]
    assert second.context is not None and second.parent is not None
    assert second.context.trace_id == first.context.trace_id
    assert second.parent.span_id == first.context.span_id
    assert second.attributes is not None
    assert second.attributes["mesh.continued"] == "approved"
    assert second.attributes["mesh.status"] == "completed"
    (call,) = [s for s in spans if s.name == "call fakewriter"]
    assert call.context is not None and call.context.trace_id == first.context.trace_id
