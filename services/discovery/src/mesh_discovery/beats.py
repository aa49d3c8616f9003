"""The heartbeat route's fast path: ``PUT /v1/agents/{instance_id}/heartbeat`` in plain ASGI.

Heartbeats are nearly all of discovery's traffic (every instance, every third of its TTL).
Through FastAPI each one paid for routing, dependency solving, a ``Request``, the optional
body's validation through FastAPI's layers and the response model's encoding, several
times what the renewal itself costs (bench/README.md, "the registry"). This middleware
answers a well-formed heartbeat itself, with the same checks as the route (``api.renew``:
the token and its audience, the instance's owner, the agent's write rate, then the lease;
the owner and rate checks, ``api.may_write``, run inside the embedded store's renewal on
the entry it looked up),
and hands anything else to the route untouched: no or a bad token, an unknown or declared instance, another agent's instance,
a body that does not validate. Those answers stay the route's (401/403/404/409/422),
so one place says what an error looks like.

It wraps the app's whole middleware stack (``install``; inside OpenTelemetry's middleware
when tracing is on, so heartbeats are still traced): past it, each request went through
seven ASGI layers (error handling, FastAPI's own telemetry and body limit, ours, metrics)
that cost more than the heartbeat itself (py-spy: the fast path's own work was a quarter
of the process's time inside them). So it does what those layers did for a heartbeat: it
counts the request in ``mesh_http_requests_total`` and its duration under the route's
template, takes only a body whose ``Content-Length`` is within the limit (anything else
goes to the stack, which answers 413), and hands any unexpected error to the stack.

The token is checked through the verifier ``create_app`` keeps in ``app.state.mesh_keys``
(``tokens.VerifiedTokens``: a worker sends the same token with every heartbeat).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError

from mesh_auth.http import AuthError, replay
from mesh_auth.tokens import InvalidToken
from mesh_contracts import HeartbeatRequest, Lease
from mesh_discovery.api import may_write, renew
from mesh_discovery.quota import AgentQuota
from mesh_discovery.reads import ListPath, caller_of
from mesh_discovery.registry import RegistryError, Store, lease_body
from mesh_telemetry.metrics import Metrics

# ASGI's types (as starlette.types spells them; starlette is fastapi's to declare).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/v1/agents/"
SUFFIX = "/heartbeat"
TEMPLATE = PREFIX + "{instance_id}" + SUFFIX


_HEADERS = [(b"content-type", b"application/json")]


def install(
    app: FastAPI, values: dict[str, Any], metrics: Metrics, max_body_bytes: int, *, traced: bool
) -> None:
    """Serve heartbeats, and plain filtered lists (``reads.ListPath``), ahead of ``app``'s
    middleware stack; call it before ``instrument_app``. ``values``: the dict behind
    ``app.state`` (``create_app`` builds the state on it), which the fast paths read
    directly: a ``State`` attribute costs a raised and caught ``AttributeError`` inside
    Starlette (~1 us, four a heartbeat). ``traced``: OpenTelemetry's instrumentation takes
    the stack apart (it expects Starlette's error middleware outermost), so the fast path
    goes inside the stack instead, as the innermost middleware, and the metrics middleware
    counts it."""
    if traced:
        app.add_middleware(ListPath, values=values, metrics=None)
        app.add_middleware(
            HeartbeatPath, values=values, metrics=None, max_body_bytes=max_body_bytes
        )
        return
    build = app.build_middleware_stack

    def build_with_heartbeats() -> ASGIApp:
        return HeartbeatPath(ListPath(build(), values, metrics), values, metrics, max_body_bytes)

    app.build_middleware_stack = build_with_heartbeats  # type: ignore[method-assign]


@dataclass(frozen=True, slots=True)
class _Route:
    """What the metrics middleware reads from ``scope["route"]``: the template."""

    path: str


_ROUTE = _Route(TEMPLATE)


class _Uncounted:
    def inc(self) -> None:
        pass

    def observe(self, _: float) -> None:
        pass


class HeartbeatPath:
    """ASGI middleware: serve well-formed heartbeats, pass everything else to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        values: dict[str, Any],
        metrics: Metrics | None,
        max_body_bytes: int,
    ) -> None:
        """``values``: the app's state (``install``); ``metrics`` None: a metrics
        middleware outside counts the requests."""
        self.app = app
        self.values = values
        self.max_body_bytes = max_body_bytes
        self.served = 0  # heartbeats answered here: added to the counter at each scrape
        self._counted_at = 0
        self._counted: Any = _Uncounted()
        self._timed: Any = _Uncounted()
        if metrics is not None:
            self._counted = metrics.requests.labels(TEMPLATE, "PUT", "200")
            self._timed = metrics.latency.labels(TEMPLATE, "PUT")
            metrics.before_scrape(self._count)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        instance_id = path[len(PREFIX) : -len(SUFFIX)]
        if (
            not path.startswith(PREFIX)
            or not path.endswith(SUFFIX)
            or not instance_id
            or "/" in instance_id
            or not self._sized(scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        body: bytes = message.get("body", b"")
        if message.get("more_body", False):  # a body in several messages: the whole of it
            chunks = [body]
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
        answer = await self._renew(scope, instance_id, body)
        if answer is None:
            await self.app(scope, replay(body, receive), send)
            return
        scope["route"] = _ROUTE
        headers = [*_HEADERS, (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        self.served += 1
        self._timed.observe(time.perf_counter() - started)

    async def _count(self) -> None:
        """Before a scrape: the heartbeats served since the last one, added to
        ``mesh_http_requests_total`` at once (an int a heartbeat, not the counter's lock)."""
        served = self.served
        self._counted.inc(served - self._counted_at)
        self._counted_at = served

    def _sized(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether the request declares a body within the limit (none: chunked, left to
        the stack's body limit)."""
        for name, value in headers:
            if name == b"content-length":
                return value.isdigit() and int(value) <= self.max_body_bytes
        return False

    async def _renew(self, scope: Scope, instance_id: str, body: bytes) -> bytes | None:
        """The lease's JSON, or None to let the route answer."""
        values = self.values
        store: Store | None = values.get("store")
        if store is None:
            return None
        try:
            principal = caller_of(values, scope["headers"])
            if principal is None:
                return None
            load = None
            if body and body.strip() not in (b"", b"null"):
                load = HeartbeatRequest.model_validate_json(body).load
            quota: AgentQuota = values["quota"]
            fast = getattr(store, "heartbeat_json", None)
            if fast is None:
                return lease_json(await renew(store, instance_id, principal, load, quota))
            # The checks run inside the renewal, on the entry it renews (one look-up), and
            # raise before it changes anything (``api.may_write``).
            answer: bytes = await fast(
                instance_id, load, partial(may_write, principal, quota, instance_id)
            )
        except (InvalidToken, AuthError, RegistryError, ValidationError):
            return None
        except Exception:  # the stack's handlers answer it (JSON 500), and log it
            return None
        return answer


def lease_json(lease: Lease) -> bytes:
    """``lease.model_dump_json()``, by hand (``registry.lease_body``)."""
    return lease_body(lease.instance_id, lease.ttl_seconds, lease.expires_at, lease.index)
