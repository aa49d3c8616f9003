"""The run service's projection: node states come from the events, and reading changes nothing."""

from __future__ import annotations

import time
from pathlib import Path

from mesh_contracts import (
    ExecutionPlan,
    NodeStatus,
    PhaseStatus,
    PlanChosen,
    TaskFailure,
    TaskOutput,
    TaskStatus,
)
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.projection import RunProjection
from mesh_orchestrator.runs.store import RunRecord, SQLiteRunStore

PLAN = ExecutionPlan.model_validate(
    {
        "tasks": [
            {"task_id": "a", "capability": "text_generation"},
            {"task_id": "b", "capability": "search", "depends_on": ["a"]},
        ]
    }
)


def nodes(record: RunRecord) -> dict[str, dict[str, object]]:
    return {n["task_id"]: n for n in record.plan or []}


async def test_node_states_follow_the_emitted_events_and_reads_do_not_mutate(
    tmp_path: Path,
) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    await store.open()
    mux = EventMux(store, interval=3600)
    record = RunRecord(run_id="r1", query="q", created_at=time.time())
    mux.open(record)
    events = RunEvents("r1", mux, RunProjection(record))

    events.emit(PlanChosen(plan=PLAN, planner="client"))
    events.emit(PhaseStatus(phase="plan", status="running"))  # a phase, no node changes
    events.emit(TaskStatus(status=NodeStatus.RUNNING, agent_id="w", instance_id="w-1"), "a", "w")
    events.relay("token", {"token": "hi"}, "a", "w")
    events.emit(TaskOutput(output="hi"), "a", "w")
    events.emit(TaskStatus(status=NodeStatus.COMPLETED), "a", "w")
    events.emit(TaskFailure(error="lookup down", code="unreachable"), "b")
    events.emit(TaskStatus(status=NodeStatus.FAILED, reason="lookup down"), "b")

    got = nodes(record)
    assert got["a"]["status"] == "completed" and got["a"]["output"] == "hi"
    assert got["a"]["assigned_instance"] == "w-1" and got["a"]["finished_at"] is not None
    assert got["b"]["status"] == "failed" and got["b"]["error"] == "lookup down"
    snapshot = record.model_dump()
    assert mux.record("r1") is record and record.model_dump() == snapshot  # a read is a read

    await mux.flush()  # the stored row carries the projection
    stored = await store.get_run("r1")
    assert stored is not None and nodes(stored) == got and stored.last_seq == 8
    await store.close()


def test_a_projection_rebuilt_from_a_stored_record_keeps_its_nodes() -> None:
    record = RunRecord(run_id="r2", query="q", created_at=time.time())
    first = RunProjection(record)
    first.apply("plan", PlanChosen(plan=PLAN, planner="client").data(), None, 1.0)
    first.apply("status", {"status": "completed"}, "a", 2.0)
    again = RunProjection(RunRecord.model_validate(record.model_dump()))
    assert [n.status for n in again.unfinished()] == [NodeStatus.PENDING]
