"""One call to one worker instance, as an async stream of validated worker events.

Whatever the worker's mode, the caller sees the same thing: ``(type, body)`` pairs as they
arrive, ``body`` being what ``parse_worker_event(frame).model_dump(mode="json",
exclude={"type"})`` gives, ending with ``("done", {})``. A plain token frame
(``{"type": "token", "token": str}``) is checked by hand, not by pydantic: it is nearly
every frame a streaming worker sends, and the relay's cost per token is what matters.

Streaming workers are read frame by frame from ``POST {stream_path}`` (nothing is
buffered); static workers answer ``POST {invoke_path}`` with a WorkerResult, turned into
one ``result`` event (or the worker's question, ``input_required``, when it asked); declared static agents answer from ``static_response`` without any
network call. Closing the generator closes the HTTP stream, which is how the worker learns
that its caller went away and cancels the generation. Plain-HTTP streams are read with the
executor's ``StreamClient`` (see there why); others (TLS, a proxy) with httpx.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from functools import lru_cache
from operator import itemgetter
from typing import Any, NoReturn, TypeVar

import httpx
import orjson
from pydantic import ValidationError

from mesh_contracts import (
    AgentDescriptor,
    DataFrames,
    DoneEvent,
    ErrorEvent,
    FrameTooLarge,
    ResultEvent,
    StreamingMode,
    TaskRequest,
    WorkerEvent,
    WorkerResult,
    parse_worker_event,
)
from mesh_contracts.a2a import speaks_a2a
from mesh_contracts.mcp import speaks_mcp
from mesh_orchestrator.emitter import Relayable as Relayable  # (type, body), re-exported
from mesh_orchestrator.emitter import TokenBytes
from mesh_orchestrator.relay.stream_client import Stalled, StreamClient, Target, target

BUSY_STATUS = (429, 503)
MAX_ERROR_CHARS = 200  # of a worker's error answer relayed to the client (never its output)
MAX_FRAME_BYTES = 16 << 20  # one worker event; an image artifact inlined as base64 fits


# A plain token frame as every mesh worker writes it (pydantic's compact JSON, keys in
# the model's order): this prefix, the token's JSON string, ``}``.
_TOKEN_HEAD = b'{"type":"token","token":"'
_TOKEN_QUOTES = _TOKEN_HEAD.count(b'"') + 1  # the prefix's and the string's closing one
_TOKEN_TEXT = itemgetter("token")
_DONE = b'{"type":"done"}'
_TOKEN_SEP = b'"}\n' + _TOKEN_HEAD  # between two such frames joined by a line break
_TOKEN_SEP_TEXT = _TOKEN_SEP.decode()
_TOKEN_SPLIT = _TOKEN_SEP[1:-1]  # the same less its quotes: cuts the tokens' quoted strings
_CONTROL = re.compile(rb"[\x00-\x1f]")  # raw in a JSON string: a parse refuses it


def plain_tokens(payloads: list[bytes | str], attempt: int | None) -> TokenBytes | None:
    """The events of ``payloads`` (one block's frames' data) when every one is a plain token
    frame, stamped with ``attempt``, checked and cut by C calls for the whole block;
    ``None`` for any other block (the frame-by-frame path then reads it, to the same events
    or the same error).

    The payloads are joined by line breaks (a frame's data has none), so C counts check
    them all at once: every one starts with ``{"type":"token","token":"`` and ends with
    ``"}`` (each line break between two is the end of one and the start of the next), and
    the block holds eight quote bytes a frame, no more. (A frame that is the prefix and
    ``}`` alone has seven, its end sharing the prefix's last quote. First, the string the
    parse below reads holds the line break after it; between two others, the matches of the
    line breaks on either side share that quote and ``count`` finds one; last, its ``}`` is
    cut with the quote before it, and the parse finds two objects with no comma between.
    Each is refused.) Each token's string is then the bytes between its two quotes, and
    the block rewritten in place (``{"token":"...","attempt":N}`` each, in one JSON array) parses to
    one object per frame, each string read from the same bytes as the frame's own parse
    reads it (escapes included). A string whose closing quote is escaped (a trailing
    backslash) runs into the next bare word and fails the parse, as do bad UTF-8 and raw
    control characters: ``None`` then, and the frame path finds what it finds.

    Where no token holds a backslash (nearly every block), that parse is not needed: each
    token's quoted string is then, once its bytes are valid UTF-8 with no control character
    (what the parse would check), byte for byte what orjson writes for its text, and the
    texts are the decoded block cut by one ``split``. (A seven-quote frame there leaves a
    raw line break outside the separators: refused by that check, as by the parse.) A
    block with escapes is parsed, and its texts dumped again by orjson.
    """
    n = len(payloads)
    try:
        joined = b"\n".join(payloads)  # type: ignore[arg-type]
    except TypeError:  # a str payload: the stream was handed to the spec decoder
        return None
    if (
        joined.count(_TOKEN_SEP) != n - 1
        or not joined.startswith(_TOKEN_HEAD)
        or not joined.endswith(b'"}')
        or joined.count(b'"') != _TOKEN_QUOTES * n
    ):
        return None
    inner = joined[len(_TOKEN_HEAD) : -2]
    if b"\\" not in inner:
        try:
            text = inner.decode()
        except UnicodeDecodeError:
            return None
        if _CONTROL.search(inner.replace(_TOKEN_SEP, b"")) is not None:
            return None
        tokens = b"".join((b'"', inner, b'"')).split(_TOKEN_SPLIT)
        return TokenBytes(tokens, text.split(_TOKEN_SEP_TEXT), attempt)
    array = b"".join((b'[{"token":"', inner.replace(_TOKEN_SEP, b'"},{"token":"'), b'"}]'))
    try:
        bodies = orjson.loads(array)
    except orjson.JSONDecodeError:
        return None
    texts = list(map(_TOKEN_TEXT, bodies))
    return TokenBytes(list(map(orjson.dumps, texts)), texts, attempt)


class WorkerBusy(Exception):
    """The instance refused the call (429/503); try another replica or wait ``retry_after``."""

    def __init__(self, instance_id: str, retry_after: float) -> None:
        super().__init__(f"{instance_id} is busy (retry after {retry_after:g}s)")
        self.retry_after = retry_after


class WorkerUnreachable(Exception):
    """No connection could be made; nothing was sent, so another replica may be tried."""


class WorkerFailed(Exception):
    """The call failed after it started (bad status, malformed stream, connection lost)."""

    def __init__(self, message: str, code: str = "worker_error") -> None:
        super().__init__(message)
        self.code = code


def relayable(raw: Any) -> Relayable:
    """One decoded frame as ``(type, body)``; raises ``ValueError``/``ValidationError``."""
    if (
        type(raw) is dict
        and len(raw) == 2
        and raw.get("type") == "token"
        and type(raw.get("token")) is str
    ):
        del raw["type"]
        return "token", raw
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    return from_model(parse_worker_event(raw))


def from_model(ev: WorkerEvent) -> Relayable:
    return ev.type, ev.model_dump(mode="json", exclude={"type"})


def _parse(payload: bytes | str, d: AgentDescriptor) -> Relayable:
    try:
        try:
            raw = orjson.loads(payload)
        except orjson.JSONDecodeError:
            if not isinstance(payload, bytes):
                raise
            # What the text decoder would have made of it: bad UTF-8 becomes U+FFFD.
            raw = orjson.loads(payload.decode("utf-8", errors="replace"))
        return relayable(raw)
    except (ValueError, ValidationError) as exc:
        text = payload if isinstance(payload, str) else payload.decode(errors="replace")
        why = str(exc)
        if isinstance(exc, ValidationError):  # the field and the reason, not pydantic's title
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"][1:]) or "event"
            why = f"{where}: {first['msg']}"
        raise WorkerFailed(
            f"{d.agent_id} sent a malformed event {text[:200]!r}: {why}".splitlines()[0],
            "malformed_stream",
        ) from None


async def _refuse(
    status: int, retry_after: str | None, body: bytes, d: AgentDescriptor
) -> NoReturn:
    """Raise the right exception for a non-2xx answer."""
    if status in BUSY_STATUS:
        try:
            wait = max(0.0, float(retry_after or "1"))
        except ValueError:
            wait = 1.0
        raise WorkerBusy(d.instance_id, wait)
    text = body[:4096].decode(errors="replace")
    try:
        detail: Any = json.loads(text).get("detail", text)
    except (ValueError, AttributeError):
        detail = text
    detail = str(detail)
    if len(detail) > MAX_ERROR_CHARS:
        detail = detail[:MAX_ERROR_CHARS] + "..."
    code = "invalid_input" if status in (400, 422) else "worker_error"
    raise WorkerFailed(f"{d.agent_id} answered {status}: {detail}", code)


async def _refuse_httpx(resp: httpx.Response, d: AgentDescriptor) -> NoReturn:
    busy = resp.status_code in BUSY_STATUS
    body = b"" if busy else await resp.aread()
    await _refuse(resp.status_code, resp.headers.get("Retry-After"), body, d)


async def call_worker(
    http: httpx.AsyncClient,
    d: AgentDescriptor,
    request: TaskRequest,
    on_accepted: Callable[[], None] = lambda: None,
    streams: StreamClient | None = None,
    headers: dict[str, str] | None = None,
    max_frame_bytes: int | None = MAX_FRAME_BYTES,
    idle: float | None = None,
) -> AsyncGenerator[Relayable]:
    """``call_worker_batches`` one event at a time."""
    batches = call_worker_batches(
        http, d, request, on_accepted, streams, headers, max_frame_bytes, idle
    )
    async with aclosing(batches) as reading:
        async for batch in reading:
            for event in batch:
                yield event


@lru_cache(maxsize=1024)
def stream_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, parsed once per instance's stream URL (an ``httpx.URL`` is
    immutable; its parse is ~60 us, once per worker call otherwise)."""
    return httpx.URL(url)


