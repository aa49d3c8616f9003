"""The plan language end to end on real processes: discovery, a scripted worker
(``bench.script_worker``) and the orchestrator on loopback, plans sent over HTTP, the run
read back from its SSE stream and from ``GET /v1/runs/{id}``."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_contracts import (
    RunPaused,
    RunResumed,
    TaskCondition,
    TaskInputRequired,
    TaskIteration,
    parse_run_payload,
)
from mesh_testkit import ServiceProcess, read_sse, wait_until
from mesh_testkit.mesh import ProcessMesh, process_mesh

ORCH_ENV = {"ORCH_PLANNER": "deterministic", "ORCH_LOG_LEVEL": "warning"}
WORKER_ENV = {"WORKER_LOG_LEVEL": "warning"}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessMesh]:
    tmp: Path = tmp_path_factory.mktemp("e2e-workflows")
    workers = {
        "script": "bench.script_worker",
        "slow": ("bench.fault_worker", {"FAULT_AGENT_ID": "slow"}),
        # the same scripted worker, static: called on /invoke (one JSON answer); a capability
        # of its own, so no other test's task lands on it
        "invoker": (
            "bench.script_worker",
            {
                "SCRIPT_AGENT_ID": "invoker",
                "SCRIPT_MODE": "invoke",
                "SCRIPT_CAPABILITY": "translation",
            },
        ),
    }
    with process_mesh(tmp, workers, orchestrator_env=ORCH_ENV, worker_env=WORKER_ENV) as m:
        yield m


@pytest.fixture(scope="module")
def orch(mesh: ProcessMesh) -> ServiceProcess:
    return mesh.orch


@pytest.fixture(scope="module")
def capped(mesh: ProcessMesh) -> ServiceProcess:
    """Another orchestrator on the same mesh whose loops run at most 2 iterations."""
    return mesh.add_orchestrator("capped", {**ORCH_ENV, "ORCH_MAX_ITERATIONS": "2"})


async def run_plan(url: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    plan = {"tasks": [{"capability": "data_analysis", **t} for t in tasks]}
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(120), httpx.AsyncClient(timeout=60) as c:
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json={"plan": plan}):
            out.append(msg.json())
            if out[-1]["type"] == "done":
                break
    return out


def payloads(events: list[dict[str, Any]], kind: type[Any], task_id: str) -> list[Any]:
    typed = [(e, parse_run_payload(e["type"], e["data"], e["task_id"])) for e in events]
    return [p for e, p in typed if isinstance(p, kind) and e["task_id"] == task_id]


def statuses(events: list[dict[str, Any]], task_id: str) -> list[str]:
    return [
        e["data"]["status"]
        for e in events
        if e["type"] == "status" and e["task_id"] == task_id and "phase" not in e["data"]
    ]


def branching(approved: bool) -> list[dict[str, Any]]:
    return [
        {"task_id": "review", "input": {"reply": {"approved": approved, "notes": "ok"}}},
        {"task_id": "characters", "depends_on": ["review"], "input": {"prompt": "characters"},
         "when": "$.review.output.approved == true"},
        {"task_id": "revise", "depends_on": ["review"], "input": {"prompt": "revise"},
         "when": "not $.review.output.approved"},
        {"task_id": "publish", "depends_on": ["characters", "revise"], "accept_skipped": True,
         "input": {"prompt": "publish"}},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("approved", "taken", "not_taken"),
    [(True, "characters", "revise"), (False, "revise", "characters")],
)
async def test_a_conditional_plan_takes_each_branch_by_output(
    orch: ServiceProcess, approved: bool, taken: str, not_taken: str
) -> None:
    events = await run_plan(orch.url, branching(approved))
    assert events[-1]["data"]["status"] == "completed", events[-2]["data"]
    # The stream says why: each condition, its result and the value it read.
    [cond_taken] = payloads(events, TaskCondition, taken)
    [cond_not] = payloads(events, TaskCondition, not_taken)
    assert cond_taken.result is True and cond_not.result is False
    assert cond_taken.values == {"$.review.output.approved": approved}
    assert statuses(events, taken)[-1] == "completed"
    assert statuses(events, not_taken) == ["condition", "skipped"]
    skipped = next(
        e for e in events if e["task_id"] == not_taken and e["data"].get("status") == "skipped"
    )
    assert skipped["data"]["reason"].startswith("condition false: ")
    # The join ran with the branch that was taken as its input.
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["publish"]["output"]["saw"] == [taken]
    assert result["results"][not_taken]["not_taken"] is True
    async with httpx.AsyncClient() as c:
        run = (await c.get(f"{orch.url}/v1/runs/{events[0]['run_id']}")).json()
    nodes = {n["task_id"]: n for n in run["plan"]}
    assert nodes[not_taken]["status"] == "skipped"
    assert nodes[not_taken]["condition"]["result"] is False
    assert nodes[taken]["condition"]["result"] is True


async def test_dependents_of_a_branch_not_taken_skip_unless_they_accept_skipped(
    orch: ServiceProcess,
) -> None:
    tasks = branching(True)
    tasks[3]["accept_skipped"] = False
    events = await run_plan(orch.url, tasks)
    assert statuses(events, "publish") == ["skipped"]
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["publish"]["error"] == "upstream task 'revise' skipped"
    assert result["results"]["publish"]["not_taken"] is True
    assert events[-1]["data"]["status"] == "completed"


async def test_a_loop_stops_when_its_condition_holds(orch: ServiceProcess) -> None:
    tasks = [{"task_id": "check", "input": {"approve_at": 2}, "max_iterations": 5,
              "repeat_until": "output.approved"}]  # fmt: skip
    events = await run_plan(orch.url, tasks)
    conds = payloads(events, TaskCondition, "check")
    assert [(c.iteration, c.result) for c in conds] == [(1, False), (2, True)]
    [again] = payloads(events, TaskIteration, "check")
    assert (again.iteration, again.attempt, again.max_iterations) == (2, 2, 5)
    # Each iteration is its own attempt in the stream; the last one's output counts.
    running = [e["data"]["attempt"] for e in events
               if e["task_id"] == "check" and e["data"].get("status") == "running"]  # fmt: skip
    assert running == [1, 2]
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["check"]["output"]["iteration"] == 2
    assert events[-1]["data"]["status"] == "completed"


async def test_a_loop_stops_at_its_bound(orch: ServiceProcess) -> None:
    tasks = [{"task_id": "check", "input": {"approve_at": 50}, "max_iterations": 3,
              "repeat_until": "output.approved"}]  # fmt: skip
    events = await run_plan(orch.url, tasks)
    conds = payloads(events, TaskCondition, "check")
    assert [(c.iteration, c.result, c.exhausted) for c in conds] == [
        (1, False, False), (2, False, False), (3, False, True)
    ]  # fmt: skip
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["check"]["output"]["iteration"] == 3


async def test_each_iteration_of_a_loop_has_attempts_of_its_own(orch: ServiceProcess) -> None:
    """Five iterations with three attempts a task (``ORCH_MAX_TASK_ATTEMPTS``): an iteration
    is not a retry, so the fourth does not find the task's attempts spent."""
    tasks = [{"task_id": "check", "input": {"approve_at": 5}, "max_iterations": 5,
              "repeat_until": "output.approved"}]  # fmt: skip
    events = await run_plan(orch.url, tasks)
    conds = payloads(events, TaskCondition, "check")
    assert [(c.iteration, c.result) for c in conds] == [
        (1, False), (2, False), (3, False), (4, False), (5, True)
    ]  # fmt: skip
    assert events[-1]["data"]["status"] == "completed"


