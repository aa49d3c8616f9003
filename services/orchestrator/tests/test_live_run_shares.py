"""What a live run shares with every other instead of holding its own (bench/README.md,
"Round 12: memory per open stream"): the frozen ``Requirements`` of sub-tasks that name
none, the fields-sets of a run's record and plan, and a worker connection's reader waiting
on its future, not in a coroutine of its own. Structure only: no sizes, no timings."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import pydantic
import pytest

from mesh_contracts import ExecutionPlan, SubTask
from mesh_contracts.plan import NO_REQUIREMENTS, Requirements
from mesh_orchestrator.relay import stream_client
from mesh_orchestrator.runs import service as run_service
from mesh_orchestrator.runs.store.base import RunRecord

PLAN: dict[str, Any] = {
    "tasks": [
        {"task_id": "a", "capability": "text_generation", "input": {"x": 1}},
        {"task_id": "b", "capability": "text_generation", "depends_on": ["a"],
         "requires": {"gpu": True, "min_vram_mb": 4096}},
        {"task_id": "c", "capability": "text_generation", "requires": {}},
    ]
}  # fmt: skip


def test_sub_tasks_without_requirements_share_one_frozen_requirements() -> None:
    plan = ExecutionPlan.model_validate(PLAN)
    a, b, c = plan.tasks
    assert a.requires is NO_REQUIREMENTS
    assert SubTask(task_id="d", capability="text_generation").requires is NO_REQUIREMENTS
    # Named: its own, as validated (even when it names nothing).
    assert b.requires is not NO_REQUIREMENTS and b.requires.gpu and b.requires.min_vram_mb == 4096
    assert c.requires is not NO_REQUIREMENTS and c.requires == NO_REQUIREMENTS
    with pytest.raises(pydantic.ValidationError):
        a.requires.gpu = True  # shared: it cannot change under another sub-task
    assert Requirements() == NO_REQUIREMENTS and not NO_REQUIREMENTS.gpu
    # The wire form is the same as before: every field dumped.
    assert a.model_dump()["requires"] == {"gpu": False, "min_vram_mb": None}
    assert ExecutionPlan.model_validate(plan.model_dump()) == plan
    assert a.model_copy(deep=True).requires == NO_REQUIREMENTS


def test_a_shared_fields_set_names_every_field_so_assignments_leave_it_as_it_is() -> None:
    every = set(RunRecord.model_fields)
    assert every == run_service._SET
    assert set(ExecutionPlan.model_fields) == run_service._PLAN_SET
    assert set(SubTask.model_fields) == run_service._TASK_SET
    record = RunRecord(run_id="r1", query="q", created_at=time.time())
    object.__setattr__(record, "__pydantic_fields_set__", run_service._SET)
    dumped = record.model_dump()
    record.last_seq = 7  # what the multiplexer assigns as the run goes on
    record.status = record.status
    assert every == run_service._SET  # unchanged: it named them already
    assert record.model_dump() == {**dumped, "last_seq": 7}
    other = record.model_copy(update={"answer": "done"})  # a copy: a set of its own
    assert other.__pydantic_fields_set__ is not run_service._SET
    assert copy.copy(record).__pydantic_fields_set__ is not run_service._SET
    assert every == run_service._SET


def test_a_started_runs_plan_and_sub_tasks_share_the_sets() -> None:
    plan = ExecutionPlan.model_validate(PLAN)
    before = plan.model_dump(mode="json")
    run_service._share_sets(plan)
    assert plan.__pydantic_fields_set__ is run_service._PLAN_SET
    assert all(t.__pydantic_fields_set__ is run_service._TASK_SET for t in plan.tasks)
    assert plan.model_dump(mode="json") == before  # what the run's events and row say
    plan.tasks[0].description = "changed"
    assert set(SubTask.model_fields) == run_service._TASK_SET


async def test_a_connections_reader_awaits_its_future_and_a_done_one_is_nobody_waiting() -> None:
    conn = stream_client._Connection()
    waiting = conn.wait()
    assert asyncio.isfuture(waiting) and conn.waiter is waiting  # no coroutine of its own
    conn._wake()
    assert waiting.done() and conn.waiter is None
    await waiting
    # A reader cancelled while it waited leaves a done future: nobody waits on it, so the
    # stall watch does not call the stream stalled (it re-arms instead).
    waiting = conn.wait()
    waiting.cancel()
    watch = stream_client._StallWatch(conn, 0.001)
    conn.last_data = time.monotonic() - 1.0
    armed: list[float] = []
    watch.timers = type("T", (), {"later": lambda self, s, e: armed.append(s)})()  # type: ignore[assignment]
    watch.fire()
    assert not watch.stalled and armed
    # A reader that waits is told.
    conn.wait()
    watch.fire()
    assert watch.stalled and conn.waiter is None
