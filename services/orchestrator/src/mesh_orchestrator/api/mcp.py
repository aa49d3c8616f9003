"""The mesh as an MCP server: streamable HTTP at ``/mcp`` (mounted by ``api/mcp_route.py``,
which builds it here on the first request), served by the official ``mcp``
SDK's session manager over handlers that call only the ``RunService`` (through
``api/limits.start_run``, like every route that starts runs).

* **Tools**: ``orchestrate`` (a request in, the run's answer out; ``plan`` and ``options``
  as on ``POST /orchestrate``), then one tool per capability in the registry cache (its
  input schema the first agent's descriptor ``input_schema``): a call is a run of one
  sub-task of that capability with the arguments as its input, answered with the task's
  output. The list follows the registry: when the set of tools changes, every session
  that listed them gets ``notifications/tools/list_changed`` (and listeners of the
  2026-07-28 ``subscriptions/listen`` stream a ``ToolsListChanged`` event).
* **Progress**: while a call's run goes, each run event is one ``notifications/progress``
  (its one-line text as the message) for a client that sent a progress token.
* **Cancellation**: an MCP cancel (``notifications/cancelled``) or the client going away
  cancels the call's handler, which cancels the run (its workers stop). A run awaiting
  approval stays parked (``POST /v1/runs/{id}/approve``).
* **Resources**: ``mesh://runs/{run_id}``, a run's state, plan and answer as JSON;
  ``resources/list`` shows the caller's newest runs.

Auth: the route takes a client or admin token (``ScopeGuard``, 401/403 JSON like the other
run routes); each request's token names its caller, so a run made through MCP is owned by
the token's client and a client reads only its own runs' resources (another's answers
"unknown run", as 404 does elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import mcp_types as types
from fastapi import FastAPI
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.session import ServerSession
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError
from starlette.types import ASGIApp

from mesh_auth import Keys, Principal
from mesh_auth.http import AuthError, principal_from_headers, trim
from mesh_contracts import RunAnswer, RunStatus
from mesh_contracts.mcp import speaks_mcp, tool_for
from mesh_orchestrator.api.a2a_mapping import event_line
from mesh_orchestrator.api.access import may_see
from mesh_orchestrator.api.limits import TooMany, start_run
from mesh_orchestrator.api.models import OrchestrateRequest
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.services import Services

log = logging.getLogger(__name__)
RUN_SCHEME = "mesh://runs/"
ORCHESTRATE = "orchestrate"
MAX_SESSIONS = 1024  # sessions told of tool list changes, the newest
LISTED_RUNS = 20  # resources/list: the caller's newest runs
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
ORCHESTRATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "what to do, in plain words"},
        "plan": {"type": "object", "description": "an ExecutionPlan to run instead"},
        "options": {"type": "object", "description": "RunOptions (timeout, approval, ...)"},
    },
}


def _text(text: str) -> list[types.TextContent]:
    return [types.TextContent(type="text", text=text)]


def _refusal(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=_text(text), is_error=True)


def _output_text(output: Any) -> str:
    return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)


class MeshMCP:
    """The MCP handlers (tools, resources) over the app's ``Services``, found once the
    app's lifespan ran; ``sessions`` are the MCP sessions that listed the tools."""

    def __init__(self, services: Callable[[], Services], keys: Callable[[], Keys | None]) -> None:
        self._services = services
        self._keys = keys
        # The sessions that listed the tools, by MCP session id, the latest request's
        # handle of each (it notifies on the session's own stream); the oldest go first.
        self.sessions: OrderedDict[str, ServerSession] = OrderedDict()
        self.bus = InMemorySubscriptionBus()
        self._listed: list[str] = []

    def _caller(self, ctx: ServerRequestContext[Any, Any]) -> Principal:
        headers: Mapping[str, str] = getattr(ctx.request, "headers", None) or {}
        try:
            return principal_from_headers(self._keys(), headers, "orchestrator")
        except AuthError as exc:  # ScopeGuard checked it already: a token that just expired
            raise MCPError(types.INVALID_REQUEST, str(exc.detail)) from None

    # --- tools ---------------------------------------------------------------------------

    def tools(self) -> list[types.Tool]:
        tools = [
            types.Tool(
                name=ORCHESTRATE,
                description="Plans a request into sub-tasks, runs them on the mesh's agents in "
                "parallel and answers with one synthesized answer (progress while it runs).",
                input_schema=ORCHESTRATE_SCHEMA,
            )
        ]
        for cap in self._services().discovery.manifest().capabilities:
            if cap.name == ORCHESTRATE:
                continue
            first = cap.agents[0]
            schema = self._schema(cap.name, first.agent_id) or dict(first.input_schema)
            if schema.get("type") != "object":  # MCP tools take an object of arguments
                schema = {"type": "object"}
            agents = ", ".join(f"{a.agent_id} ({a.description})" for a in cap.agents)
            tools.append(
                types.Tool(
                    name=cap.name,
                    description=f"{cap.name.replace('_', ' ')}: served by {agents}"[:1000],
                    input_schema=schema,
                )
            )
        return tools

    def _schema(self, capability: str, agent_id: str) -> dict[str, Any] | None:
        """An MCP server's input schema for the tool serving ``capability`` (its
        descriptor's own schema covers all its tools at once)."""
        for r in self._services().discovery.records:
            d = r.descriptor
            if d.agent_id == agent_id and speaks_mcp(d):
                tool = tool_for(d, capability)
                return dict(tool["input_schema"]) if tool is not None else None
        return None

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        sid = getattr(ctx.request, "headers", {}).get("mcp-session-id")
        if sid:
            self.sessions[sid] = ctx.session
            self.sessions.move_to_end(sid)
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
        tools = self.tools()
        self._listed = [t.name for t in tools]
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        args = dict(params.arguments or {})
        if params.name == ORCHESTRATE:
            raw: dict[str, Any] = {k: args[k] for k in ("query", "plan", "options") if k in args}
        elif params.name in {t.name for t in self.tools()}:
            task = {"task_id": "t1", "capability": params.name, "input": args}
            raw = {"plan": {"tasks": [task]}, "query": f"{params.name} (MCP tool call)"}
        else:
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {trim(params.name, 80)!r}")
        try:
            body = OrchestrateRequest.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "arguments"
            return _refusal(f"{where}: {first['msg']}"[:500])
        svc = self._services()
        options = body.options.model_dump(mode="json")
        try:
            record = await start_run(svc, self._caller(ctx), body.query or "", body.plan, options)
        except TooMany as exc:
            return _refusal(f"{exc.detail} (retry after {exc.retry_after}s)")
        run_id = record.run_id
        ended = False
        try:
            answer, status = await self._follow(ctx, run_id)
            ended = True
        finally:
            if not ended:  # cancelled (an MCP cancel, the client left): the run stops too
                svc.runs.cancel_now(run_id, unless_parked=True)
        return self._result(params.name, run_id, status, answer)

    async def _follow(
        self, ctx: ServerRequestContext[Any, Any], run_id: str
    ) -> tuple[RunAnswer | None, RunStatus]:
        """The run's events until it ends (or parks for approval), each as a progress
        notification; its answer and status."""
        runs = self._services().runs
        sub = await runs.events(run_id, 0)
        assert sub is not None  # just started
        answer: RunAnswer | None = None
        status = RunStatus.FAILED
        step = 0
        try:
            while (batch := await sub.take()) is not None:
                for e in batch:
                    step += 1
                    await self._progress(ctx, step, e)
                    if e.type == "result" and e.task_id is None:
                        answer = RunAnswer.model_validate(e.data)
                    elif e.data.get("status") == "awaiting_approval" and e.task_id is None:
                        status = RunStatus.AWAITING_APPROVAL
                    elif e.task_id is None and e.data.get("status") in ("paused", "input_required"):
                        status = RunStatus(e.data["status"])  # parked: its stream ends here
                    elif e.type == "done":
                        status = RunStatus(e.data.get("status", status))
        finally:
            runs.unsubscribe(run_id, sub)
        return answer, status

    async def _progress(
        self, ctx: ServerRequestContext[Any, Any], step: int, e: RelayedEvent
    ) -> None:
        if e.type == "token":  # a token is not news worth a notification each
            return
        with contextlib.suppress(Exception):  # a client that went away: the call ends anyway
            await ctx.session.report_progress(float(step), None, event_line(e)[:500])

    def _result(
        self, tool: str, run_id: str, status: RunStatus, answer: RunAnswer | None
    ) -> types.CallToolResult:
        results = answer.data()["results"] if answer is not None else {}
        structured: dict[str, Any] = {"run_id": run_id, "status": status.value}
        if status is RunStatus.AWAITING_APPROVAL:
            text = f"run {run_id} awaits approval: POST /v1/runs/{run_id}/approve"
        elif status is RunStatus.INPUT_REQUIRED:
            text = f"run {run_id} asks for input: POST /v1/runs/{run_id}/input"
        elif status is RunStatus.PAUSED:
            text = f"run {run_id} is paused: POST /v1/runs/{run_id}/resume"
        elif tool == ORCHESTRATE:
            text = answer.answer if answer is not None else f"run {run_id} {status.value}"
            structured["results"] = results
        else:
            one = results.get("t1") or {}
            text = (
                _output_text(one.get("output"))
                if one.get("status") == "completed"
                else (str(one.get("error") or f"run {run_id} {status.value}"))
            )
            structured["output"] = one.get("output")
        failed = status.terminal and status not in (RunStatus.COMPLETED, RunStatus.PARTIAL)
        return types.CallToolResult(
            content=_text(text), structured_content=structured, is_error=failed
        )

    # --- resources -----------------------------------------------------------------------

    async def list_resources(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        caller = self._caller(ctx)
        owner = None if caller.is_admin else caller.scope
        runs = await self._services().runs.list(LISTED_RUNS, owner)
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=RUN_SCHEME + r.run_id,
                    name=f"run {r.run_id}",
                    description=f"{r.status.value}: {trim(r.query, 100)}",
                    mime_type="application/json",
                )
                for r in runs
            ]
        )

    async def list_templates(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=RUN_SCHEME + "{run_id}",
                    name="run",
                    description="a run's status, plan and answer",
                    mime_type="application/json",
                )
            ]
        )

    async def read_resource(
        self, ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        run_id = uri.removeprefix(RUN_SCHEME)
        record = None
        if uri.startswith(RUN_SCHEME) and _RUN_ID.match(run_id):
            record = await self._services().runs.get(run_id)
        if record is None or not may_see(self._caller(ctx), record):
            raise MCPError(types.INVALID_PARAMS, f"unknown resource {trim(uri, 100)!r}")
        body = record.model_dump(
            mode="json", include={"run_id", "query", "status", "created_at", "finished_at", "plan"}
        )
        body["answer"] = record.answer
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=uri, mime_type="application/json", text=json.dumps(body)
                )
            ]
        )

    # --- the registry's changes ----------------------------------------------------------

    async def follow_registry(self) -> None:
        """Tell MCP clients when the tool list changes (for the life of the app)."""
        discovery = self._services().discovery
        while True:
            changed = discovery.changed
            await changed.wait()
            names = [t.name for t in self.tools()]
            if names == self._listed:
                continue
            self._listed = names
            await self.bus.publish(ToolsListChanged())
            for sid, session in list(self.sessions.items()):
                try:
                    await session.send_tool_list_changed()
                except Exception:  # a session that went away: forget it
                    self.sessions.pop(sid, None)


