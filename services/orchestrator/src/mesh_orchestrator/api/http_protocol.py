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

Per connection and per request (round 15, ``bench/README.md``, "Round 15: CPU per run"): the
protocol is made without uvicorn's ``__init__`` (its two ``logging.getLogger`` calls, each
taking logging's module lock, for the same two loggers every time), a request's cycle
(``LeanCycle``) is made with its ``Signal`` and ``on_gone`` at once (not an ``asyncio.Event``
made, then swapped), and its response's status line and headers are written by
``LeanCycle.send`` from header pairs checked once (``_CHECKED``: the same checks as
uvicorn's, remembered for the pairs a response sends every time) instead of two regular
expressions and a ``bytes.lower`` per header per response. The bytes written are uvicorn's.
Everything else is uvicorn's own code.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import urllib.parse
from typing import Any

import httptools
from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT, FlowControl, service_unavailable
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

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


# The loggers uvicorn's protocol asks ``logging.getLogger`` for at every connection.
_ERROR_LOG = logging.getLogger("uvicorn.error")
_ACCESS_LOG = logging.getLogger("uvicorn.access")

# A response header pair that passed uvicorn's checks (``HEADER_RE`` on the name,
# ``HEADER_VALUE_RE`` on the value) -> its name lowered, as uvicorn writes it: a response sends
# the same pairs every time (the SSE answer's four, the server's own). Bounded (a pair that
# fails is never kept; a new ``date`` value comes every second).
_CHECKED: dict[tuple[bytes, bytes], bytes] = {}
_CHECKED_KEPT = 256


class LeanCycle(RequestResponseCycle):
    """uvicorn's ``RequestResponseCycle`` (0.54), made with its ``Signal`` (``message_event``)
    and ``on_gone`` at once, whose ``send`` checks a response's header pairs once (``_CHECKED``). The same messages accepted, the same bytes written, the same errors."""

    def __init__(
        self,
        scope: Any,
        transport: asyncio.Transport,
        flow: FlowControl,
        logger: logging.Logger,
        access_logger: logging.Logger,
        access_log: bool,
        default_headers: list[tuple[bytes, bytes]],
        expect_100_continue: bool,
        keep_alive: bool,
        on_response: Any,
    ) -> None:
        self.scope = scope
        self.transport = transport
        self.flow = flow
        self.logger = logger
        self.access_logger = access_logger
        self.access_log = access_log
        self.default_headers = default_headers
        self.message_event = Signal()  # type: ignore[assignment]
        self.on_response = on_response
        self.on_gone = None  # see api.sse.gone_hook
        self.disconnected = False
        self.keep_alive = keep_alive
        self.waiting_for_100_continue = expect_100_continue
        self.body = bytearray()
        self.more_body = True
        self.response_started = False
        self.response_complete = False
        self.chunked_encoding: bool | None = None
        self.expected_content_length = 0

    async def send(self, message: Any) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()  # pragma: no cover  (a reader that stopped reading)
        if self.disconnected:
            return
        if self.response_started:
            self._send_body(message)
            return
        # The status line and headers: uvicorn's code but for the header checks.
        if message["type"] != "http.response.start":
            raise RuntimeError(
                f"Expected ASGI message 'http.response.start', but got '{message['type']}'."
            )
        self.response_started = True
        self.waiting_for_100_continue = False
        status_code = message["status"]
        headers = self.default_headers + list(message.get("headers", []))
        if self.access_log:
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(self.scope),
                self.scope["method"],
                get_path_with_query_string(self.scope),
                self.scope["http_version"],
                status_code,
            )
        content = [STATUS_LINE[status_code]]
        has_connection_close = False
        for pair in headers:
            try:
                name = _CHECKED[pair]
                value = pair[1]
            except (KeyError, TypeError):
                name, value = pair
                if HEADER_RE.search(name):
                    raise RuntimeError("Invalid HTTP header name.") from None
                if HEADER_VALUE_RE.search(value):
                    raise RuntimeError("Invalid HTTP header value.") from None
                name = name.lower()
                if type(pair) is tuple and type(value) is bytes and type(pair[0]) is bytes:
                    if len(_CHECKED) >= _CHECKED_KEPT:
                        _CHECKED.clear()
                    _CHECKED[pair] = name
            if name == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value.decode())
                self.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif name == b"connection":
                connection = [token.lower().strip() for token in value.split(b",")]
                if b"close" in connection:
                    self.keep_alive = False
                    has_connection_close = True
            content.extend([name, b": ", value, b"\r\n"])
        if not self.keep_alive and not has_connection_close:
            content.append(b"connection: close\r\n")
        if (
            self.chunked_encoding is None
            and self.scope["method"] != "HEAD"
            and status_code not in (204, 304)
        ):
            self.chunked_encoding = True
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        self.transport.write(b"".join(content))

    def _send_body(self, message: Any) -> None:
        """uvicorn's ``send`` once the response has started (0.54): a chunk of the body."""
        if self.response_complete:
            raise RuntimeError(
                f"Unexpected ASGI message '{message['type']}' sent, after response already "
                "completed."
            )
        if message["type"] != "http.response.body":
            raise RuntimeError(
                f"Expected ASGI message 'http.response.body', but got '{message['type']}'."
            )
        body = message.get("body", b"")
        more_body = message.get("more_body", False)
        if self.scope["method"] == "HEAD":
            self.expected_content_length = 0
        elif self.chunked_encoding:
            content = [b"%x\r\n" % len(body), body, b"\r\n"] if body else []
            if not more_body:
                content.append(b"0\r\n\r\n")
            self.transport.write(b"".join(content))
        else:
            num_bytes = len(body)
            if num_bytes > self.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_content_length -= num_bytes
            self.transport.write(body)
        if not more_body:
            if self.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.message_event.set()
            if not self.keep_alive:
                self.transport.close()
            self.on_response()


class LeanHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``HttpToolsProtocol`` (``uvicorn.run(..., http=LeanHttpToolsProtocol)``)."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        # uvicorn's ``__init__`` (0.54), its loggers module-level, its pipeline a list.
        if not config.loaded:
            config.load()
        self.config = config
        app = config.loaded_app
        self.app = _proxied(app) if type(app) is ProxyHeadersMiddleware else app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = _ERROR_LOG
        self.access_logger = _ACCESS_LOG
        self.access_log = _ACCESS_LOG.hasHandlers()
        self.parser = httptools.HttpRequestParser(self)
        with contextlib.suppress(AttributeError):  # httptools < 0.6.3 has none
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.ws_protocol_class = config.ws_protocol_class
        self.root_path = config.root_path
        self.asgi_version = config.asgi_version
        self.limit_concurrency = config.limit_concurrency
        self.app_state = app_state
        self.timeout_keep_alive_task = None
        self.timeout_keep_alive = config.timeout_keep_alive
        self.server_state = server_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.transport = None  # type: ignore[assignment]
        self.flow = None  # type: ignore[assignment]
        self.server = None
        self.client = None
        self.scheme = None
        self.pipeline = _Pipeline()  # type: ignore[assignment]
        self.scope = None  # type: ignore[assignment]
        self.headers = None  # type: ignore[assignment]
        self.expect_100_continue = False
        self.cycle = None  # type: ignore[assignment]

    def on_message_begin(self) -> None:
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self.scope = {  # type: ignore[typeddict-item]
            "type": "http",
            # The scope's ``asgi`` (its versions) one dict for every request, not one each.
            "asgi": _asgi(self.asgi_version),
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,  # type: ignore[typeddict-item]
            "root_path": self.root_path,
            "headers": self.headers,
            "state": self.app_state.copy(),
        }

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
        # uvicorn's (0.54), the cycle a ``LeanCycle``.
        parser = self.parser
        http_version = parser.get_http_version()
        scope = self.scope
        # The request line's parts: one object for each method and path seen.
        scope["method"] = _shared(parser.get_method().decode("ascii"))
        if http_version != "1.1":
            scope["http_version"] = http_version
        if parser.should_upgrade() and self._should_upgrade():
            return  # uvicorn keeps the URL for the upgrade
        parsed_url = httptools.parse_url(self.url)
        raw_path = parsed_url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        root_path = self.root_path
        scope["path"] = _shared(root_path + path if root_path else path)
        scope["raw_path"] = _shared(root_path.encode("ascii") + raw_path if root_path else raw_path)
        scope["query_string"] = parsed_url.query or b""
        self.url = b""  # read: not kept by the connection
        if self.limit_concurrency is not None and (
            len(self.connections) >= self.limit_concurrency
            or len(self.tasks) >= self.limit_concurrency
        ):
            app = service_unavailable
            self.logger.warning("Exceeded concurrency limit.")
        else:
            app = self.app
        existing_cycle = self.cycle
        self.cycle = LeanCycle(
            scope,
            self.transport,
            self.flow,
            self.logger,
            self.access_logger,
            self.access_log,
            self.server_state.default_headers,
            self.expect_100_continue,
            http_version != "1.0" and parser.should_keep_alive(),
            self.on_response_complete,
        )
        if existing_cycle is None or existing_cycle.response_complete:
            self._start_asgi_task(self.cycle, app)
        else:  # pipelined: queued
            self.flow.pause_reading()
            self.pipeline.appendleft((self.cycle, app))

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if cycle.response_complete or (self.parser.should_upgrade() and self._should_upgrade()):
            return
        cycle.body += body
        if len(cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def connection_lost(self, exc: Exception | None) -> None:
        # uvicorn's (0.54), then the open response's ``on_gone``.
        self.connections.discard(self)
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "{}:{} - ".format(*self.client) if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sHTTP connection lost", prefix)
        cycle = self.cycle
        gone = None
        if cycle is not None:
            if not cycle.response_complete:
                cycle.disconnected = True
                gone = getattr(cycle, "on_gone", None)
                if gone is not None:
                    cycle.on_gone = None  # type: ignore[attr-defined]
            cycle.message_event.set()
        if self.flow is not None:
            self.flow.resume_writing()
        if exc is None:
            self.transport.close()
            self._unset_keepalive_if_required()
        self.parser = None  # type: ignore[assignment]
        if gone is not None:
            try:
                gone()
            except Exception:  # the response's own failure: logged, the connection is gone
                self.logger.exception("a response's on_gone failed")
