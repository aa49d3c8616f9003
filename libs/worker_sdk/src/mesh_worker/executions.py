"""Executions by idempotency key: a repeated call re-attaches or replays, never runs again.

Framework-free. The orchestrator sends every call with an ``Idempotency-Key`` header
(``<run>:<task>:<attempt>@<epoch>``): the same key for a retry after a lost response, and for a
replica that takes up the run and asks again. ``Executions`` remembers the recent keys of
this instance (at most ``max_entries``, each for ``ttl_seconds`` after it ended; a running
one is never forgotten) with the events each run emitted. A call with a key it knows gets
those events from the first one (``follow``): live while the run goes on (re-attached),
replayed once it has ended; the run is never started a second time. ``state`` answers
``GET /executions/{key}``: ``running``, ``finished`` or ``unknown``.

A keyed run belongs to its execution, not to the request that started it: it goes on while
at least one caller follows it, and is cancelled when the last one leaves and none comes
back within ``detach_grace_seconds`` (0: at once, as an unkeyed call is). A cancelled run
stays remembered as finished (``cancelled``): a later call with its key replays what it
emitted and its ``cancelled`` error, and does not start it again.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Coroutine
from typing import Any

from mesh_contracts import ErrorEvent, WorkerEvent

log = logging.getLogger(__name__)

#: The header that carries the key, and its bounds.
HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 256
#: Events kept per execution for a replay; past it the tokens are dropped from the replay
#: log (the result and errors are always kept), so a replay still ends the same way. A
#: follower attached while the run goes on gets every event, however many.
MAX_EVENTS = 4096
#: Events a live follower may have waiting before the run's next event waits for it: the
#: back-pressure of a slow caller reaches the run, as it does without a key.
LIVE_BACKLOG = 256

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mesh_execution_key", default=None
)


def execution_key() -> str | None:
    """The idempotency key of the call being run (inside ``Worker.run``), or None."""
    return _current.get()


class BadKey(ValueError):
    """An ``Idempotency-Key`` that is too long or not printable ASCII."""


def check_key(raw: str | None) -> str | None:
    """The header's value as a key (None when absent); ``BadKey`` when malformed."""
    if raw is None:
        return None
    if not raw or len(raw) > MAX_KEY_CHARS or not raw.isascii() or not raw.isprintable():
        raise BadKey(f"{HEADER} must be 1 to {MAX_KEY_CHARS} printable ASCII characters")
    return raw


class Execution:
    """One keyed run: its events so far, whether it has ended, who follows it."""

    def __init__(self, key: str, task_id: str) -> None:
        self.key = key
        self.task_id = task_id
        self.started_at = time.time()
        self.ended_at: float | None = None
        self.outcome: str | None = None  # completed | failed | timeout | cancelled | ...
        self.events: list[WorkerEvent] = []
        # An /invoke's answer, repeated as is: its HTTP status and JSON body.
        self.answer: tuple[int, dict[str, Any]] | None = None
        self.followers = 0
        self.runner: asyncio.Task[Any] | None = None
        # Who waits for the next change: woken and dropped by ``_wake`` (no allocation per
        # event while nobody waits, which is most events of a busy stream).
        self._waiters: list[asyncio.Future[None]] = []
        self._dropped = 0
        # One queue per live follower: what it has not taken yet (see ``attach``).
        self._live: list[list[WorkerEvent]] = []

    @property
    def finished(self) -> bool:
        return self.ended_at is not None

    def add(self, event: WorkerEvent) -> None:
        self.add_many((event,))

    def add_many(self, events: list[WorkerEvent] | tuple[WorkerEvent, ...]) -> None:
        """``add`` of several events in order, with one wake of the followers."""
        for queue in self._live:
            queue.extend(events)
        kept = self.events
        if len(kept) + len(events) <= MAX_EVENTS:
            kept.extend(events)
        else:
            for event in events:
                if len(kept) >= MAX_EVENTS and event.type == "token":
                    self._dropped += 1
                else:
                    kept.append(event)
        self._wake()

    def attach(self) -> list[WorkerEvent]:
        """A new follower's queue: the events kept so far, then every live event as added
        (the follower empties it in place)."""
        queue = list(self.events)
        self._live.append(queue)
        return queue

    def detach(self, queue: list[WorkerEvent]) -> None:
        self._live = [q for q in self._live if q is not queue]
        self._wake()  # a run waiting on this follower's backlog goes on

    def backlog(self) -> int:
        """The most events a live follower has waiting."""
        return max(map(len, self._live), default=0)

    def taken(self) -> None:
        """A follower emptied its queue: a run waiting on its backlog goes on."""
        self._wake()

    def end(self, outcome: str) -> None:
        if self.ended_at is None:
            self.ended_at = time.time()
            self.outcome = outcome
            self._wake()

    def _wake(self) -> None:
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def wait_change(self) -> None:
        w = asyncio.get_running_loop().create_future()
        self._waiters.append(w)
        await w

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "task_id": self.task_id,
            "state": "finished" if self.finished else "running",
            "outcome": self.outcome,
            "events": len(self.events),
            "followers": self.followers,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }


