"""The relay's fast path: ``POST /orchestrate/stream`` in plain ASGI, ahead of the stack.

A relayed stream's first token waited for FastAPI's whole request path: 13 middlewares
(Starlette's and FastAPI's error, telemetry and body-limit layers, the A2A scope guards and
binding fixes, metrics, trusted hosts, our body limit, the exception and dependency-stack
layers), routing past every route before it, the dependencies solved one by one (services,
the token), the body read through a ``Request`` and validated through FastAPI's field
machinery: ~240 us a request against ~55 us here (``python -m bench.edge``). And the open
stream kept every one of those layers' frames suspended for as long as it ran: ~13 KB a
stream (``bench/README.md``, "The HTTP edge"). This
middleware answers a plain, well-formed request itself, with the route's own checks and
code (``routes.open_run_stream``), and hands anything else to the route untouched, as
discovery's heartbeat path does (``mesh_discovery.beats``):

* a request that carries an ``Origin`` (a browser: CORS is the stack's), no JSON
  ``Content-Type``, no ``Content-Length`` or one past ``ORCH_MAX_BODY_BYTES`` (413 is the
  stack's), no or a bad token, a token of the wrong scope, a foreign ``Host`` while the
  mesh runs open, a body that does not parse or validate: the route answers it (401, 403,
  400, 413, 422), so one place says what an error looks like; the body already read is
  given to the route again.
* Once the run is being started nothing is handed over (a start took a token from the
  client's bucket): what ``open_run_stream`` raises (429, 404, 409, 422, 503, anything
  else: 500) is answered by the app's own exception handlers, as the stack would.

It counts the request in ``mesh_http_requests_total`` and its duration (the stream's whole
length) under the route's template, as the metrics middleware does. With tracing on it goes
inside the stack instead (innermost middleware: the request is still traced, and the
metrics middleware counts it); routing and the dependencies are still skipped there.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from mesh_auth import Principal
from mesh_auth.http import host_trusted, replay
from mesh_auth.tokens import OPEN, InvalidToken
from mesh_orchestrator.api.models import OrchestrateRequest
from mesh_orchestrator.api.routes import open_run_stream

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mesh_telemetry.metrics import Metrics

# ASGI's types, as starlette.types spells them.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/orchestrate/stream"
SCOPES = ("client:*", "admin")  # routes.RunCaller's


@dataclass(frozen=True, slots=True)
class _Route:
    """What the metrics middleware reads from ``scope["route"]``: the template."""

    path: str


_ROUTE = _Route(PATH)


def install(app: FastAPI, metrics: Metrics, max_body_bytes: int, *, traced: bool) -> None:
    """Serve ``POST /orchestrate/stream`` ahead of ``app``'s middleware stack. ``traced``:
    OpenTelemetry's instrumentation rebuilds the stack around Starlette's error middleware,
    so the fast path goes inside it, as the innermost middleware (call this first then), and
    the metrics middleware counts it."""
    if traced:
        app.add_middleware(StreamPath, metrics=None, max_body_bytes=max_body_bytes)
        return
    build = app.build_middleware_stack

    def build_with_stream_path() -> ASGIApp:
        return StreamPath(build(), metrics, max_body_bytes)

    app.build_middleware_stack = build_with_stream_path  # type: ignore[method-assign]


class Front:
    """What uvicorn serves (``__main__``): ``app`` itself, but a ``POST
    /orchestrate/stream`` goes straight to ``app``'s middleware stack (``StreamPath`` at its
    head) as Starlette's ``__call__`` sends it there (``scope["app"]`` set first), from a
    plain function that returns the stack's coroutine: no ``FastAPI.__call__`` nor
    ``Starlette.__call__`` frame is held for as long as the stream is open (~0.6 KB a
    stream). FastAPI's ``__call__`` adds nothing here: its own telemetry is off
    (``app.py``) and a ``root_path`` sends every request through it. ``on_started`` is
    called once the app's lifespan has started (``lifespan.startup.complete`` sent)."""

    def __init__(self, app: FastAPI, on_started: Callable[[], None] | None = None) -> None:
        self.app = app
        self.direct = not app.root_path and not app._native_telemetry.enabled()
        self.on_started = on_started

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        app = self.app
        stack = app.middleware_stack
        if stack is None or not self.direct or scope["type"] != "http" or scope["path"] != PATH:
            if scope["type"] == "lifespan" and self.on_started is not None:
                return app(scope, receive, _told(send, self.on_started))
            return app(scope, receive, send)
        scope["app"] = app
        return stack(scope, receive, send)


def _told(send: Send, on_started: Callable[[], None]) -> Send:
    """``send``, calling ``on_started`` once the lifespan's start-up is reported complete."""

    async def lifespan_send(message: Message) -> None:
        await send(message)
        if message["type"] == "lifespan.startup.complete":
            on_started()

    return lifespan_send


