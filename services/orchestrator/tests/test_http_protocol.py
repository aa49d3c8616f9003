"""``api.http_protocol.LeanHttpToolsProtocol`` under a real uvicorn server: a request body
sent in pieces is received whole, a streamed answer arrives, the client leaving reaches the
app as ``http.disconnect``, and the connection holds no ``asyncio.Event`` (what it saves)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import uvicorn

from mesh_orchestrator.api.http_protocol import LeanHttpToolsProtocol
from mesh_orchestrator.relay.gate import Signal
from mesh_testkit import free_port

DEADLINE = 10.0


async def test_a_body_in_pieces_a_stream_and_a_disconnect_through_the_lean_protocol() -> None:
    seen: dict[str, Any] = {"events": []}
    left = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["body"] = body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one\n", "more_body": True})
        await send({"type": "http.response.body", "body": b"two\n", "more_body": True})
        for proto in server.server_state.connections:
            seen["events"] += [proto.flow._is_writable_event, proto.cycle.message_event]
        if (await receive())["type"] == "http.disconnect":
            left.set()

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=LeanHttpToolsProtocol, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(DEADLINE):
            for _ in range(int(DEADLINE / 0.01)):  # uvicorn says it started by a flag only
                if server.started:
                    break
                await asyncio.sleep(0.01)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"world")  # the second piece wakes the waiting ``receive``
            got = b""
            while b"two\n" not in got:
                got += await reader.read(4096)
            assert got.startswith(b"HTTP/1.1 200") and b"one\n" in got
            writer.close()
            await left.wait()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, DEADLINE)
    assert seen["body"] == b"helloworld"
    assert len(seen["events"]) == 2
    assert all(type(e) is Signal for e in seen["events"])


async def _serve(app: Any, **options: Any) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=LeanHttpToolsProtocol, log_level="warning",
        **options,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(int(DEADLINE / 0.01)):  # uvicorn says it started by a flag only
        if server.started:
            break
        await asyncio.sleep(0.01)
    return server, serving, port


async def _ask(port: int, headers: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /where HTTP/1.1\r\nHost: x\r\n" + headers + b"Connection: close\r\n\r\n")
    await writer.drain()
    got = await reader.read()
    writer.close()
    return got


async def test_proxy_headers_are_read_without_a_frame_of_uvicorns_middleware() -> None:
    """uvicorn's ``ProxyHeadersMiddleware`` (on by default) becomes a plain function: a
    trusted proxy's ``X-Forwarded-For`` and ``-Proto`` still rewrite the client and the
    scheme, an untrusted one's do not, and no ``async`` frame of the middleware is held
    under the app while it runs."""
    seen: list[tuple[Any, str, list[str]]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        frame: Any = sys._getframe()
        chain = []  # the frames under this one's task, running now
        while frame is not None:
            chain.append(frame.f_code.co_qualname)
            frame = frame.f_back
        seen.append((scope["client"], scope["scheme"], chain))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    forwarded = b"X-Forwarded-For: 10.1.2.3\r\nX-Forwarded-Proto: https\r\n"
    for trusted, client, scheme in (("127.0.0.1", "10.1.2.3", "https"), ("10.9.9.9", "127.0.0.1", "http")):  # fmt: skip
        server, serving, port = await _serve(app, forwarded_allow_ips=trusted)
        try:
            async with asyncio.timeout(DEADLINE):
                assert (await _ask(port, forwarded)).startswith(b"HTTP/1.1 200")
                assert (await _ask(port, b"")).startswith(b"HTTP/1.1 200")
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, DEADLINE)
        (proxied, got_scheme, chain), (plain, plain_scheme, _) = seen[-2:]
        assert proxied[0] == client and got_scheme == scheme
        assert plain[0] == "127.0.0.1" and plain_scheme == "http"
        assert not any("ProxyHeadersMiddleware" in name for name in chain), chain


async def test_connections_share_their_request_lines_and_addresses() -> None:
    """Two requests' method and path, and the two connections' server address, are the
    same objects; the request's URL is not kept by the connection once read."""
    scopes: list[dict[str, Any]] = []
    urls: list[bytes] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        scopes.append(scope)
        urls.extend(p.url for p in server.server_state.connections if p.scope is scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    server, serving, port = await _serve(app)
    try:
        async with asyncio.timeout(DEADLINE):
            for _ in range(2):
                assert (await _ask(port, b"")).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, DEADLINE)
    first, second = scopes
    assert first["path"] == "/where" and first["path"] is second["path"]
    assert first["raw_path"] is second["raw_path"] and first["method"] is second["method"]
    assert first["server"] is second["server"]
    assert first["client"][0] is second["client"][0]
    assert urls == [b"", b""]
