"""An external A2A agent that asks mid-task (``input-required``), on real processes: the
agent (``a2a_asker.py``, the a2a-sdk alone) as its own process, discovery and the
orchestrator (``process_mesh``). The run parks the sub-task as ``input_required``; the
user's answer (``POST /v1/runs/{id}/input``, or an A2A message on the mesh's task)
continues THE SAME A2A task of the agent, which then completes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mesh_contracts import TaskInputRequired, parse_run_payload
from mesh_testkit import ServiceProcess, free_port, read_sse, wait_until
from mesh_testkit.mesh import process_mesh

DEADLINE = 60.0
HEADERS = {"A2A-Version": "1.0"}


@dataclass
class World:
    orch: str
    disc: str
    agent: ServiceProcess
    cancelled: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("a2a-input")
    port = free_port()
    cancelled = tmp / "cancelled"
    agent = ServiceProcess(
        "a2a_asker",
        port,
        {"A2A_PORT": str(port), "A2A_CANCEL_FILE": str(cancelled)},
        cwd=Path(__file__).parent,
    ).start()
    try:
        with process_mesh(
            tmp,
            {"script": "bench.script_worker"},  # a slow sibling task (the live cancel)
            discovery_env={"DISCOVERY_A2A_CHECK_SECONDS": "1"},
            orchestrator_env={"ORCH_PLANNER": "deterministic", "ORCH_LOG_LEVEL": "warning"},
            worker_env={"WORKER_LOG_LEVEL": "warning"},
        ) as m:
            w = World(m.url, m.discovery.url, agent, cancelled)
            r = httpx.post(
                w.disc + "/v1/agents/a2a", json={"card_url": agent.url, "agent_id": "forecaster"}
            )
            assert r.status_code == 201, r.text

            def routed() -> bool:
                agents = httpx.get(w.orch + "/v1/agents").json()
                return any(a["descriptor"]["agent_id"] == "forecaster" for a in agents)

            wait_until(routed, timeout=DEADLINE, what="the orchestrator sees the A2A agent")
            yield w
    finally:
        agent.stop()


PLAN = {
    "plan": {"tasks": [{"task_id": "t1", "capability": "forecast", "agent_id": "forecaster",
                        "input": {"prompt": "the weather, please"}}]},
    "options": {"on_disconnect": "continue"},
}  # fmt: skip


async def read(c: httpx.AsyncClient, method: str, url: str, **kw: Any) -> list[dict[str, Any]]:
    """A run's events until its stream ends (``done``, or parked: no ``done``)."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(DEADLINE):
        async for msg in read_sse(c, method, url, **kw):
            out.append(msg.json())
            if out[-1]["type"] == "done":
                break
    return out


def question(events: list[dict[str, Any]]) -> TaskInputRequired:
    [asked] = [
        p
        for e in events
        if e["task_id"] == "t1"
        and isinstance(
            p := parse_run_payload(e["type"], e["data"], e["task_id"]), TaskInputRequired
        )
    ]
    return asked


def output(events: list[dict[str, Any]]) -> Any:
    result = next(e for e in events if e["type"] == "result" and e["task_id"] is None)
    return result["data"]["results"]["t1"]["output"]


async def test_an_agents_question_is_answered_on_the_same_a2a_task(world: World) -> None:
    async with httpx.AsyncClient(timeout=30) as c:
        events = await read(c, "POST", world.orch + "/orchestrate/stream", json=PLAN)
        run_id = events[0]["run_id"]
        asked = question(events)
        assert asked.question == "Which city?"
        assert asked.resume is not None and asked.resume["agent"] == "forecaster"
        agent_task = asked.resume["taskId"]
        url = f"{world.orch}/v1/runs/{run_id}"
        assert (await c.get(url)).json()["status"] == "input_required"
        ok = await c.post(url + "/input", json={"task_id": "t1", "answer": "Oslo"})
        assert ok.status_code == 202, ok.text
        rest = await read(
            c, "GET", url + "/events", headers={"Last-Event-ID": str(events[-1]["seq"])}
        )
    assert rest[-1]["data"]["status"] == "completed", rest[-3:]
    # The answer arrived on the task that asked, which the mesh never cancelled.
    text = output(rest)
    assert f"forecast for Oslo (task {agent_task}," in text, text
    assert not world.cancelled.exists() or agent_task not in world.cancelled.read_text()


