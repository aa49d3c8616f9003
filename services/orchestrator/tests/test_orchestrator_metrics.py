"""GET /metrics of the orchestrator: runs by status, live runs, sub-task latency, relayed
events, breaker states and the registry, parsed as Prometheus text, moving with the runs."""

from __future__ import annotations

import httpx
from orch_fakes import writer_like
from test_orchestrator_tracing import client_plan, run_to_done

from conftest import MeshFactory
from mesh_testkit.metrics import key
from mesh_testkit.metrics import scrape_async as scrape


async def test_metrics_move_with_runs_calls_breakers_and_the_registry(
    mesh_factory: MeshFactory,
) -> None:
    mesh = await mesh_factory(breaker_failures=1)
    await mesh.register(writer_like(mesh.workers[0].url))
    before = await scrape(mesh.url)
    assert key("mesh_live_runs") in before
    assert key("mesh_runs_total", status="completed") not in before
    assert before[key("mesh_registry_instances", agent="fakewriter", healthy="true")] == 1

    body = {"query": "q", "plan": client_plan({"task_id": "a", "input": {"prompt": "p"}})}
    assert (await run_to_done(mesh.url, body))[-1]["data"]["status"] == "completed"
    after = await scrape(mesh.url)
    assert after[key("mesh_runs_total", status="completed")] == 1
    assert after[key("mesh_live_runs")] == 0
    task = dict(capability="text_generation", agent="fakewriter", status="completed")
    assert after[key("mesh_subtask_duration_seconds_count", **task)] == 1
    assert after[key("mesh_subtask_duration_seconds_sum", **task)] > 0
    assert after[key("mesh_relayed_events_total", agent="fakewriter")] == 2  # two tokens
    assert after[key("mesh_breaker_state", instance_id="fakewriter")] == 0  # closed
    route = dict(route="/orchestrate/stream", method="POST")
    assert after[key("mesh_http_requests_total", status="200", **route)] == 1
    assert after[key("mesh_http_request_duration_seconds_count", **route)] == 1

    # A worker dying mid-stream fails the run and (fail_max 1) opens the breaker.
    body = {"query": "q", "plan": client_plan({"task_id": "a", "input": {"die": True}})}
    assert (await run_to_done(mesh.url, body))[-1]["data"]["status"] == "failed"
    broken = await scrape(mesh.url)
    assert broken[key("mesh_runs_total", status="failed")] == 1
    assert broken[key("mesh_runs_total", status="completed")] == 1
    assert broken[key("mesh_breaker_state", instance_id="fakewriter")] == 2  # open
    failed = dict(capability="text_generation", agent="fakewriter", status="failed")
    assert broken[key("mesh_subtask_duration_seconds_count", **failed)] == 1
    # Requests are labelled by route template: one series for every run id.
    async with httpx.AsyncClient() as c:
        for _ in range(2):
            await c.get(mesh.url + "/v1/runs/nope")
    labelled = await scrape(mesh.url)
    assert (
        labelled[
            key("mesh_http_requests_total", route="/v1/runs/{run_id}", method="GET", status="404")
        ]
        == 2
    )
