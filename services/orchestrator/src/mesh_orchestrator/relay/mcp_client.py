"""One call to an MCP server's tool, as the same ``(type, body)`` worker events as
``call_worker`` yields for a mesh worker.

An MCP descriptor (``mesh_contracts.mcp.speaks_mcp``: discovery registered it by URL) names
the server's streamable-HTTP URL and its tools, each with the capabilities it serves and
its input schema. The sub-task goes out as one ``tools/call`` of the tool serving its
capability, over the official ``mcp`` SDK's client (a session per call: initialize, call,
close), through ``mcp_http``: an httpx2 client that dials only addresses the endpoint policy
checked at connect time (``mesh_auth.dialing.pinned_transport2``) and carries no mesh
token, only the server's own bearer credential when the credentials file has one for its
origin (``ORCH_A2A_CREDENTIALS_FILE``, scheme name ``bearer``) and the trace context.

The arguments are the sub-task's input keys the tool's schema names; a ``prompt`` (with
the upstream outputs the executor appended) fills the tool's one required string
argument when the input does not name it. What comes back: each progress notification is
a ``progress`` event (its message, and ``step``/``total`` when the server counts), the
tool's result the task's ``result`` (its structured content, else its text), an
``isError`` result an ``error``. A call that ends early (the run was cancelled, the
deadline passed) cancels the SDK's request, which sends the server
``notifications/cancelled``, and closes the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncGenerator, Callable, Generator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import httpx2

from mesh_contracts import AgentDescriptor, TaskRequest
from mesh_contracts.mcp import MCP_URL, tool_for
from mesh_orchestrator.relay.a2a_credentials import A2ACredentials
from mesh_orchestrator.relay.worker_client import (
    BUSY_STATUS,
    MAX_ERROR_CHARS,
    Relayable,
    WorkerBusy,
    WorkerFailed,
    WorkerUnreachable,
)

if TYPE_CHECKING:
    import mcp_types as types

# The SDK is imported by the first MCP call (``_load_sdk``), not with the orchestrator: its
# imports cost ~0.5 s of CPU at every start, and most meshes have no MCP worker.
_loaded: set[str] = set()  # what _load_sdk imported whole
_SDK_MODULES = ("mcp_types", "mcp.shared.exceptions", "mcp", "mcp.client.streamable_http")

# The headers of the call running in this task (its credential, the trace context); the
# SDK's requests run in tasks the call's task starts, which inherit them.
_HEADERS: ContextVar[dict[str, str] | None] = ContextVar("mesh_mcp_headers", default=None)
_ACCEPTED: Relayable = ("accepted", {})  # markers on the call's queue, never relayed
_END: Relayable = ("end", {})


class CallHeaders(httpx2.Auth):
    """``mcp_http``'s auth: the headers of the call in progress, and nothing else."""

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        for name, value in (_HEADERS.get() or {}).items():
            request.headers[name] = value
        yield request


def arguments(tool: dict[str, Any], inp: dict[str, Any]) -> dict[str, Any]:
    """The tool's arguments from a sub-task's input (see the module docstring)."""
    schema = tool.get("input_schema") or {}
    props: dict[str, Any] = schema.get("properties") or {}
    if not props:
        return dict(inp)
    args = {k: v for k, v in inp.items() if k in props}
    required = [k for k in schema.get("required") or [] if k in props]
    strings = [k for k in (required or list(props)) if props[k].get("type") == "string"]
    missing = [k for k in strings if k not in args]
    text = next((inp[k] for k in ("prompt", "query", "text") if isinstance(inp.get(k), str)), None)
    if text is not None and len(missing) == 1 and len(strings) == 1:
        args[missing[0]] = text
    return args


async def _load_sdk() -> None:
    """Import the SDK on a thread (the event loop keeps relaying meanwhile); once loaded, a
    set lookup. Not ``sys.modules``: a module another call is still importing is there
    already, half run, and importing it on the event loop would block it until whole."""
    for name in _SDK_MODULES:
        if name not in _loaded:
            await asyncio.to_thread(importlib.import_module, name)
            _loaded.add(name)


