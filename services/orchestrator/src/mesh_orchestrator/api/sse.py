"""The orchestrator's SSE responses.

A run's stream (``POST /orchestrate/stream``, ``GET /v1/runs/{id}/events``) is the relay's
hot path, and is written by ``RunStream``: a plain ASGI response over a run's subscription.
Everything a subscription has queued goes out as one chunk (``runs.events.encode_frames``:
the fields the events of a block share are encoded once), so a reader that falls behind costs
fewer writes; a new run's first steps go out with its ``run`` event (one turn of the loop
before the first read), and its last events with the body's end (one message). A write to
a client costs more than its bytes: on loopback the kernel does the reader's side of it too. It does what sse-starlette's ``EventSourceResponse`` does for these streams, with
less per stream and per chunk (``bench/README.md``, "The relay's SSE response", has the
figures that made the change):

* the request's own task writes; the connection itself says when the client leaves (the
  orchestrator's uvicorn protocol calls ``on_gone``, ``api.http_protocol``: no task per
  stream), else **one** more task listens for it (``http.disconnect``); either way
  ``on_disconnect`` runs at once and the stream ends. sse-starlette runs a task group of
  four (writer, pinger, shutdown watch, listener) and a cancel scope around every chunk it
  sends;
* ``:ping`` comments while the run is quiet come from one timer re-armed once per ping
  interval (a short task only while a ping is written), not from a task per stream;
* on server shutdown (sse-starlette's ``AppStatus`` flag, set by its patch of uvicorn's exit
  handler, or uvicorn's own ``should_exit``) every open stream ends: one watcher per event
  loop polls for it while streams are open, as sse-starlette's does.

Other SSE answers (the OpenAI route's chunks) keep sse-starlette's ``EventSourceResponse``
through ``event_stream``.
"""

from __future__ import annotations

import _signal
import asyncio
import contextlib
import signal
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, cast

from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import AppStatus
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from mesh_contracts import encode_comment
from mesh_orchestrator.runs.events import encode_frames
from mesh_orchestrator.runs.mux import Subscription
from mesh_orchestrator.runs.replay import Feed

# Frames end in "\n\n", the separator every decoder of ours takes on its fast path.
SEP = "\n"
PING = encode_comment("ping")
EXIT_POLL_SECONDS = 0.5

# The longest a live run's first write waits, once its headers and ``run`` event are ready,
# for the run's first content (a token, a result) to go in the same write: one write to the
# client a stream where there were two (``bench/README.md``, "Round 12: first token under
# concurrency"). A run whose worker is slower gets its headers and ``run`` event this long
# after its first steps, at most, and its content in a write of its own when it comes.
FIRST_WRITE_WAIT_SECONDS = 0.025
# What only opens a run: the first write waits past these (``_content``).
_OPENING = frozenset(("run", "plan", "status"))

# What a reader that fell too far behind gets before its stream ends (no ``done``): a
# browser's EventSource reconnects by itself a second later with Last-Event-ID.
SLOW_READER = encode_comment("this reader fell behind: resume with Last-Event-ID", retry=1000)

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]


