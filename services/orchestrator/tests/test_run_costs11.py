"""A run's fixed-shape events without their models (``bench/README.md``, "Round 11: CPU per
run"): ``run``, the task's ``running`` and ``completed`` statuses, its output, the budget's
use, the answer and ``done`` are made as plain dicts (``mesh_contracts.event_bodies``), byte
for byte the models' dumps; a ``plan`` event's nodes are made from its tasks, not validated
again; the fast path's Host check is remembered; a run's id is made without a ``UUID``; a
plan is put in order only for a group loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import collect, plan
from test_run_costs import _Events, _FakeCalls

from mesh_contracts import (
    BudgetStatus,
    ExecutionPlan,
    PlanChosen,
    PlanNode,
    RunAnswer,
    RunEnded,
    RunStarted,
    TaskOutput,
    TaskStatus,
    parse_run_payload,
)
from mesh_orchestrator.api import stream_path
from mesh_orchestrator.graph.nodes import _chosen
from mesh_orchestrator.relay import executor as executor_module
from mesh_orchestrator.relay.executor import Executor
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.projection import RunProjection
from mesh_orchestrator.runs.service import new_run_id
from mesh_orchestrator.runs.store import RunRecord

MADE = (RunStarted, TaskStatus, TaskOutput, BudgetStatus, RunAnswer, RunEnded)


async def test_a_pinned_runs_events_are_made_without_their_models(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    dumps = {cls: cls.data for cls in MADE}

    def refuse(self: Any) -> Any:
        raise AssertionError(f"{type(self).__name__} dumped on a run's way")

    for cls in MADE:
        monkeypatch.setattr(cls, "data", refuse)
    body = {"plan": plan({"task_id": "t1", "input": {"tokens": ["a", "b", "c"]}})}
    events = await collect(mesh.url, body)
    for cls in MADE:
        monkeypatch.setattr(cls, "data", dumps[cls])
    kinds = [(e["type"], e["data"].get("status")) for e in events if e["type"] != "token"]
    assert kinds == [
        ("run", "running"), ("plan", None), ("status", "running"), ("result", None),
        ("status", "completed"), ("status", "used"), ("result", "completed"),
        ("done", "completed"),
    ]  # fmt: skip
    for e in events:  # each body is its model's dump, key for key, in the same order
        payload = parse_run_payload(e["type"], e["data"], e["task_id"])
        if payload is not None:
            assert list(payload.data().items()) == list(e["data"].items()), e


class _FakeMux:
    """A unit test's fake multiplexer: keeps what is published, says when it was touched."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.touched = 0

    def publish(self, run_id: str, type_: str, body: Any, task_id: Any, agent_id: Any) -> Any:
        self.published.append((type_, body))
        return SimpleNamespace(ts=2.0)

    def touch(self, run_id: str) -> None:
        self.touched += 1


def _record() -> RunRecord:
    return RunRecord(run_id="r1", query="", created_at=1.0)


async def test_a_plan_events_nodes_are_made_from_its_tasks_without_a_validation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = {
        "tasks": [
            {"task_id": "a", "capability": "c", "input": {"x": None}, "agent_id": "w"},
            {"task_id": "b", "capability": "c", "depends_on": ["a"],
             "requires": {"gpu": True}, "when": "$.a.output.ok"},
        ]
    }  # fmt: skip
    chosen = PlanChosen.model_construct(
        plan=ExecutionPlan.model_validate(raw), planner="client", reason="r"
    )
    # What the projection made before: each task validated as a node and dumped.
    before = RunProjection(_record())
    assert before.apply("plan", chosen.data(), None, 2.0)
    mux = _FakeMux()
    record = _record()
    events = RunEvents("r1", mux, RunProjection(record))  # type: ignore[arg-type]

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("validated again")

    monkeypatch.setattr(PlanNode, "model_validate", refuse)
    events.emit(chosen)
    assert record.plan == before.record.plan
    assert [list(n) for n in record.plan or []] == [list(n) for n in before.record.plan or []]
    assert mux.published == [("plan", chosen.data())] and mux.touched == 1
    # The graph's own plan event (``event_bodies.plan_chosen``, no ``PlanChosen`` made).
    record.plan = None
    made = _chosen(chosen.plan, "client", "r")
    events.emit(made)
    assert record.plan == before.record.plan
    assert mux.published[-1] == ("plan", chosen.data()) and mux.touched == 2