@lru_cache(maxsize=1024)
def stream_target(url: str) -> Target:
    """``stream_url(url)``'s ``Target`` (its pool key and request head), made once per
    instance's stream URL."""
    return target(stream_url(url))


async def call_worker_batches(
    http: httpx.AsyncClient,
    d: AgentDescriptor,
    request: TaskRequest,
    on_accepted: Callable[[], None] = lambda: None,
    streams: StreamClient | None = None,
    headers: dict[str, str] | None = None,
    max_frame_bytes: int | None = MAX_FRAME_BYTES,
    idle: float | None = None,
    attempt: int | None = None,
) -> AsyncGenerator[Sequence[Relayable]]:
    """Yield the worker's events for ``request``, in lists: the events of each block read
    from the worker together (the relay then pays per block, not per event); the last
    event is always ``("done", {})``. A block of nothing but plain tokens comes as a
    ``TokenBytes`` whose bodies carry ``attempt`` already (when given); every other body
    is as the worker sent it.

    ``on_accepted`` is called once the worker has taken the call (2xx headers), before any
    event. Raises ``WorkerBusy``/``WorkerUnreachable`` before acceptance, ``WorkerFailed``
    at any point. A worker ``error`` event is yielded, not raised. Streams go through
    ``streams`` where it ``handles`` the URL, else through ``http``. ``headers`` go out
    with the request (the trace context, when the call is traced). A frame larger than
    ``max_frame_bytes`` fails the call as a malformed stream; a stream that sends nothing
    (not even a ping) for ``idle`` seconds fails it as ``stalled``.
    """
    if not d.has_process:
        on_accepted()
        yield [from_model(ResultEvent(output=d.static_response))]
        yield [("done", {})]
        return
    if speaks_a2a(d):  # never the worker API (and this client's token) to an A2A agent
        raise WorkerFailed(f"{d.agent_id} is an A2A agent: call it with call_a2a")
    if speaks_mcp(d):  # nor to an MCP server
        raise WorkerFailed(f"{d.agent_id} is an MCP server: call it with call_mcp")
    body = request.model_dump(mode="json")
    if d.streaming_mode is StreamingMode.STATIC or d.stream_path is None:
        assert d.invoke_path is not None  # guaranteed by AgentDescriptor's validator
        # One list: the answer's events, its ``done`` last.
        yield [from_model(answer) async for answer in _invoke(http, d, body, on_accepted, headers)]
        return
    to = stream_target(d.url(d.stream_path))
    try:
        if streams is not None and streams.handles(to):
            payload = orjson.dumps(body)
            del body  # nothing of the request stays in this frame while the stream is read
            async with streams.post(to, payload, headers) as resp:
                del payload, headers  # sent: not kept in this frame while the stream is read
                if resp.status_code >= 300:
                    busy = resp.status_code in BUSY_STATUS
                    raw = b"" if busy else await resp.read()
                    await _refuse(resp.status_code, resp.headers.get("retry-after"), raw, d)
                on_accepted()
                # The connection watches for a stall itself (no timer per read). Closed by
                # hand, not in an ``aclosing`` (an object held as long as the call streams).
                blocks = resp.blocks(idle, gather=True)
                # Read here, not through ``_until_done`` (a generator and its frame fewer
                # held as long as the call streams): the same parse, ``_block_events``.
                frames = DataFrames(max_frame_bytes)
                try:
                    while True:
                        try:
                            block = await anext(blocks)
                        except StopAsyncIteration:
                            raise _lost(d) from None
                        except Stalled:
                            raise _stalled(d, idle) from None
                        batch, end = _block_events(frames, block, d, attempt)
                        if batch:
                            yield batch
                        if end is True:
                            break
                        if end:
                            raise end
                finally:
                    await blocks.aclose()
        else:
            async with http.stream("POST", to.url, json=body, headers=headers) as hresp:
                if hresp.status_code >= 300:
                    await _refuse_httpx(hresp, d)
                on_accepted()
                chunks = hresp.aiter_bytes()
                async for batch in _until_done(chunks, d, max_frame_bytes, idle, idle, attempt):
                    yield batch
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise WorkerUnreachable(f"cannot connect to {d.endpoint}: {exc}") from None
    except httpx.HTTPError as exc:
        raise WorkerFailed(
            f"{d.agent_id} stream broke off: {type(exc).__name__}: {exc}", "stream_lost"
        ) from None
    # Yielded once the response is released (its connection back in the pool, or closing):
    # the caller stops reading at ``done``.
    yield [("done", {})]


