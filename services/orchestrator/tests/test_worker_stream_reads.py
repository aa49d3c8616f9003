"""A worker's SSE body reads the same through either transport: ``call_worker_batches``
reads a ``StreamClient``'s blocks itself and httpx's through ``_until_done``, both with
``_block_events``: the same events in order (blocks may be cut apart differently), the good
ones before a bad frame first, the same error (malformed, lost without ``done``), and
nothing after ``done``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from orch_fakes import serve, stop, writer_like

from mesh_contracts import TaskRequest
from mesh_orchestrator.relay.stream_client import StreamClient
from mesh_orchestrator.relay.worker_client import WorkerFailed, call_worker_batches

TOKEN = b'data: {"type":"token","token":"a"}\n\n'
MESSAGE = b'data: {"type":"message","content":"m"}\n\n'
BAD = b'data: {"type":"token","token":5}\n\n'
DONE = b'data: {"type":"done"}\n\n'

# Each body as the chunks the worker writes (a chunk a block, read as one where it can).
BODIES: dict[str, list[bytes]] = {
    "tokens, done": [TOKEN * 3, DONE],
    "tokens and done in one block": [TOKEN * 2 + DONE],
    "a message among tokens": [TOKEN + MESSAGE + TOKEN, DONE],
    "good events, then a bad one": [TOKEN + MESSAGE + BAD + TOKEN, DONE],
    "no done": [TOKEN, MESSAGE],
    "a frame after done": [TOKEN + DONE + MESSAGE],
    "a frame too large": [b"data: " + b"x" * 5000],
}


def _app() -> FastAPI:
    api = FastAPI()

    @api.post("/stream")
    async def stream(request: Request) -> StreamingResponse:
        chunks = BODIES[(await request.json())["input"]["body"]]

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return StreamingResponse(body(), media_type="text/event-stream")

    return api


async def _read(url: str, name: str, streams: StreamClient | None) -> tuple[list[Any], Any]:
    d = writer_like(url).descriptor
    request = TaskRequest(task_id="t", input={"body": name})
    events: list[Any] = []
    async with httpx.AsyncClient() as http:
        try:
            async for batch in call_worker_batches(
                http, d, request, streams=streams, max_frame_bytes=1024, attempt=1
            ):
                # flat, the attempt left out: how the transport cut the body into blocks
                # decides which come stamped here (a block of plain tokens) and which by
                # the call
                events += [(t, {k: v for k, v in b.items() if k != "attempt"}) for t, b in batch]
        except WorkerFailed as exc:
            return events, exc.code
    return events, None


@pytest.mark.parametrize("name", list(BODIES))
async def test_both_transports_read_a_body_alike(name: str) -> None:
    served = await serve(_app())
    try:
        client = StreamClient()
        assert client.handles(httpx.URL(served.url + "/stream"))
        through_streams = await _read(served.url, name, client)
        through_httpx = await _read(served.url, name, None)
        await client.aclose()
    finally:
        await stop(served)
    assert through_streams == through_httpx
    flat, error = through_streams
    if name == "good events, then a bad one":  # the good ones went out, then the error
        assert [t for t, _ in flat] == ["token", "message"] and error == "malformed_stream"
    elif name == "no done":
        assert [t for t, _ in flat] == ["token", "message"] and error == "stream_lost"
    elif name == "a frame too large":
        assert flat == [] and error == "malformed_stream"
    else:  # read to ``done``, which comes last, alone; nothing after it
        assert error is None and flat[-1] == ("done", {})
        assert "done" not in [t for t, _ in flat[:-1]] and ("message", {}) not in flat
        assert flat[0] == ("token", {"token": "a"})