def _result(result: types.CallToolResult, agent: str) -> Relayable:
    import mcp_types as types  # loaded by _load_sdk

    text = "".join(c.text for c in result.content if isinstance(c, types.TextContent))
    if result.is_error:
        why = (text or "the tool failed")[:MAX_ERROR_CHARS]
        return "error", {"error": f"{agent}: {why}", "code": "worker_error"}
    output: Any = result.structured_content
    if output is None:
        output = text
    elif isinstance(output, dict) and list(output) == ["result"]:
        output = output["result"]  # a plain value, wrapped as MCP's structured content wants
    return "result", {"output": output}


def _failure(exc: BaseException, d: AgentDescriptor, accepted: bool) -> Exception:
    """The worker-client exception for what ended an MCP call."""
    import mcp_types as types  # loaded by _load_sdk
    from mcp.shared.exceptions import MCPError

    if isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    if isinstance(exc, httpx2.HTTPStatusError) and exc.response.status_code in BUSY_STATUS:
        try:
            wait = max(0.0, float(exc.response.headers.get("Retry-After") or "1"))
        except ValueError:
            wait = 1.0
        return WorkerBusy(d.instance_id, wait)
    if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout) and not accepted:
        return WorkerUnreachable(f"cannot connect to {d.endpoint}: {exc}")
    if isinstance(exc, MCPError):
        code = "invalid_input" if exc.code == types.INVALID_PARAMS else "worker_error"
        return WorkerFailed(f"{d.agent_id} answered an MCP error: {exc.message}"[:300], code)
    return WorkerFailed(
        f"{d.agent_id} MCP call failed: {type(exc).__name__}: {exc}"[:300], "stream_lost"
    )


async def call_mcp(
    http: httpx2.AsyncClient,
    d: AgentDescriptor,
    capability: str,
    request: TaskRequest,
    on_accepted: Callable[[], None] = lambda: None,
    headers: dict[str, str] | None = None,
    credentials: A2ACredentials | None = None,
) -> AsyncGenerator[Relayable]:
    """``call_worker``'s contract for an MCP server's tool: its events, then ``("done",
    {})``. ``on_accepted`` runs once the session is initialized; ``http`` must carry no mesh
    token (``CallHeaders`` as its auth); ``headers`` (the trace context) go out, an
    ``Authorization`` among them never does; ``credentials`` add the server's own."""
    url = str(d.metadata.get(MCP_URL) or d.url(d.stream_path or "/"))
    tool = tool_for(d, capability)
    if tool is None:
        raise WorkerFailed(f"{d.agent_id} has no MCP tool for {capability!r}", "invalid_input")
    sent = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
    own = credentials.credential(url, "bearer") if credentials is not None else None
    if own:
        sent["Authorization"] = f"Bearer {own}"
    events: asyncio.Queue[Relayable | BaseException] = asyncio.Queue()

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        body: dict[str, Any] = {"message": message or "", "step": int(progress)}
        if total is not None:
            body["total"] = int(total)
        events.put_nowait(("progress", body))

    await _load_sdk()
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def session() -> None:
        _HEADERS.set(sent)
        try:
            async with (
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as mcp,
            ):
                await mcp.initialize()
                events.put_nowait(_ACCEPTED)
                result = await mcp.call_tool(
                    str(tool["name"]), arguments(tool, request.input), progress_callback=progress
                )
                events.put_nowait(_result(result, d.agent_id))
        except Exception as exc:
            events.put_nowait(exc)
        events.put_nowait(_END)

    task = asyncio.create_task(session(), name=f"mcp-{d.instance_id}-{request.task_id}")
    accepted = False
    try:
        while True:
            item = await events.get()
            if isinstance(item, BaseException):
                raise _failure(item, d, accepted) from None
            if item is _END:
                break
            if item is _ACCEPTED:
                accepted = True
                on_accepted()
                continue
            yield item
    finally:
        if not task.done():  # cancelled or abandoned: the SDK cancels the server's call
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    yield "done", {}
