"""MCP servers registered by URL: what is refused before anything is dialed, and how a
tool's capabilities are read. (A real MCP server registered and called across processes:
tests/test_e2e_mcp.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from fastapi import FastAPI

from mesh_auth.endpoints import EndpointPolicy, default_networks
from mesh_discovery import Settings, create_app
from mesh_discovery.mcp import MCPRegisterRequest, capabilities_of, descriptor_from_tools


class MetadataDNS:
    """A resolver for the test: ``metadata.mesh.test`` is the cloud metadata address."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return ["169.254.169.254"] if host == "metadata.mesh.test" else ["127.0.0.1"]


@pytest.fixture
async def discovery(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    settings = Settings(db_path=tmp_path / "reg.sqlite3", a2a_check_seconds=3600)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.endpoints = EndpointPolicy(default_networks("127.0.0.1"), resolver=MetadataDNS())
        app.state.mcp_tools.policy = app.state.endpoints
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as c:
            yield c, app


async def test_an_mcp_url_at_the_metadata_address_is_refused_before_it_is_dialed(
    discovery: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    c, _ = discovery
    body = {"url": "http://metadata.mesh.test/mcp", "agent_id": "evil"}
    r = await c.post("/v1/agents/mcp", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "url"
    assert "169.254.169.254" in r.json()["detail"][0]["msg"]
    assert (await c.get("/v1/agents")).json() == []


async def test_an_unreachable_mcp_server_is_502_and_nothing_is_stored(
    discovery: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    c, _ = discovery
    r = await c.post("/v1/agents/mcp", json={"url": "http://127.0.0.1:9/mcp", "agent_id": "gone"})
    assert r.status_code == 502 and "cannot list" in r.json()["detail"]
    assert (await c.get("/v1/agents")).json() == []


async def test_a_plain_registration_cannot_claim_to_be_an_mcp_server(
    discovery: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    c, _ = discovery
    descriptor = {
        "agent_id": "sneaky",
        "endpoint": "http://127.0.0.1:8123",
        "capabilities": ["search"],
        "metadata": {"mcp_url": "http://metadata.mesh.test/mcp", "mcp_tools": []},
    }
    r = await c.post("/v1/agents", json={"descriptor": descriptor})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "reserved_metadata"


def tool(name: str, description: str, **schema: Any) -> types.Tool:
    return types.Tool(name=name, description=description, input_schema={"type": "object", **schema})


def test_capabilities_come_from_a_tools_words_or_its_name() -> None:
    assert capabilities_of(tool("summarize", "Shortens text")) == ["summarization"]
    assert capabilities_of(tool("t", "Translates text to German")) == ["translation"]
    assert capabilities_of(tool("web_search", "")) == ["search"]
    assert capabilities_of(tool("Do-Thing!", "")) == ["do_thing"]
    assert capabilities_of(tool("42", "")) == ["tool_42"]


def test_a_mapping_routes_only_the_tools_it_names() -> None:
    tools = [tool("shout", "x", properties={"text": {"type": "string"}}), tool("rm_rf", "x")]
    body = MCPRegisterRequest(
        url="http://127.0.0.1:1/mcp", agent_id="a", capabilities={"shout": ["shouting"]}
    )
    d = descriptor_from_tools(body, "srv", tools)
    assert d.capabilities == ["shouting"]
    assert [s.id for s in d.skills] == ["shout"]
    assert [t["name"] for t in d.metadata["mcp_tools"]] == ["shout"]
    assert d.input_schema["properties"]["text"]["type"] == "string"
