"""A run's wall-time budget counts its active time (``runs.active_time``): from its start,
not the time it was parked for a person (approval, pause, input), and carried across a
take-up from its stored log. Against fake workers on loopback, plus the log reading alone."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import collect, plan, wait_for
from test_orchestrator_approval import follow, post, status_of, stream

from mesh_contracts import StreamEvent
from mesh_orchestrator.runs.active_time import active_seconds

ACTIVE_S = 0.5  # how long the run runs before it is paused
PARKED_S = 2.0  # how long it stays paused (or awaits approval): past its wall budget


def _log(*items: tuple[float, str, dict[str, Any], str | None]) -> list[StreamEvent]:
    return [
        StreamEvent(run_id="r", seq=i + 1, ts=ts, type=type_, data=data, task_id=task)
        for i, (ts, type_, data, task) in enumerate(items)
    ]


def test_parked_time_is_left_out_and_a_dead_owner_counts_up_to_its_last_event() -> None:
    log = _log(
        (100.0, "run", {}, None),
        (101.0, "plan", {}, None),
        (103.0, "status", {"phase": "approval", "status": "awaiting_approval"}, None),
        (500.0, "status", {"phase": "approval", "status": "approved"}, None),
        (501.0, "status", {"status": "running"}, "t"),
        (502.0, "status", {"status": "input_required"}, "t"),  # the task's question
        (502.5, "status", {"status": "input_required", "tasks": ["t"]}, None),  # the park
        (900.0, "status", {"status": "answered", "input_id": 1}, "t"),
        (900.0, "status", {"status": "resumed", "reason": "input answered"}, None),
        (904.0, "token", {"token": "x"}, "t"),  # then its owner died
        # another replica (its clock 1000 s off) took it up; the wait is not counted
        (2000.0, "status", {"status": "resumed"}, None),
        (2001.0, "status", {"status": "paused"}, None),
    )
    # 3 s to the approval park, 2.5 s after it, 4 s to the last event of the dead owner,
    # 1 s until the pause
    assert active_seconds(log) == 10.5
    assert active_seconds(log[:3]) == 3.0
    assert active_seconds(log[:5]) == 4.0  # running now: up to its last stored event
    ended = _log((0.0, "run", {}, None), (2.0, "token", {}, "t"), (3.0, "done", {}, None))
    assert active_seconds(ended) == 3.0


async def test_a_paused_run_keeps_its_active_time_and_never_counts_the_pause(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan({"task_id": "t", "input": {"gate": "g", "tokens": ["a"]}}),
        "options": {"budget": {"wall_s": 1.8}},  # less than the whole time, pause included
    }

    async def pause_once_running(e: dict[str, Any]) -> bool:
        if e["task_id"] == "t" and e["data"].get("status") == "running":
            await asyncio.sleep(ACTIVE_S)  # the run is active meanwhile (t waits at its gate)
            r = await post(f"{mesh.url}/v1/runs/{e['run_id']}/pause", {"cancel_running": True})
            assert r.status_code == 202, r.text
        return e["task_id"] is None and e["data"].get("status") == "paused"

    first = await collect(mesh.url, body, until=pause_once_running)
    run_id = first[0]["data"]["run_id"]
    await asyncio.sleep(PARKED_S)  # parked for a person, longer than the wall budget
    async with httpx.AsyncClient() as c:
        await c.post(f"{mesh.workers[0].url}/release/g")
    resumed = await post(f"{mesh.url}/v1/runs/{run_id}/resume")
    assert resumed.status_code == 202, resumed.text
    rest = await follow(mesh.url, run_id, first[-1]["seq"])
    events = first + rest
    assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "completed"
    ts = {e["data"].get("status"): e["ts"] for e in events if e["task_id"] is None}
    used = [e["data"]["used"] for e in events if e["data"].get("phase") == "budget"][-1]
    # the time it ran before the pause counts (the run and its stored log say so) ...
    assert used["wall_s"] >= ts["paused"] - events[0]["ts"]
    # ... the pause does not: less than the time from its start to its resumption
    assert used["wall_s"] < ts["resumed"] - events[0]["ts"]
    async with httpx.AsyncClient() as c:
        run = (await c.get(f"{mesh.url}/v1/runs/{run_id}")).json()
    recorded = run["budget"]["used"]["wall_s"]  # at its execution's end, just after
    assert used["wall_s"] <= recorded < ts["resumed"] - events[0]["ts"]


async def test_a_run_parked_for_approval_past_its_wall_budget_completes_once_approved(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan({"task_id": "t", "input": {"tokens": ["a", "b"]}}),
        "options": {"budget": {"wall_s": 1.0}, "approval": "required"},
    }
    first = await stream(mesh.url, body)  # ends with awaiting_approval
    run_id = first[0]["data"]["run_id"]

    async def waiting() -> bool:
        return await status_of(mesh.url, run_id) == "awaiting_approval"

    await wait_for(waiting, "the run to be parked")
    await asyncio.sleep(PARKED_S)  # awaiting a person, twice its wall budget
    assert (await post(f"{mesh.url}/v1/runs/{run_id}/approve")).status_code == 202
    events = first + await follow(mesh.url, run_id, first[-1]["seq"])
    assert events[-1]["data"]["status"] == "completed"
    used = [e["data"]["used"] for e in events if e["data"].get("phase") == "budget"][-1]
    assert used["wall_s"] < 1.0
