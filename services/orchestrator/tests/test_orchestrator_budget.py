"""Run budgets (``options.budget``, per-client defaults) and idempotency keys on worker
calls, against fake workers on loopback: accounted as events arrive, the rest of the run
stopped when a bound runs out, the status naming which, the use in events and metrics."""

from __future__ import annotations

from typing import Any

import httpx
from orch_fakes import Mesh, writer_like
from test_orchestrator_api import collect, final_status, of, plan

from conftest import MeshFactory
from mesh_contracts import Budget, parse_run_payload
from mesh_orchestrator.api.limits import with_budget


def budget_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["data"].get("phase") == "budget"]


async def test_every_worker_call_carries_the_attempts_idempotency_key(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    events = await collect(mesh.url, {"plan": plan({"task_id": "a"}, {"task_id": "b"})})
    run_id = events[0]["data"]["run_id"]
    # <run>:<task>:<attempt>@<epoch>: a new run's first owner holds epoch 1
    assert sorted(k or "" for k in mesh.worker().keys) == [f"{run_id}:a:1@1", f"{run_id}:b:1@1"]


async def test_tokens_past_the_budget_stop_the_run_and_name_the_bound(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    many = {"tokens": ["x"] * 400, "interval": 0.005}
    body = {
        "plan": plan(
            {"task_id": "small", "input": {"tokens": ["a", "b"]}},
            {"task_id": "runaway", "input": many, "depends_on": ["small"]},
            {"task_id": "after", "input": {}, "depends_on": ["runaway"]},
        ),
        "options": {"budget": {"tokens": 50}},
    }
    events = await collect(mesh.url, body)
    for e in events:
        parse_run_payload(e["type"], e["data"], e["task_id"])
    assert events[-1]["type"] == "done"
    assert events[-1]["data"]["status"] == "budget_exhausted"
    exhausted = [b for b in budget_events(events) if b["status"] == "exhausted"]
    assert len(exhausted) == 1 and exhausted[0]["exhausted"] == "tokens"
    assert exhausted[0]["limits"] == {"tokens": 50}
    assert 50 < exhausted[0]["used"]["tokens"] < 400  # stopped as the tokens arrived
    assert final_status(events, "small")["status"] == "completed"
    for task in ("runaway", "after"):
        assert final_status(events, task)["status"] == "skipped"
        assert final_status(events, task)["reason"].startswith("budget exhausted: tokens (")
    assert len(of(events, "runaway", "token")) < 400
    async with httpx.AsyncClient() as c:
        metrics = (await c.get(mesh.url + "/metrics")).text
        run = (await c.get(f"{mesh.url}/v1/runs/{events[0]['data']['run_id']}")).json()
    assert run["status"] == "budget_exhausted"
    assert run["budget"]["limits"] == {"tokens": 50}
    used = run["budget"]["used"]
    assert used["tokens"] == exhausted[0]["used"]["tokens"] and used["max_tasks"] == 2
    assert 'mesh_runs_budget_exhausted_total{bound="tokens"} 1.0' in metrics
    assert 'mesh_run_budget_used_total{kind="tokens"}' in metrics


async def test_max_tasks_skips_the_tasks_past_it_and_usage_reports_count(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    usage = {"completion_tokens": 7, "gpu_s": 1.5, "wall_s": 0.25}
    body = {
        "plan": plan(
            {"task_id": "one", "input": {"usage": usage}},
            {"task_id": "two", "input": {"usage": usage}, "depends_on": ["one"]},
            {"task_id": "three", "input": {}, "depends_on": ["two"]},
        ),
        "options": {"budget": {"max_tasks": 2, "gpu_s": 100}},
    }
    events = await collect(mesh.url, body)
    assert events[-1]["data"]["status"] == "budget_exhausted"
    assert final_status(events, "three")["status"] == "skipped"
    assert final_status(events, "three")["reason"] == "budget exhausted: max_tasks (2 of 2)"
    last = budget_events(events)[-1]
    # the worker's own count replaces the streamed one: 7 + 7 tokens, 1.5 + 1.5 GPU-s
    assert last["used"]["tokens"] == 14 and last["used"]["gpu_s"] == 3.0
    assert last["used"]["max_tasks"] == 2
    assert mesh.worker().calls == ["one", "two"]
    async with httpx.AsyncClient() as c:
        metrics = (await c.get(mesh.url + "/metrics")).text
    # what the worker reported, by agent and field, whatever the run's budget
    assert 'mesh_call_usage_total{agent="fakewriter",kind="completion_tokens"} 14.0' in metrics
    assert 'mesh_call_usage_total{agent="fakewriter",kind="gpu_s"} 3.0' in metrics
    assert 'mesh_call_usage_total{agent="fakewriter",kind="wall_s"} 0.5' in metrics


async def test_gpu_seconds_reported_past_the_budget_stop_the_rest(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan(
            {"task_id": "train", "input": {"usage": {"gpu_s": 30}}},
            {"task_id": "slow", "input": {"hang": True}},
        ),
        "options": {"budget": {"gpu_s": 10}},
    }
    events = await collect(mesh.url, body)
    assert events[-1]["data"]["status"] == "budget_exhausted"
    assert final_status(events, "slow")["reason"] == "budget exhausted: gpu_s (30 of 10)"


async def test_wall_time_bounds_the_run(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan({"task_id": "stuck", "input": {"hang": True}}),
        "options": {"budget": {"wall_s": 0.5}},
    }
    events = await collect(mesh.url, body)
    assert events[-1]["data"]["status"] == "budget_exhausted"
    assert final_status(events, "stuck")["reason"].startswith("budget exhausted: wall_s (")
    assert mesh.worker().cancelled == ["stuck"]  # its worker call was closed


async def test_a_client_default_fills_the_bounds_a_run_leaves_unset(
    mesh_factory: MeshFactory,
) -> None:
    defaults = {"*": Budget(tokens=3), "client:big": Budget(tokens=1000, max_tasks=5)}
    assert with_budget(defaults, "client:big", {"budget": {"max_tasks": 2}})["budget"] == {
        "tokens": 1000,
        "max_tasks": 2,
    }
    assert with_budget(defaults, None, {})["budget"] == {"tokens": 3}
    assert with_budget({}, None, {"budget": None})["budget"] is None
    mesh = await mesh_factory(budget_defaults={"*": {"tokens": 3}})
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"plan": plan({"task_id": "t", "input": {"tokens": ["x"] * 50, "interval": 0.01}})}
    events = await collect(mesh.url, body)
    assert events[-1]["data"]["status"] == "budget_exhausted"


async def test_a_budget_that_is_not_a_budget_is_a_short_422(mesh: Mesh) -> None:
    async with httpx.AsyncClient() as c:
        for bad in ({"tokens": -1}, {"gpu_hours": 2}, {"max_tasks": "x" * 5000}):
            body = {"plan": plan({"task_id": "t"}), "options": {"budget": bad}}
            r = await c.post(mesh.url + "/orchestrate", json=body)
            assert r.status_code == 422, r.text
            assert len(r.content) < 2000


async def test_a_run_without_a_budget_reports_its_use_in_events_run_and_metrics(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    usage = {"completion_tokens": 5, "gpu_s": 0.5}
    body = {
        "plan": plan(
            {"task_id": "one", "input": {"usage": usage}},
            {"task_id": "two", "input": {"usage": usage}, "depends_on": ["one"]},
        )
    }
    events = await collect(mesh.url, body)
    assert events[-1]["data"]["status"] == "completed"
    reports = budget_events(events)
    assert len(reports) == 2  # one after each sub-task, no limits to state
    last = reports[-1]
    assert last["limits"] == {} and last["status"] == "used"
    assert last["used"]["tokens"] == 10 and last["used"]["gpu_s"] == 1.0
    assert last["used"]["max_tasks"] == 2 and last["used"]["wall_s"] >= 0
    run_id = events[0]["data"]["run_id"]
    async with httpx.AsyncClient() as c:
        run = (await c.get(f"{mesh.url}/v1/runs/{run_id}")).json()
        metrics = (await c.get(mesh.url + "/metrics")).text
    assert run["budget"]["limits"] is None
    assert run["budget"]["used"]["tokens"] == 10 and run["budget"]["used"]["max_tasks"] == 2
    assert 'mesh_run_budget_used_total{kind="tokens"} 10.0' in metrics
    assert 'mesh_run_budget_used_total{kind="max_tasks"} 2.0' in metrics
