"""An a2a-sdk agent joins the mesh by its card URL and works inside a planned run.

Three servers on loopback, each under uvicorn in its own thread: a tiny A2A agent written
here with the a2a-sdk's server (``DefaultRequestHandler`` over an ``AgentExecutor``), the
real discovery service, and the orchestrator.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.helpers.proto_helpers import new_task_from_user_message, new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Part,
    Role,
)
from starlette.applications import Starlette

from mesh_discovery import create_app as discovery_app
from mesh_discovery.settings import Settings as DiscoverySettings
from mesh_orchestrator.app import create_app as orchestrator_app
from mesh_orchestrator.settings import Settings as OrchSettings
from mesh_testkit import free_port, read_sse, serving, wait_until

DEADLINE = 20.0
POEM = ["Roses", " are", " red"]


class Poet(AgentExecutor):
    """Streams a poem as artifact chunks; a prompt with "hang" waits until cancelled."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self.cancelled = threading.Event()

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        prompt = context.get_user_input()
        self.prompts.append(prompt)
        await updater.start_work(new_text_message("thinking", role=Role.ROLE_AGENT))
        if "hang" in prompt:
            await asyncio.Event().wait()  # until CancelTask cancels execute()
        for i, word in enumerate(POEM):
            await updater.add_artifact(
                [Part(text=word)], artifact_id="poem", append=i > 0, last_chunk=i == len(POEM) - 1
            )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.cancelled.set()
        assert context.task_id and context.context_id
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def poet_app(poet: Poet, url: str) -> Starlette:
    card = AgentCard(
        name="Poet",
        description="Writes short poems.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url + "/", protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(id="poems", name="Poems", description="poems", tags=["text_generation"]),
            AgentSkill(id="Write Limericks", name="Limericks", description="l", tags=["fun"]),
        ],
    )
    handler = DefaultRequestHandler(
        agent_executor=poet, task_store=InMemoryTaskStore(), agent_card=card
    )
    return Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])


class World:
    def __init__(self, poet: Poet, agent: str, disc: str, orch: str) -> None:
        self.poet, self.agent, self.disc, self.orch = poet, agent, disc, orch


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    poet = Poet()
    port = free_port()
    agent_url = f"http://127.0.0.1:{port}"
    dsettings = DiscoverySettings(db_path=tmp_path / "discovery.sqlite3", a2a_check_seconds=0.2)
    with (
        serving(poet_app(poet, agent_url), port, name="a2a-agent"),
        serving(discovery_app(dsettings), name="discovery") as disc,
    ):
        osettings = OrchSettings(
            discovery_url=disc,
            db_path=tmp_path / "orch.sqlite3",
            watch_wait_seconds=1.0,
            discovery_retry_seconds=0.05,
        )
        with serving(orchestrator_app(osettings), name="orchestrator") as orch:
            yield World(poet, agent_url, disc, orch)


def register(w: World) -> dict[str, Any]:
    r = httpx.post(w.disc + "/v1/agents/a2a", json={"card_url": w.agent, "agent_id": "poet"})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()

    def routed() -> bool:
        agents = httpx.get(w.orch + "/v1/agents").json()
        return any(a["descriptor"]["agent_id"] == "poet" for a in agents)

    wait_until(routed, timeout=DEADLINE, what="the orchestrator sees the A2A agent")
    return body


def run_plan(prompt: str) -> dict[str, Any]:
    return {
        "plan": {
            "tasks": [
                {
                    "task_id": "t1",
                    "capability": "text_generation",
                    "agent_id": "poet",
                    "input": {"prompt": prompt},
                }
            ]
        }
    }


async def stream(url: str, body: dict[str, Any], until: Any = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(timeout=30) as c:
        async for m in read_sse(c, "POST", url + "/orchestrate/stream", json=body):
            out.append(m.json())
            if out[-1]["type"] == "done" or (until is not None and await until(out[-1])):
                break
    return out


def test_a_card_registers_an_a2a_agent_with_capabilities_from_its_skills(world: World) -> None:
    d = register(world)["descriptor"]
    assert d["capabilities"] == ["text_generation", "write_limericks"]
    assert d["metadata"]["protocol"] == "a2a"
    assert d["metadata"]["a2a_url"] == world.agent + "/"
    assert d["streaming_mode"] == "dynamic_events"


async def test_an_a2a_agent_streams_into_a_planned_run_which_completes(world: World) -> None:
    await asyncio.to_thread(register, world)
    events = await stream(world.orch, run_plan("a poem about rain"))
    t1 = [e for e in events if e["task_id"] == "t1"]
    assert [e["data"]["token"] for e in t1 if e["type"] == "token"] == POEM
    assert any(e["type"] == "progress" and e["data"]["message"] == "thinking" for e in t1)
    assert all(e["agent_id"] == "poet" for e in t1 if e["type"] in ("token", "progress"))
    answer = next(e for e in events if e["type"] == "result" and e["task_id"] is None)
    assert answer["data"]["results"]["t1"]["output"] == "Roses are red"
    assert events[-1]["data"]["status"] == "completed"
    assert world.poet.prompts == ["a poem about rain"]


async def test_cancelling_the_run_sends_cancel_task_to_the_a2a_agent(world: World) -> None:
    await asyncio.to_thread(register, world)

    async def running(e: dict[str, Any]) -> bool:
        return e["type"] == "progress" and e["task_id"] == "t1"  # the agent is working

    async with httpx.AsyncClient(timeout=30) as c:
        events = await stream(
            world.orch, {**run_plan("hang on"), "options": {"on_disconnect": "continue"}}, running
        )
        run_id = events[0]["run_id"]
        assert (await c.post(f"{world.orch}/v1/runs/{run_id}/cancel")).status_code == 202
    assert await asyncio.to_thread(world.poet.cancelled.wait, DEADLINE)
