"""What round 15 cut from a run's CPU keeps its behaviour (bench/README.md, "Round 15: CPU per
run"): the orchestrator's HTTP protocol is made without uvicorn's ``__init__`` and holds what
uvicorn's holds; its cycle (``LeanCycle``) writes the bytes uvicorn's writes, refuses what
uvicorn's refuses, with a response's header pairs checked once; the flusher takes what the
loop's next turn brings into the same flush.

Each test fails with its cut made wrong: an attribute of uvicorn's protocol left unset, a
``getLogger`` call a connection, a header written otherwise (lowered, ``connection: close``,
chunked or not), a bad header remembered as good, the turn before the flush left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from mesh_orchestrator.api import http_protocol
from mesh_orchestrator.api.http_protocol import LeanCycle, LeanHttpToolsProtocol
from mesh_orchestrator.relay.gate import Signal
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.store import RunRecord, SQLiteRunStore


class _Transport:
    """What the protocol and its cycle use of a transport; records the writes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


async def _app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
    return None


def _config() -> uvicorn.Config:
    config = uvicorn.Config(_app, http=LeanHttpToolsProtocol, log_level="warning")
    config.load()
    return config


async def test_the_protocol_holds_what_uvicorns_holds_without_a_logger_lookup_a_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    config, state = _config(), ServerState()
    theirs = HttpToolsProtocol(config, state, {}, _loop=loop)
    asked: list[str | None] = []
    real = logging.getLogger
    monkeypatch.setattr(logging, "getLogger", lambda name=None: asked.append(name) or real(name))
    ours = LeanHttpToolsProtocol(config, state, {}, _loop=loop)
    assert asked == []  # uvicorn's asks for "uvicorn.error" and "uvicorn.access" each time
    assert set(vars(ours)) == set(vars(theirs))
    for name, value in vars(theirs).items():
        if name in ("parser", "pipeline", "app"):
            continue  # its own parser; a list for the deque; the proxy as a plain function
        assert getattr(ours, name) == value, name
    assert ours.logger is real("uvicorn.error") and ours.access_logger is real("uvicorn.access")


def _cycles(
    headers: list[Any], *, keep_alive: bool = True, method: str = "POST"
) -> tuple[tuple[RequestResponseCycle, _Transport], tuple[LeanCycle, _Transport]]:
    """uvicorn's cycle and ours for one request, each over a recording transport."""
    out: list[Any] = []
    for lean in (False, True):
        transport = _Transport()
        scope = {"method": method, "http_version": "1.1", "client": None, "path": "/"}
        flow = http_protocol.FlowControl(transport)  # type: ignore[arg-type]
        args = (scope, transport, flow, logging.getLogger("t"), logging.getLogger("t"), False,
                list(headers))  # fmt: skip
        if lean:
            cycle: Any = LeanCycle(*args, False, keep_alive, lambda: None)
        else:
            cycle = RequestResponseCycle(
                *args,
                asyncio.Event(),
                False,
                keep_alive,
                lambda: None,  # type: ignore[arg-type]
            )
        out.append((cycle, transport))
    return out[0], out[1]


SSE = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"Cache-Control", b"no-store"),
    (b"connection", b"keep-alive"),
]
TWO = [{"body": b"data: 1\n\n", "more_body": True}, {"body": b"data: 2\n\n"}]
RESPONSES: list[tuple[str, list[Any], list[dict[str, Any]], dict[str, Any]]] = [
    ("sse", SSE, TWO, {}),
    ("sse, client said close", SSE, TWO, {"keep_alive": False}),
    ("sized", [(b"Content-Length", b"5")], [{"body": b"hello"}], {}),
    ("close", [(b"content-length", b"2"), (b"Connection", b"Close, x")], [{"body": b"ok"}], {}),
    ("chunked", [(b"transfer-encoding", b"CHUNKED")], [{"body": b"ab", "more_body": True}], {}),
    ("head", [(b"content-type", b"text/plain")], [{"body": b""}], {"method": "HEAD"}),
    ("lists", [[b"x-list", b"1"], (bytearray(b"x-ba"), bytearray(b"2"))], [{"body": b"z"}], {}),
]
IDS = [r[0] for r in RESPONSES]


