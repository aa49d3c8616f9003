"""One socket write per answer (``writes.py``): uvicorn's protocol over ``JoinedWrites``.

The transport under the protocol is a recording fake (``RecordingTransport``, only in these
unit tests): it keeps each ``write`` call, so a test can say how many writes an answer took.
The real sockets are in ``test_discovery_process.py`` (the service as a process)."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from mesh_discovery.writes import HOLD_BYTES, JoinedWrites, JoinedWritesProtocol


class RecordingTransport:
    """A fake transport for these unit tests: records writes, never sends."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def writelines(self, parts: Any) -> None:
        self.write(b"".join(parts))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 9000), "peername": ("127.0.0.1", 40000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


async def _served(request: bytes, app: Any = _answer) -> RecordingTransport:
    config = Config(app, log_level="warning", access_log=False, http=JoinedWritesProtocol)
    config.load()
    loop = asyncio.get_running_loop()
    protocol = JoinedWritesProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=loop
    )
    transport = RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(request)
    for _ in range(20):  # the request's task, then the write held until the next step
        await asyncio.sleep(0)
    return transport


REQUEST = b"PUT /v1/agents/i1/heartbeat HTTP/1.1\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}"


async def test_an_answers_status_line_headers_and_body_leave_in_one_write():
    transport = await _served(REQUEST)
    assert len(transport.writes) == 1, transport.writes
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 11" in head
    assert body == b'{"ok":true}'


async def test_two_pipelined_requests_get_both_answers_in_order():
    transport = await _served(REQUEST + REQUEST)
    sent = b"".join(transport.writes)
    assert sent.count(b"HTTP/1.1 200 OK") == 2
    assert sent.endswith(b'{"ok":true}')


async def test_a_connection_close_answer_is_sent_before_the_transport_closes():
    transport = await _served(REQUEST.replace(b"Host: d\r\n", b"Host: d\r\nConnection: close\r\n"))
    assert transport.closed
    assert len(transport.writes) == 1
    assert transport.writes[0].endswith(b'{"ok":true}')


async def test_a_small_write_leaves_with_the_next_and_alone_at_the_next_step():
    inner = RecordingTransport()
    joined = JoinedWrites(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    joined.write(b"head")
    assert inner.writes == []
    assert joined.get_write_buffer_size() == 4
    joined.write(memoryview(b"body"))
    assert inner.writes == [b"headbody"]  # at once, one write
    joined.write(b"more")
    await asyncio.sleep(0)
    assert inner.writes == [b"headbody", b"more"]  # nothing followed it: sent a step later
    big = b"x" * (HOLD_BYTES + 1)
    joined.write(big)
    assert inner.writes[-1] == big  # a large write is not held
    joined.write(b"head")
    joined.write(big)
    assert inner.writes[-1] == b"head" + big  # a large body after held headers: one call


async def test_close_sends_what_is_held_first_and_abort_drops_it():
    inner = RecordingTransport()
    joined = JoinedWrites(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    joined.write(b"last words")
    joined.close()
    assert inner.writes == [b"last words"] and inner.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing held
    assert inner.writes == [b"last words"]

    aborted = RecordingTransport()
    joined = JoinedWrites(aborted, asyncio.get_running_loop())  # type: ignore[arg-type]
    joined.write(b"never")
    joined.abort()
    await asyncio.sleep(0)
    assert aborted.writes == [] and aborted.closed
