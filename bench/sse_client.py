"""Timed reads of SSE streams, light enough that the client is not what gets measured.

Frames are not decoded: token frames are counted by their ``"type":"token"`` marker
(pydantic writes compact JSON, the worker and the orchestrator alike), which lets one
client process read far more events per second than either server sends. Only the last
frame is parsed, to learn how the stream ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from mesh_contracts import SSEDecoder

TOKEN = b'"type":"token"'
ERROR = b'"type":"error"'


@dataclass(slots=True)
class StreamTiming:
    """One stream: when it was asked for, its first and last token, how it ended."""

    started: float
    first_token: float | None = None
    last_token: float | None = None
    ended: float | None = None
    tokens: int = 0
    errors: int = 0
    end: str = "open"  # the last frame's status: "completed" | "done" | "cancelled" | ...

    @property
    def ttft(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.started


class _Counter:
    """Counts a marker across chunk boundaries without buffering the stream."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.carry = b""

    def feed(self, chunk: bytes) -> int:
        data = self.carry + chunk
        self.carry = data[-(len(self.marker) - 1) :]
        return data.count(self.marker)


def _end_status(tail: bytes) -> str:
    # The tail may open mid-frame: the decoder drops what it cannot read as a field.
    frames = SSEDecoder().feed(tail)
    if not frames:
        return "no frames"
    try:
        obj: dict[str, Any] = frames[-1].json()
    except ValueError:
        return "unparsable end"
    if obj.get("type") != "done":
        return f"ended on {obj.get('type')}"
    status = (obj.get("data") or {}).get("status", "done")
    return str(status)


class _Reading:
    """The timing of one stream, fed its raw chunks as they arrive."""

    def __init__(self) -> None:
        self.timing = StreamTiming(started=time.perf_counter())
        self._tokens, self._errors = _Counter(TOKEN), _Counter(ERROR)
        self._tail = b""

    def feed(self, chunk: bytes) -> bool:
        """Count the chunk; True when it held the stream's first token."""
        t = self.timing
        n = self._tokens.feed(chunk)
        first = False
        if n:
            now = time.perf_counter()
            first = t.first_token is None
            if first:
                t.first_token = now
            t.last_token = now
            t.tokens += n
        t.errors += self._errors.feed(chunk)
        self._tail = (self._tail + chunk)[-4096:]
        return first

    async def feed_released(
        self,
        chunk: bytes,
        on_first_token: Callable[[], None] | None,
        release: asyncio.Event | None,
    ) -> bool:
        """``feed``; at the first token, call ``on_first_token`` and, with ``release``, wait
        for it: True when the stream is to be closed (released)."""
        if not self.feed(chunk):
            return False
        if on_first_token is not None:
            on_first_token()
        if release is None:
            return False
        await release.wait()
        return True

    def finish(self, end: str | None = None) -> StreamTiming:
        self.timing.ended = time.perf_counter()
        self.timing.end = end or _end_status(self._tail)
        return self.timing


class Streamer(Protocol):
    """Opens one SSE stream and times it (see ``HttpxStreamer``)."""

    name: str

    async def __call__(
        self,
        url: str,
        body: dict[str, Any],
        *,
        on_first_token: Callable[[], None] | None = None,
        release: asyncio.Event | None = None,
    ) -> StreamTiming: ...


class HttpxStreamer:
    """POST with an ``httpx.AsyncClient`` and read the SSE answer to its end, timing it.

    With ``release``, the stream is closed (by this client) once the first token arrived
    and ``release`` is set: how the memory measurement holds streams open, then drops them.
    """

    def __init__(self, client: httpx.AsyncClient, name: str = "httpx") -> None:
        self.client = client
        self.name = name

    async def __call__(
        self,
        url: str,
        body: dict[str, Any],
        *,
        on_first_token: Callable[[], None] | None = None,
        release: asyncio.Event | None = None,
    ) -> StreamTiming:
        reading = _Reading()
        async with self.client.stream("POST", url, json=body) as resp:
            if resp.status_code != 200:
                return reading.finish(f"HTTP {resp.status_code}: {(await resp.aread())[:200]!r}")
            async for chunk in resp.aiter_raw():
                if await reading.feed_released(chunk, on_first_token, release):
                    return reading.finish("released")
        return reading.finish()


