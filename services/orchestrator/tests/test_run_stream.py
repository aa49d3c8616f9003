"""``RunStream``, the run's SSE response, driven as an ASGI app over a real ``Subscription``:
frames in order, pings while quiet, the client leaving, server shutdown, HEAD."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sse_starlette.sse import AppStatus
from starlette.types import Message

from mesh_auth import Principal
from mesh_orchestrator.api.sse import PING, RunStream
from mesh_orchestrator.caps import StreamCaps
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.mux import Subscription

DEADLINE = 5.0


def event(seq: int) -> RelayedEvent:
    return RelayedEvent("run-1", seq, "token", "t1", "writer", {"token": f"w{seq}"}, time.time())


class Client:
    """The server side of one ASGI HTTP request: what the response sent, and a receive
    channel the test can push ``http.disconnect`` into."""

    def __init__(self, method: str = "POST") -> None:
        self.scope: dict[str, Any] = {"type": "http", "method": method, "headers": []}
        self.sent: list[Message] = []
        self.got = asyncio.Event()
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()

    async def receive(self) -> Message:
        return await self.inbox.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self.got.set()

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    def ended(self) -> bool:
        last = self.sent[-1] if self.sent else {}
        return last.get("type") == "http.response.body" and not last.get("more_body", False)

    async def until(self, what: str, check: Any) -> None:
        async with asyncio.timeout(DEADLINE):
            while not check():
                self.got.clear()
                await self.got.wait()


class Ends:
    def __init__(self) -> None:
        self.ended = 0
        self.left = 0

    def end(self) -> None:
        self.ended += 1

    def leave(self) -> None:
        self.left += 1


@pytest.fixture
def no_exit() -> Iterator[None]:
    assert not AppStatus.should_exit
    yield
    AppStatus.should_exit = False


async def test_frames_go_out_in_order_and_the_stream_ends_with_the_run(no_exit: None) -> None:
    sub, ends, client = Subscription([event(1)]), Ends(), Client()
    stream = RunStream(sub, ping_seconds=5.0, on_end=ends.end)
    task = asyncio.create_task(stream(client.scope, client.receive, client.send))
    await client.until("the first frame", lambda: b"w1" in client.body())
    sub.push(event(2))
    sub.push(event(3))
    sub.close()  # the run ended
    await asyncio.wait_for(task, DEADLINE)
    start = client.sent[0]
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    body = client.body()
    assert [body.index(b"id: %d\n" % i) for i in (1, 2, 3)] == sorted(
        body.index(b"id: %d\n" % i) for i in (1, 2, 3)
    )
    assert body.count(b"\n\n") == 3 and client.ended() and ends.ended == 1


async def test_a_quiet_run_gets_pings_and_no_more_than_one_per_interval(no_exit: None) -> None:
    sub, ends, client = Subscription([]), Ends(), Client()
    stream = RunStream(sub, ping_seconds=0.05, on_end=ends.end)
    task = asyncio.create_task(stream(client.scope, client.receive, client.send))
    await client.until("two pings", lambda: client.body().count(PING) >= 2)
    started = time.monotonic()
    await client.until("a third", lambda: client.body().count(PING) >= 3)
    assert time.monotonic() - started >= 0.03  # one interval apart, not back to back
    sub.close()
    await asyncio.wait_for(task, DEADLINE)
    assert client.ended() and ends.ended == 1


async def test_quiet_streams_are_pinged_by_one_watcher_and_hold_no_timer_each(
    no_exit: None,
) -> None:
    """Every open stream's pings come from the loop's one watcher task (a timer per stream
    held ~0.6 KB of it), each stream on its own interval."""
    subs = [Subscription([]) for _ in range(3)]
    clients = [Client() for _ in subs]
    streams = [RunStream(s, ping_seconds=0.05, on_end=Ends().end) for s in subs]
    slow = RunStream(Subscription([]), ping_seconds=60.0, on_end=Ends().end)
    slow_client = Client()
    tasks = [
        asyncio.create_task(st(c.scope, c.receive, c.send))
        for st, c in [*zip(streams, clients, strict=True), (slow, slow_client)]
    ]
    for c in clients:
        await c.until("two pings", lambda c=c: c.body().count(PING) >= 2)
    watchers = [t for t in asyncio.all_tasks() if t.get_name() == "sse-exit-watch"]
    assert len(watchers) == 1
    assert not any(isinstance(v, asyncio.TimerHandle) for st in streams for v in vars(st).values())
    assert PING not in slow_client.body()  # its interval is its own
    for sub in [*subs, slow.feed]:
        sub.close()
    await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)


async def test_the_client_leaving_runs_on_disconnect_and_ends_the_stream_at_once(
    no_exit: None,
) -> None:
    sub, ends, client = Subscription([event(1)]), Ends(), Client()
    stream = RunStream(sub, ping_seconds=5.0, on_end=ends.end, on_disconnect=ends.leave)
    task = asyncio.create_task(stream(client.scope, client.receive, client.send))
    await client.until("the first frame", lambda: b"w1" in client.body())
    await client.inbox.put({"type": "http.disconnect"})
    await asyncio.wait_for(task, DEADLINE)  # the run goes on; its stream here does not
    assert (ends.left, ends.ended) == (1, 1)
    assert sub.closed and not client.ended()  # nothing more is written to a gone client


async def test_server_shutdown_ends_every_open_stream(no_exit: None) -> None:
    ends = Ends()
    clients = [Client() for _ in range(3)]
    tasks = [
        asyncio.create_task(
            RunStream(Subscription([event(1)]), ping_seconds=5.0, on_end=ends.end)(
                c.scope, c.receive, c.send
            )
        )
        for c in clients
    ]
    for c in clients:
        await c.until("the first frame", lambda c=c: b"w1" in c.body())
    AppStatus.should_exit = True  # what sse-starlette's patch of uvicorn's exit handler sets
    await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    assert ends.ended == 3


async def test_head_sends_the_headers_and_no_stream(no_exit: None) -> None:
    sub, ends, client = Subscription([event(1)]), Ends(), Client("HEAD")
    await asyncio.wait_for(
        RunStream(sub, ping_seconds=5.0, on_end=ends.end)(
            client.scope, client.receive, client.send
        ),
        DEADLINE,
    )
    assert client.sent[0]["type"] == "http.response.start"
    assert client.body() == b"" and client.ended() and ends.ended == 1


async def test_a_stream_dropped_unsent_gives_its_slot_back_and_a_sent_one_only_ends(
    no_exit: None,
) -> None:
    """``on_unsent`` (what gives a stream's slot back, where a ``weakref.finalize`` per
    stream did) runs once for a response collected without being called, never for one
    that was called (``on_end`` is that one's)."""
    caps = StreamCaps(per_client=1, per_run=5, retry_after=1)
    caller = Principal(scope="client:alice")
    slot, ends = caps.open(caller), Ends()
    RunStream(Subscription([]), ping_seconds=5.0, on_end=ends.end, on_unsent=slot.close)
    gc.collect()
    assert not caps.clients and ends.ended == 0  # dropped unsent: the slot is back
    slot, client = caps.open(caller), Client()
    sub = Subscription([event(1)])
    stream = RunStream(sub, ping_seconds=5.0, on_end=ends.end, on_unsent=ends.leave)
    task = asyncio.create_task(stream(client.scope, client.receive, client.send))
    await client.until("the first frame", lambda: b"w1" in client.body())
    sub.close()
    await asyncio.wait_for(task, DEADLINE)
    del stream, task
    gc.collect()
    assert (ends.ended, ends.left) == (1, 0)
    slot.close()
