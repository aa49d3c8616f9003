"""The executor's HTTP/1.1 stream client against a real server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from orch_fakes import Served, serve, stop

from mesh_orchestrator.relay.stream_client import StreamClient
from mesh_testkit import free_port


class Seen:
    def __init__(self) -> None:
        self.ports: list[int] = []
        self.cancelled = asyncio.Event()


def app(seen: Seen) -> FastAPI:
    api = FastAPI()

    @api.post("/sse")
    async def sse(request: Request) -> StreamingResponse:
        assert request.client is not None
        seen.ports.append(request.client.port)
        n = int((await request.json())["n"])

        async def frames() -> AsyncIterator[bytes]:
            try:
                for i in range(n):
                    yield f"data: {i}\n\n".encode()
                if n == 1:  # hold the stream open until the caller leaves
                    await asyncio.Event().wait()
            except asyncio.CancelledError:
                seen.cancelled.set()
                raise

        return StreamingResponse(frames(), media_type="text/event-stream")

    @api.post("/busy")
    async def busy() -> JSONResponse:
        return JSONResponse(
            {"detail": "busy"},
            status_code=429,
            headers={"Retry-After": "2", "X-Worker-Note": "n" * 200, "Cache-Control": "no-store"},
        )

    return api


@pytest.fixture
async def server() -> AsyncIterator[tuple[Served, Seen]]:
    seen = Seen()
    served = await serve(app(seen))
    yield served, seen
    await stop(served)


async def read_all(client: StreamClient, url: str, body: dict[str, Any]) -> bytes:
    async with client.post(httpx.URL(url), httpx.Request("POST", url, json=body).read()) as r:
        assert r.status_code == 200
        return await r.read()


async def test_a_response_read_to_its_end_leaves_its_connection_for_the_next_call(
    server: tuple[Served, Seen],
) -> None:
    served, seen = server
    client = StreamClient()
    try:
        first = await read_all(client, served.url + "/sse", {"n": 3})
        second = await read_all(client, served.url + "/sse", {"n": 2})
    finally:
        await client.aclose()
    assert first == b"data: 0\n\ndata: 1\n\ndata: 2\n\n" and second == b"data: 0\n\ndata: 1\n\n"
    assert len(seen.ports) == 2 and seen.ports[0] == seen.ports[1]


async def test_leaving_a_response_early_closes_it_and_the_server_sees_the_caller_go(
    server: tuple[Served, Seen],
) -> None:
    served, seen = server
    client = StreamClient()
    url = httpx.URL(served.url + "/sse")
    try:
        with pytest.raises(RuntimeError):
            async with client.post(url, b'{"n": 1}') as r:
                async for block in r.blocks():
                    assert block == b"data: 0\n\n"
                    raise RuntimeError("the caller gives up")
        async with asyncio.timeout(5):
            await seen.cancelled.wait()
        await read_all(client, served.url + "/sse", {"n": 2})
    finally:
        await client.aclose()
    assert len(set(seen.ports)) == 2  # the abandoned connection was not reused


async def test_a_refusal_is_readable_and_no_listener_is_a_connect_error(
    server: tuple[Served, Seen],
) -> None:
    served, _ = server
    client = StreamClient(connect_timeout=2)
    try:
        async with client.post(httpx.URL(served.url + "/busy"), b"{}") as r:
            assert r.status_code == 429 and r.headers["retry-after"] == "2"
            # Only what a caller reads is kept of the answer's headers (an open stream
            # holds them): the framing, the wait, the body's kind.
            assert set(r.headers) == {"retry-after", "content-type", "content-length"}
            assert await r.read() == b'{"detail":"busy"}'
        with pytest.raises(httpx.ConnectError):
            async with client.post(httpx.URL(f"http://127.0.0.1:{free_port()}/sse"), b"{}"):
                pass
    finally:
        await client.aclose()


async def test_a_post_gives_its_pool_slot_back_however_it_ends(
    server: tuple[Served, Seen],
) -> None:
    """One slot (``max_connections=1``): a post left by an error, one whose connection was
    refused and one read to its end each give it back (a post is a slotted object, no
    generator: ``StreamClient._Post``), and the request's bytes are not kept once sent."""
    served, _ = server
    client = StreamClient(max_connections=1, connect_timeout=2)
    url = httpx.URL(served.url + "/sse")
    try:
        async with asyncio.timeout(10):
            posting = client.post(url, b'{"n": 1}')
            assert not hasattr(posting, "__dict__")
            with pytest.raises(RuntimeError):
                async with posting as r:
                    assert posting.request is None  # sent: let go
                    raise RuntimeError("the caller gives up")
            with pytest.raises(httpx.ConnectError):
                async with client.post(httpx.URL(f"http://127.0.0.1:{free_port()}/sse"), b"{}"):
                    pass
            assert await read_all(client, served.url + "/sse", {"n": 2}) == (
                b"data: 0\n\ndata: 1\n\n"
            )
            assert await read_all(client, served.url + "/sse", {"n": 3}) == (
                b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
            )
        assert not hasattr(r, "__dict__")  # the response: slotted too
    finally:
        await client.aclose()


def test_only_plain_http_without_a_proxy_is_handled(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    assert StreamClient().handles(httpx.URL("http://10.0.0.5:8001/stream"))
    assert not StreamClient().handles(httpx.URL("https://writer.example/stream"))
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert not StreamClient().handles(httpx.URL("http://10.0.0.5:8001/stream"))
    assert StreamClient().handles(httpx.URL("http://127.0.0.1:8001/stream"))


async def test_a_reader_that_stops_taking_pauses_the_socket_and_loses_nothing(
    server: tuple[Served, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mesh_orchestrator.relay import stream_client

    monkeypatch.setattr(stream_client, "HIGH_WATER", 4096)
    served, _ = server
    client = StreamClient()
    n = 20_000
    try:
        async with client.post(httpx.URL(served.url + "/sse"), b'{"n": %d}' % n) as r:
            conn = r._conn
            async with asyncio.timeout(10):
                while not conn.paused:  # nobody takes: the socket stops being read
                    await conn.wait()
            assert conn.buffered > 4096
            body = b"".join([block async for block in r.blocks()])
    finally:
        await client.aclose()
    assert body == b"".join(f"data: {i}\n\n".encode() for i in range(n))