T = TypeVar("T")


async def next_or_stall(reading: AsyncIterator[T], idle: float | None, agent_id: str) -> T:
    """The next item of ``reading`` (``StopAsyncIteration`` at its end), or ``WorkerFailed``
    (``stalled``) when none comes within ``idle`` seconds: how every worker stream, SSE or
    A2A, tells a hung worker or a cut link from a quiet one (the worker SDK pings)."""
    try:
        async with asyncio.timeout(idle):
            return await anext(reading)
    except TimeoutError:
        raise WorkerFailed(f"{agent_id} sent nothing for {idle:g}s (stalled)", "stalled") from None


def _lost(d: AgentDescriptor) -> WorkerFailed:
    return WorkerFailed(f"{d.agent_id} closed its stream without a done event", "stream_lost")


def _stalled(d: AgentDescriptor, idle: float | None) -> WorkerFailed:
    return WorkerFailed(f"{d.agent_id} sent nothing for {idle:g}s (stalled)", "stalled")


async def _until_done(
    blocks: AsyncIterator[bytes],
    d: AgentDescriptor,
    max_frame_bytes: int | None,
    idle: float | None = None,
    stall: float | None = None,
    attempt: int | None = None,
) -> AsyncGenerator[Sequence[Relayable]]:
    """The events of a worker's SSE body up to (not including) ``done``, a list per block
    read (``_block_events``); a body that ends without ``done`` is a lost stream, one
    silent for ``idle`` seconds (a timeout per read, here) or that ``Stalled`` (the
    connection's own watch, for ``stall`` seconds) a stalled one (the worker SDK pings while
    a run is quiet). ``call_worker_batches`` reads a ``StreamClient``'s blocks with the
    same steps inline."""
    frames = DataFrames(max_frame_bytes)
    reading = aiter(blocks)
    while True:
        try:
            if idle is None:
                block = await anext(reading)
            else:
                async with asyncio.timeout(idle):
                    block = await anext(reading)
        except StopAsyncIteration:
            raise _lost(d) from None
        except (TimeoutError, Stalled):
            raise _stalled(d, idle or stall) from None
        batch, end = _block_events(frames, block, d, attempt)
        if batch:
            yield batch
        if end is True:
            return
        if end:
            raise end


