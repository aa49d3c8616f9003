"""The filtered list's fast path: a plain ``GET /v1/agents?capability=&tag=&agent_id=&healthy=``
answered in plain ASGI, ahead of the middleware stack, as ``beats.py`` answers heartbeats.

A list is what the orchestrator reads on every run it cannot answer with a 304, and
through FastAPI it paid for routing, the dependencies (token, blocking query, each query
parameter's validation), a ``Response`` and the seven ASGI layers of the stack, more than
the store's own work once the store keeps its selections (``index.py``). This answers only
the plainest request: no ``index``/``wait`` (a blocking query goes to the route), each of the
four filters at most once with a value the route would take as it is (``healthy`` one of
``true``/``false``/``1``/``0``), a valid token (any: a read) or, open, a trusted ``Host``.
Anything else (another parameter, a bad value, no or a bad token) is handed to the route
untouched, so the route still says what an error looks like. The answer is the route's:
the same body (``Store.list_json``), ``X-Mesh-Index`` and ``ETag``, and 304 with no body to an
``If-None-Match`` naming the current index.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from pydantic import TypeAdapter, ValidationError

from mesh_auth import Principal
from mesh_auth.http import AuthError, host_trusted
from mesh_auth.tokens import OPEN, InvalidToken
from mesh_contracts.capabilities import Capability
from mesh_discovery.api import entity_tag
from mesh_discovery.registry import AgentFilter, RegistryError, Store
from mesh_telemetry.metrics import Metrics

PATH = "/v1/agents"
_FILTERS = frozenset({"capability", "tag", "agent_id", "healthy"})
_BOOLS = {"true": True, "1": True, "false": False, "0": False}
_CAPABILITY: TypeAdapter[str] = TypeAdapter(Capability)


class _Route:
    """What the metrics middleware reads from ``scope["route"]``: the template."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


_ROUTE = _Route(PATH)


def parse_filter(query: bytes) -> AgentFilter | None:
    """The filter a plain list query names, or None when the route must answer it."""
    if not query:
        return AgentFilter()
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    given: dict[str, str] = {}
    for name, value in pairs:
        if name not in _FILTERS or name in given or not value:
            return None
        given[name] = value
    healthy: bool | None = None
    if "healthy" in given:
        healthy = _BOOLS.get(given["healthy"].lower())
        if healthy is None:
            return None
    capability = given.get("capability")
    if capability is not None:
        try:
            _CAPABILITY.validate_python(capability)
        except ValidationError:
            return None
    return AgentFilter(capability, given.get("tag"), given.get("agent_id"), healthy)


def _unchanged(headers: list[tuple[bytes, bytes]], index: int) -> bool:
    """``api._unchanged`` on raw headers."""
    for name, value in headers:
        if name == b"if-none-match":
            tags = {t.strip().removeprefix("W/") for t in value.decode("latin-1").split(",")}
            return entity_tag(index) in tags or "*" in tags
    return False


def principal_of(
    keys: Any, headers: list[tuple[bytes, bytes]], audience: str, hosts: Any = ()
) -> Principal | None:
    """The caller's principal for ``audience`` (``OPEN`` when the service runs open and the
    ``Host`` is one it answers), or None when its ``Authorization`` header is missing or not
    ``Bearer <token>``, or, open, its ``Host`` is foreign (the stack answers those). Raises
    ``InvalidToken``."""
    if keys is None:
        host = next((v.decode("latin-1") for n, v in headers if n == b"host"), None)
        return OPEN if host_trusted(host, hosts) else None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            principal: Principal = keys.verify(token.strip(), audience)
            return principal
    return None


def caller_of(values: Mapping[str, Any], headers: list[tuple[bytes, bytes]]) -> Principal | None:
    """``principal_of`` a request's ``headers``, with the keys, audience and hosts in the
    app's state ``values`` (the dict behind ``app.state``: what the ASGI fast paths, lists
    and heartbeats, check before they answer)."""
    keys = values["mesh_keys"]
    hosts = values.get("mesh_trusted_hosts", ()) if keys is None else ()
    return principal_of(keys, headers, values["mesh_audience"], hosts)


class ListPath:
    """ASGI middleware: answer plain filtered lists, pass everything else to ``app``."""

    def __init__(self, app: Any, values: Mapping[str, Any], metrics: Metrics | None) -> None:
        """``values``: the dict behind the app's state (``beats.install``); ``metrics``
        None: a metrics middleware outside counts the requests."""
        self.app = app
        self.values = values
        self._metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("path") != PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = await self._list(scope)
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, index, body = answer
        scope["route"] = _ROUTE
        tag = entity_tag(index).encode()
        headers = [(b"x-mesh-index", str(index).encode()), (b"etag", tag)]
        if body is not None:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body or b""})
        if self._metrics is not None:
            self._metrics.requests.labels(PATH, "GET", str(status)).inc()
            self._metrics.latency.labels(PATH, "GET").observe(time.perf_counter() - started)

    async def _list(self, scope: Any) -> tuple[int, int, bytes | None] | None:
        """(status, index, body or None for a 304), or None to let the route answer."""
        store: Store | None = self.values.get("store")
        if store is None:
            return None
        filters = parse_filter(scope.get("query_string", b""))
        if filters is None:
            return None
        try:
            principal = caller_of(self.values, scope["headers"])
            if principal is None:
                return None
            # The index before the list, as the route reads it (api.list_agents).
            index = await store.index()
            if _unchanged(scope["headers"], index):
                return 304, index, None
            return 200, index, await store.list_json(filters)
        except (InvalidToken, AuthError, RegistryError):
            return None
        except Exception:  # the stack's handlers answer it (JSON 500 or 503), and log it
            return None