def test_the_fast_paths_host_check_is_remembered_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = stream_path.host_trusted

    def counted(host: str | None, hosts: Any) -> bool:
        calls.append(host or "")
        return real(host, hosts)

    monkeypatch.setattr(stream_path, "host_trusted", counted)
    monkeypatch.setattr(stream_path, "_HOSTS_SEEN", {})
    hosts = ["localhost", "127.0.0.1"]
    assert stream_path._trusted(b"127.0.0.1:4000", hosts)
    assert stream_path._trusted(b"127.0.0.1:4000", hosts)
    assert calls == ["127.0.0.1:4000"]
    assert not stream_path._trusted(b"evil.example", hosts)
    assert not stream_path._trusted(b"evil.example", hosts)
    assert not stream_path._trusted(None, hosts)
    assert stream_path._trusted(b"evil.example", ["*"])  # other hosts: asked anew
    assert calls == ["127.0.0.1:4000", "evil.example", "evil.example"]
    for i in range(3 * stream_path._HOSTS_KEPT):
        stream_path._trusted(b"h%d" % i, hosts)
    assert len(stream_path._HOSTS_SEEN) <= stream_path._HOSTS_KEPT


def test_a_new_run_id_is_a_time_ordered_uuid7_in_hex() -> None:
    before = time.time_ns() // 1_000_000
    ids = [new_run_id() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 2000
    for run_id in ids:
        u = uuid.UUID(hex=run_id)
        assert u.hex == run_id and u.version == 7 and u.variant == uuid.RFC_4122
        assert before <= int(run_id[:12], 16) <= after  # its milliseconds lead
    # Made in order, they sort in order across milliseconds (the index locality it is for).
    ms = [int(r[:12], 16) for r in ids]
    assert ms == sorted(ms)
    time.sleep(0.002)
    assert new_run_id() > max(ids)
    # The 74 bits after the time are random: no two ids of one millisecond share them.
    assert len({r[12:] for r in ids}) == 2000


async def test_a_plan_without_a_group_loop_is_not_put_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ordered: list[int] = []
    real = ExecutionPlan.topological_order

    def counted(self: ExecutionPlan) -> list[str]:
        ordered.append(len(self.tasks))
        return real(self)

    monkeypatch.setattr(ExecutionPlan, "topological_order", counted)
    ex = Executor(_FakeCalls(), backoff_initial=0.001, backoff_max=0.01)  # type: ignore[arg-type]
    plan = ExecutionPlan.model_validate({"tasks": [{"task_id": "t", "capability": "c"}]})
    out = await ex.run(plan, _Events(), run_id="r")  # type: ignore[arg-type]
    assert out["t"].status == "completed" and ordered == []
    # A group loop still sorts its members in the plan's order.
    looped = ExecutionPlan.model_validate(
        {
            "tasks": [
                {"task_id": "b", "capability": "c"},
                {"task_id": "a", "capability": "c"},
                {"task_id": "check", "capability": "c", "depends_on": ["a", "b"],
                 "repeat_until": "output.ok", "max_iterations": 2, "repeat_tasks": ["a", "b"]},
            ]
        }
    )  # fmt: skip
    groups: list[dict[str, list[str]]] = []
    real_loops = executor_module._Loops.__init__

    def kept(self: Any, tasks: Any, g: dict[str, list[str]]) -> None:
        groups.append(g)
        real_loops(self, tasks, g)

    monkeypatch.setattr(executor_module._Loops, "__init__", kept)
    calls = _FakeCalls(block=True)
    ex = Executor(calls, backoff_initial=0.001)  # type: ignore[arg-type]
    run = asyncio.create_task(ex.run(looped, _Events(), run_id="r"))  # type: ignore[arg-type]
    await asyncio.wait_for(calls.started.wait(), 5)  # a first call is out: the loops are made
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    assert ordered == [3] and groups == [{"check": ["b", "a"]}]
