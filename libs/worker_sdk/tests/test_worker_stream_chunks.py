"""A stream writes the events queued behind the one it waited for as one HTTP chunk.

Read over a real uvicorn server with a raw socket, so the chunked framing itself is seen:
the frames, their order and their bytes are what one write per event sent; only the
chunk boundaries move. The stream's first token, and any event that comes alone, still go
at once, in a chunk of their own.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest
from pydantic import BaseModel, ConfigDict

from mesh_contracts import (
    AgentDescriptor,
    DoneEvent,
    ErrorEvent,
    ProgressEvent,
    ResultEvent,
    StreamingMode,
    TaskRequest,
    TokenEvent,
    encode_event,
)
from mesh_worker import Emit, Worker, WorkerSettings, create_worker_app
from mesh_worker.api import CHUNK_EVENTS, Chunks
from mesh_worker.execution import QUEUE_SIZE, stream_event_batches, stream_events
from mesh_worker.executions import MAX_EVENTS, Execution
from mesh_worker.testing import serving

DEADLINE = 10.0
FLOOD = 3 * QUEUE_SIZE + 5


class ChunkInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["flood", "gated"] = "flood"
    tokens: int = FLOOD


class ChunkWorker(Worker[ChunkInput]):
    """``flood``: a progress event, then ``tokens`` distinct tokens back to back (each
    ``emit`` returns at once until the queue is full), then a result. ``gated``: token
    ``a``, then waits for ``gates[0]`` (set by the test once it has read ``a``), token
    ``b``, waits for ``gates[1]``, tokens ``c`` and ``d``."""

    Input = ChunkInput

    def __init__(self) -> None:
        self.gates = (threading.Event(), threading.Event())

    def describe(self) -> AgentDescriptor:
        return AgentDescriptor(
            agent_id="chunks",
            endpoint="http://placeholder.invalid",
            capabilities=["text_generation"],
            streaming_mode=StreamingMode.DYNAMIC_EVENTS,
            max_concurrency=4,
        )

    async def run(self, task: TaskRequest, inp: ChunkInput, emit: Emit) -> Any:
        if inp.mode == "gated":
            await emit(TokenEvent(token="a"))
            await asyncio.to_thread(self.gates[0].wait, 3 * DEADLINE)
            await emit(TokenEvent(token="b"))
            await asyncio.to_thread(self.gates[1].wait, 3 * DEADLINE)
            await emit(TokenEvent(token="c"))
            await emit(TokenEvent(token="d"))
            return None
        await emit(ProgressEvent(message="starting"))
        for i in range(inp.tokens):
            await emit(TokenEvent(token=f't{i} "q"\n'))
        return {"n": inp.tokens}


def flood_events(n: int = FLOOD) -> list[Any]:
    """What the ``flood`` mode emits, in order, then ``done``."""
    tokens: list[Any] = [TokenEvent(token=f't{i} "q"\n') for i in range(n)]
    return [ProgressEvent(message="starting"), *tokens, ResultEvent(output={"n": n}), DoneEvent()]


@pytest.fixture
def worker() -> Iterator[ChunkWorker]:
    w = ChunkWorker()
    yield w
    for gate in w.gates:  # a failed test leaves no thread waiting
        gate.set()


@pytest.fixture
def url(worker: ChunkWorker) -> Iterator[str]:
    app = create_worker_app(worker, WorkerSettings(discovery_url="", ping_seconds=30))
    with serving(app) as base:
        yield base


class RawStream:
    """A POST /stream read off its socket, one HTTP chunk at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str, body: dict[str, Any], key: str | None = None) -> RawStream:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        data = json.dumps(body).encode()
        extra = f"Idempotency-Key: {key}\r\n" if key else ""
        writer.write(
            (
                f"POST /stream HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                f"{extra}Connection: close\r\n\r\n"
            ).encode()
            + data
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"transfer-encoding: chunked" in head.lower()
        return cls(reader, writer)

    async def chunk(self) -> bytes | None:
        """The next chunk's payload (None at the terminating chunk)."""
        size_line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), DEADLINE)
        size = int(size_line.strip(), 16)
        payload = await asyncio.wait_for(self.reader.readexactly(size + 2), DEADLINE)
        assert payload.endswith(b"\r\n")
        return payload[:-2] if size else None

    async def chunks(self) -> list[bytes]:
        out = []
        while (c := await self.chunk()) is not None:
            out.append(c)
        self.writer.close()
        return out


def frames_in(chunk: bytes) -> int:
    return chunk.count(b"\n\n")


@pytest.mark.parametrize("key", [None, "r1:t1:1"])
async def test_a_flood_goes_in_fewer_chunks_with_the_same_frames_in_order(
    url: str, key: str | None
) -> None:
    stream = await RawStream.open(url, {"task_id": "t1", "run_id": "r1", "input": {}}, key)
    chunks = await stream.chunks()
    expected = flood_events()
    # The bytes are those of one frame an event, in order, whatever the chunking (the
    # result's usage is the run's: read back).
    body = b"".join(chunks)
    result = json.loads(body.split(b"\n\n")[-3].removeprefix(b"data: "))
    assert result["type"] == "result" and result["output"] == {"n": FLOOD}
    expected[-2] = ResultEvent.model_validate(result)
    assert body == b"".join(map(encode_event, expected))
    # Every chunk holds whole frames.
    assert sum(map(frames_in, chunks)) == len(expected)
    assert all(c.endswith(b"\n\n") for c in chunks)
    # Up to the first token each event went alone; later ones were gathered.
    assert chunks[0] == encode_event(expected[0])
    assert chunks[1] == encode_event(expected[1])
    assert len(chunks) < len(expected)
    assert max(map(frames_in, chunks)) > 1
    assert max(map(frames_in, chunks)) <= CHUNK_EVENTS


