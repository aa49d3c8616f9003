"""A pooled HTTP/1.1 client for one job: POST to a worker and read its SSE answer fast.

httpx reads a chunked body one chunk at a time through h11, httpcore and httpx's own
iterators, ~14 µs of CPU per chunk, and a worker may send each event as its own chunk (the
worker SDK did until round 11; it now sends the events queued at once as one): at 20,000
tokens/s that alone would fill half a core. Here the response is parsed by
httptools (C, the parser uvicorn uses) in an asyncio protocol, and ``blocks()`` hands the
reader every body byte that has arrived since it last asked, in one piece, so a busy relay
pays per read, not per event.

Only plain ``http://`` URLs with no proxy in the environment are served (``handles``);
the executor calls everything else (TLS, proxies) through its httpx client. Errors are
httpx's exception types (``ConnectError`` before the request was sent, ``ReadError``/
``RemoteProtocolError`` after), so a caller handles both clients alike. A response read to
its end leaves its connection to the pool (kept ``IDLE_SECONDS``, under the worker's
keep-alive timeout); any other goes down with the connection, which is how a worker learns
that its caller left.

With ``dial`` (the endpoint policy's ``address``) each new connection goes to the address
that was checked for the URL's host, not to a second resolution of the name (DNS
rebinding); a refused address is a ``ConnectError`` and nothing is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import urllib.request
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import httptools
import httpx

from mesh_auth.endpoints import EndpointRefused
from mesh_orchestrator.relay.timers import loop_timers

IDLE_SECONDS = 4.0  # uvicorn closes an idle keep-alive connection after 5 s
HIGH_WATER = 1 << 20  # unread body bytes past which reading from the socket pauses
FINISH_SECONDS = 1.0  # how long a response left before its end may take to end
# ``blocks(gather=True)`` (a worker call's read): a block that comes within
# ``BUSY_SECONDS`` of the one before (a stream in full flow) first waits ``GATHER_SECONDS``
# for more of the worker's events, unless ``GATHER_BYTES`` are waiting already. A worker
# sending each event as its own chunk, read by a relay that keeps up, came ~1.2 a block
# (bench/README.md, round 9): each block costs a parse, a publish, a wake of each listener
# and a write to each client, ~0.12 ms of the orchestrator's CPU on this machine whatever its
# size (bench/README.md, "Round 10: steady streaming"): 3 ms read ~0.55x the blocks of 1 ms
# and 0.85x the CPU. The first block, and the first after a pause, goes at once; a later
# token of a flood waits at most ~3 ms (a worker slower than a block per ``BUSY_SECONDS``,
# any LLM's, never waits; libuv's timers count whole milliseconds). The wait is the
# connection's: bytes that come to a waiting reader of a busy stream arm one timer that
# wakes it (``_Connection._arrived``), so a gathered block costs the reader one wake-up,
# not one for the bytes and one for a sleep.
GATHER_SECONDS = 0.003
BUSY_SECONDS = 0.002
GATHER_BYTES = 1 << 16
# First blocks ahead of floods (bench/README.md, "Round 12: first token under concurrency"):
# while a call's first body bytes are in and not yet relayed (a *starter*: its reader is
# woken and runnable, nothing of it waits on a worker), a gathering reader's later block
# waits for the starters to be relayed, ``HOLD_SECONDS`` at most, once a block: a stream's
# first token then goes out before the tokens of floods that came in the same turns of the
# loop. Only runnable starters count, so the hold never leaves the loop idle while a worker
# thinks (the gate of round 11, which counted every call not yet relayed, did).
HOLD_SECONDS = 0.002
# The response headers a caller reads (the framing, a busy worker's wait, the body's kind):
# a stream keeps only these (a worker's others, ``date``, ``server``, ``cache-control``...,
# were ~1 KB of every open stream).
KEPT_HEADERS = frozenset(
    {b"content-length", b"transfer-encoding", b"retry-after", b"content-type", b"connection"}
)
# Their names as kept (one string each for every stream) and their values seen lately (a
# worker's ``chunked``, ``text/event-stream``...: one string for every stream alike).
_NAMES = {name: name.decode("latin-1") for name in KEPT_HEADERS}


@functools.lru_cache(maxsize=256)
def _value(value: bytes) -> str:
    return value.decode("latin-1")


class Stalled(httpx.ReadTimeout):
    """The worker sent nothing (not even a ping) for the ``idle`` seconds ``blocks`` was
    given, while its reader waited."""


class _Connection(asyncio.Protocol):
    """One socket and the response being read on it (httptools calls the ``on_*``)."""

    __slots__ = (
        "body",
        "buffered",
        "complete",
        "deferred",
        "error",
        "gather",
        "got_bytes",
        "headers",
        "headers_done",
        "idle_since",
        "keep_alive",
        "last_data",
        "loop",
        "lost",
        "on_body",
        "parser",
        "paused",
        "starting",
        "status",
        "taken_at",
        "transport",
        "waiter",
    )

    def __init__(self) -> None:
        # The loop whose connection this is (made by its ``create_connection``): its futures
        # and timers made through it, not ``asyncio.get_running_loop()``, a ``getpid``
        # system call each time on Python 3.11 (a reader's every wait). None: made outside
        # a loop (a test's parse), whose waits look it up.
        self.loop: asyncio.AbstractEventLoop | None = asyncio._get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.body: list[bytes] = []
        # httptools calls ``on_body`` once per HTTP chunk, and a worker may send each event
        # as its own chunk: the list's own ``append`` (C) takes them, no Python frame per event.
        self.on_body = self.body.append
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: dict[str, str] = {}
        self.buffered = 0  # bytes received since the reader last took (framing included)
        self.paused = False
        self.got_bytes = False
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.lost = False
        self.error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.idle_since = 0.0
        self.last_data = 0.0  # time.monotonic() of the last bytes received
        self.gather = False  # the reader gathers a busy stream's blocks (``blocks``)
        self.taken_at = -BUSY_SECONDS  # time.monotonic() of the reader's last ``take``
        self.deferred: asyncio.TimerHandle | None = None  # the gathering wait's timer
        self.starting = False  # counted in ``STARTERS``: its first block in, not relayed

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        self.last_data = now = time.monotonic()
        self.buffered += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = httpx.RemoteProtocolError(f"malformed HTTP response: {exc}")
            self.close()
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._arrived(now)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.headers_done and not self.complete and self._until_close():
            self.complete = True  # a body delimited by the end of the connection
        self._wake()

    # -- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        kept = _NAMES.get(name.lower())
        if kept is not None:
            self.headers[kept] = _value(value)

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True

    def on_message_complete(self) -> None:
        # Asked here: once the parser has moved past the message it answers False.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True

    # -- helpers
    def _until_close(self) -> bool:
        return "content-length" not in self.headers and "chunked" not in self.headers.get(
            "transfer-encoding", ""
        )

    def busy(self, now: float) -> bool:
        """A gathering reader's stream in full flow: a block handed out within
        ``BUSY_SECONDS``, less than ``GATHER_BYTES`` waiting, the response not over."""
        return (
            self.gather
            and now - self.taken_at < BUSY_SECONDS
            and self.buffered < GATHER_BYTES
            and not self.complete
            and not self.lost
            and self.error is None
        )

    def defer(self) -> None:
        """Wake the reader ``GATHER_SECONDS`` from now (or sooner, by ``_wake``)."""
        if self.deferred is None:
            loop = self.loop or asyncio.get_running_loop()
            self.deferred = loop.call_later(GATHER_SECONDS, self._wake)

    def _arrived(self, now: float) -> None:
        """Bytes came: wake a waiting reader, a busy stream's once it has gathered."""
        if self.gather and self.taken_at < 0 and self.body and not self.starting:
            self.starting = True  # a gathering call's first block: a starter
            STARTERS.count += 1
        w = self.waiter
        if w is None or w.done():
            return
        if self.busy(now):
            self.defer()
        else:
            self._wake()

    def _wake(self) -> None:
        deferred = self.deferred
        if deferred is not None:
            self.deferred = None
            deferred.cancel()  # it may be what runs this: then a no-op
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)
            self.waiter = None

    def wait(self) -> asyncio.Future[None]:
        """What a reader awaits until bytes come (or the connection ends): the future itself,
        no coroutine of its own held as long as the reader waits (~0.2 KB of every open
        stream). ``waiter``: the reader's, while not done (a cancelled one stays, done)."""
        w = self.waiter = (self.loop or asyncio.get_running_loop()).create_future()
        return w

    def take(self) -> bytes:
        """The body bytes received so far, joined (reading resumes if it was paused)."""
        body = self.body
        data = body[0] if len(body) == 1 else b"".join(body)
        body.clear()  # the same list: the parser holds its ``append``
        self.buffered = 0
        if self.paused and not self.lost and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data

    def failure(self) -> Exception:
        if self.error is not None:
            return self.error
        return httpx.RemoteProtocolError("the worker closed the connection mid-response")

    def reusable(self) -> bool:
        return (
            self.complete
            and not self.lost
            and self.error is None
            and self.transport is not None
            and not self.transport.is_closing()
            and self.keep_alive
        )

    def reset(self) -> None:
        """Ready for the next request on the same socket."""
        self.taken_at = -BUSY_SECONDS
        self.body = []
        self.on_body = self.body.append
        self.parser = httptools.HttpResponseParser(self)
        self.status, self.headers, self.buffered = 0, {}, 0
        self.paused = False
        self.got_bytes = self.headers_done = self.complete = self.keep_alive = False
        self.idle_since = time.monotonic()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class StreamResponse:
    """Status and headers (``KEPT_HEADERS`` only) of a worker's answer; its body through
    ``blocks`` or ``read``."""

    __slots__ = ("_conn", "headers", "status_code")

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn
        self.status_code = conn.status
        self.headers = conn.headers

    async def blocks(
        self, idle: float | None = None, *, gather: bool = False
    ) -> AsyncGenerator[bytes]:
        """The body as it arrives: everything received since the last block, joined.

        With ``idle``, raises ``Stalled`` once it has waited ``idle`` seconds with nothing
        received. One timer watches that, re-armed when it comes due (at most once per
        ``idle`` seconds while bytes flow), not a timeout per read: a busy relay reads
        thousands of blocks a second. With ``gather``, a block of a stream in full flow
        waits up to ``GATHER_SECONDS`` for more (see ``BUSY_SECONDS``); the first never."""
        conn = self._conn
        watch = None if idle is None else _StallWatch(conn, idle)
        conn.gather = gather
        monotonic = time.monotonic
        gathered = False  # the bytes waiting were waited for already
        held = False  # the block waiting was held for the starters already
        starters = STARTERS
        try:
            while True:
                if conn.body:
                    if gather and starters.count and not held and conn.taken_at >= 0:
                        await starters.hold(conn.loop)  # a later block: the starters' first
                        held = gathered = True
                        continue
                    held = False
                    if gather and not gathered and conn.busy(monotonic()):
                        conn.defer()  # what came while the last block was relayed
                        await conn.wait()
                        gathered = True
                        continue
                    gathered = False
                    if gather:
                        conn.taken_at = monotonic()
                    yield conn.take()
                    if conn.starting:  # its first block is relayed: the held ones may go
                        conn.starting = False
                        starters.left()
                elif conn.complete:
                    return
                elif conn.lost or conn.error is not None:
                    raise conn.failure()
                elif watch is not None and watch.stalled:
                    raise Stalled(f"nothing received for {idle:g}s")
                else:
                    await conn.wait()  # a busy stream's bytes wake it once gathered
                    gathered = True
        finally:
            conn.gather = False
            if conn.starting:
                conn.starting = False
                starters.left()
            if conn.deferred is not None:
                conn.deferred.cancel()
                conn.deferred = None
            if watch is not None:
                watch.cancel()

    async def read(self) -> bytes:
        return b"".join([b async for b in self.blocks()])


