"""First blocks ahead of floods, last blocks with the end (``bench/README.md``, "Round 12:
first token under concurrency"): a worker call's first block, in and not yet relayed, goes before a later block
of another call that came in the same turn of the loop; a later block is held for it once,
and never past ``HOLD_SECONDS`` (a starter whose relaying stalls holds no flood for long);
nothing is lost, and the count of starters is back to none once the calls end. A call's last
block goes to the client with the call's end (one write) when its first token went out
before; a first token never waits for the end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

import httpx
import pytest

from mesh_contracts import AgentDescriptor, SubTask, TaskRequest
from mesh_orchestrator.relay import calls as calls_module
from mesh_orchestrator.relay import stream_client
from mesh_orchestrator.relay.calls import WorkerCalls
from mesh_orchestrator.relay.stream_client import STARTERS, StreamResponse, _Connection
from mesh_orchestrator.relay.worker_client import Relayable

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
GUARD_SECONDS = 30.0  # liveness only: no figure of time is asserted


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Transport:
    def is_closing(self) -> bool:
        return False

    def close(self) -> None: ...

    def resume_reading(self) -> None: ...

    def pause_reading(self) -> None: ...


def _connection() -> _Connection:
    conn = _Connection()
    conn.connection_made(_Transport())  # type: ignore[arg-type]
    conn.data_received(HEAD)
    assert conn.headers_done
    return conn


async def _turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


class _Reader:
    """A worker call's read: each block relayed (noted in ``seen``) as it is handed out;
    ``stall_after_first``: the relaying of its first block does not come back."""

    def __init__(self, name: str, conn: _Connection, seen: list[tuple[str, bytes]]) -> None:
        self.name, self.conn, self.seen = name, conn, seen
        self.stall = asyncio.Event()
        self.stall.set()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        blocks = StreamResponse(self.conn).blocks(gather=True)
        try:
            async for block in blocks:
                self.seen.append((self.name, block))
                await self.stall.wait()
        finally:
            await blocks.aclose()


@pytest.fixture(autouse=True)
def _no_starters() -> None:
    assert STARTERS.count == 0


def _not_busy(conn: _Connection) -> None:
    """Its last block taken long ago: a flowing stream's gathering wait (``GATHER_SECONDS``)
    is not what these tests read."""
    conn.taken_at = time.monotonic() - 1.0


async def test_a_first_block_goes_before_a_flood_block_of_the_same_turn() -> None:
    seen: list[tuple[str, bytes]] = []
    flood = _connection()
    a = _Reader("flood", flood, seen)
    flood.data_received(_chunk(b"a1"))
    await _turns()
    starter = _connection()
    b = _Reader("starter", starter, seen)
    await _turns()
    assert seen == [("flood", b"a1")]
    # The flood's next block comes first, in the same turn as the starter's first one.
    _not_busy(flood)
    flood.data_received(_chunk(b"a2"))
    starter.data_received(_chunk(b"b1"))
    assert STARTERS.count == 1
    await asyncio.wait_for(_until(lambda: len(seen) == 3), GUARD_SECONDS)
    assert seen == [("flood", b"a1"), ("starter", b"b1"), ("flood", b"a2")]
    assert STARTERS.count == 0
    for conn in (flood, starter):
        conn.data_received(b"0\r\n\r\n")
    await asyncio.wait_for(asyncio.gather(a.task, b.task), GUARD_SECONDS)
    assert STARTERS.count == 0


async def test_a_starter_that_stalls_holds_a_flood_no_longer_than_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream_client, "HOLD_SECONDS", 0.001)
    seen: list[tuple[str, bytes]] = []
    flood = _connection()
    a = _Reader("flood", flood, seen)
    flood.data_received(_chunk(b"a1"))
    await _turns()
    starter = _connection()
    b = _Reader("starter", starter, seen)
    b.stall.clear()  # its first block's relaying never comes back: it stays a starter
    await _turns()
    starter.data_received(_chunk(b"b1"))
    await _turns()
    assert ("starter", b"b1") in seen and STARTERS.count == 1
    for i in range(2, 5):  # every later block of the flood still goes
        _not_busy(flood)
        flood.data_received(_chunk(b"a%d" % i))
        await asyncio.wait_for(_until(lambda i=i: ("flood", b"a%d" % i) in seen), GUARD_SECONDS)
    assert [blk for name, blk in seen if name == "flood"] == [b"a1", b"a2", b"a3", b"a4"]
    b.task.cancel()  # the call ends unrelayed: it is a starter no more
    await asyncio.gather(b.task, return_exceptions=True)
    assert STARTERS.count == 0
    flood.data_received(b"0\r\n\r\n")
    await asyncio.wait_for(a.task, GUARD_SECONDS)


async def test_a_first_block_with_the_headers_is_no_starter() -> None:
    """Bytes that came before the read began are taken at once: nothing waits for them."""
    seen: list[tuple[str, bytes]] = []
    conn = _Connection()
    conn.connection_made(_Transport())  # type: ignore[arg-type]
    conn.data_received(HEAD + _chunk(b"x1"))
    r = _Reader("r", conn, seen)
    await _turns()
    assert seen == [("r", b"x1")] and STARTERS.count == 0
    conn.data_received(_chunk(b"x2") + b"0\r\n\r\n")
    await asyncio.wait_for(r.task, GUARD_SECONDS)
    assert seen == [("r", b"x1"), ("r", b"x2")] and STARTERS.count == 0


async def _until(cond: Any) -> None:
    """Turns of the loop (and short sleeps: a held block waits on a timer) until ``cond``."""
    for _ in range(1_000_000):
        if cond():
            return
        await asyncio.sleep(0.0005)


def test_the_hold_is_short() -> None:
    assert 0 < stream_client.HOLD_SECONDS <= 0.005
    assert time.monotonic() > 0  # ``taken_at >= 0`` tells a later block from a first


# -- the last block of a call goes with the call's end (``relay.calls``)

AGENT = AgentDescriptor(
    agent_id="w", description="d", capabilities=["c"], endpoint="http://127.0.0.1:1"
)


class _Resolver:
    def acquire(self, instance_id: str) -> None: ...
    def release(self, instance_id: str) -> None: ...
    def succeeded(self, instance_id: str) -> None: ...
    def failed(self, instance_id: str, reason: str) -> None: ...
    def explain(self, task: SubTask) -> list[dict[str, Any]]:
        return []


class _Emitter:
    """What the call emits; each relayed block wakes a "subscriber" (a callback on the loop,
    as a subscription's push wakes the stream's task) that notes what was emitted by the
    time it ran: one note, one write to the client."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.seen_by_subscriber: list[list[str]] = []

    def emit(self, payload: Any, task_id: str | None = None, agent_id: str | None = None) -> None:
        status = payload.data().get("status")
        self.types.append(f"{payload.TYPE}:{status}" if status else payload.TYPE)

    def relay_many(self, items: Any, task_id: str | None, agent_id: str | None) -> None:
        self.types += [t for t, _ in items]
        asyncio.get_running_loop().call_soon(
            lambda: self.seen_by_subscriber.append(list(self.types))
        )