@pytest.mark.parametrize("key", [None, "r2:t1:1"])
async def test_a_token_that_comes_alone_goes_at_once(
    url: str, worker: ChunkWorker, key: str | None
) -> None:
    body = {"task_id": "t1", "run_id": "r2", "input": {"mode": "gated"}}
    stream = await RawStream.open(url, body, key)
    # The first token, then a later one, each read while the worker waits for the test:
    # neither waits for another event to go with it (else the read times out, the worker
    # still waiting for the test).
    for token, gate in zip("ab", worker.gates, strict=True):
        assert await stream.chunk() == encode_event(TokenEvent(token=token))
        gate.set()
    rest = b"".join(await stream.chunks())
    frames = [TokenEvent(token="c"), TokenEvent(token="d"), DoneEvent()]
    assert rest == b"".join(map(encode_event, frames))


def test_chunks_send_everything_up_to_the_first_token_alone_then_whole_lists() -> None:
    chunks = Chunks()
    progress = ProgressEvent(message="p")
    tokens = [TokenEvent(token=str(i)) for i in range(2 * CHUNK_EVENTS + 3)]
    # A list with no token yet: each event alone.
    assert list(chunks.of([progress, progress])) == [encode_event(progress)] * 2
    # The first token closes the singles; what follows it in its list is one chunk.
    first = list(chunks.of([progress, tokens[0], tokens[1], tokens[2]]))
    assert first == [
        encode_event(progress),
        encode_event(tokens[0]),
        encode_event(tokens[1]) + encode_event(tokens[2]),
    ]
    # Later lists: one chunk each, at most CHUNK_EVENTS frames a chunk, in order.
    later = list(chunks.of(tokens[3:]))
    assert b"".join(later) == b"".join(map(encode_event, tokens[3:]))
    assert [frames_in(c) for c in later] == [CHUNK_EVENTS, CHUNK_EVENTS]
    # A lone event later on: its own chunk, as it is.
    assert list(chunks.of([tokens[0]])) == [encode_event(tokens[0])]
    # A first token last in its list: no empty chunk after it.
    fresh = Chunks()
    assert list(fresh.of([tokens[0]])) == [encode_event(tokens[0])]


class _Flood(Worker[ChunkInput]):
    Input = ChunkInput

    def describe(self) -> AgentDescriptor:
        return ChunkWorker().describe()

    async def run(self, task: TaskRequest, inp: ChunkInput, emit: Emit) -> Any:
        for i in range(inp.tokens):
            await emit(TokenEvent(token=str(i)))
        if inp.mode == "gated":
            raise RuntimeError("boom")
        return "ok"


async def test_batches_keep_every_event_in_order_and_end_with_the_outcome() -> None:
    task = TaskRequest(task_id="t", input={})
    batches = [b async for b in stream_event_batches(_Flood(), task, ChunkInput())]
    events = [e for b in batches for e in b]
    assert [e.token for e in events[:-1]] == [str(i) for i in range(FLOOD)]  # type: ignore[union-attr]
    assert isinstance(events[-1], ResultEvent) and events[-1].output == "ok"
    assert len(batches) < len(events)  # queued events were taken together
    assert all(len(b) <= QUEUE_SIZE + 1 for b in batches)
    # The flat form yields the same events.
    flat = [e async for e in stream_events(_Flood(), task, ChunkInput())]
    assert [e.model_dump() for e in flat[:-1]] == [e.model_dump() for e in events[:-1]]
    assert isinstance(flat[-1], ResultEvent) and flat[-1].output == "ok"
    failed = [e async for b in stream_event_batches(_Flood(), task, ChunkInput(mode="gated"))
              for e in b]  # fmt: skip
    assert len(failed) == FLOOD + 1 and isinstance(failed[-1], ErrorEvent)


def test_add_many_keeps_what_add_keeps() -> None:
    tokens = [TokenEvent(token=str(i)) for i in range(MAX_EVENTS + 10)]
    result = ResultEvent(output="x")
    one, many = Execution("k1", "t"), Execution("k2", "t")
    live_one, live_many = one.attach(), many.attach()
    for e in [*tokens, result]:
        one.add(e)
    many.add_many(tokens[:100])
    many.add_many([*tokens[100:], result])
    assert many.events == one.events
    assert len(many.events) == MAX_EVENTS + 1 and many.events[-1] is result
    # A live follower gets every event, however many.
    assert live_many == live_one == [*tokens, result]


def test_the_first_token_is_encoded_and_handed_out_before_those_behind_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mesh_worker.api as api

    encoded: list[Any] = []

    def counting(event: Any) -> bytes:
        encoded.append(event)
        return encode_event(event)

    monkeypatch.setattr(api, "encode_event", counting)
    tokens = [TokenEvent(token=str(i)) for i in range(10)]
    out = Chunks().of(tokens)
    assert next(out) == encode_event(tokens[0])
    assert encoded == [tokens[0]]  # the nine behind it not encoded yet
    assert list(out) == [b"".join(map(encode_event, tokens[1:]))]
    assert encoded == tokens
