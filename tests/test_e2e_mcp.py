"""MCP both ways across real processes on loopback, all with one mesh secret: discovery, a
lookup worker and the orchestrator (``process_mesh``), and an MCP server built on the
official SDK's MCPServer (``mcp_tool_server.py``) as its own process.

The mesh as an MCP server: the official MCP client (``mcp.client.streamable_http``) with a
client token lists the tools, calls ``orchestrate`` with progress, cancels a call, reads a
run as a resource and hears ``tools/list_changed``. MCP servers as workers: the tool server
registered in discovery by URL serves a sub-task of a run, its progress relayed, with its
own credential and never the mesh's token."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mesh_auth import AUDIENCES, Keys
from mesh_testkit import ServiceProcess, free_port, read_sse, wait_until
from mesh_testkit.mesh import process_mesh

pytestmark = pytest.mark.skipif(
    any(
        importlib.util.find_spec(m) is None
        for m in ("mesh_discovery", "mesh_orchestrator", "mesh_worker_lookup")
    ),
    reason="needs discovery, the orchestrator and the lookup worker installed",
)

SECRET = "e2e-mcp-" + "s" * 40
KEYS = Keys(SECRET.encode())
TOOL_SECRET = "the-tool-servers-own-credential"
DEADLINE = 30.0


def auth(scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS.issue(scope, 86400)}"}


ADMIN, ALICE, BOB = auth("admin"), auth("client:alice"), auth("client:bob")


@dataclass
class World:
    orch: str
    discovery: str
    tools: ServiceProcess
    tmp: Path

    def sent_authorizations(self) -> list[str]:
        log = self.tmp / "auth.log"
        return log.read_text().splitlines() if log.exists() else []


def register(w: World, agent_id: str, capabilities: dict[str, list[str]] | None) -> Any:
    body: dict[str, Any] = {"url": w.tools.url + "/mcp", "agent_id": agent_id}
    if capabilities is not None:
        body["capabilities"] = capabilities
    r = httpx.post(w.discovery + "/v1/agents/mcp", json=body, headers=ADMIN, timeout=30)
    assert r.status_code == 201, r.text

    def routed() -> bool:
        agents = httpx.get(w.orch + "/v1/agents", headers=ADMIN, timeout=5).json()
        return any(a["descriptor"]["agent_id"] == agent_id for a in agents)

    wait_until(routed, timeout=DEADLINE, what=f"the orchestrator sees {agent_id}")
    return r.json()["descriptor"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("mcp-mesh")
    port = free_port()
    tools = ServiceProcess(
        "mcp_tool_server",
        port,
        {
            "MCP_PORT": str(port),
            "MCP_CANCEL_FILE": str(tmp / "cancelled"),
            "MCP_AUTH_LOG": str(tmp / "auth.log"),
        },
        cwd=Path(__file__).parent,
    ).start()
    credentials = tmp / "credentials.json"
    credentials.write_text(json.dumps({tools.url: {"bearer": TOOL_SECRET}}))
    try:
        with process_mesh(
            tmp,
            {"lookup": ("mesh_worker_lookup", {"WORKER_INSTANCE_ID": "lookup-mcp"})},
            env={"MESH_AUTH_SECRET": SECRET},
            discovery_env={"DISCOVERY_A2A_CHECK_SECONDS": "1"},
            orchestrator_env={
                "ORCH_PLANNER": "deterministic",
                "ORCH_A2A_CREDENTIALS_FILE": str(credentials),
            },
            headers=ADMIN,
            ready_timeout=30,
        ) as m:
            w = World(m.url, m.discovery.url, tools, tmp)
            register(w, "shouter", {"shout": ["shouting"], "wait": ["waiting"]})
            yield w
    finally:
        tools.stop()


@asynccontextmanager
async def mcp_session(w: World, headers: dict[str, str], **kw: Any) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=60.0)) as http,
        streamable_http_client(w.orch + "/mcp", http_client=http) as (read, write),
        ClientSession(read, write, **kw) as session,
    ):
        await session.initialize()
        yield session


def plan(capability: str, text: str) -> dict[str, Any]:
    task = {"task_id": "t1", "capability": capability, "input": {"prompt": text}}
    return {"tasks": [task]}


async def test_the_mcp_client_lists_the_mesh_tools_and_orchestrate_answers_with_progress(
    world: World,
) -> None:
    notes: list[str] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        notes.append(message or "")

    async with asyncio.timeout(DEADLINE), mcp_session(world, ALICE) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        assert next(iter(tools)) == "orchestrate"
        assert {"search", "shouting", "waiting"} <= set(tools)
        assert tools["shouting"].input_schema["properties"]["text"]["type"] == "string"
        result = await mcp.call_tool(
            "orchestrate",
            {"query": "shout it", "plan": plan("shouting", "hello mesh")},
            progress_callback=progress,
        )
        assert not result.is_error
        assert "HELLO MESH" in result.content[0].text  # type: ignore[union-attr]
        run_id = result.structured_content["run_id"]  # type: ignore[index]
        one = await mcp.call_tool("shouting", {"text": "quiet"})
        assert one.content[0].text == "QUIET"  # type: ignore[union-attr]
        read = await mcp.read_resource(f"mesh://runs/{run_id}")
    assert any("plan: t1 (shouting)" in n for n in notes)
    assert any("reading" in n for n in notes) and any("shouting" in n for n in notes)
    resource = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    assert resource["status"] == "completed" and "HELLO MESH" in resource["answer"]
    async with httpx.AsyncClient(timeout=5) as c:
        mine = await c.get(f"{world.orch}/v1/runs/{run_id}", headers=ALICE)
        theirs = await c.get(f"{world.orch}/v1/runs/{run_id}", headers=BOB)
    assert mine.status_code == 200 and mine.json()["owner"] == "client:alice"
    assert theirs.status_code == 404
    async with asyncio.timeout(DEADLINE), mcp_session(world, BOB) as mcp:
        with pytest.raises(MCPError, match="unknown resource"):
            await mcp.read_resource(f"mesh://runs/{run_id}")


async def test_the_mcp_route_takes_only_client_or_admin_tokens(world: World) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx.AsyncClient(timeout=10) as c:
        anon = await c.post(world.orch + "/mcp", json=body)
        agent = await c.post(world.orch + "/mcp", json=body, headers=auth("agent:lookup"))
        # An agent token for the orchestrator too (its own is for discovery only: a 401).
        anywhere = {"Authorization": f"Bearer {KEYS.issue('agent:lookup', audience=AUDIENCES)}"}
        scoped = await c.post(world.orch + "/mcp", json=body, headers=anywhere)
    assert anon.status_code == 401 and anon.json()["error"] == "missing_token"
    assert agent.status_code == 401 and "not for this service" in agent.json()["detail"]
    assert scoped.status_code == 403 and scoped.json()["error"] == "insufficient_scope"


async def test_an_mcp_server_in_discovery_serves_a_sub_task_with_its_own_credential(
    world: World,
) -> None:
    before = len(world.sent_authorizations())
    events: list[dict[str, Any]] = []
    body = {"query": "shout", "plan": plan("shouting", "hi there")}
    async with asyncio.timeout(DEADLINE), httpx.AsyncClient(timeout=30, headers=ALICE) as c:
        async for m in read_sse(c, "POST", world.orch + "/orchestrate/stream", json=body):
            events.append(m.json())
            if events[-1]["type"] == "done":
                break
    t1 = [e for e in events if e["task_id"] == "t1"]
    assert [e["data"]["message"] for e in t1 if e["type"] == "progress"] == ["reading", "shouting"]
    assert next(e for e in t1 if e["type"] == "result")["data"]["output"] == "HI THERE"
    assert all(e["agent_id"] == "shouter" for e in t1 if e["type"] in ("progress", "result"))
    assert events[-1]["data"]["status"] == "completed"
    sent = world.sent_authorizations()[before:]
    assert sent == [f"Bearer {TOOL_SECRET}"]  # its own credential, never the mesh's token


async def test_an_mcp_cancel_cancels_the_run_and_the_servers_tool_call(world: World) -> None:
    started = asyncio.Event()

    async def progress(done: float, total: float | None, message: str | None) -> None:
        if message and message.startswith("t1: progress") and message.endswith("waiting"):
            started.set()  # relayed from the tool server: its tool is running

    async with asyncio.timeout(DEADLINE), mcp_session(world, ALICE) as mcp:
        call = asyncio.create_task(
            mcp.call_tool(
                "orchestrate",
                {"query": "wait", "plan": plan("waiting", "forever")},
                progress_callback=progress,
            )
        )
        await started.wait()  # the tool server is working on it
        call.cancel()  # the SDK sends notifications/cancelled
        with pytest.raises(asyncio.CancelledError):
            await call

    def cancelled() -> bool:
        return (world.tmp / "cancelled").exists()

    await asyncio.to_thread(wait_until, cancelled, timeout=DEADLINE, what="the tool cancelled")
    async with httpx.AsyncClient(timeout=5) as c:
        runs = (await c.get(world.orch + "/v1/runs", headers=ALICE)).json()
    waited = next(r for r in runs if r["query"] == "wait")

    def ended() -> bool:
        run = httpx.get(f"{world.orch}/v1/runs/{waited['run_id']}", headers=ALICE, timeout=5)
        return bool(run.json()["status"] == "cancelled")

    await asyncio.to_thread(wait_until, ended, timeout=DEADLINE, what="the run cancelled")


async def test_a_new_mcp_server_changes_the_tool_list_and_clients_hear_it(world: World) -> None:
    heard = asyncio.Event()

    async def messages(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            heard.set()

    async with (
        asyncio.timeout(DEADLINE),
        mcp_session(world, ALICE, message_handler=messages) as mcp,
    ):
        assert "summarization" not in {t.name for t in (await mcp.list_tools()).tools}
        # Registered without a mapping: capabilities from each tool's name and description.
        d = await asyncio.to_thread(register, world, "summarizer", None)
        assert d["capabilities"] == ["shout", "summarization", "wait"]
        await heard.wait()
        assert "summarization" in {t.name for t in (await mcp.list_tools()).tools}
        result = await mcp.call_tool("summarization", {"text": "First one. Second one."})
    assert result.content[0].text == "First one"  # type: ignore[union-attr]