def build_mcp(
    app: FastAPI,
) -> tuple[MeshMCP, ASGIApp, Callable[[], AbstractAsyncContextManager[None]]]:
    """The MCP server over ``app``'s services (``api/mcp_route.py`` calls it on the first
    request to ``/mcp``): the handlers, the SDK's streamable-HTTP app, and the context its
    session manager and the registry follower run in (for the rest of the app's life)."""

    def services() -> Services:
        svc: Services = app.state.services
        return svc

    mesh = MeshMCP(services, lambda: getattr(app.state, "mesh_keys", None))
    server: Server[Any] = Server(
        "agent mesh",
        version="0.1.0",
        on_list_tools=mesh.list_tools,
        on_call_tool=mesh.call_tool,
        on_list_resources=mesh.list_resources,
        on_list_resource_templates=mesh.list_templates,
        on_read_resource=mesh.read_resource,
        on_subscriptions_listen=ListenHandler(mesh.bus),
    )
    # The session manager initializes sessions with the server's default options, which
    # announce no list changes; the mesh's tool list does change (``follow_registry``).
    announce = NotificationOptions(tools_changed=True)
    server.create_initialization_options = functools.partial(  # type: ignore[method-assign]
        server.create_initialization_options, announce
    )
    # Host and Origin are the app's to check (``protect``: open, loopback names only).
    manager = StreamableHTTPSessionManager(app=server, security_settings=None)

    @contextlib.asynccontextmanager
    async def running() -> AsyncIterator[None]:
        async with manager.run():
            follower = asyncio.create_task(mesh.follow_registry(), name="mcp-tools-changed")
            try:
                yield
            finally:
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower

    return mesh, StreamableHTTPASGIApp(manager), running
