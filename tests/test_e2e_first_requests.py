"""A fresh orchestrator process whose first requests are all A2A, MCP and OpenAI ones, sent
at once: the A2A server (``api/a2a_route.py``) and the MCP server (``api/mcp_route.py``)
are built by the first request to them, each importing its SDK on a thread, so these
requests race the import and the swap of the placeholder routes for the SDK's.

Every one must answer as a warm server does, and the A2A ones identically: the official
a2a-sdk client (the card, then a streamed ``SendMessage``, then ``GetTask``), JSON-RPC
``SendMessage`` posted straight to ``/a2a`` with no card read before, the card alone, the
official MCP client (list the tools, call one) and the official ``openai`` client (a
streamed chat completion against ``/v1``)."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai
import pytest
from a2a.client import ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import GetTaskRequest, Message, Part, Role, SendMessageRequest, TaskState
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from mesh_contracts.a2a import AGENT_CARD_PATH
from mesh_testkit.mesh import process_mesh

pytestmark = pytest.mark.skipif(
    any(
        importlib.util.find_spec(m) is None
        for m in ("mesh_discovery", "mesh_orchestrator", "mesh_worker_lookup")
    ),
    reason="needs discovery, the orchestrator and the lookup worker installed",
)

DEADLINE = 90.0  # a cold start under a loaded machine: the SDKs' imports come first
QUERY = "look up the capital of France"
ANSWER = "no results: no passage in the knowledge base matches the query"


@pytest.fixture
def orch(tmp_path: Path) -> Iterator[str]:
    """A fresh mesh (auth off, deterministic planner): no request but the harness's own
    ``/health`` and ``/v1/agents`` reached the orchestrator before the test's."""
    with process_mesh(
        tmp_path,
        {"lookup": ("mesh_worker_lookup", {"WORKER_INSTANCE_ID": "lookup-first"})},
        orchestrator_env={"ORCH_PLANNER": "deterministic", "ORCH_LOG_LEVEL": "warning"},
        worker_env={"WORKER_LOG_LEVEL": "warning"},
        ready_timeout=60,
    ) as m:
        yield m.url


def ask(i: int) -> SendMessageRequest:
    return SendMessageRequest(
        message=Message(message_id=f"first-{i}", role=Role.ROLE_USER, parts=[Part(text=QUERY)])
    )


async def sdk_client(url: str, i: int) -> tuple[Any, ...]:
    async with httpx.AsyncClient(timeout=60) as http:
        client = await ClientFactory(ClientConfig(httpx_client=http)).create_from_url(url)
        got = [r async for r in client.send_message(ask(i))]
        run_id = got[0].task.id
        task = await client.get_task(GetTaskRequest(id=run_id))
    final = got[-1].status_update.status.state if got[-1].HasField("status_update") else None
    answer = [a.parts[0].text for a in task.artifacts if a.artifact_id == "answer"]
    return ("sdk", final, task.status.state, answer, task.history[0].parts[0].text)


async def raw_jsonrpc(url: str, i: int) -> tuple[Any, ...]:
    body = {
        "jsonrpc": "2.0",
        "id": i,
        "method": "SendMessage",
        "params": {
            "message": {"messageId": f"raw-{i}", "role": "ROLE_USER", "parts": [{"text": QUERY}]}
        },
    }
    async with httpx.AsyncClient(timeout=60) as c:
        r = await c.post(url + "/a2a", json=body, headers={"A2A-Version": "1.0"})
    assert r.status_code == 200, r.text
    task = r.json()["result"]["task"]
    answer = [a["parts"][0]["text"] for a in task["artifacts"] if a["artifactId"] == "answer"]
    return ("raw", task["status"]["state"], answer)


async def card(url: str) -> tuple[Any, ...]:
    async with httpx.AsyncClient(timeout=60) as c:
        r = await c.get(url + AGENT_CARD_PATH)
    assert r.status_code == 200, r.text
    interfaces = sorted(i["protocolBinding"] for i in r.json()["supportedInterfaces"])
    return ("card", interfaces)


async def mcp_tools(url: str) -> tuple[Any, ...]:
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(60.0)) as http,
        streamable_http_client(url + "/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        names = [t.name for t in (await session.list_tools()).tools]
        result = await session.call_tool("orchestrate", {"query": QUERY})
    return ("mcp", names[0], "search" in names, result.is_error, ANSWER in str(result.content))


async def openai_stream(url: str) -> tuple[Any, ...]:
    async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="unused", max_retries=0) as c:
        stream = await c.chat.completions.create(
            model="mesh", messages=[{"role": "user", "content": QUERY}], stream=True
        )
        chunks = [ch async for ch in stream]
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    finish = [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1]
    return ("openai", finish, ANSWER in text)


async def test_concurrent_first_requests_to_a_fresh_orchestrator_all_answer_alike(
    orch: str,
) -> None:
    async with asyncio.timeout(DEADLINE):
        got = await asyncio.gather(
            *(sdk_client(orch, i) for i in range(4)),
            *(raw_jsonrpc(orch, i) for i in range(3)),
            card(orch),
            card(orch),
            mcp_tools(orch),
            openai_stream(orch),
        )
    completed = TaskState.TASK_STATE_COMPLETED
    assert got[:4] == [("sdk", completed, completed, [ANSWER], QUERY)] * 4
    assert got[4:7] == [("raw", "TASK_STATE_COMPLETED", [ANSWER])] * 3
    assert got[7:9] == [("card", ["HTTP+JSON", "JSONRPC"])] * 2
    assert got[9] == ("mcp", "orchestrate", True, False, True)
    assert got[10] == ("openai", "stop", True)