class StreamPath:
    """ASGI middleware: serve plain ``POST /orchestrate/stream``, pass all else to ``app``."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None, max_body_bytes: int) -> None:
        """``metrics`` None: a metrics middleware outside counts the requests."""
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        if metrics is not None:
            self._timed = metrics.latency.labels(PATH, "POST")
            self._by_status: dict[int, Any] = {}

    def _counted(self, status: int) -> Any:
        """The request counter of ``status`` (its child looked up once per status)."""
        assert self.metrics is not None
        child = self._by_status.get(status)
        if child is None:
            child = self._by_status[status] = self.metrics.requests.labels(
                PATH, "POST", str(status)
            )
        return child

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        if not self._plain(scope["headers"]):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body came
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks
        admitted = _admit(scope, body)
        if admitted is None:
            await self.app(scope, replay(body, receive), send)
            return
        del body  # an open stream keeps nothing of its request (nor ``admitted``'s tuple)
        svc, caller, request = admitted
        del admitted
        scope["route"] = _ROUTE
        response: Response
        unexpected: Exception | None = None
        try:
            response = await open_run_stream(svc, caller, request)
            if self.metrics is not None:
                # Ahead of the stack, nothing reads them from here on: the open stream keeps
                # none of them (~0.8 KB; the list is the connection's too, which would keep it
                # until its next request). Inside it (traced), the layers outside may.
                scope["headers"].clear()
        except Exception as exc:  # answered by the app's handlers, as the stack would
            response, unexpected = await _handled(scope, receive, exc)
        del request
        try:
            await response(scope, receive, send)
        finally:
            if self.metrics is not None:
                self._counted(response.status_code).inc()
                self._timed.observe(time.perf_counter() - started)
        if unexpected is not None:
            raise unexpected  # the server logs it, as Starlette's error middleware lets it

    def _plain(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """A JSON body within the limit, declared by ``Content-Length``, and no ``Origin``."""
        sized = json = False
        for name, value in headers:
            if name == b"content-length":
                sized = value.isdigit() and int(value) <= self.max_body_bytes
            elif name == b"content-type":
                kind = value.split(b";", 1)[0].strip().lower()
                json = kind == b"application/json" or kind.endswith(b"+json")
            elif name == b"origin":
                return False
        return sized and json


def _admit(scope: Scope, body: bytes) -> tuple[Any, Principal, OrchestrateRequest] | None:
    """(services, caller, request) when the route would admit them, else None."""
    state = scope["app"].state
    svc = getattr(state, "services", None)
    if svc is None:
        return None
    try:
        caller = _caller(state, scope["headers"])
        if caller is None or not (
            not caller.authenticated or any(caller.matches(s) for s in SCOPES)
        ):
            return None
        # Parsed and validated in one pass (pydantic's JSON mode): what the route admits,
        # ``bodies.JSONBody``'s parse then FastAPI's validation of the model, in two, and
        # the same (``test_run_costs12.py`` holds the two ways equal, hostile bodies
        # included: duplicate keys, NaN, big integers, bytes that are not UTF-8).
        request = OrchestrateRequest.model_validate_json(body)
    except (InvalidToken, ValueError):  # ValidationError is one
        return None
    except Exception:  # the stack's handlers answer it (JSON 500), and log it
        return None
    return svc, caller, request


def _caller(state: Any, headers: list[tuple[bytes, bytes]]) -> Principal | None:
    """The caller's principal (``OPEN`` on an open mesh whose ``Host`` is trusted), or None
    when the route must say why not. Raises ``InvalidToken``."""
    keys = state.mesh_keys
    if keys is None:
        host = None
        for name, value in headers:
            if name == b"host":
                host = value
                break
        return OPEN if _trusted(host, getattr(state, "mesh_trusted_hosts", ())) else None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            principal: Principal = keys.verify(token.strip(), state.mesh_audience)
            return principal
    return None


# ``host_trusted``'s answers by (Host header, trusted hosts): a client sends the same Host
# on every request (~1.5 us a request). Bounded: a client picks what it sends.
_HOSTS_SEEN: dict[tuple[bytes, tuple[str, ...]], bool] = {}
_HOSTS_KEPT = 64


def _trusted(host: bytes | None, hosts: Any) -> bool:
    """``host_trusted(host, hosts)``, of the raw header, remembered."""
    if host is None:
        return False
    key = (host, tuple(hosts))
    known = _HOSTS_SEEN.get(key)
    if known is None:
        known = host_trusted(host.decode("latin-1"), hosts)
        if len(_HOSTS_SEEN) >= _HOSTS_KEPT:
            _HOSTS_SEEN.clear()
        _HOSTS_SEEN[key] = known
    return known


async def _handled(
    scope: Scope, receive: Receive, exc: Exception
) -> tuple[Response, Exception | None]:
    """The app's answer to ``exc`` (its most specific exception handler), and ``exc`` again
    when that was the catch-all 500, to be raised once answered."""
    handlers = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            break
    else:
        raise exc
    request = Request(scope, receive)
    if inspect.iscoroutinefunction(handler):
        response: Response = await handler(request, exc)
    else:
        response = await run_in_threadpool(handler, request, exc)
    return response, exc if cls is Exception else None