def _block_events(
    frames: DataFrames, block: bytes, d: AgentDescriptor, attempt: int | None
) -> tuple[Sequence[Relayable] | None, bool | WorkerFailed]:
    """The events of one block of a worker's SSE body, up to (not including) ``done``, and
    how the block ends the stream: ``False`` (read on), ``True`` (``done`` came) or the
    ``WorkerFailed`` to raise once the events before it went out (a bad event: the good
    ones before it go out first, as they came). A block of plain tokens comes as one
    ``TokenBytes`` (``plain_tokens``), its bodies stamped with ``attempt``. A frame over
    the bound raises ``WorkerFailed`` (``malformed_stream``) at once."""
    try:
        payloads = frames.feed(block)
    except FrameTooLarge as exc:
        raise WorkerFailed(
            f"{d.agent_id} sent a malformed stream: {exc}", "malformed_stream"
        ) from None
    if not payloads:
        return None, False
    tokens = plain_tokens(payloads, attempt)
    if tokens is not None:  # nearly every block of a streaming worker
        return tokens, False
    if len(payloads) > 1 and payloads[-1] == _DONE:  # the last block: its tokens, done
        tokens = plain_tokens(payloads[:-1], attempt)
        if tokens is not None:
            return tokens, True
    loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
    batch: list[Relayable] = []
    for payload in payloads:
        # A plain token frame, nearly every frame, checked here (``relayable``'s first
        # case, without two calls per event); anything else through ``_parse``.
        try:
            raw = loads(payload)
        except JSONDecodeError:
            raw = None
        if (
            type(raw) is dict
            and len(raw) == 2
            and raw.get("type") == "token"
            and type(raw.get("token")) is str
        ):
            del raw["type"]
            batch.append(("token", raw))
            continue
        try:
            event = _parse(payload, d)
        except WorkerFailed as exc:
            return batch, exc
        if event[0] == "done":
            return batch, True
        batch.append(event)
    return batch, False