class _Starters:
    """The gathering calls whose first block is in and not yet relayed (``count``), and
    the later blocks held for them: one future a loop, released when the count is back to
    none or ``HOLD_SECONDS`` after it was made (one timer), whichever comes first."""

    __slots__ = ("count", "gate", "timer")

    def __init__(self) -> None:
        self.count = 0
        self.gate: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    async def hold(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Wait for the starters (``loop``: the running loop, when the caller has it: each
        look-up is a ``getpid`` system call on Python 3.11)."""
        loop = loop or asyncio.get_running_loop()
        gate = self.gate
        if gate is None or gate.done():
            gate = self.gate = loop.create_future()
            self.timer = loop.call_later(HOLD_SECONDS, self._release, gate)
        elif gate.get_loop() is not loop:  # another loop's (tests)
            self._release(gate)
            return
        # Shielded: a held reader's cancelling (its client left) leaves the others' gate.
        await asyncio.shield(gate)

    def left(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            gate = self.gate
            if gate is not None:
                self._release(gate)

    def _release(self, gate: asyncio.Future[None]) -> None:
        if self.gate is gate:
            self.gate = None
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
        if not gate.done():
            gate.set_result(None)


STARTERS = _Starters()


class _StallWatch:
    """Sets ``stalled`` (and wakes the reader) when ``conn``'s reader has waited ``idle``
    seconds since the last bytes arrived. An entry of the loop's shared timer
    (``relay.timers``), not a timer handle of its own (~0.5 KB of every open stream)."""

    __slots__ = ("conn", "idle", "live", "stalled", "timers")

    def __init__(self, conn: _Connection, idle: float) -> None:
        self.conn, self.idle, self.stalled, self.live = conn, idle, False, False
        conn.last_data = time.monotonic()
        self.timers = loop_timers(conn.loop)
        self.timers.later(idle, self)

    def fire(self) -> None:
        conn, now = self.conn, time.monotonic()
        due = conn.last_data + self.idle
        if due <= now:
            w = conn.waiter
            if w is not None and not w.done():  # the reader waits: nothing came for ``idle`` s
                self.stalled = True
                conn._wake()
                return
            due = now + self.idle  # the reader is busy elsewhere: its wait starts later
        self.timers.later(due - now, self)

    def cancel(self) -> None:
        if self.live:
            self.live = False
            self.timers.left()


class _Post:
    """``StreamClient.post``'s ``async with``: a pool slot and a connection for one request.
    A slotted object, not an ``asynccontextmanager`` (whose generator, its frame, its loop
    registry weakref and the manager's ``__dict__`` were held as long as the answer streams:
    ~0.4 KB of every open stream); the request's bytes are let go once sent."""

    __slots__ = ("client", "conn", "key", "request")

    def __init__(self, client: StreamClient, key: tuple[str, int], request: bytes) -> None:
        self.client, self.key = client, key
        self.request: bytes | None = request
        self.conn: _Connection | None = None

    async def __aenter__(self) -> StreamResponse:
        client = self.client
        await client._slots.acquire()
        try:
            request, self.request = self.request, None
            assert request is not None, "a post is entered once"
            self.conn = await client._send(self.key, request)
        except BaseException:
            client._slots.release()
            raise
        return StreamResponse(self.conn)

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: object
    ) -> None:
        conn, client = self.conn, self.client
        assert conn is not None
        self.conn = None
        client._slots.release()
        if t is not None:
            conn.close()
            return
        client._done(self.key, conn)


