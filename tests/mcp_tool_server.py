"""An MCP server for the end-to-end tests, built on the official SDK's MCPServer (FastMCP)
and run as its own process (``python -m mcp_tool_server`` from this folder) on
``MCP_PORT``, streamable HTTP at ``/mcp``, ``/health`` for the test harness.

Tools: ``shout`` (two progress notifications, then the text in capitals), ``summarize``
(its first sentence; its description names summarization), ``wait`` (works until
cancelled, then writes ``cancelled`` to ``MCP_CANCEL_FILE``). Each call's ``Authorization``
header is appended to ``MCP_AUTH_LOG`` (what the server was sent, for the test to check)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

server = MCPServer("tool-server")


def _note_auth(ctx: Context) -> None:
    log = os.environ.get("MCP_AUTH_LOG")
    if log:
        headers = ctx.headers or {}
        with Path(log).open("a") as f:
            f.write(f"{headers.get('authorization', '-')}\n")


@server.tool(description="Shouts the text back in capitals.")
async def shout(text: str, ctx: Context) -> str:
    _note_auth(ctx)
    await ctx.report_progress(1, 2, "reading")
    await ctx.report_progress(2, 2, "shouting")
    return text.upper()


@server.tool(description="Summarization: the first sentence of a text.")
async def summarize(text: str) -> str:
    return text.split(". ")[0].strip()


@server.tool(description="Works until cancelled.")
async def wait(text: str, ctx: Context) -> str:
    await ctx.report_progress(1, None, "waiting")
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        # A few bytes, once, while being cancelled (no await can be trusted to run here).
        Path(os.environ["MCP_CANCEL_FILE"]).write_text("cancelled")  # noqa: ASYNC240
        raise
    return text


@server.custom_route("/health", methods=["GET"])
async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


if __name__ == "__main__":
    uvicorn.run(
        server.streamable_http_app(),
        host="127.0.0.1",
        port=int(os.environ["MCP_PORT"]),
        log_level="warning",
    )