async def test_a_group_loop_revises_until_the_reviewer_approves(orch: ServiceProcess) -> None:
    tasks = [
        {"task_id": "draft", "input": {"prompt": "a story"}},
        {"task_id": "revise", "depends_on": ["draft"], "input": {"prompt": "revised"}},
        {"task_id": "review", "depends_on": ["revise"], "input": {"approve_at": 3},
         "repeat_until": "$.review.output.approved == true or output.approved",
         "repeat_tasks": ["revise"], "max_iterations": 3},
        {"task_id": "publish", "depends_on": ["review"], "input": {"prompt": "publish"}},
    ]  # fmt: skip
    # review's own output is ``output``; naming itself through $.review is not upstream.
    async with httpx.AsyncClient() as c:
        bad = await c.post(orch.url + "/orchestrate/stream", json={"plan": {"tasks": [
            {"capability": "data_analysis", **t} for t in tasks]}})  # fmt: skip
    assert bad.status_code == 422 and "not upstream" in bad.text
    tasks[2]["repeat_until"] = "output.approved"
    events = await run_plan(orch.url, tasks)
    assert [i.iteration for i in payloads(events, TaskIteration, "revise")] == [2, 3]
    assert [i.loop for i in payloads(events, TaskIteration, "revise")] == ["review", "review"]
    assert [c.result for c in payloads(events, TaskCondition, "review")] == [False, False, True]
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)["data"]
    # The last revision saw the reviewer's feedback; draft ran once; publish once, after.
    revise = result["results"]["revise"]["output"]
    assert revise["iteration"] == 3 and revise["saw"] == ["@loop", "draft", "review"]
    assert statuses(events, "draft").count("running") == 1
    assert statuses(events, "publish").count("running") == 1
    assert result["results"]["review"]["output"]["approved"] is True
    assert events[-1]["data"]["status"] == "completed"


