"""Server-Sent Events codec used by every side of the mesh: the one encoder
(``encode_event``, ``encode_comment``) and the one decoder (``SSEDecoder``) that the
workers, the orchestrator, the CLI's tests, the testkit and the bench share.

``encode_event`` writes one frame (``encode_json_frame`` the same bytes for one event already
encoded as compact JSON, the relay's per-event path); ``SSEDecoder`` parses a byte stream incrementally as the
WHATWG spec says: LF, CRLF or CR line ends (also split across chunks), multi-line ``data:``,
``event:``, ``id:``, ``retry:``, comments (``:ping``) and a leading BOM. ``DataFrames`` is
the same decoder with a fast path for the frames every mesh worker writes (one ``data:``
line, LF ends), for the orchestrator's relay. Both take a ``max_frame_bytes`` bound: a
frame that grows past it raises ``FrameTooLarge`` instead of buffering without end.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

SSE_MEDIA_TYPE = "text/event-stream"
_EOL = re.compile(r"\r\n|\r|\n")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


@dataclass(frozen=True, slots=True)
class SSEMessage:
    """One dispatched event. ``id`` is the last event id in force when it was dispatched."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """Decode ``data`` as JSON (raises ``ValueError`` if it is not)."""
        return json.loads(self.data)


def _payload(data: str | bytes | dict[str, Any] | list[Any] | BaseModel) -> str:
    if isinstance(data, BaseModel):
        return data.model_dump_json(exclude_none=False)
    if isinstance(data, bytes):
        return data.decode()
    if isinstance(data, str):
        return data
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def encode_event(
    data: str | bytes | dict[str, Any] | list[Any] | BaseModel,
    *,
    event: str | None = None,
    id: str | int | None = None,
    retry: int | None = None,
) -> bytes:
    """One SSE frame. Dicts and models are JSON; a multi-line string becomes several data lines."""
    parts: list[str] = []
    if id is not None:
        sid = str(id)
        if any(c in sid for c in "\r\n\0"):
            raise ValueError("an SSE id must not contain CR, LF or NUL")
        parts.append(f"id: {sid}\n")
    if event is not None:
        if any(c in event for c in "\r\n"):
            raise ValueError("an SSE event name must not contain CR or LF")
        parts.append(f"event: {event}\n")
    if retry is not None:
        parts.append(f"retry: {int(retry)}\n")
    text = _payload(data)
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode()


def encode_json_frame(body: bytes, id: int | None = None) -> bytes:
    """``encode_event(body, id=id)`` for ``body`` that is already one line of UTF-8 JSON
    (orjson's or pydantic's compact output: no raw CR or LF, which the caller vouches for).

    The relay writes one per event; ``encode_event``'s checks and keyword handling cost
    ~1.8 us more a frame than this (bench/README.md, "One SSE encoder, one decoder").
    """
    if id is None:
        return b"data: %b\n\n" % body
    return b"id: %d\ndata: %b\n\n" % (id, body)


def add_json_frame(out: list[bytes], id: bytes, *body: bytes) -> None:
    """Append to ``out`` the pieces of ``encode_json_frame(b"".join(body), int(id))``: ``id``
    the event id's decimal digits, ``body`` one line of compact JSON in pieces.

    For a writer that sends several frames as one chunk and builds each body from pieces it
    shares with the frames beside it (the relay's batches): one ``b"".join(out)`` at the
    end makes every frame's bytes at once (bench/README.md, "The relay's frames").
    """
    out += (b"id: ", id, b"\ndata: ", *body, b"\n\n")


def json_frame_template(head: bytes, mid: bytes, tail: bytes) -> bytes:
    """A ``%`` template of the frames whose id is also in their body, between ``head`` and
    ``mid``: ``template % (id, id, json)`` is ``encode_json_frame(head + b"%d" % id + mid +
    json + tail, id)`` (``json`` one line of compact JSON).

    For a writer of many such frames that share ``head``, ``mid`` and ``tail`` (the relay's
    batches: run, type, task, agent and timestamp): one ``%`` per frame, in C, where the
    pieces cost a call and a tuple of seven (bench/README.md, "A leaner stream").
    """
    # Each escaped by its own call (no generator: this runs at every batch of a stream).
    return (
        b"id: %d\ndata: " + head.replace(b"%", b"%%") + b"%d" + mid.replace(b"%", b"%%")
        + b"%b" + tail.replace(b"%", b"%%") + b"\n\n"
    )  # fmt: skip


def encode_comment(text: str = "ping", *, retry: int | None = None) -> bytes:
    """A comment frame (``: text``), ignored by clients; keeps idle connections (and
    proxies) open. With ``retry``, the frame first sets the client's reconnection delay (ms)."""
    line = ": " + text.replace("\r", " ").replace("\n", " ") + "\n\n"
    if retry is not None:
        line = f"retry: {int(retry)}\n" + line
    return line.encode()


class FrameTooLarge(ValueError):
    """An SSE frame grew past the decoder's ``max_frame_bytes`` before it ended."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an SSE frame exceeded {limit} bytes without ending")
        self.limit = limit


class SSEDecoder:
    """Incremental SSE parser: ``feed`` bytes as they arrive, get the completed messages.

    With ``max_frame_bytes`` set, ``feed`` raises ``FrameTooLarge`` once the frame being
    read (its buffered line plus its data lines so far) is larger than that.
    """

    def __init__(self, max_frame_bytes: int | None = None) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._frame_size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._pending_cr = False
        self._first = True
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self.comments = 0

    @property
    def last_event_id(self) -> str | None:
        return self._last_id

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        text = self._decoder.decode(chunk)
        if self._first and text:
            self._first = False
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._pending_cr:
            self._pending_cr = False
            if text.startswith("\n"):
                text = text[1:]
        buf = self._buf + text if self._buf else text
        out: list[SSEMessage] = []
        pos, end = 0, len(buf)
        while True:
            m = _EOL.search(buf, pos)
            if m is None:
                break
            if m.end() == end and m.group() == "\r":
                self._pending_cr = True  # a LF may open the next chunk: CRLF split in two
            msg = self._line(buf[pos : m.start()])
            pos = m.end()
            if msg is not None:
                out.append(msg)
        self._buf = buf[pos:]
        limit = self.max_frame_bytes
        if limit is not None and self._frame_size + len(self._buf) > limit:
            raise FrameTooLarge(limit)
        return out

    def close(self) -> list[SSEMessage]:
        """End of stream. Per the spec an unterminated final event is discarded."""
        self._buf = ""
        self._data = []
        return []

    def _line(self, line: str) -> SSEMessage | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
            self._frame_size += len(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._last_id = value
        elif field == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEMessage | None:
        self._frame_size = 0
        if not self._data:
            self._event = ""
            return None
        msg = SSEMessage(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._last_id,
            retry=self._retry,
        )
        self._data = []
        self._frame_size = 0
        self._event = ""
        return msg


class DataFrames:
    """``SSEDecoder`` with a fast path: feed raw chunks, get each completed event's data
    (bytes on the fast path, str after a hand-over), for a caller that wants only data.

    Workers write each event as ``data: <json>\\n\\n`` (``encode_event``). Such frames are
    cut out of the raw bytes directly, the payload left as bytes for a JSON parser. The
    first frame of any other shape (several lines, ``event:``/``id:`` fields, comments, CR
    line ends, a byte-order mark) hands the stream, from that frame on, to ``SSEDecoder``,
    which reads it to the end: the switch happens at a frame boundary, where a fresh
    decoder is in the same state the old one would be. An unfinished frame is scanned once
    (only the newly arrived bytes are searched for its end), so the cost stays linear, and
    it may not grow past ``max_frame_bytes``.
    """

    __slots__ = ("_buf", "_decoder", "_parts", "_size", "max_frame_bytes")

    def __init__(self, max_frame_bytes: int | None = None) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = b""  # the unfinished frame's start, when it has no more parts
        self._parts: list[bytes] = []  # the unfinished frame, when it took several chunks
        self._size = 0
        self._decoder: SSEDecoder | None = None

    def feed(self, chunk: bytes) -> list[bytes | str]:
        if self._decoder is not None:
            return [m.data for m in self._decoder.feed(chunk)]
        if self._buf or self._parts:
            last = self._parts[-1] if self._parts else self._buf
            # Only the new bytes (and the one before them) can complete the frame: an
            # unfinished frame is kept as parts, never copied or searched again.
            if b"\n\n" not in last[-1:] + chunk and b"\r" not in chunk:
                if not self._parts:
                    self._parts.append(self._buf)
                    self._buf = b""
                self._parts.append(chunk)
                self._size += len(chunk)
                self._check(self._size)
                return []
            data = b"".join([*self._parts, chunk]) if self._parts else self._buf + chunk
            self._parts = []
        else:
            data = chunk
        if b"\r" in data:
            self._buf = b""
            return self._hand_over(data)
        # The common case, a block of one-line ``data: `` frames, cut by C code alone: every
        # complete frame starts with ``data: `` and holds no other line break.
        # (Every line break before the last frame's end is one of a ``\n\ndata: `` between
        # two frames.)
        end = data.rfind(b"\n\n")
        if (
            end > 0
            and data.startswith(b"data: ")
            and data.count(b"\n", 0, end) == 2 * data.count(b"\n\ndata: ", 0, end)
        ):
            self._buf = data[end + 2 :]
            self._size = len(self._buf)
            self._check(self._size)
            return data[6:end].split(b"\n\ndata: ")  # type: ignore[return-value]
        frames = data.split(b"\n\n")
        self._buf = frames.pop()
        self._size = len(self._buf)
        out: list[bytes | str] = []
        for i, frame in enumerate(frames):
            if frame.startswith(b"data:") and b"\n" not in frame:
                out.append(frame[6:] if frame.startswith(b"data: ") else frame[5:])
            else:
                rest = b"\n\n".join(frames[i:]) + b"\n\n" + self._buf
                self._buf = b""
                out.extend(self._hand_over(rest))
                return out
        self._check(self._size)
        return out

    def _check(self, size: int) -> None:
        if self.max_frame_bytes is not None and size > self.max_frame_bytes:
            raise FrameTooLarge(self.max_frame_bytes)

    def _hand_over(self, data: bytes) -> list[bytes | str]:
        self._decoder = SSEDecoder(self.max_frame_bytes)
        return [m.data for m in self._decoder.feed(data)]


async def aiter_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[SSEMessage]:
    """Parse an async byte stream (e.g. ``httpx.Response.aiter_bytes()``) into messages."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for msg in decoder.feed(chunk):
            yield msg
    decoder.close()
