"""The running loop looked up once a stream and once a deadline, not once a write or a
wait: ``asyncio.get_running_loop()`` makes a ``getpid`` system call every time on Python
3.11 (its check that the process did not fork), ~16 of them a pinned run before round 11's
second part. Counted here by wrapping the lookup (the counts are of calls, not of time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sse_starlette.sse import AppStatus
from starlette.types import Message

from mesh_orchestrator.api import sse
from mesh_orchestrator.api.sse import RunStream
from mesh_orchestrator.relay.timers import Deadline
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.mux import Subscription

DEADLINE = 5.0
WATCHED = ("mesh_orchestrator/api/sse.py", "mesh_orchestrator/runs/mux.py",
           "mesh_orchestrator/relay/timers.py", "asyncio/tasks.py")  # fmt: skip


class Lookups:
    """Calls of ``asyncio.get_running_loop`` (the one ``asyncio.current_task`` makes too)
    from the watched files, by file."""

    def __init__(self) -> None:
        self.by: dict[str, int] = {}

    def wrap(self, real: Any) -> Any:
        import sys

        def counted() -> Any:
            name = sys._getframe(1).f_code.co_filename.replace("\\", "/")
            for w in WATCHED:
                if name.endswith(w):
                    self.by[w] = self.by.get(w, 0) + 1
            return real()

        return counted

    @property
    def total(self) -> int:
        return sum(self.by.values())


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lookups]:
    found = Lookups()
    counted = found.wrap(asyncio.get_running_loop)
    monkeypatch.setattr(asyncio, "get_running_loop", counted)
    monkeypatch.setattr(asyncio.events, "get_running_loop", counted)
    assert not AppStatus.should_exit
    yield found
    AppStatus.should_exit = False


def event(seq: int) -> RelayedEvent:
    return RelayedEvent("run-1", seq, "token", "t1", "writer", {"token": f"w{seq}"}, time.time())


class Client:
    def __init__(self) -> None:
        self.scope: dict[str, Any] = {"type": "http", "method": "POST", "headers": []}
        self.sent: list[Message] = []
        self.got = asyncio.Event()

    async def receive(self) -> Message:
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self.got.set()

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


async def _waiting(sub: Subscription) -> None:
    """Until the stream waits on ``sub`` (a few turns of the loop)."""
    for _ in range(10_000):
        if sub.waiter is not None:
            return
        await asyncio.sleep(0)
    raise AssertionError("the stream never waited on its subscription")


async def _stream_of(batches: int, lookups: Lookups) -> tuple[Client, dict[str, int]]:
    """A stream over a live subscription that gets ``batches`` batches, one write each
    (the reader waits for each), then the run's end."""
    sub, client = Subscription([event(1)]), Client()
    stream = RunStream(sub, ping_seconds=5.0, on_end=lambda: None)
    task = asyncio.create_task(stream(client.scope, client.receive, client.send))
    async with asyncio.timeout(DEADLINE):
        while b"w1" not in client.body():
            client.got.clear()
            await client.got.wait()
        before = dict(lookups.by)
        lookups.by.clear()  # the test's own (its task, its timeout) left out from here
        for seq in range(2, batches + 2):
            await _waiting(sub)  # the stream waits on the subscription again
            sub.push(event(seq))
            while b"w%d" % seq not in client.body():
                client.got.clear()
                await client.got.wait()
        await _waiting(sub)
        # Our files' (the pinging watcher's ``asyncio.sleep`` looks it up in asyncio,
        # once a tick for every stream of the loop).
        during = {k: v for k, v in lookups.by.items() if "mesh_orchestrator" in k}
        sub.close()
        await task
    assert before.get("mesh_orchestrator/api/sse.py") == 1, before  # the stream's start
    return client, during


async def test_a_streams_writes_and_waits_look_the_loop_up_once_in_all(lookups: Lookups) -> None:
    client, during = await _stream_of(6, lookups)
    body = client.body()
    assert all(b"id: %d\n" % i in body for i in range(1, 8))
    # Six writes and six waits on the subscription after the first write: no lookup for
    # any (``_write``'s time, ``take``'s future); the stream's one was at its start.
    assert during == {}, during


async def test_a_stream_with_more_batches_makes_no_more_lookups(lookups: Lookups) -> None:
    _, few = await _stream_of(2, lookups)
    lookups.by.clear()
    _, many = await _stream_of(12, lookups)
    assert few == many


async def test_a_deadline_looks_the_loop_up_once(lookups: Lookups) -> None:
    async with Deadline(30.0) as d:
        entered = dict(lookups.by)
        assert d.task is asyncio.current_task(asyncio.get_running_loop())
    # ``current_task`` without the loop would look it up again (in asyncio).
    assert entered == {"mesh_orchestrator/relay/timers.py": 1}, entered
    lookups.by.clear()
    async with Deadline(None):  # never: no lookup at all
        pass
    assert lookups.total == 0


async def test_the_watchers_clock_and_a_writes_clock_are_one(lookups: Lookups) -> None:
    """A stream's last write and the pinging watcher's now are read on one clock (the
    monotonic one), so a ping is due ``ping_seconds`` after a write."""
    assert sse._clock is time.monotonic
    sub, client = Subscription([event(1)]), Client()
    stream = RunStream(sub, ping_seconds=5.0, on_end=lambda: None)
    task = asyncio.create_task(stream(client.scope, client.receive, client.send))
    async with asyncio.timeout(DEADLINE):
        while b"w1" not in client.body():
            client.got.clear()
            await client.got.wait()
    wrote = stream._wrote
    assert abs(time.monotonic() - wrote) < 5.0
    stream.ping_if_due(wrote + 1.0)  # not due
    assert stream._pinging is None
    stream.ping_if_due(wrote + 5.0)  # due
    assert stream._pinging is not None
    sub.close()
    await asyncio.wait_for(task, DEADLINE)
