"""MCP servers in the registry: registered by URL, kept by their tool list.

``POST /v1/agents/mcp {"url": ..., "agent_id": ..., "capabilities"?: {tool: [capability]},
"ttl_seconds"?: ...}`` connects to the server's streamable-HTTP endpoint with the official
``mcp`` SDK's client (within ``DISCOVERY_A2A_CARD_TIMEOUT_SECONDS``), lists its tools (at
most ``MAX_TOOLS``) and stores one descriptor for it:

* each tool is a skill (its name and description); the capabilities it serves come from
  ``capabilities`` when the registration gives that mapping (then only the mapped tools are
  routed to: a server may have tools nobody should call), else from its name and
  description (a well-known capability they name, ``summarize`` → ``summarization``), else
  a capability named after the tool;
* ``metadata``: ``protocol: "mcp"``, the URL and the tools with their capabilities and input
  schemas (``mesh_contracts.mcp``): the orchestrator calls such an agent with MCP
  ``tools/call``, with the server's own credentials only. Only this route (and the A2A one)
  sets these keys.

Every connection goes through ``mesh_auth.dialing.pinned_transport2``: to the address the
endpoint policy checked when it was made. The URL is checked before anything is sent.

The server holds no process of ours, so discovery keeps its lease itself, on the A2A
agents' schedule (``DISCOVERY_A2A_CHECK_SECONDS``): it lists the tools again; an answer
renews the lease (a changed list replaces the descriptor), a failure lets it lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import httpx2
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh_auth import Principal
from mesh_auth.dialing import pinned_transport2
from mesh_auth.endpoints import EndpointPolicy, EndpointRefused
from mesh_auth.http import forbidden, require, trim
from mesh_contracts import WELL_KNOWN, AgentDescriptor, Skill, StreamingMode
from mesh_contracts.a2a import PROTOCOL_KEY
from mesh_contracts.capabilities import Capability
from mesh_contracts.mcp import MCP, MCP_TOOLS, MCP_URL, speaks_mcp
from mesh_discovery.api import admit, refused_endpoint
from mesh_discovery.refresh import check_all, every, in_background, keep, lease_ttl, store_new
from mesh_discovery.registry import Store
from mesh_discovery.settings import Settings

if TYPE_CHECKING:
    import mcp_types as types

log = logging.getLogger(__name__)
# The SDK is imported when the first MCP server is listed (``_load_sdk``), not with discovery:
# its imports cost ~0.5 s of CPU at every start, and most registries hold no MCP server.
_loaded: set[str] = set()  # what _load_sdk imported whole
_SDK_MODULES = ("mcp_types", "mcp", "mcp.client.streamable_http")
MAX_TOOLS = 64
MCP_MAPPING = "mcp_mapping"  # the registration's tool -> capabilities mapping, kept
_SLUG = re.compile(r"[^a-z0-9]+")
# Words that name a well-known capability in a tool's name or description.
_STEMS = {
    "summar": "summarization",
    "translat": "translation",
    "search": "search",
    "image": "image_generation",
    "code": "code_generation",
    "analy": "data_analysis",
    "lora": "lora_training",
}


class ServerError(Exception):
    """The server cannot be used: unreachable (``status`` 502) or unusable (422)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class MCPRegisterRequest(BaseModel):
    """Body of ``POST /v1/agents/mcp``."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    agent_id: str = Field(min_length=1, max_length=128)
    capabilities: dict[str, list[Capability]] | None = Field(default=None, max_length=MAX_TOOLS)
    ttl_seconds: float | None = Field(default=None, gt=0, le=3600)


def _slug(text: str) -> str:
    return _SLUG.sub("_", text.lower()).strip("_")


def capabilities_of(tool: types.Tool) -> list[str]:
    """The capabilities a tool serves, read from its name and description."""
    words = f"{tool.name} {tool.description or ''}".lower().replace("_", " ")
    found = [c for c in sorted(WELL_KNOWN) if c.replace("_", " ") in words]
    found += [c for stem, c in _STEMS.items() if stem in words and c not in found]
    if found:
        return found
    name = _slug(tool.name)[:64] or "tool"
    return [name if name[:1].isalpha() else f"tool_{name}"[:64]]


async def _load_sdk() -> None:
    """Import the SDK on a thread (the event loop keeps serving meanwhile); once loaded, a
    set lookup. Not ``sys.modules``: a module another call is still importing is there
    already, half run, and importing it on the event loop would block it until whole."""
    for name in _SDK_MODULES:
        if name not in _loaded:
            await asyncio.to_thread(importlib.import_module, name)
            _loaded.add(name)


async def list_tools(http: httpx2.AsyncClient, url: str) -> tuple[str, list[types.Tool]]:
    """The server's name and tools (raises ``ServerError``); the client's timeout bounds
    each request, the caller the whole. The SDK must be loaded (``_load_sdk``)."""
    import mcp_types as types
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    tools: list[types.Tool] = []
    try:
        async with (
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            cursor: str | None = None
            while True:
                params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
                page = await session.list_tools(params=params)
                tools += page.tools
                if len(tools) > MAX_TOOLS:
                    raise ServerError(f"{url} lists more than {MAX_TOOLS} tools")
                cursor = page.next_cursor
                if not cursor:
                    break
    except ServerError:
        raise
    except Exception as exc:  # the SDK's task group wraps what went wrong
        cause = exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) else exc
        raise ServerError(
            f"cannot list {url}'s tools: {type(cause).__name__}: {cause}", 502
        ) from None
    return init.server_info.name, tools


def descriptor_from_tools(
    body: MCPRegisterRequest, server_name: str, tools: list[types.Tool]
) -> AgentDescriptor:
    """The registry's descriptor for the MCP server (raises ``ServerError``)."""
    mapping = body.capabilities
    served: list[dict[str, Any]] = []
    for tool in tools:
        caps = mapping.get(tool.name) if mapping is not None else capabilities_of(tool)
        if caps:
            served.append(
                {"name": tool.name, "capabilities": caps, "input_schema": tool.input_schema}
            )
    if not served:
        raise ServerError("no tool of the server serves a capability: nothing to route to it")
    url = urlsplit(body.url)
    by_name = {t["name"]: t["capabilities"] for t in served}
    caps = list(dict.fromkeys(c for t in served for c in t["capabilities"]))
    metadata: dict[str, Any] = {PROTOCOL_KEY: MCP, MCP_URL: body.url, MCP_TOOLS: served}
    if mapping is not None:
        metadata[MCP_MAPPING] = mapping
    try:
        return AgentDescriptor(
            agent_id=body.agent_id,
            instance_id=f"{body.agent_id}-{_SLUG.sub('-', url.netloc.lower()).strip('-')}"[:200],
            name=server_name or body.agent_id,
            description=f"MCP server {server_name}".strip(),
            endpoint=f"{url.scheme}://{url.netloc}",
            health_path=url.path or "/",
            invoke_path=url.path or "/",
            stream_path=url.path or "/",
            capabilities=caps,
            skills=[
                Skill(
                    id=t.name[:128], description=(t.description or "")[:2000], tags=by_name[t.name]
                )
                for t in tools
                if t.name in by_name
            ],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,  # progress notifications, then the result
            input_schema=served[0]["input_schema"] if len(served) == 1 else {"type": "object"},
            tags=[MCP],
            metadata=metadata,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ServerError(
            f"the server does not make a descriptor: {where}: {first['msg']}"
        ) from None


class ToolChecker:
    """Lists every MCP server's tools again: an answer renews its lease, silence lets it lapse."""

    def __init__(
        self, store: Store, http: httpx2.AsyncClient, policy: EndpointPolicy, settings: Settings
    ) -> None:
        self.store, self.http, self.policy, self.settings = store, http, policy, settings

    async def describe(self, body: MCPRegisterRequest) -> AgentDescriptor:
        """Check the URL, list the tools, make the descriptor (``EndpointRefused``,
        ``ServerError``)."""
        await self.policy.check(body.url)
        await _load_sdk()  # before the timeout starts: the first call imports the SDK
        try:
            async with asyncio.timeout(self.settings.a2a_card_timeout_seconds):
                name, tools = await list_tools(self.http, body.url)
        except TimeoutError:
            raise ServerError(f"{body.url} did not list its tools in time", 502) from None
        return descriptor_from_tools(body, name, tools)

    async def register(
        self, body: MCPRegisterRequest, admit: Callable[[AgentDescriptor], Awaitable[None]]
    ) -> dict[str, Any]:
        d = await self.describe(body)
        await admit(d)
        return await store_new(self.store, d, lease_ttl(self.settings, body.ttl_seconds))

    async def check_once(self) -> int:
        """List every MCP server's tools once; returns how many answered."""
        return await check_all(self.store, speaks_mcp, self._check)

    async def _check(self, d: AgentDescriptor) -> bool:
        body = MCPRegisterRequest(
            url=str(d.metadata[MCP_URL]),
            agent_id=d.agent_id,
            capabilities=d.metadata.get(MCP_MAPPING),
        )
        try:
            fresh = await self.describe(body)
        except (ServerError, EndpointRefused) as exc:
            log.warning("MCP server %s: %s (its lease lapses)", d.instance_id, exc)
            return False
        return await keep(self.store, d, fresh, lease_ttl(self.settings))

    async def run_forever(self) -> None:
        await every(self.settings.a2a_check_seconds, self.check_once, "MCP tool check")


def mcp_router(settings: Settings) -> APIRouter:
    """``POST /v1/agents/mcp`` and, in its lifespan, the tool checker."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx2.Timeout(settings.a2a_card_timeout_seconds)
        policy: EndpointPolicy = app.state.endpoints
        async with httpx2.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=pinned_transport2(policy)
        ) as http:
            checker = ToolChecker(app.state.store, http, policy, settings)
            app.state.mcp_tools = checker
            async with in_background(checker.run_forever(), "mcp-tool-checker"):
                yield

    router = APIRouter(lifespan=lifespan)

    @router.post("/v1/agents/mcp", status_code=201)
    async def register_mcp(
        body: MCPRegisterRequest,
        request: Request,
        caller: Annotated[Principal, Depends(require("agent:*", "admin"))],
    ) -> JSONResponse:
        """Register an MCP server by URL: 201 with its lease and descriptor, 502 when its
        tools cannot be listed, 422 when the URL is refused or the tools serve nothing.
        With a mesh secret an agent token registers under its own name only (403)."""
        if not caller.may_act_as_agent(body.agent_id):
            raise forbidden(
                f"your token is {caller.scope}: register the MCP server under that name"
            )
        checker: ToolChecker = request.app.state.mcp_tools
        store = request.app.state.store
        try:
            registered = await checker.register(body, lambda d: admit(request, store, d, caller))
        except EndpointRefused as exc:
            return refused_endpoint(str(exc), "url")
        except ServerError as exc:
            return JSONResponse({"detail": trim(str(exc), 300)}, status_code=exc.status)
        return JSONResponse(registered, status_code=201)

    return router
