"""Faults around the runs rather than in a worker: discovery dies, a client drops.

Discovery down: runs are served from the orchestrator's cached registry, and after a
restart the registry is followed again. A client that leaves: with ``on_disconnect``
``cancel`` the worker's call ends (it counts a cancelled run), with ``continue`` the run
completes and is replayed with ``Last-Event-ID``, every event once, in order.
"""

from __future__ import annotations

from typing import Any

import httpx
from fault_mesh import FaultMesh, Run, lookup_task, plan, text_task, until

from mesh_contracts import NodeStatus, RunEnded, RunStatus, TaskOutput, TaskStatus


async def orchestrator_health(mesh: FaultMesh) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as c:
        body: dict[str, Any] = (await c.get(mesh.url + "/health")).json()
        return body


async def test_runs_complete_from_the_cached_registry_while_discovery_is_down(
    mesh: FaultMesh, replicas: Any
) -> None:
    (writer,) = replicas.start(mesh.replica("fault-g", 1))
    body = plan(text_task("fault-g", tokens=30, rate=30), lookup_task())

    async def kill_discovery(e: dict[str, Any]) -> None:
        if e["type"] == "token" and mesh.discovery.alive:
            mesh.discovery.kill()

    try:
        during = await mesh.stream(body, kill_discovery)
        health = await orchestrator_health(mesh)
        after = await mesh.stream(body)  # started while discovery is down
    finally:
        if not mesh.discovery.alive:
            mesh.discovery.start()

    assert not during.retries("text")
    for run in (during, after):
        answer = run.assert_kept()
        assert answer.status == RunStatus.COMPLETED, answer.results
    assert health["discovery"] == "unreachable (using cached registry)"

    async def followed_again() -> bool:
        if (await orchestrator_health(mesh))["discovery"] != "ok":
            return False
        agents = mesh.agents()
        return all(agents[i]["status"] == "passing" for i in ("analyst", "lookup", "fault-g-1"))

    await until(followed_again, within=20, what="the registry to be followed again")
    assert (await mesh.stream(body)).assert_kept().status == RunStatus.COMPLETED
    assert writer.alive


async def worker_health(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as c:
        body: dict[str, Any] = (await c.get(url + "/health")).json()
        return body


def drop_after_facts_and_tokens(tokens: int = 3) -> Any:
    """An ``on_event`` hook: leave once the lookup's result and ``tokens`` tokens are in."""
    seen = {"facts": False, "tokens": 0}

    async def hook(e: dict[str, Any]) -> bool:
        if e["task_id"] == "facts" and e["type"] == "result":
            seen["facts"] = True
        if e["task_id"] == "text" and e["type"] == "token":
            seen["tokens"] += 1
        return bool(seen["facts"]) and seen["tokens"] >= tokens

    return hook


async def run_status(mesh: FaultMesh, run_id: str) -> str | None:
    async with httpx.AsyncClient(timeout=5) as c:
        status = (await c.get(f"{mesh.url}/v1/runs/{run_id}")).json()["status"]
    return None if status == "running" else str(status)


async def test_a_client_leaving_with_on_disconnect_cancel_ends_the_workers_call(
    mesh: FaultMesh, replicas: Any
) -> None:
    (writer,) = replicas.start(mesh.replica("fault-h", 1))
    body = plan(text_task("fault-h", tokens=400, rate=20), lookup_task(), on_disconnect="cancel")

    seen = await mesh.stream(body, drop_after_facts_and_tokens())

    async def call_ended() -> dict[str, Any] | None:
        h = await worker_health(writer.url)
        return h if h["cancelled"] == 1 and h["active"] == 0 else None

    health = await until(call_ended, within=15, what="the worker's run to be cancelled")
    assert health["completed"] == 0
    status = await until(lambda: run_status(mesh, seen.run_id), within=15, what="the run's end")
    assert status == RunStatus.CANCELLED
    stored = await mesh.replay(seen.run_id)
    assert stored.events[: len(seen.events)] == seen.events
    [ended] = stored.payloads(RunEnded)
    assert ended.status == RunStatus.CANCELLED and stored.events[-1]["type"] == "done"
    # The lookup's result, completed before the client left, is kept in the run's log.
    [facts] = stored.payloads(TaskOutput, "facts")
    assert facts.output["results"]
    [skipped] = [s for s in stored.payloads(TaskStatus, "text") if s.status == NodeStatus.SKIPPED]
    assert skipped.reason == "run cancelled"


async def test_a_client_leaving_with_on_disconnect_continue_can_replay_the_whole_run(
    mesh: FaultMesh, replicas: Any
) -> None:
    (writer,) = replicas.start(mesh.replica("fault-h2", 1))
    body = plan(text_task("fault-h2", tokens=40, rate=40), lookup_task(), on_disconnect="continue")

    seen = await mesh.stream(body, drop_after_facts_and_tokens())
    last = seen.events[-1]["seq"]

    status = await until(lambda: run_status(mesh, seen.run_id), within=30, what="the run's end")
    assert status == RunStatus.COMPLETED
    rest = await mesh.replay(seen.run_id, after=last)
    whole = Run(seen.events + rest.events)
    assert [e["seq"] for e in whole.events] == list(range(1, len(whole.events) + 1))
    answer = whole.assert_kept()
    assert answer.results["text"].output == "".join(f"fault-h2-1:{i} " for i in range(40))
    assert (await mesh.replay(seen.run_id)).events == whole.events
    health = await worker_health(writer.url)
    assert (health["completed"], health["cancelled"]) == (1, 0)