async def test_the_cli_pauses_and_resumes_a_run_and_its_stream_says_so(
    orch: ServiceProcess,
) -> None:
    """``mesh pause`` while a sub-task streams: it finishes, the next one waits; the run's
    row and stream say ``paused``; ``mesh resume`` runs the rest, nothing twice."""
    plan = {"tasks": [
        {"task_id": "slow", "capability": "text_generation", "agent_id": "slow",
         "input": {"tokens": 120, "rate": 20}},  # 6 s: time for the CLI to start
        {"task_id": "after", "depends_on": ["slow"], "capability": "data_analysis",
         "input": {"prompt": "after"}},
    ]}  # fmt: skip
    env = {**os.environ, "MESH_URL": orch.url}

    def mesh(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mesh_cli", *argv], env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip

    events: list[dict[str, Any]] = []
    body = {"plan": plan, "options": {"on_disconnect": "continue"}}
    async with asyncio.timeout(60), httpx.AsyncClient(timeout=60) as c:
        async for msg in read_sse(c, "POST", orch.url + "/orchestrate/stream", json=body):
            events.append(msg.json())
            tokens = sum(1 for e in events if e["type"] == "token")
            if tokens == 3:
                paused = await asyncio.to_thread(mesh, "pause", events[0]["run_id"])
                assert paused.returncode == 0 and "pausing" in paused.stdout, paused.stderr
        run_id = events[0]["run_id"]
        # The stream ended without done: the run is parked, its row says so.
        assert events[-1]["data"] == {"status": "paused", "cancel_running": False, "stopped": []}
        assert statuses(events, "slow")[-1] == "completed" and statuses(events, "after") == []
        assert (await c.get(f"{orch.url}/v1/runs/{run_id}")).json()["status"] == "paused"
        resumed = await asyncio.to_thread(mesh, "resume", run_id)
        assert resumed.returncode == 0 and "running" in resumed.stdout, resumed.stderr
        rest = [m.json() async for m in read_sse(
            c, "GET", f"{orch.url}/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(events[-1]["seq"])}
        )]  # fmt: skip
    again = [e["data"] for e in rest if e["data"].get("status") == "resumed"]
    assert again[0]["kept"] == ["slow"] and again[0]["restarted"] == ["after"]
    assert rest[-1]["type"] == "done" and rest[-1]["data"]["status"] == "completed"
    assert statuses(rest, "slow") == []  # never run again
    refused = await asyncio.to_thread(mesh, "resume", run_id)
    assert refused.returncode == 1 and "is not paused" in refused.stderr
    paused_payload = parse_run_payload("status", events[-1]["data"], None)
    assert isinstance(paused_payload, RunPaused) and paused_payload.stopped == []
    assert isinstance(parse_run_payload("status", again[0], None), RunResumed)


async def read_until_parked_or_done(
    c: httpx.AsyncClient, url: str, after: int = 0
) -> list[dict[str, Any]]:
    """A run's events from ``after`` until its stream ends (parked: no ``done``)."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(60):
        async for msg in read_sse(c, "GET", url, headers={"Last-Event-ID": str(after)}):
            out.append(msg.json())
            last = out[-1]
            if last["type"] == "done" or (
                last["task_id"] is None and last["data"].get("status") == "input_required"
            ):
                break
    return out


async def test_a_workers_questions_are_answered_through_the_api_and_the_run_completes(
    orch: ServiceProcess,
) -> None:
    tasks = [
        {"task_id": "asker", "input": {"ask": ["Which style?", "How long?"],
                                       "choices": ["haiku", "limerick"]}},
        {"task_id": "after", "depends_on": ["asker"], "input": {"prompt": "then"}},
    ]  # fmt: skip
    events = await run_plan_until_parked(orch.url, tasks)
    run_id = events[0]["run_id"]
    [asked] = payloads(events, TaskInputRequired, "asker")
    assert (asked.question, asked.choices, asked.input_id) == (
        "Which style?", ["haiku", "limerick"], 1
    )  # fmt: skip
    assert events[-1]["data"] == {"status": "input_required", "tasks": ["asker"]}
    url = f"{orch.url}/v1/runs/{run_id}"
    async with httpx.AsyncClient(timeout=30) as c:
        run = (await c.get(url)).json()
        assert run["status"] == "input_required"
        assert {n["task_id"]: n["status"] for n in run["plan"]}["asker"] == "input_required"
        bad = await c.post(url + "/input", json={"task_id": "asker", "answer": "sonnet"})
        assert bad.status_code == 422 and bad.json() == {
            "detail": "the answer must be one of: haiku, limerick", "code": "bad_answer"
        }  # fmt: skip
        nothing = await c.post(url + "/input", json={"task_id": "after", "answer": "x"})
        assert nothing.status_code == 409
        ok = await c.post(url + "/input", json={"task_id": "asker", "answer": "haiku"})
        assert ok.status_code == 202 and ok.json()["status"] == "running"
        second = await read_until_parked_or_done(c, url + "/events", events[-1]["seq"])
        [again] = payloads(second, TaskInputRequired, "asker")
        assert (again.question, again.input_id) == ("How long?", 2)
        ok2 = await c.post(url + "/input", json={"task_id": "asker", "answer": "limerick"})
        assert ok2.status_code == 202
        rest = await read_until_parked_or_done(c, url + "/events", second[-1]["seq"])
    assert rest[-1]["type"] == "done" and rest[-1]["data"]["status"] == "completed"
    answered = [e["data"] for e in second + rest if e["data"].get("status") == "answered"]
    assert answered == [
        {"status": "answered", "input_id": 1, "answer": "haiku"},
        {"status": "answered", "input_id": 2, "answer": "limerick"},
    ]
    resumed = [e["data"] for e in rest if e["data"].get("status") == "resumed"]
    assert resumed[0]["reason"] == "input answered" and resumed[0]["restarted"] == [
        "asker",
        "after",
    ]
    result = next(e for e in rest if e["type"] == "result" and e["task_id"] is None)["data"]
    # Called three times: asked, asked again with the first answer, then with both.
    assert result["results"]["asker"]["output"] == {"answers": ["haiku", "limerick"], "calls": 3}


async def test_a_worker_served_on_invoke_asks_through_the_sdk_and_the_answer_calls_it_again(
    mesh: ProcessMesh,
) -> None:
    """The SDK's ``Asker`` on the non-streaming path: the worker's ``/invoke`` answers an
    ``input_required`` result; the run parks; the answer calls ``/invoke`` again with it."""
    invoker = mesh.workers["invoker"]
    async with httpx.AsyncClient(timeout=10) as c:
        card = (await c.get(invoker.url + "/descriptor")).json()
    assert card["streaming_mode"] == "static"
    tasks = [{"task_id": "pick", "agent_id": "invoker", "capability": "translation",
              "input": {"ask": ["Which colour?"], "choices": ["red", "blue"]}}]  # fmt: skip
    events = await run_plan_until_parked(mesh.url, tasks)
    run_id = events[0]["run_id"]
    [asked] = payloads(events, TaskInputRequired, "pick")
    assert (asked.question, asked.choices, asked.input_id) == ("Which colour?", ["red", "blue"], 1)
    assert events[-1]["data"] == {"status": "input_required", "tasks": ["pick"]}
    assert not any(e["type"] == "error" for e in events)
    url = f"{mesh.url}/v1/runs/{run_id}"
    async with httpx.AsyncClient(timeout=30) as c:
        ok = await c.post(url + "/input", json={"task_id": "pick", "answer": "blue"})
        assert ok.status_code == 202, ok.text
        rest = await read_until_parked_or_done(c, url + "/events", events[-1]["seq"])
        health = (await c.get(invoker.url + "/health")).json()
    assert rest[-1]["data"] == {"status": "completed"}
    result = next(e for e in rest if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["pick"]["output"] == {"answers": ["blue"], "calls": 2}
    assert health["calls"] == {"pick": 2}  # asked, then called again with the answer


async def run_plan_until_parked(url: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    plan = {"tasks": [{"capability": "data_analysis", **t} for t in tasks]}
    body = {"plan": plan, "options": {"on_disconnect": "continue"}}
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(60), httpx.AsyncClient(timeout=60) as c:
        async for msg in read_sse(c, "POST", url + "/orchestrate/stream", json=body):
            out.append(msg.json())
            if out[-1]["type"] == "done":
                break
    return out


def test_the_cli_puts_a_workers_question_to_the_user_and_answers_it(
    orch: ServiceProcess, tmp_path: Path
) -> None:
    """``mesh ask --plan``: the question and its numbered choices on stderr, the user types
    ``2``, the run goes on and ends with the answer in the worker's output."""
    plan = {"tasks": [{"task_id": "asker", "capability": "data_analysis",
                       "input": {"ask": ["Which colour?"], "choices": ["red", "blue"]}}]}  # fmt: skip
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    done = subprocess.run(
        [sys.executable, "-m", "mesh_cli", "ask", "--plan", str(path), "--json"],
        env={**os.environ, "MESH_URL": orch.url}, input="2\n", capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "asker asks: Which colour?" in done.stderr and "2. blue" in done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)
    assert result["data"]["results"]["asker"]["output"] == {"answers": ["blue"], "calls": 2}
    assert events[-1]["data"]["status"] == "completed"


async def test_a2a_input_required_maps_both_ways_and_a_message_on_the_task_answers_it(
    orch: ServiceProcess,
) -> None:
    """Over A2A (JSON-RPC): the parked run's task is ``TASK_STATE_INPUT_REQUIRED``; a
    message naming that task answers the open question, and the run completes."""
    events = await run_plan_until_parked(
        orch.url, [{"task_id": "asker", "input": {"ask": ["Your name?"]}}]
    )
    run_id = events[0]["run_id"]
    headers = {"A2A-Version": "1.0"}

    def rpc(n: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": n, "method": method, "params": params}

    async with httpx.AsyncClient(timeout=30) as c:
        got = (await c.post(orch.url + "/a2a", json=rpc(1, "GetTask", {"id": run_id}),
                            headers=headers)).json()  # fmt: skip
        assert got["result"]["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", got
        message = {"messageId": "m2", "role": "ROLE_USER", "taskId": run_id,
                   "parts": [{"text": "Ada"}]}  # fmt: skip
        sent = await c.post(
            orch.url + "/a2a", json=rpc(2, "SendMessage", {"message": message}), headers=headers
        )
        assert "result" in sent.json(), sent.json()
        rest = await read_until_parked_or_done(
            c, f"{orch.url}/v1/runs/{run_id}/events", events[-1]["seq"]
        )
    result = next(e for e in rest if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["asker"]["output"] == {"answers": ["Ada"], "calls": 2}
    assert rest[-1]["data"]["status"] == "completed"


async def test_the_orchestrators_iteration_cap_bounds_every_loop(capped: ServiceProcess) -> None:
    tasks = [{"task_id": "check", "input": {"approve_at": 50}, "max_iterations": 10,
              "repeat_until": "output.approved"}]  # fmt: skip
    events = await run_plan(capped.url, tasks)
    conds = payloads(events, TaskCondition, "check")
    assert [(c.iteration, c.exhausted) for c in conds] == [(1, False), (2, True)]
    assert payloads(events, TaskIteration, "check")[0].max_iterations == 2


async def test_post_orchestrate_answers_a_run_that_parks_with_its_parked_status(
    orch: ServiceProcess,
) -> None:
    plan = {"tasks": [{"task_id": "q", "capability": "data_analysis",
                       "input": {"ask": ["Sure?"], "choices": ["yes", "no"]}}]}  # fmt: skip
    body = {"plan": plan, "options": {"on_disconnect": "continue"}}
    async with httpx.AsyncClient(timeout=60) as c:
        r = await c.post(orch.url + "/orchestrate", json=body)
    assert r.status_code == 200 and r.json()["status"] == "input_required"


async def test_a_question_survives_a_restart_of_the_only_replica_and_cancel_ends_a_parked_run(
    capped: ServiceProcess,
) -> None:
    """The embedded store (SQLite, one replica): the parked run is in the file; after a
    restart of the orchestrator the answer is taken and the run completes. A parked run that
    is cancelled ends at once."""
    ask = [{"task_id": "q", "input": {"ask": ["Sure?"], "choices": ["yes", "no"]}}]
    first = await run_plan_until_parked(capped.url, ask)
    second = await run_plan_until_parked(capped.url, ask)
    await asyncio.to_thread(capped.stop)
    await asyncio.to_thread(capped.start)
    url = f"{capped.url}/v1/runs/{first[0]['run_id']}"
    async with httpx.AsyncClient(timeout=30) as c:
        assert (await c.get(url)).json()["status"] == "input_required"
        ok = await c.post(url + "/input", json={"task_id": "q", "answer": "yes"})
        assert ok.status_code == 202, ok.text
        rest = await read_until_parked_or_done(c, url + "/events", first[-1]["seq"])
        assert rest[-1]["data"] == {"status": "completed"}
        other = f"{capped.url}/v1/runs/{second[0]['run_id']}"
        cancelled = await c.post(other + "/cancel")
        assert cancelled.status_code == 202
        run = (await c.get(other)).json()
        assert run["status"] == "cancelled"
        assert {n["task_id"]: n["status"] for n in run["plan"]} == {"q": "skipped"}


async def test_a_worker_may_ask_more_questions_than_the_task_has_attempts(
    orch: ServiceProcess,
) -> None:
    """A call that ended asking is not a failed attempt: four questions (five calls, the
    orchestrator's ``max_attempts`` is 3) end with the worker's answer, not "attempts spent"."""
    ask = ["One?", "Two?", "Three?", "Four?"]
    events = await run_plan_until_parked(orch.url, [{"task_id": "q", "input": {"ask": ask}}])
    url = f"{orch.url}/v1/runs/{events[0]['run_id']}"
    async with httpx.AsyncClient(timeout=30) as c:
        for n in range(len(ask)):
            ok = await c.post(url + "/input", json={"task_id": "q", "answer": f"a{n}"})
            assert ok.status_code == 202, ok.text
            events = await read_until_parked_or_done(c, url + "/events", events[-1]["seq"])
    assert events[-1]["type"] == "done" and events[-1]["data"]["status"] == "completed", events[-3:]
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)["data"]
    assert result["results"]["q"]["output"] == {"answers": ["a0", "a1", "a2", "a3"], "calls": 5}


async def test_a_loop_killed_mid_iteration_on_the_only_replica_goes_on_after_a_restart(
    mesh: ProcessMesh,
) -> None:
    """The embedded store (SQLite, one replica): the orchestrator is killed (SIGKILL) in
    the loop's 2nd iteration and started again; it takes its run up at iteration 2, not 1,
    and stops at the bound of 3 counted across both processes."""
    orch = mesh.add_orchestrator("looping", {**ORCH_ENV, "ORCH_RUN_LEASE_SECONDS": "2"})
    tasks = [{"task_id": "relooped", "capability": "data_analysis",
              "input": {"approve_at": 50, "sleep": 4, "sleep_at": [2]},
              "repeat_until": "output.approved", "max_iterations": 3}]  # fmt: skip
    body = {"plan": {"tasks": tasks}, "options": {"on_disconnect": "continue"}}
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(60), httpx.AsyncClient(timeout=60) as c:
        async for msg in read_sse(c, "POST", orch.url + "/orchestrate/stream", json=body):
            seen.append(msg.json())
            if payloads(seen[-1:], TaskIteration, "relooped"):
                break
    run_id = seen[0]["run_id"]

    def stored() -> bool:  # iteration 2's call is in the store, not only on the wire
        with sqlite3.connect(mesh.tmp / "looping.sqlite3") as db:
            rows = db.execute(
                "SELECT count(*) FROM events WHERE run_id = ? AND task_id = 'relooped' AND "
                "json_extract(data, '$.status') = 'running' AND json_extract(data, '$.attempt') = 2",
                (run_id,),
            ).fetchone()
        return bool(rows[0])

    await asyncio.to_thread(lambda: wait_until(stored, timeout=30, what="iteration 2 stored"))
    await asyncio.to_thread(orch.kill)
    await asyncio.to_thread(orch.start)
    async with asyncio.timeout(90), httpx.AsyncClient(timeout=60) as c:
        for _ in range(100):  # the stream of a run not taken up yet may end early: again
            after = {"Last-Event-ID": str(seen[-1]["seq"])}
            url = f"{orch.url}/v1/runs/{run_id}/events"
            async for msg in read_sse(c, "GET", url, headers=after):
                seen.append(msg.json())
            if seen[-1]["type"] == "done":
                break
            await asyncio.sleep(0.2)
    said = [(e["seq"], e["data"].get("status"), e["data"].get("reason") or e["data"].get("error"))
            for e in seen if e["type"] in ("status", "error")]  # fmt: skip
    assert seen[-1]["data"]["status"] == "completed", json.dumps(said)
    [resumed] = [e for e in seen if e["data"].get("status") == "resumed"]
    later = [e for e in seen if e["seq"] > resumed["seq"]]
    assert [i.iteration for i in payloads(later, TaskIteration, "relooped")] == [2, 3]
    conds = payloads(seen, TaskCondition, "relooped")
    assert [(c.iteration, c.exhausted) for c in conds] == [(1, False), (2, False), (3, True)]
    async with httpx.AsyncClient(timeout=5) as c:
        health = (await c.get(mesh.workers["script"].url + "/health")).json()
    assert health["calls"]["relooped"] == 4  # 1, 2 (cut off), 2 again, 3