class RunStream(Response):
    """An ASGI response: ``feed``'s events as SSE frames until the run's last event.

    ``on_end`` runs once however the stream ends (the run finished, the client left, the
    server stopped, the response was never sent a body); ``on_disconnect`` as soon as the
    client leaves. ``ping_seconds``: the longest quiet time before a ``:ping`` comment.
    ``on_unsent``: runs when the response is collected without ever having been called (a
    stream's slot is given back then), where a ``weakref.finalize`` per stream would hold
    ~0.4 KB for as long as the stream is open. ``before_first``: called once, after the
    stream's first turn of the loop and before its first write (a HEAD's too); what it
    raises ends the stream with nothing sent. ``first_wait``: the longest a live run's
    first write waits for its first content (a class attribute: nothing more a stream).
    """

    first_wait = FIRST_WRITE_WAIT_SECONDS

    def __init__(
        self,
        feed: Feed,
        *,
        ping_seconds: float,
        on_end: Callable[[], None],
        headers: Mapping[str, str] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        on_unsent: Callable[[], None] | None = None,
        before_first: Callable[[], None] | None = None,
    ) -> None:
        self.feed = feed
        self.on_unsent = on_unsent
        self.before_first = before_first
        self.ping_seconds = ping_seconds
        self.on_end = on_end
        self.on_disconnect = on_disconnect
        self.raw_headers = _HEADERS + [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        self.status_code = 200
        self.media_type = "text/event-stream"
        self.background: BackgroundTask | None = None  # FastAPI's, run after the stream
        self.stopping = False  # the client left or the server stops: write nothing more
        self._wrote = 0.0  # ``_clock()`` at the last write
        self._writing = False
        self._send: Send | None = None
        self._pinging: asyncio.Task[None] | None = None

    def _before_first(self) -> None:
        before, self.before_first = self.before_first, None
        if before is not None:
            before()

    def __del__(self) -> None:
        unsent = getattr(self, "on_unsent", None)
        if unsent is not None:
            self.on_unsent = None
            unsent()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # One frame for the whole stream (no second coroutine held while it is open).
        self.on_unsent = None  # ``on_end`` runs from here on, whatever happens
        listener: asyncio.Task[None] | None = None
        cycle = None
        loop = asyncio.get_running_loop()
        watched = False
        start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
        try:
            if scope.get("method") == "HEAD":  # headers only: a HEAD never opens a stream
                self._before_first()
                await send(start)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            self._send = send
            # The client's leaving: told by the connection itself where it can (our uvicorn
            # protocol's ``on_gone``), else heard by a task parked in ``receive``.
            cycle = gone_hook(receive)
            if cycle is None:
                listener = loop.create_task(self._listen(receive))
            elif cycle.disconnected:
                self._gone()
            else:
                cycle.on_gone = self._gone
            # One turn of the loop first: a run just started (its ``run`` event queued) takes
            # its first steps up to its first wait (a worker's answer, the planner's thread),
            # and what they emit (``plan``, a status) goes out in the same write as ``run``.
            # The headers wait for that turn too: the worker's request goes out before any
            # write to the client, and the headers go right before the first frames, in the
            # same turn of the loop (the client wakes once for both, not once for each); over
            # ``api.http_protocol``'s connections, in the same write.
            await asyncio.sleep(0)
            # What must come before the stream's first byte (the run's row committed, where
            # ``RunService.start`` left it open): after that turn, so after the run's first
            # steps. Raises (nothing sent: the server answers 500) when it fails.
            self._before_first()
            feed = self.feed
            # A live run's subscription is handed the loop (no ``getpid`` a wait for it).
            live = type(feed) is Subscription
            first: list[Any] | None = None
            # The frames of the first ``made`` events of what is to be written, made while
            # the stream waited for the run's first content (``_until_content``).
            head, made = b"", 0
            # Until the run's first content is out, a write of only its opening waits for
            # company (``_until_content``): the headers' write, and a task's ``running``
            # status that comes on its own when the worker's headers come before its body.
            opening = live and self.first_wait > 0
            if cycle is not None and _ready(feed) and not self.stopping:
                # Frames are waiting (the ``run`` event, the first steps'): the headers go in
                # their write, one syscall where there were two.
                # A Subscription's (``_ready``): returns at once, no wait, no turn of the loop.
                first = await cast(Subscription, feed).take(loop=loop)
                if first and opening and not _content(first):
                    # Only the run's opening (``run``, ``plan``, statuses): its first token
                    # (or whatever the run says first) goes in the same write if it comes
                    # within ``first_wait``; a slow worker's stream gets its ``run`` then.
                    first, head, made = await self._until_content(
                        cast(Subscription, feed), first, loop
                    )
                if first and not _drained(feed):
                    opening = opening and not _content(first)
                    body = head + encode_frames(first[made:]) if made else encode_frames(first)
                    head, made = b"", 0
                    await self._with_headers(cycle, start, body)
                    del body
                    first = []
                else:
                    await send(start)
            else:
                await send(start)
            del start  # sent: not held while the stream waits
            # Pings and the server's shutdown: one watcher per loop for every open stream,
            # not a timer per stream (from the headers on: a ping never goes before them).
            self._wrote = _clock()
            _exits.watch(loop, self)
            watched = True
            while (
                batch := first
                if first is not None
                else await (cast(Subscription, feed).take(loop=loop) if live else feed.take())
            ) is not None and not self.stopping:
                first = None
                if not batch:
                    batch = None  # not held while the stream waits for the next
                    continue
                if opening:
                    if not _content(batch) and not self.stopping:
                        batch, head, made = await self._until_content(
                            cast(Subscription, feed), batch, loop
                        )
                    opening = not _content(batch)
                # A subscription's batch: consecutive events of its run, in seq order.
                frames = encode_frames(batch[made:] if made else batch, in_order=live)
                if made:
                    frames = head + frames
                    head, made = b"", 0
                # Neither the batch nor its frames are held while the stream waits for the
                # next (~0.7 KB a held stream: its first write's frames and their events).
                batch = None
                if _drained(feed):  # the run's last events: the body ends with them
                    await self._write(frames, more_body=False)
                    return
                await self._write(frames)
                del frames
            if self.stopping:
                return
            if feed.overflowed:
                await self._write(SLOW_READER)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            try:
                if cycle is not None:
                    cycle.on_gone = None
                if watched:
                    _exits.forget(loop, self)
                for task in (listener, self._pinging):
                    if task is not None:
                        task.cancel()
                        # A ping that failed to go out ends with the stream, as the stream does.
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await task
            finally:
                self.on_end()
        if self.background is not None:
            await self.background()

    async def _until_content(
        self, feed: Subscription, first: list[Any], loop: asyncio.AbstractEventLoop
    ) -> tuple[list[Any], bytes, int]:
        """``first`` and what ``feed`` queues after it, until an event past the run's
        opening is among them, the run ends, the stream stops, or ``first_wait`` seconds
        from now have passed: no event of a run's opening waits longer than that for
        company (one timer for each wait, two waits or three at most for a run's usual
        opening: ``run``, a task's status, its tokens). With them, the frames of the first
        ``n`` of them (``encode_frames``: frames of consecutive events concatenate), made
        before each wait: the run's ``run`` and ``plan`` frames are made while its worker is
        awaited, not after the worker's first token."""
        until = loop.time() + self.first_wait
        head, n = b"", 0
        while not feed.closed and not self.stopping:
            left = until - loop.time()
            if left <= 0:
                break
            if n < len(first):
                head += encode_frames(first[n:])
                n = len(first)
            more = await feed.take(left, loop=loop)
            if not more:  # [] the wait ran out, None the run ended with nothing more
                break
            first += more
            if _content(more):
                break
        return first, head, n

    async def _write(self, body: bytes, *, more_body: bool = True) -> None:
        assert self._send is not None
        self._writing = True
        try:
            await self._send({"type": "http.response.body", "body": body, "more_body": more_body})
        finally:
            self._writing = False
            self._wrote = _clock()

    async def _with_headers(self, cycle: Any, start: Message, body: bytes) -> None:
        """``start`` and a chunk of ``body`` (not the body's last: that one may close the
        connection) sent through uvicorn's cycle, their bytes written to the client in one
        write."""
        assert self._send is not None
        transport = cycle.transport
        gathered = cycle.transport = _Gathered(transport)
        try:
            await self._send(start)
            await self._write(body)
        finally:
            cycle.transport = transport
            if gathered.parts and not transport.is_closing():
                transport.write(b"".join(gathered.parts))

    async def _listen(self, receive: Receive) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                self._gone()
                return

    def _gone(self) -> None:
        """The client left: ``on_disconnect``, and the stream ends."""
        try:
            if self.on_disconnect is not None:
                self.on_disconnect()
        finally:
            self.stop()

    def stop(self) -> None:
        """End the stream now (the client left, or the server is shutting down)."""
        self.stopping = True
        self.feed.close()

    def ping_if_due(self, now: float) -> None:
        """A ``:ping`` when nothing went out for ``ping_seconds`` (at most one in flight);
        called by the loop's watcher, at least once per ``ping_seconds``."""
        if (
            now - self._wrote >= self.ping_seconds
            and not self._writing
            and not self.stopping
            and (self._pinging is None or self._pinging.done())
        ):
            self._wrote = now  # the next is due an interval from here, whatever this one takes
            self._pinging = asyncio.get_running_loop().create_task(self._write(PING))


# When a stream last wrote, and the watcher's now: the monotonic clock (``time.monotonic``,
# through the vDSO; the clock a loop's ``time()`` reads). ``asyncio.get_running_loop()``
# makes a ``getpid`` system call every time on Python 3.11 (its check that the process did
# not fork): a ``loop.time()`` reached through it cost every write a syscall.
_clock = time.monotonic


def gone_hook(receive: Receive) -> Any:
    """The request's cycle behind ``receive`` when it is an ``api.http_protocol``
    connection's own: its ``on_gone`` can be set to a callable of no arguments (called once
    if the connection is lost while the response is open) and set back to None. Else None
    (another server, or ``receive`` wrapped by a middleware: listen with ``receive``)."""
    cycle = getattr(receive, "__self__", None)
    if "on_gone" in getattr(cycle, "__dict__", ()):
        return cycle
    return None


def _content(events: list[Any]) -> bool:
    """Among ``events`` is one past a run's opening (a token, a result, an error, the end)."""
    return any(e.type not in _OPENING for e in events)


def _ready(feed: Feed) -> bool:
    """The live run's subscription has events queued now: its ``take`` returns them without
    waiting."""
    return type(feed) is Subscription and feed.prefix is None and bool(feed.pending)


class _Gathered:
    """A connection's transport while a response's headers and first chunk are made: what
    uvicorn's ``send`` writes is kept, to go out in one write; the rest is the transport's."""

    __slots__ = ("parts", "transport")

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def _drained(feed: Feed) -> bool:
    """The live run's subscription gave its last events (its run ended, nothing is left
    to take, the reader kept up): they go out with the body's end, in one write (a
    chunk's write to a client on this machine costs ~tens of us of the kernel's time, most
    of it the client's side of loopback, charged to the writer)."""
    return (
        type(feed) is Subscription
        and feed.closed
        and not feed.pending
        and feed.prefix is None
        and not feed.overflowed
    )


class _ExitWatch:
    """One watcher task per event loop, running while streams are open there: pings the
    streams that were quiet for their ``ping_seconds`` (one pass over them every
    ``EXIT_POLL_SECONDS``, or the shortest ``ping_seconds`` if less: no timer per stream,
    ~0.6 KB each), and on server shutdown stops them all (uvicorn waits for open responses
    before it stops)."""

    def __init__(self) -> None:
        self._open: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[RunStream]] = (
            weakref.WeakKeyDictionary()
        )
        self._polls: set[asyncio.Task[None]] = set()

    def watch(self, loop: asyncio.AbstractEventLoop, stream: RunStream) -> None:
        streams = self._open.get(loop)
        if streams is None:
            streams = self._open[loop] = set()
            task = loop.create_task(self._poll(loop, streams), name="sse-exit-watch")
            self._polls.add(task)  # held while it runs (the loop keeps only a weak one)
            task.add_done_callback(self._polls.discard)
        streams.add(stream)
        if _exiting():
            stream.stop()

    def forget(self, loop: asyncio.AbstractEventLoop, stream: RunStream) -> None:
        streams = self._open.get(loop)
        if streams is not None:
            streams.discard(stream)

    async def _poll(self, loop: asyncio.AbstractEventLoop, streams: set[RunStream]) -> None:
        try:
            while streams:
                if _exiting():
                    for stream in list(streams):
                        stream.stop()
                tick = EXIT_POLL_SECONDS
                now = _clock()
                for stream in streams:  # makes tasks only: nothing here leaves the set
                    every = stream.ping_seconds
                    if every > 0:
                        stream.ping_if_due(now)
                        if every < tick:
                            tick = every
                await asyncio.sleep(tick)
        finally:
            if self._open.get(loop) is streams:
                del self._open[loop]