class Executions:
    """This instance's recent keyed executions (see the module docstring)."""

    def __init__(
        self,
        *,
        max_entries: int = 1024,
        ttl_seconds: float = 900.0,
        detach_grace_seconds: float = 0.0,
    ) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.detach_grace_seconds = detach_grace_seconds
        self._entries: OrderedDict[str, Execution] = OrderedDict()
        self.started = 0  # runs started under a key (metrics, tests)
        self.repeated = 0  # calls answered from a known key (re-attached or replayed)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Execution | None:
        self._expire()
        ex = self._entries.get(key)
        if ex is not None:
            self._entries.move_to_end(key)
        return ex

    def state(self, key: str) -> dict[str, Any]:
        ex = self.get(key)
        return ex.describe() if ex is not None else {"key": key, "state": "unknown"}

    def open(self, key: str, task_id: str) -> Execution:
        """Remember a new execution under ``key`` (the caller starts its runner)."""
        ex = Execution(key, task_id)
        self._entries[key] = ex
        self.started += 1
        self._expire()
        return ex

    def _expire(self) -> None:
        now = time.time()
        for key in [
            k
            for k, ex in self._entries.items()
            if ex.ended_at is not None and now - ex.ended_at > self.ttl_seconds
        ]:
            del self._entries[key]
        if len(self._entries) <= self.max_entries:
            return
        # Oldest finished first; a running execution is never forgotten (the slots bound them).
        for key in [k for k, ex in self._entries.items() if ex.finished]:
            if len(self._entries) <= self.max_entries:
                break
            del self._entries[key]

    def run_stream(
        self, ex: Execution, events: AsyncGenerator[list[WorkerEvent], None]
    ) -> asyncio.Task[None]:
        """Drive ``events`` (``stream_event_batches`` of the run) into ``ex`` in a task of
        its own, with the key visible to the run (``execution_key``)."""

        async def drive() -> None:
            outcome = "cancelled"
            try:
                async for batch in events:
                    ex.add_many(batch)
                    while ex.backlog() > LIVE_BACKLOG:
                        await ex.wait_change()
                outcome = _stream_outcome(ex)
            except asyncio.CancelledError:
                ex.add(ErrorEvent(error="cancelled: its caller went away", code="cancelled"))
                raise
            finally:
                await events.aclose()
                ex.end(outcome)

        return _start(ex, drive())

    def run_call(
        self, ex: Execution, call: Coroutine[Any, Any, tuple[int, dict[str, Any]]]
    ) -> asyncio.Task[None]:
        """Drive ``call`` (an /invoke: its status and JSON body) into ``ex`` in a task of
        its own, with the key visible to the run."""

        async def drive() -> None:
            try:
                ex.answer = await call
            except asyncio.CancelledError:
                ex.answer = (499, _failure("cancelled: its caller went away"))
                ex.end("cancelled")
                raise
            ex.end("completed" if ex.answer[0] == 200 else "failed")

        return _start(ex, drive())

    async def answer(self, ex: Execution) -> tuple[int, dict[str, Any]]:
        """The /invoke answer of ``ex``, waiting for it while it runs. Leaving (the request
        cancelled) may cancel the run, as ``follow`` does."""
        ex.followers += 1
        try:
            while not ex.finished:
                await ex.wait_change()
        finally:
            ex.followers -= 1
            if ex.followers == 0 and not ex.finished:
                self._detached(ex)
        return ex.answer or (500, _failure("the execution left no answer"))

    async def follow(self, ex: Execution) -> AsyncGenerator[WorkerEvent, None]:
        """Every event of ``ex`` from its first, live until it ends. Leaving (closing this
        iterator) may cancel the run: when no one else follows it, after the grace."""
        batches = self.follow_batches(ex)
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            await batches.aclose()

    async def follow_batches(self, ex: Execution) -> AsyncGenerator[list[WorkerEvent], None]:
        """``follow``'s events in lists: every event added since the follower last took
        (never a wait for more), so that a writer sends them in one write."""
        ex.followers += 1
        queue = ex.attach()
        try:
            while True:
                if queue:
                    batch = queue[:]
                    del queue[:]
                    ex.taken()
                    yield batch
                elif ex.finished:
                    return
                else:
                    await ex.wait_change()
        finally:
            ex.detach(queue)
            ex.followers -= 1
            if ex.followers == 0 and not ex.finished:
                self._detached(ex)

    def _detached(self, ex: Execution) -> None:
        runner = ex.runner
        if runner is None or runner.done():
            return
        if self.detach_grace_seconds <= 0:
            runner.cancel()
            return

        def maybe_cancel() -> None:
            if ex.followers == 0 and not runner.done():
                log.info("execution %s: no caller came back; cancelling it", ex.key)
                runner.cancel()

        asyncio.get_running_loop().call_later(self.detach_grace_seconds, maybe_cancel)


def _failure(message: str) -> dict[str, Any]:
    return {"error": message, "detail": message}


def _stream_outcome(ex: Execution) -> str:
    errors = [e for e in ex.events if isinstance(e, ErrorEvent)]
    if not errors:
        return "completed"
    code = errors[-1].code
    return code if code in ("timeout", "invalid_input") else "failed"


def _start(ex: Execution, drive: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """``drive`` as ``ex``'s runner task, with the key visible to the run (``_current``)."""
    token = _current.set(ex.key)
    try:
        runner = ex.runner = asyncio.create_task(drive, name=f"execution-{ex.key}")
    finally:
        _current.reset(token)
    return runner