@pytest.mark.parametrize("headers, bodies, how", [r[1:] for r in RESPONSES], ids=IDS)
async def test_a_response_is_written_byte_for_byte_as_uvicorns_cycle_writes_it(
    headers: list[Any], bodies: list[dict[str, Any]], how: dict[str, Any]
) -> None:
    for status in (200, 204, 404):
        for _ in range(2):  # the second time from the checked pairs
            (theirs, t1), (ours, t2) = _cycles(headers, **how)
            for cycle in (theirs, ours):
                await cycle.send({"type": "http.response.start", "status": status,
                                  "headers": headers})  # fmt: skip
                for b in bodies if status != 204 else [{"body": b""}]:
                    # A body past its length: both refuse it alike (the writes compared below).
                    with contextlib.suppress(RuntimeError):
                        await cycle.send({"type": "http.response.body", **b})
            assert t2.writes == t1.writes, (status, t1.writes)
            assert (ours.keep_alive, ours.response_complete, t2.closed) == (
                theirs.keep_alive, theirs.response_complete, t1.closed)  # fmt: skip
    assert type(ours.message_event) is Signal and ours.on_gone is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "pair", [(b"bad name", b"v"), (b"x-ok", b"line\nbreak"), (b"x-ok", b"nul\x00")]
)
async def test_a_bad_header_is_refused_every_time_as_uvicorn_refuses_it(
    pair: tuple[bytes, bytes],
) -> None:
    for _ in range(2):  # never remembered as checked
        (theirs, _t1), (ours, t2) = _cycles([])
        errors = []
        for cycle in (theirs, ours):
            with pytest.raises(RuntimeError) as caught:
                await cycle.send({"type": "http.response.start", "status": 200, "headers": [pair]})
            errors.append(str(caught.value))
        assert errors[0] == errors[1] and t2.writes == []
    assert pair not in http_protocol._CHECKED


async def test_messages_out_of_order_are_refused_as_uvicorn_refuses_them() -> None:
    (theirs, _), (ours, _) = _cycles([])
    for cycle in (theirs, ours):
        with pytest.raises(RuntimeError, match=r"Expected ASGI message 'http\.response\.start'"):
            await cycle.send({"type": "http.response.body", "body": b""})
        await cycle.send({"type": "http.response.start", "status": 200, "headers": []})
        with pytest.raises(RuntimeError, match=r"Expected ASGI message 'http\.response\.body'"):
            await cycle.send({"type": "http.response.start", "status": 200})
        await cycle.send({"type": "http.response.body", "body": b""})
        with pytest.raises(RuntimeError, match="after response already completed"):
            await cycle.send({"type": "http.response.body", "body": b""})


async def test_the_checked_pairs_are_bounded() -> None:
    for i in range(http_protocol._CHECKED_KEPT + 10):
        (_, _), (ours, _) = _cycles([])
        await ours.send({"type": "http.response.start", "status": 200,
                         "headers": [(b"x-n", str(i).encode())]})  # fmt: skip
        assert len(http_protocol._CHECKED) <= http_protocol._CHECKED_KEPT


class _CountingStore(SQLiteRunStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[set[str]] = []
        self.stored = asyncio.Event()

    async def store_batch(self, runs: Any, events: Any, epochs: Any, outbox: Any = None) -> Any:
        self.batches.append({r.run_id for r in runs})
        self.stored.set()
        return await super().store_batch(runs, events, epochs, outbox)


async def test_runs_ending_in_the_flushers_wake_turn_and_the_next_go_in_one_flush(
    tmp_path: Path,
) -> None:
    store = _CountingStore(tmp_path / "runs.sqlite3")
    await store.open()
    mux = EventMux(store, interval=3600)  # only a wake flushes
    await mux.start()
    try:
        for run_id in ("a", "b"):
            mux.open(RunRecord(run_id=run_id, query="q", created_at=time.time()))
        await mux.flush()
        store.batches.clear()
        store.stored.clear()
        loop = asyncio.get_running_loop()
        mux.publish("a", "done", {"status": "completed"})
        mux.close("a", "completed", None)  # wakes the flusher: it runs at the next turn
        # ... where "b" ends too, ahead of it in that turn's callbacks
        loop.call_soon(lambda: (mux.publish("b", "done", {"status": "completed"}),
                                mux.close("b", "completed", None)))  # fmt: skip
        async with asyncio.timeout(5):
            await store.stored.wait()
        assert store.batches[0] == {"a", "b"}  # one flush for both
    finally:
        await mux.stop()
        await store.close()