_exits = _ExitWatch()


def _exiting() -> bool:
    """The server is shutting down: sse-starlette's flag, or uvicorn's own (its SIGTERM
    handler is a bound method of the ``Server``), as sse-starlette checks them."""
    if AppStatus.should_exit:
        return True
    # ``_signal``'s: ``signal.getsignal`` makes a ``Handlers`` enum of the handler first, an
    # exception raised and caught for a bound method (~3 us, at every stream's start).
    handler = _signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return bool(AppStatus.enable_automatic_graceful_drain and getattr(server, "should_exit", False))


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping", sep=SEP)


def event_stream(
    body: AsyncIterator[bytes],
    *,
    ping_seconds: float,
    headers: Mapping[str, str] | None = None,
    on_disconnect: Callable[[], None] | None = None,
) -> EventSourceResponse:
    """``body`` as sse-starlette's SSE response; ``on_disconnect`` runs as soon as the
    client leaves."""
    closed: Callable[[Message], Awaitable[None]] | None = None
    if on_disconnect is not None:
        leave = on_disconnect

        async def left(_: Message) -> None:
            leave()

        closed = left
    return EventSourceResponse(
        body,
        headers=dict(headers or {}),
        ping=ping_seconds,
        ping_message_factory=_ping,
        sep=SEP,
        client_close_handler_callable=closed,
    )
