"""The A2A routes (the card, JSON-RPC at ``/a2a``, the REST binding at ``/a2a/rest``),
mounted at app creation; the a2a-sdk's server behind them (``api/a2a.py``) is built on
the first request to one of them, or the first read of the OpenAPI document.

The SDK's server imports (its request handlers, route factories and the v0.3
compatibility types) cost ~0.3-0.5 s of CPU, which every orchestrator start paid whether
or not anyone spoke A2A to it. Now the first A2A request imports them (on a thread, so the
event loop keeps serving meanwhile), then puts the SDK's routes where this placeholder
stood, in the same order, and every later request goes straight to them. The middlewares
in front of them (the token check, the content type, the REST statuses: ``api/a2a_http.py``)
are installed here at once, as before: a started app takes no new middleware.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from mesh_auth.http import ScopeGuard
from mesh_contracts.a2a import AGENT_CARD_PATH
from mesh_orchestrator.api.a2a_http import A2AContentType, A2ARestStatus

if TYPE_CHECKING:
    from starlette.datastructures import URLPath

    from mesh_orchestrator.runs.store.base import RunRecord

RPC_PATH = "/a2a"
REST_PATH = "/a2a/rest"
_SERVER_MODULE = "mesh_orchestrator.api.a2a"


async def _never(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a pattern of the lazy A2A route: matched against, never called")


class LazyA2A(BaseRoute):
    """Stands in the app's routes for the A2A routes until the first request to one of
    them (the paths they would match, any method: they answer 405 themselves) builds them
    (``install``); then hands that request to the app's router again, which finds them."""

    def __init__(self, app: FastAPI, *, bearer: bool, mtls: bool) -> None:
        self._app = app
        self._bearer, self._mtls = bearer, mtls
        self._patterns = (Route(AGENT_CARD_PATH, _never), Route(RPC_PATH, _never))
        self._rest = Mount(REST_PATH, app=_never)
        self._openapi = app.openapi  # FastAPI's own, which the SDK's routes extend

    @property
    def pending(self) -> bool:
        return self in self._app.router.routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and (
            any(p.matches(scope)[0] is not Match.NONE for p in self._patterns)
            or self._rest.matches(scope)[0] is not Match.NONE
        ):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.pending:
            # On a thread for every request that finds the routes pending, not only while
            # the module is missing from sys.modules: one another request is still importing
            # is there already, half run, and importing it here would block the event loop
            # until it is whole.
            await asyncio.to_thread(importlib.import_module, _SERVER_MODULE)
            self.install()  # no await since the check: one request installs, others find
        await self._app.router(scope, receive, send)

    def install(self) -> None:
        """Put the SDK's routes (``api.a2a.add_a2a_routes``) where this one stands; nothing
        once done."""
        routes = self._app.router.routes
        if self not in routes:
            return
        from mesh_orchestrator.api.a2a import BEARER_SECURITY, MTLS_SECURITY, add_a2a_routes

        security = {
            **(BEARER_SECURITY if self._bearer else {}),
            **(MTLS_SECURITY if self._mtls else {}),
        }
        self._app.openapi = self._openapi  # type: ignore[method-assign]
        at, before = routes.index(self), len(routes)
        add_a2a_routes(self._app, security=security or None)
        added = routes[before:]
        del routes[before:]
        routes[at : at + 1] = added

    def openapi(self) -> dict[str, Any]:
        """The app's OpenAPI document, with the A2A routes in it (built for it if need be)."""
        self.install()
        return self._app.openapi()


def mount_a2a(app: FastAPI, *, bearer: bool, mtls: bool) -> None:
    """Serve the mesh as an A2A agent on ``app``: the token check in front (a client or
    admin token; 401/403 JSON like every other run route) and the HTTP edge's fixes
    (``api/a2a_http.py``) now, the routes with the first request. ``bearer``/``mtls``: the
    card declares the bearer scheme / a client certificate (the schemes the API checks)."""
    # A JSON body only (415 otherwise), and the REST errors' statuses of A2A 1.0 5.4; both
    # inside the token check below, so a caller without a token learns nothing more.
    app.add_middleware(A2ARestStatus, rest_path=REST_PATH)
    app.add_middleware(A2AContentType, rpc_path=RPC_PATH, rest_path=REST_PATH)
    # The SDK's routes take no FastAPI dependency: the token is checked in front of them.
    app.add_middleware(ScopeGuard, paths=(RPC_PATH, REST_PATH + "/"), scopes=("client:*", "admin"))
    route = LazyA2A(app, bearer=bearer, mtls=mtls)
    app.router.routes.append(route)
    app.openapi = route.openapi  # type: ignore[method-assign]


def push_body(record: RunRecord) -> str:
    """An A2A push notification's body (``api.a2a.push_body``). The A2A server is loaded
    by then: the push config came through it (or, after a restart, loads here)."""
    from mesh_orchestrator.api.a2a import push_body as body

    return body(record)


__all__ = ["REST_PATH", "RPC_PATH", "LazyA2A", "mount_a2a", "push_body"]
