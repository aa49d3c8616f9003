"""The bench's kept-alive client (``bench.sse_client.KeptAliveStreamer``) finds where a
chunked body ends however its bytes are cut, and reuses its connections from run to run."""

from __future__ import annotations

import asyncio
import json

from bench.sse_client import KeptAliveStreamer, _Chunked

FRAMES = [b'id: 1\ndata: {"type":"token","data":{"token":"0\\r\\n\\r\\n"}}\n\n',
          b'id: 2\ndata: {"type":"done","data":{"status":"completed"}}\n\n']  # fmt: skip
BODY = b"".join(b"%x\r\n%s\r\n" % (len(f), f) for f in FRAMES) + b"0\r\n\r\n"


def test_the_end_of_a_chunked_body_is_found_however_it_is_cut() -> None:
    for cut in range(1, len(BODY)):
        for pieces in ([BODY[:cut], BODY[cut:]], [BODY[i : i + 1] for i in range(len(BODY))]):
            c = _Chunked()
            for i, piece in enumerate(pieces):
                assert not c.done, (cut, i)
                c.feed(piece)
            assert c.done, cut
    c = _Chunked()
    c.feed(BODY[:-1])
    assert not c.done  # the body ends with the last chunk's CRLF
    c = _Chunked()
    c.feed(BODY[: BODY.index(b"0\r\n\r\n")])
    assert not c.done


async def test_runs_over_kept_alive_connections_use_one_connection_each() -> None:
    accepted = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            json.loads(await reader.readexactly(length))
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + BODY)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stream = KeptAliveStreamer()
    try:
        for _ in range(5):
            t = await stream(f"http://127.0.0.1:{port}/orchestrate/stream", {"query": "q"})
            assert t.end == "completed" and t.tokens == 1
    finally:
        await stream.close()
        server.close()
        await server.wait_closed()
    assert accepted == 1
