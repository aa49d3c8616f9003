"""The HTTP/1.1 protocol the orchestrator is served with: uvicorn's httptools protocol, with
less held per connection.

Every connection uvicorn holds makes a ``FlowControl`` (its "writable" event) and, per
request, a ``RequestResponseCycle`` (its "message" event, which ``receive`` waits on): an
``asyncio.Event`` each, and each of those a deque for its waiters, ~1.6 KB a connection
held for as long as a relayed stream is open (``bench/README.md``, "Round 8"). Here both
are ``relay.gate.Signal``s, which do the same (``set``, ``clear``, ``is_set``, ``wait``)
with no deque until someone waits. The queue of pipelined requests is a list (``_Pipeline``:
``appendleft``, ``pop``, truth), not a ``deque`` (~0.7 KB each, for a queue nearly always
empty), and every request's scope shares one ``asgi`` dict (its versions).

A response that wants to hear its client leave without a task parked in ``receive`` (a
relayed stream, ``api.sse.RunStream``) sets ``on_gone`` on the cycle (``api.sse.gone_hook``): the
connection calls it once when it is lost while the response is still open. A cycle of
another server has no ``on_gone``; such a response listens with ``receive`` as before.
uvicorn's ``ProxyHeadersMiddleware`` (on by default: ``X-Forwarded-For`` and
``X-Forwarded-Proto`` from a trusted proxy) is called as a plain function (``_Proxied``,
the same rewrite of the scope by uvicorn's own trust check) that returns the app's
coroutine: its ``async`` frame is not held for as long as a stream is open (~0.4 KB). The
connection's and the server's addresses, a request's method and path are shared between
connections where equal (one tuple for the server's, one string for a client's host, the
method, the path), not made again for each.
Everything else is uvicorn's own code.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mesh_orchestrator.relay.gate import Signal


@functools.cache
def _asgi(version: str) -> Any:
    return {"version": version, "spec_version": "2.3"}


class _Pipeline(list[Any]):
    """The ``deque`` methods uvicorn's protocol uses on its pipelined requests: new ones in
    at the left, the oldest out at the right."""

    __slots__ = ()

    def appendleft(self, item: Any) -> None:
        self.insert(0, item)


class _Proxied:
    """``ProxyHeadersMiddleware``'s rewrite of a request's scope (uvicorn 0.54's, with its
    ``trusted_hosts``), called as a plain function that returns the app's coroutine."""

    __slots__ = ("app", "trusted_hosts")

    def __init__(self, middleware: ProxyHeadersMiddleware) -> None:
        self.app = middleware.app
        self.trusted_hosts = middleware.trusted_hosts

    def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        if scope["type"] != "lifespan":
            client = scope.get("client")
            if (client[0] if client else None) in self.trusted_hosts:
                self._rewrite(scope)
        return self.app(scope, receive, send)

    def _rewrite(self, scope: Any) -> None:
        proto: bytes | None = None
        forwarded: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                proto = value
            elif name == b"x-forwarded-for":
                forwarded.append(value)
        if proto is not None:
            scheme = proto.decode("latin1").strip()
            if scheme in {"http", "https", "ws", "wss"}:
                if scope["type"] == "websocket":
                    scheme = scheme.replace("http", "ws")
                scope["scheme"] = scheme
        if forwarded:
            chain = b", ".join(forwarded).decode("latin1")
            host, port = self.trusted_hosts.get_trusted_client_address(chain)
            if host:  # an empty X-Forwarded-For leaves the client as it is (uvicorn's #1068)
                scope["client"] = (host, port)


@functools.cache
def _proxied(middleware: ProxyHeadersMiddleware) -> _Proxied:
    return _Proxied(middleware)


def _local(transport: asyncio.BaseTransport) -> tuple[str, int | None] | None:
    """``uvicorn.protocols.utils.get_local_addr``'s answer, from the address the transport
    read when it was made (uvloop's and asyncio's TCP transports both keep it): uvicorn's
    asks ``get_extra_info("socket")`` for it, and uvloop makes a socket object of the
    connection's descriptor for each such question, two ``getsockname`` calls with it, and
    a third for the address itself (bench/README.md, "Round 12: CPU per run")."""
    info = transport.get_extra_info("sockname")
    if isinstance(info, tuple):
        return (str(info[0]), int(info[1]))
    if isinstance(info, str):
        return (info, None)
    return None


def _remote(transport: asyncio.BaseTransport) -> tuple[str, int] | None:
    """``uvicorn.protocols.utils.get_remote_addr``'s answer, likewise: the peer's address
    the transport read when it was made; None where it has none (a client gone already,
    a Unix socket's peer)."""
    info = transport.get_extra_info("peername")
    return (str(info[0]), int(info[1])) if isinstance(info, tuple) else None


@functools.lru_cache(maxsize=1024)
def _shared(value: Any) -> Any:
    """One object for equal addresses (tuples of a host and a port, host strings); the
    most recent 1,024 kept."""
    return value


class LeanHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``HttpToolsProtocol`` (``uvicorn.run(..., http=LeanHttpToolsProtocol)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipeline = _Pipeline()  # type: ignore[assignment]
        if type(self.app) is ProxyHeadersMiddleware:
            self.app = _proxied(self.app)  # type: ignore[assignment]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # The scope's ``asgi`` (its versions) one dict for every request, not one each.
        self.scope["asgi"] = _asgi(self.asgi_version)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvicorn's ``connection_made`` (0.54), but the addresses are the transport's own
        # (``_local``, ``_remote``) and the flow control's event a ``Signal`` from the start.
        self.connections.add(self)
        self.transport = transport
        flow = self.flow = FlowControl.__new__(FlowControl)
        flow._transport = transport
        flow.read_paused = flow.write_paused = False
        flow._is_writable_event = Signal(True)  # type: ignore[assignment]
        server = self.server = _local(transport)
        if server is not None:
            self.server = _shared(server)
        client = self.client = _remote(transport)
        if client is not None:
            self.client = (_shared(client[0]), client[1])
        self.scheme = "https" if transport.get_extra_info("sslcontext") else "http"
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "{}:{} - ".format(*self.client) if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sHTTP connection made", prefix)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # Just made (nobody waits on it yet); an upgrade returns early and keeps the last.
        if cycle is not None and type(cycle.message_event) is asyncio.Event:
            event = cycle.message_event
            cycle.message_event = Signal(event.is_set())  # type: ignore[assignment]
            cycle.on_gone = None  # type: ignore[attr-defined]  # see api.sse.gone_hook
            # The request line's parts: one object for each method and path seen (the
            # request's task has not run yet), and its URL read (uvicorn keeps it for a
            # WebSocket upgrade, which returned above).
            scope = self.scope
            scope["method"] = _shared(scope["method"])
            scope["path"] = _shared(scope["path"])
            scope["raw_path"] = _shared(scope["raw_path"])
            self.url = b""

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        gone = None
        if cycle is not None and not cycle.response_complete:
            gone = getattr(cycle, "on_gone", None)
            if gone is not None:
                cycle.on_gone = None  # type: ignore[attr-defined]
        super().connection_lost(exc)
        if gone is not None:
            try:
                gone()
            except Exception:  # the response's own failure: logged, the connection is gone
                self.logger.exception("a response's on_gone failed")