async def _call(blocks: list[list[Relayable]], monkeypatch: pytest.MonkeyPatch) -> _Emitter:
    async def worker(
        http: Any, d: Any, request: Any, on_accepted: Any, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[list[Relayable]]:
        on_accepted()
        for i, block in enumerate(blocks):
            if i:
                await asyncio.sleep(0)  # the next block is read in a later turn
            yield block

    monkeypatch.setattr(calls_module, "call_worker_batches", worker)
    async with httpx.AsyncClient() as http:
        calls = WorkerCalls(http, _Resolver(), stream_client="httpx")  # type: ignore[arg-type]
        try:
            emit = _Emitter()
            task = SubTask(task_id="t", capability="c")
            outcome = await calls.call(task, AGENT, TaskRequest(task_id="t"), emit)  # type: ignore[arg-type]
        finally:
            await calls.aclose()
    assert outcome.status == "completed"
    await _turns()
    return emit


async def test_a_calls_last_block_goes_with_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    emit = await _call(
        [[("token", {"token": "a"})], [("token", {"token": "b"}), ("token", {"token": "c"})]],
        monkeypatch,
    )
    first, last = emit.seen_by_subscriber
    assert first == ["status:running", "token"]  # the first token alone, at once
    assert last == emit.types and last[-1] == "status:completed"  # the rest with the end
    assert last.count("token") == 3  # nothing lost


async def test_a_first_token_in_a_later_last_block_still_goes_before_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A call whose first block had no token (a progress note) and whose answer came in
    one later block with its end: the tokens are written before the end is worked out."""
    emit = await _call(
        [[("progress", {"message": "thinking"})], [("token", {"token": "a"})]], monkeypatch
    )
    assert emit.seen_by_subscriber[-1][-1] == "token"
    assert "status:completed" not in emit.seen_by_subscriber[-1]