@dataclass(frozen=True, slots=True)
class Target:
    """What every POST to one URL shares, read once from its ``httpx.URL`` (five URL
    properties, a decode and a format a call otherwise): ``target(url)``."""

    url: httpx.URL
    key: tuple[str, int]  # the pool's: host, port
    plain: bool  # plain http (``StreamClient.handles``)
    host: str
    head: str  # the request's head up to its Content-Length's value


def target(url: httpx.URL) -> Target:
    """``url``'s ``Target``; the request's head is the same bytes ``post`` always wrote."""
    head = (
        f"POST {url.raw_path.decode('ascii')} HTTP/1.1\r\nHost: {url.netloc.decode('ascii')}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    )
    return Target(url, (url.host, url.port or 80), url.scheme == "http", url.host, head)


class StreamClient:
    """Pooled connections per ``host:port``; at most ``max_connections`` busy at once."""

    def __init__(
        self,
        *,
        max_connections: int = 256,
        connect_timeout: float = 5.0,
        dial: Callable[[str, int], Awaitable[str]] | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.dial = dial
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._finishing: set[asyncio.Task[None]] = set()
        self._closed = False
        proxies = urllib.request.getproxies_environment()  # what httpx would honour too
        self._proxied = bool(proxies.get("http") or proxies.get("all"))

    def handles(self, url: httpx.URL | Target) -> bool:
        """Plain HTTP that no proxy setting in the environment would route elsewhere."""
        t = url if isinstance(url, Target) else target(url)
        if not t.plain:
            return False
        return not self._proxied or bool(urllib.request.proxy_bypass(t.host))

    def post(
        self, url: httpx.URL | Target, body: bytes, headers: dict[str, str] | None = None
    ) -> _Post:
        """POST ``body`` (JSON); ``async with`` it for the response once its headers are in.
        ``url`` a ``Target`` (``target(url)``, made once per URL by the caller): the
        request's head is its prepared prefix, the body's length and the headers."""
        t = url if isinstance(url, Target) else target(url)
        extra = "".join([f"{k}: {v}\r\n" for k, v in headers.items()]) if headers else ""
        head = f"{t.head}{len(body)}\r\nAccept: text/event-stream\r\n{extra}\r\n"
        return _Post(self, t.key, head.encode("latin-1") + body)

    def _done(self, key: tuple[str, int], conn: _Connection) -> None:
        """The caller let go of ``conn``'s response without an error."""
        if conn.complete or conn.lost or conn.error is not None:
            self._release(key, conn)
        else:
            # Left early (the worker's ``done`` came before the chunked terminator): let the
            # rest arrive in the background, so the connection can be used again.
            task = (conn.loop or asyncio.get_running_loop()).create_task(self._finish(key, conn))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)

    def _release(self, key: tuple[str, int], conn: _Connection) -> None:
        if conn.reusable() and not self._closed:
            conn.reset()
            self._idle.setdefault(key, []).append(conn)
        else:
            conn.close()

    async def _finish(self, key: tuple[str, int], conn: _Connection) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FINISH_SECONDS):
                while not (conn.complete or conn.lost or conn.error is not None):
                    conn.take()
                    await conn.wait()
        self._release(key, conn)

    async def _send(self, key: tuple[str, int], request: bytes) -> _Connection:
        """A connection whose response headers have arrived. A pooled connection the
        worker closed while idle is replaced by a new one (nothing was read from it)."""
        while (conn := self._pooled(key)) is not None:
            try:
                await self._exchange(conn, request)
                return conn
            except httpx.TransportError:
                conn.close()
                if conn.got_bytes:
                    raise
        conn = await self._connect(key)
        await self._exchange(conn, request)
        return conn

    def _pooled(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            transport = conn.transport
            if now - conn.idle_since < IDLE_SECONDS and transport and not transport.is_closing():
                return conn
            conn.close()
        return None

    async def _connect(self, key: tuple[str, int]) -> _Connection:
        loop = asyncio.get_running_loop()
        host, port = key
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self.dial is not None:
                    host = await self.dial(host, port)
                _, conn = await loop.create_connection(_Connection, host, port)
        except EndpointRefused as exc:
            raise httpx.ConnectError(str(exc)) from None
        except (OSError, TimeoutError) as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from None
        return conn

    async def _exchange(self, conn: _Connection, request: bytes) -> None:
        assert conn.transport is not None
        try:
            conn.transport.write(request)
            while not conn.headers_done:
                if conn.lost or conn.error is not None:
                    raise conn.failure()
                await conn.wait()
        except BaseException:
            conn.close()
            raise

    async def aclose(self) -> None:
        """Close every pooled connection (busy ones close with their response)."""
        self._closed = True
        for task in list(self._finishing):
            task.cancel()
        await asyncio.gather(*self._finishing, return_exceptions=True)
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing
