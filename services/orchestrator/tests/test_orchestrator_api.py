"""The HTTP API against fake workers and a fake registry served on loopback."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from orch_fakes import Mesh, record, serve, stop, writer_like

from mesh_orchestrator.app import create_app
from mesh_orchestrator.runs.store import RunRecord, SQLiteRunStore
from mesh_orchestrator.settings import Settings
from mesh_testkit import read_sse


def plan(*tasks: dict[str, Any]) -> dict[str, Any]:
    return {"tasks": [{"capability": "text_generation", **t} for t in tasks]}


async def collect(
    url: str, body: dict[str, Any], *, until: Any = None, deadline: float = 20.0
) -> list[dict[str, Any]]:
    """Events of one POST /orchestrate/stream; ``until(event)`` may act on each and stop."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(deadline), httpx.AsyncClient(timeout=30) as c:
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json=body):
            out.append(msg.json())
            assert str(out[-1]["seq"]) == msg.id
            if out[-1]["type"] == "done" or (until is not None and await until(out[-1])):
                break
    return out


def of(events: list[dict[str, Any]], task_id: str, type_: str = "status") -> list[dict[str, Any]]:
    return [e for e in events if e["task_id"] == task_id and e["type"] == type_]


def final_status(events: list[dict[str, Any]], task_id: str) -> dict[str, Any]:
    data: dict[str, Any] = of(events, task_id)[-1]["data"]
    return data


async def wait_for(predicate: Any, what: str, deadline: float = 10.0) -> None:
    """Poll ``predicate`` (sync or async) until it holds; fail after ``deadline`` seconds."""
    async with asyncio.timeout(deadline):
        while True:
            got = predicate()
            if asyncio.iscoroutine(got):
                got = await got
            if got:
                return
            await asyncio.sleep(0.02)


async def _is(c: httpx.AsyncClient, url: str, status: str) -> bool:
    got: str = (await c.get(url)).json()["status"]
    return got == status


async def test_a_query_streams_run_plan_worker_events_result_and_done(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    events = await collect(mesh.url, {"query": "write a poem about the sea"})
    types = [e["type"] for e in events]
    assert types[0] == "run" and types[1] == "plan"
    assert events[1]["data"]["planner"] == "intent"  # the default without an LLM
    assert types[-2:] == ["result", "done"]
    assert [e["data"]["token"] for e in events if e["type"] == "token"] == ["hello", " world"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    running = next(e for e in events if e["type"] == "status")
    assert running["data"]["status"] == "running"
    assert running["agent_id"] == "fakewriter"
    assert running["data"]["instance_id"] == "fakewriter"
    assert events[-1]["data"]["status"] == "completed"
    assert "hello world" in events[-2]["data"]["answer"]


async def test_a_fast_branch_dependent_starts_before_a_slow_sibling_finishes(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan(
            {"task_id": "slow", "input": {"gate": "g"}},
            {"task_id": "fast", "input": {}},
            {"task_id": "after_fast", "input": {"prompt": "go on"}, "depends_on": ["fast"]},
        )
    }

    async def release_when_dependent_runs(e: dict[str, Any]) -> bool:
        if e["task_id"] == "after_fast" and e["data"].get("status") == "running":
            async with httpx.AsyncClient() as c:
                await c.post(mesh.workers[0].url + "/release/g")
        return False

    # Level-by-level scheduling would wait for "slow", which waits for the gate: a deadlock
    # that ends in the collect deadline instead of reaching "done".
    events = await collect(mesh.url, body, until=release_when_dependent_runs)
    seq = {t: of(events, t)[-1]["seq"] for t in ("slow", "after_fast")}
    assert seq["after_fast"] < seq["slow"]
    assert events[-1]["data"]["status"] == "completed"


async def test_a_failed_task_skips_its_dependents_while_independent_tasks_complete(
    mesh: Mesh,
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan(
            {"task_id": "bad", "input": {"fail": True}},
            {"task_id": "child", "input": {}, "depends_on": ["bad"]},
            {"task_id": "grandchild", "input": {}, "depends_on": ["child"]},
            {"task_id": "other", "input": {}},
        )
    }
    events = await collect(mesh.url, body)
    assert final_status(events, "bad")["status"] == "failed"
    assert of(events, "bad", "error")[0]["data"]["error"] == "model exploded"
    assert final_status(events, "child") == {
        "status": "skipped",
        "reason": "upstream task 'bad' failed",
    }
    assert final_status(events, "grandchild")["status"] == "skipped"
    assert final_status(events, "other")["status"] == "completed"
    result = events[-2]["data"]
    assert result["status"] == "partial" and events[-1]["data"]["status"] == "partial"
    assert result["results"]["other"]["output"] == "hello world"
    assert "FAILED: model exploded" in result["answer"]


@pytest.mark.parametrize(
    ("flags", "code"),
    [
        ({"malformed": True}, "malformed_stream"),
        ({"huge": True}, "malformed_stream"),
        ({"die": True}, "stream_lost"),
        ({"no_done": True}, "stream_lost"),
        ({"reject": True}, "invalid_input"),
    ],
)
async def test_a_broken_worker_stream_fails_only_that_task(
    mesh: Mesh, flags: dict[str, Any], code: str
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"plan": plan({"task_id": "broken", "input": flags}, {"task_id": "fine", "input": {}})}
    events = await collect(mesh.url, body)
    assert of(events, "broken", "error")[-1]["data"]["code"] == code
    assert final_status(events, "broken")["status"] == "failed"
    assert final_status(events, "fine")["status"] == "completed"


async def test_a_capability_no_agent_serves_fails_that_node_with_a_clear_error(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan(
            {"task_id": "img", "capability": "image_generation", "input": {"prompt": "a cat"}},
            {"task_id": "txt", "input": {}},
        )
    }
    events = await collect(mesh.url, body)
    error = of(events, "img", "error")[0]["data"]
    assert error["code"] == "unresolvable"
    assert "image_generation" in error["error"] and "text_generation" in error["error"]
    assert final_status(events, "txt")["status"] == "completed"


async def test_a_task_past_its_timeout_fails_and_its_worker_stream_is_closed(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {
        "plan": plan({"task_id": "stuck", "input": {"hang": True}}),
        "options": {"timeout_seconds": 0.3},
    }
    events = await collect(mesh.url, body)
    assert of(events, "stuck", "error")[0]["data"]["code"] == "timeout"
    assert events[-1]["data"]["status"] == "failed"
    await wait_for(lambda: "stuck" in mesh.worker(0).cancelled, "worker saw the cancellation")


async def test_a_busy_worker_is_retried_on_another_replica_then_after_retry_after(
    mesh: Mesh,
) -> None:
    await mesh.register(
        writer_like(mesh.workers[0].url, instance="w0"),
        writer_like(mesh.workers[1].url, instance="w1"),
    )
    events = await collect(mesh.url, {"plan": plan({"task_id": "t1", "input": {"busy": 1}})})
    assert final_status(events, "t1")["status"] == "completed"
    assert mesh.worker(0).calls.count("t1") + mesh.worker(1).calls.count("t1") == 3
    assert len(of(events, "t1")) == 2  # one "running" (the accepted call), one "completed"


@pytest.mark.parametrize("reads_context", [False, True])
async def test_upstream_output_reaches_the_dependent_in_context_and_prompt(
    mesh: Mesh, reads_context: bool
) -> None:
    """Always in ``context``; pasted into the prompt too unless the agent reads context."""
    await mesh.register(writer_like(mesh.workers[0].url, reads_context=reads_context))
    body = {
        "plan": plan(
            {"task_id": "a", "input": {"tokens": ["alpha"]}},
            {
                "task_id": "b",
                "input": {"prompt": "summarize", "echo_context": True},
                "depends_on": ["a"],
            },
        )
    }
    events = await collect(mesh.url, body)
    out = of(events, "b", "result")[0]["data"]["output"]
    assert out["context"] == {"a": "alpha"}
    if reads_context:
        assert out["prompt"] == "summarize"
    else:
        assert out["prompt"].startswith("summarize") and "alpha" in out["prompt"]


async def test_upstream_text_gives_way_to_the_agents_prompt_limit(mesh: Mesh) -> None:
    """The prompt with upstream text appended stays within the descriptor's
    ``max_prompt_chars``; the whole upstream output still travels in ``context``."""
    await mesh.register(writer_like(mesh.workers[0].url, max_prompt_chars=40))
    body = {
        "plan": plan(
            {"task_id": "a", "input": {"tokens": ["alpha " * 50]}},
            {
                "task_id": "b",
                "input": {"prompt": "summarize", "echo_context": True},
                "depends_on": ["a"],
            },
        )
    }
    events = await collect(mesh.url, body)
    out = of(events, "b", "result")[0]["data"]["output"]
    assert out["context"] == {"a": "alpha " * 50}
    assert out["prompt"].startswith("summarize\n\nalpha")
    assert len(out["prompt"]) == 40


async def test_static_agents_answer_from_the_descriptor_or_invoke(mesh: Mesh) -> None:
    await mesh.register(
        record(agent_id="faq", capabilities=["search"], static_response={"answer": 42}),
        record(agent_id="inv", endpoint=mesh.workers[1].url, capabilities=["translation"]),
    )
    body = {
        "plan": {
            "tasks": [
                {"task_id": "s", "capability": "search", "input": {"query": "x"}},
                {"task_id": "i", "capability": "translation", "input": {}},
            ]
        }
    }
    events = await collect(mesh.url, body)
    assert of(events, "s", "result")[0]["data"]["output"] == {"answer": 42}
    assert of(events, "i", "result")[0]["data"]["output"] == {"answer": "w1 says hi"}
    assert events[-1]["data"]["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"query": ""}, "query"),
        ({"query": "   "}, "blank"),
        ({"query": "x" * 8001}, "8000"),
        ({}, "query"),
        ({"query": "hi", "options": {"on_disconnect": "maybe"}}, "on_disconnect"),
        (
            {
                "plan": plan(
                    {"task_id": "a", "depends_on": ["b"]}, {"task_id": "b", "depends_on": ["a"]}
                )
            },
            "cycle",
        ),
        ({"plan": plan({"task_id": "a"}, {"task_id": "a"})}, "duplicate"),
        ({"plan": plan({"task_id": "a", "depends_on": ["zz"]})}, "unknown task 'zz'"),
    ],
)
async def test_bad_requests_get_a_422_naming_the_problem(
    mesh: Mesh, body: Any, needle: str
) -> None:
    async with httpx.AsyncClient() as c:
        for path in ("/orchestrate/stream", "/orchestrate"):
            r = await c.post(mesh.url + path, json=body)
            assert r.status_code == 422, r.text
            assert needle in r.text


async def test_malformed_json_is_a_422_and_unknown_runs_are_404(mesh: Mesh) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(
            mesh.url + "/orchestrate",
            content=b"{nope",
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 422 and "json" in r.text.lower()
        for path in ("/v1/runs/nope", "/v1/runs/nope/events"):
            r = await c.get(mesh.url + path)
            assert r.status_code == 404 and "nope" in r.json()["detail"]


async def test_post_orchestrate_answers_json_and_the_run_is_listed(mesh: Mesh) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    async with httpx.AsyncClient(timeout=30) as c:
        r = await c.post(mesh.url + "/orchestrate", json={"query": "write a story"})
        body = r.json()
        assert r.status_code == 200 and body["status"] == "completed"
        assert body["answer"] and body["plan"][0]["status"] == "completed"
        assert body["results"]["t1"]["output"] == "hello world"
        runs = (await c.get(mesh.url + "/v1/runs?limit=5")).json()
        assert runs[0]["run_id"] == body["run_id"] and runs[0]["status"] == "completed"
        one = (await c.get(f"{mesh.url}/v1/runs/{body['run_id']}")).json()
        assert one["last_seq"] > 3 and one["answer"] == body["answer"]
        agents = (await c.get(mesh.url + "/v1/agents")).json()
        assert [a["descriptor"]["agent_id"] for a in agents] == ["fakewriter"]
        health = (await c.get(mesh.url + "/health")).json()
        assert health["status"] == "ok" and health["discovery"] == "ok"


async def test_a_restarted_orchestrator_answers_for_past_runs_and_resumes_a_left_one(
    mesh: Mesh, tmp_path: Path
) -> None:
    await mesh.register(writer_like(mesh.workers[0].url))
    events = await collect(mesh.url, {"query": "write a limerick"})
    run_id = events[0]["run_id"]
    await stop(mesh.orch)
    crashed = SQLiteRunStore(tmp_path / "orch.sqlite3")
    await crashed.open()
    await crashed.save_run(RunRecord(run_id="crashed", query="q", created_at=time.time()))
    await crashed.close()
    settings = Settings(discovery_url=mesh.disc.url, db_path=tmp_path / "orch.sqlite3")
    again = await serve(create_app(settings))
    try:
        async with httpx.AsyncClient() as c:
            run = (await c.get(f"{again.url}/v1/runs/{run_id}")).json()
            assert run["status"] == "completed" and run["plan"][0]["status"] == "completed"
            replay = [
                m.json() async for m in read_sse(c, "GET", f"{again.url}/v1/runs/{run_id}/events")
            ]
            assert replay == events

            async def resumed_and_ended() -> bool:
                run = (await c.get(f"{again.url}/v1/runs/crashed")).json()
                return bool(run["status"] != "running")

            # Left running with nothing stored but its row: planned again from its query.
            await wait_for(resumed_and_ended, "the left run to be resumed and end")
            log = [
                m.json() async for m in read_sse(c, "GET", f"{again.url}/v1/runs/crashed/events")
            ]
            assert log[0]["data"]["status"] == "resumed" and log[-1]["type"] == "done"
    finally:
        await stop(again)


async def test_a_run_is_listed_and_readable_before_its_row_is_first_stored(
    mesh_factory: Any,
) -> None:
    mesh = await mesh_factory(flush_interval_seconds=60, flush_batch=10_000)
    await mesh.register(writer_like(mesh.workers[0].url))
    body = {"plan": plan({"task_id": "t", "input": {"gate": "listed"}})}
    async with httpx.AsyncClient(timeout=30) as c:

        async def list_when_running(e: dict[str, Any]) -> bool:
            if e["type"] == "status" and e["data"]["status"] == "running":
                runs = (await c.get(mesh.url + "/v1/runs")).json()
                assert runs[0]["run_id"] == e["run_id"] and runs[0]["status"] == "running"
                one = (await c.get(f"{mesh.url}/v1/runs/{e['run_id']}")).json()
                assert one["plan"][0]["status"] == "running"
                await c.post(mesh.workers[0].url + "/release/listed")
            return False

        events = await collect(mesh.url, body, until=list_when_running)
    assert events[-1]["data"]["status"] == "completed"
