"""The ``/mcp`` route, mounted at app creation; the MCP server behind it (``api/mcp.py``,
over the official ``mcp`` SDK) is built on the route's first request.

The SDK's imports cost ~0.5-0.8 s of CPU, which every orchestrator start paid whether or
not anyone spoke MCP to it. Now the first request to ``/mcp`` imports it (on a thread, so
the event loop keeps serving meanwhile) and starts the SDK's session manager and the
registry follower in a task of the app's lifespan, where they run until it ends, as they
did when started with it. Requests that come while it is being built wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mesh_auth.http import ScopeGuard

MCP_PATH = "/mcp"
_SERVER_MODULE = "mesh_orchestrator.api.mcp"


class LazyMCP:
    """The route's ASGI app: on its first request, has the lifespan's task build the MCP
    server; then hands each request to the SDK's streamable-HTTP app."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app
        self._wanted = asyncio.Event()
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[ASGIApp] | None = None
        self._asgi: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asgi = self._asgi
        if asgi is None:
            if self._ready is None:
                raise RuntimeError("the MCP route serves only while the app's lifespan runs")
            self._wanted.set()
            asgi = await asyncio.shield(self._ready)
        await asgi(scope, receive, send)

    async def _serve(self) -> None:
        """The lifespan's task: once MCP is wanted, build the server and run its session
        manager until the lifespan ends."""
        assert self._ready is not None
        await self._wanted.wait()
        try:
            await asyncio.to_thread(importlib.import_module, _SERVER_MODULE)
            from mesh_orchestrator.api.mcp import build_mcp  # imported just above

            mesh, asgi, running = build_mcp(self._app)
            self._app.state.mcp = mesh
            async with running():
                self._asgi = asgi
                self._ready.set_result(asgi)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():  # the waiting requests fail (500) with it
                if isinstance(exc, asyncio.CancelledError):
                    self._ready.cancel()
                else:
                    self._ready.set_exception(exc)
            raise

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._wanted, self._stop = asyncio.Event(), asyncio.Event()
        self._ready = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._serve(), name="mcp-server")
        try:
            yield
        finally:
            if self._wanted.is_set():  # the session manager ends its sessions as it exits
                self._stop.set()
                with contextlib.suppress(Exception):
                    await task
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._asgi = None
            if not self._ready.done():
                self._ready.cancel()
            self._ready = None


def mount_mcp(app: FastAPI) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Serve MCP at ``/mcp`` on ``app`` (token checked like the run routes); returns the
    context the app's lifespan enters once its services exist (the MCP server, once a
    request built it, runs inside it)."""
    route = LazyMCP(app)
    app.add_middleware(ScopeGuard, paths=(MCP_PATH, MCP_PATH + "/"), scopes=("client:*", "admin"))
    app.router.routes.append(Route(MCP_PATH, route))
    return route.running
