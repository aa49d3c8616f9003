"""Runs that outlive their orchestrator, on the embedded store: a run left running by a
process that died is taken up by the next one: completed sub-tasks are kept (never run
again), unfinished ones run again as a new attempt, and no event id is used twice."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from orch_fakes import Mesh, Served, serve, stop, writer_like
from test_orchestrator_api import plan, wait_for
from test_orchestrator_tracing import spans_once

from mesh_contracts import StreamEvent, parse_run_payload
from mesh_orchestrator.app import create_app
from mesh_orchestrator.runs.store import RunRecord, SQLiteRunStore
from mesh_orchestrator.settings import Settings
from mesh_testkit import read_sse

PLAN = plan(
    {"task_id": "a", "input": {"prompt": "first", "tokens": ["never", "again"]}},
    {"task_id": "b", "input": {"prompt": "second", "tokens": ["b1", "b2"]}},
)


def ev(seq: int, type_: str, data: dict[str, Any], task_id: str | None = None) -> StreamEvent:
    agent = "fakewriter" if task_id else None
    return StreamEvent(run_id="r1", seq=seq, type=type_, task_id=task_id, agent_id=agent, data=data)


TRACE, ROOT = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


async def crash_state(db: Path, *, lease_owner: str, traced: bool = False) -> None:
    """What a process that died mid-run leaves: task a completed, b streaming (attempt 1),
    events up to 8 stored, ids up to 1000 reserved, the lease its own; ``traced``, its
    ``run`` event names the run's trace and root span."""
    started: dict[str, Any] = {"run_id": "r1", "query": "two things", "status": "running"}
    if traced:
        started |= {"trace_id": TRACE, "span_id": ROOT}
    store = SQLiteRunStore(db)
    await store.open()
    await store.save_run(
        RunRecord(
            run_id="r1",
            query="two things",
            created_at=time.time(),
            last_seq=8,
            seq_reserved=1000,
            lease_owner=lease_owner,
            epoch=1,
            lease_expires_at=time.time() + 600,
        )
    )
    running = {"status": "running", "agent_id": "fakewriter", "instance_id": "fakewriter"}
    await store.append_events(
        [
            ev(1, "run", started),
            ev(2, "plan", {"plan": PLAN, "planner": "client", "reason": "client plan"}),
            ev(3, "status", {**running, "attempt": 1}, "a"),
            ev(4, "token", {"token": "kept", "attempt": 1}, "a"),
            ev(5, "result", {"output": "kept"}, "a"),
            ev(6, "status", {"status": "completed"}, "a"),
            ev(7, "status", {**running, "attempt": 1}, "b"),
            ev(8, "token", {"token": "lost", "attempt": 1}, "b"),
        ]
    )
    await store.close()


async def restarted(
    mesh: Mesh, tmp_path: Path, *, traced: bool = False, exporter: Any = None
) -> Served:
    """The mesh's orchestrator stopped, the crash state of its previous incarnation
    (``orch-1``) in its store, and a new orchestrator ``orch-1`` on that store."""
    await mesh.register(writer_like(mesh.workers[0].url))
    await stop(mesh.orch)
    db = tmp_path / "orch.sqlite3"
    await crash_state(db, lease_owner="orch-1", traced=traced)  # no lease to wait out
    settings = Settings(discovery_url=mesh.disc.url, db_path=db, replica_id="orch-1")
    return await serve(create_app(settings, span_exporter=exporter))


async def ended(c: httpx.AsyncClient, url: str) -> None:
    """Until run r1 at ``url`` is no longer running."""

    async def finished() -> bool:
        return bool((await c.get(f"{url}/v1/runs/r1")).json()["status"] != "running")

    await wait_for(finished, "the resumed run to end")


async def test_a_restarted_orchestrator_resumes_its_run_keeping_what_completed(
    mesh: Mesh, tmp_path: Path
) -> None:
    again = await restarted(mesh, tmp_path)
    try:
        async with httpx.AsyncClient(timeout=30) as c:
            await ended(c, again.url)
            events = [m.json() async for m in read_sse(c, "GET", f"{again.url}/v1/runs/r1/events")]
            run = (await c.get(f"{again.url}/v1/runs/r1")).json()
    finally:
        await stop(again)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))  # strictly increasing, no id twice
    resumed = next(e for e in events if e["data"].get("status") == "resumed")
    payload = parse_run_payload("status", resumed["data"], None)
    assert type(payload).__name__ == "RunResumed"
    assert resumed["data"]["kept"] == ["a"] and resumed["data"]["restarted"] == ["b"]
    assert resumed["seq"] == 1001 and resumed["data"]["last_stored_seq"] == 8
    assert resumed["data"]["epoch"] == 2 and run["lease"]["epoch"] == 2
    # a was never called again; b ran again, as attempt 2, and its output is attempt 2's
    assert mesh.worker(0).calls == ["b"]
    b_tokens = [e["data"] for e in events if e["task_id"] == "b" and e["type"] == "token"]
    assert b_tokens[-2:] == [{"token": "b1", "attempt": 2}, {"token": "b2", "attempt": 2}]
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)
    assert result["data"]["results"]["a"]["output"] == "kept"
    assert result["data"]["results"]["b"]["output"] == "b1b2"
    assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "completed"
    assert run["status"] == "completed" and run["lease"]["owner"] == "orch-1"
    assert {n["task_id"]: n["status"] for n in run["plan"]} == {"a": "completed", "b": "completed"}


async def test_a_run_held_by_a_live_lease_of_another_replica_is_not_taken(
    mesh: Mesh, tmp_path: Path
) -> None:
    await stop(mesh.orch)
    db = tmp_path / "orch.sqlite3"
    await crash_state(db, lease_owner="someone-else")  # lease valid for ten minutes
    again = await serve(
        create_app(Settings(discovery_url=mesh.disc.url, db_path=db, replica_id="orch-2"))
    )
    try:
        async with httpx.AsyncClient(timeout=30) as c:
            run = (await c.get(f"{again.url}/v1/runs/r1")).json()
            assert run["status"] == "running" and run["lease"]["owner"] == "someone-else"
            assert run["lease"]["epoch"] == 1
    finally:
        await stop(again)
    assert mesh.worker(0).calls == []


async def test_a_resumed_run_goes_on_in_its_own_trace_beneath_its_first_run_span(
    mesh: Mesh, tmp_path: Path
) -> None:
    exporter = InMemorySpanExporter()
    again = await restarted(mesh, tmp_path, traced=True, exporter=exporter)
    try:
        async with httpx.AsyncClient(timeout=30) as c:
            await ended(c, again.url)
            assert (await c.get(f"{again.url}/v1/runs/r1")).json()["status"] == "completed"
        spans = await spans_once(exporter, "run")
    finally:
        await stop(again)
    (run,) = [s for s in spans if s.name == "run"]
    assert run.context is not None and run.parent is not None
    assert f"{run.context.trace_id:032x}" == TRACE  # the trace the run event names
    assert f"{run.parent.span_id:016x}" == ROOT  # beneath the first owner's run span
    assert run.attributes is not None
    assert (run.attributes["mesh.continued"], run.attributes["mesh.epoch"]) == ("resumed", 2)
    (call,) = [s for s in spans if s.name == "call fakewriter"]
    assert call.context is not None and call.context.trace_id == run.context.trace_id
    assert call.attributes is not None and call.attributes["mesh.task_id"] == "b"
