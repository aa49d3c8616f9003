"""``api.http_protocol.LeanHttpToolsProtocol`` under a real uvicorn server: a request body
sent in pieces is received whole, a streamed answer arrives, the client leaving reaches the
app as ``http.disconnect``, and the connection holds no ``asyncio.Event`` (what it saves)."""

from __future__ import annotations

import asyncio
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