async def _invoke(
    http: httpx.AsyncClient,
    d: AgentDescriptor,
    body: dict[str, Any],
    on_accepted: Callable[[], None],
    headers: dict[str, str] | None = None,
) -> AsyncIterator[WorkerEvent]:
    assert d.invoke_path is not None
    try:
        resp = await http.post(d.url(d.invoke_path), json=body, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise WorkerUnreachable(f"cannot connect to {d.endpoint}: {exc}") from None
    except httpx.HTTPError as exc:
        raise WorkerFailed(f"{d.agent_id} call failed: {type(exc).__name__}: {exc}") from None
    if resp.status_code >= 300:
        await _refuse_httpx(resp, d)
    on_accepted()
    try:
        result = WorkerResult.model_validate(resp.json())
    except (ValueError, ValidationError) as exc:
        raise WorkerFailed(
            f"{d.agent_id} answered with a malformed result: {exc}".splitlines()[0],
            "malformed_result",
        ) from None
    if result.ok:
        for artifact in result.artifacts:
            yield artifact
        yield ResultEvent(output=result.output, usage=result.usage)
    elif result.status == "input_required" and result.input_required is not None:
        yield result.input_required  # it asks the user: relayed as a stream's question
    else:
        yield ErrorEvent(error=result.error or f"{d.agent_id} failed", code="worker_error")
    yield DoneEvent()