async def test_an_a2a_client_answers_through_the_mesh_and_the_task_history_keeps_it(
    world: World,
) -> None:
    """Both ways: the mesh's own A2A task is ``INPUT_REQUIRED`` with the agent's question;
    the client's message on it is the answer the agent's task gets; ``GetTask`` shows the
    question and the answer, in order."""
    async with httpx.AsyncClient(timeout=30) as c:
        events = await read(c, "POST", world.orch + "/orchestrate/stream", json=PLAN)
        run_id = events[0]["run_id"]
        agent_task = question(events).resume["taskId"]  # type: ignore[index]

        async def rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
            body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
            answer: dict[str, Any] = (
                await c.post(world.orch + "/a2a", json=body, headers=HEADERS)
            ).json()
            return answer

        got = await rpc("GetTask", {"id": run_id})
        assert got["result"]["status"]["state"] == "TASK_STATE_INPUT_REQUIRED", got
        reply = {"messageId": "answer-1", "role": "ROLE_USER", "taskId": run_id,
                 "parts": [{"text": "Bergen"}]}  # fmt: skip
        sent = await rpc("SendMessage", {"message": reply})
        task = sent["result"]["task"]
        assert task["status"]["state"] == "TASK_STATE_COMPLETED", sent
        assert (
            f"forecast for Bergen (task {agent_task}," in task["artifacts"][0]["parts"][0]["text"]
        )
        history = (await rpc("GetTask", {"id": run_id}))["result"]["history"]
    # (a plan without a query: no first message of the user's)
    assert [(m["role"], m["parts"][0]["text"]) for m in history] == [
        ("ROLE_AGENT", "t1: Which city?"),
        ("ROLE_USER", "Bergen"),
    ]
    assert history[1]["messageId"] == "answer-1"


async def test_cancelling_a_run_parked_on_an_agents_question_cancels_the_agents_task(
    world: World,
) -> None:
    """The run is cancelled while its task waits on the agent's question: the agent's task,
    left waiting (not cancelled) when the run parked, gets ``CancelTask`` now, which the
    agent process records; the run ends ``cancelled``."""
    async with httpx.AsyncClient(timeout=30) as c:
        events = await read(c, "POST", world.orch + "/orchestrate/stream", json=PLAN)
        run_id = events[0]["run_id"]
        agent_task = question(events).resume["taskId"]  # type: ignore[index]
        url = f"{world.orch}/v1/runs/{run_id}"
        assert (await c.get(url)).json()["status"] == "input_required"
        # Parked and waiting: the agent has not been told to cancel anything yet.
        assert not world.cancelled.exists() or agent_task not in world.cancelled.read_text()
        cancelled = await c.post(url + "/cancel")
        assert cancelled.status_code == 202, cancelled.text
        assert (await c.get(url)).json()["status"] == "cancelled"

    def told() -> bool:
        return world.cancelled.exists() and agent_task in world.cancelled.read_text().split()

    wait_until(told, timeout=DEADLINE, what="the agent records CancelTask for its task")


async def test_cancelling_a_live_run_whose_task_waits_on_an_agents_question_cancels_it_too(
    world: World,
) -> None:
    """The agent asked while a sibling task still runs (the run is live, not parked yet):
    a cancel ends the run ``cancelled`` (it does not park it), and the agent's waiting task
    gets ``CancelTask``."""
    plan = {
        "plan": {"tasks": [
            {"task_id": "t1", "capability": "forecast", "agent_id": "forecaster",
             "input": {"prompt": "the weather, please"}},
            {"task_id": "t2", "capability": "data_analysis",
             "input": {"reply": "slow", "sleep": 30}},
        ]},
        "options": {"on_disconnect": "continue"},
    }  # fmt: skip
    async with httpx.AsyncClient(timeout=30) as c:
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(DEADLINE):
            async for msg in read_sse(c, "POST", world.orch + "/orchestrate/stream", json=plan):
                events.append(msg.json())
                if events[-1]["data"].get("status") == "input_required":
                    break  # t1 asked; t2 still sleeps: the run is live
        run_id = events[0]["run_id"]
        agent_task = question(events).resume["taskId"]  # type: ignore[index]
        url = f"{world.orch}/v1/runs/{run_id}"
        assert (await c.get(url)).json()["status"] == "running"
        cancelled = await c.post(url + "/cancel")
        assert cancelled.status_code == 202, cancelled.text
        rest = await read(c, "GET", url + "/events", headers={"Last-Event-ID": "0"})
    assert rest[-1]["type"] == "done" and rest[-1]["data"]["status"] == "cancelled", rest[-3:]

    def told() -> bool:
        return world.cancelled.exists() and agent_task in world.cancelled.read_text().split()

    wait_until(told, timeout=DEADLINE, what="the agent records CancelTask for its task")