class RawStreamer:
    """The same over a bare asyncio socket: one HTTP/1.1 request per connection, no pool.

    The floor of what any client library could do; the bench compares httpx with it to
    tell the client's overhead from the servers'. The chunked framing is not decoded (the
    marker counts are unaffected: the servers send each SSE frame as whole chunks).
    """

    name = "raw asyncio"

    async def __call__(
        self,
        url: str,
        body: dict[str, Any],
        *,
        on_first_token: Callable[[], None] | None = None,
        release: asyncio.Event | None = None,
    ) -> StreamTiming:
        u = httpx.URL(url)
        payload = json.dumps(body).encode()
        reading = _Reading()
        reader, writer = await asyncio.open_connection(u.host, u.port)
        try:
            writer.write(
                f"POST {u.raw_path.decode()} HTTP/1.1\r\nHost: {u.host}:{u.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                "Accept: text/event-stream\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1].decode()
            if status != "200":
                return reading.finish(f"HTTP {status}")
            while chunk := await reader.read(65536):
                if await reading.feed_released(chunk, on_first_token, release):
                    return reading.finish("released")
            return reading.finish()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class _Chunked:
    """The end of an HTTP/1.1 chunked body, found as its bytes arrive: the chunks' sizes are
    read, their data skipped (what ``KeptAliveStreamer`` needs to know where a response
    ends on a connection that stays open)."""

    __slots__ = ("_buf", "_last", "_skip", "done")

    def __init__(self) -> None:
        self._buf = b""  # an unfinished size line
        self._skip = 0  # bytes of chunk data (and its CRLF) still to come
        self._last = False  # the last chunk's size line was read
        self.done = False

    def feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n and not self.done:
            if self._skip:
                take = min(self._skip, n - i)
                self._skip -= take
                i += take
                if self._last and not self._skip:
                    self.done = True
                continue
            # A size line (its CRLF may come cut in two): what is left of ``data`` joins it.
            data, i, n = self._buf + data[i:], 0, len(self._buf) + n - i
            end = data.find(b"\r\n")
            if end < 0:
                self._buf = data
                return
            self._buf = b""
            size = int(data[:end].split(b";", 1)[0].strip() or b"0", 16)
            i = end + 2
            if size == 0:  # the last chunk: its CRLF (a server of ours sends no trailers)
                self._last = True
                self._skip = 2
                continue
            self._skip = size + 2


class KeptAliveStreamer:
    """``RawStreamer`` over connections that stay open, as a client with a pool keeps them
    (httpx, a browser): a request goes on a free connection of this streamer's, or a new
    one; its response read to the chunked body's end, the connection is free again. One
    streamer's connections serve one event loop."""

    name = "raw asyncio, kept alive"

    def __init__(self) -> None:
        self._free: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._all: list[asyncio.StreamWriter] = []

    async def __call__(
        self,
        url: str,
        body: dict[str, Any],
        *,
        on_first_token: Callable[[], None] | None = None,
        release: asyncio.Event | None = None,
    ) -> StreamTiming:
        u = httpx.URL(url)
        payload = json.dumps(body).encode()
        reading = _Reading()
        if self._free:
            reader, writer = self._free.pop()
        else:
            reader, writer = await asyncio.open_connection(u.host, u.port)
            self._all.append(writer)
        kept = False
        try:
            writer.write(
                f"POST {u.raw_path.decode()} HTTP/1.1\r\nHost: {u.host}:{u.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
                + payload
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1].decode()
            if status != "200" or b"transfer-encoding: chunked" not in head.lower():
                return reading.finish(f"HTTP {status}")
            body_end = _Chunked()
            while not body_end.done and (chunk := await reader.read(65536)):
                body_end.feed(chunk)
                if await reading.feed_released(chunk, on_first_token, release):
                    return reading.finish("released")
            kept = body_end.done
            return reading.finish()
        finally:
            if kept:
                self._free.append((reader, writer))
            else:
                writer.close()
                self._all.remove(writer)

    async def close(self) -> None:
        """Close every connection this streamer opened."""
        for writer in self._all:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self._all.clear()
        self._free.clear()
