"""The stream multiplexer: numbers a run's events, fans them out live, persists them in batches.

It knows nothing of what events mean: the run service's projection (``runs.projection``)
keeps a run's record and node states, and calls ``touch`` when the row must be stored again.

``publish`` is synchronous and cheap (the hot path): it assigns the next ``seq``, appends the
event to the run's in-memory log, appends it to every subscription and queues it for the
background flusher, which writes batches to the run store every ``interval`` seconds or as
soon as ``batch`` events are waiting. A subscription's listener takes everything queued at
once (one write per batch, not per event), so a slow reader costs fewer writes, never a
delay: nothing waits for a batch to fill. Because ``publish`` and ``subscribe``'s snapshot
never await, a subscriber sees every event exactly once, in seq order, with no gap between
its replay and the live tail.

A run's channel leaves memory once the run has ended, its last events and final row are
stored and nobody listens; later readers are answered from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from mesh_contracts import RunStatus, StreamEventType
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store.base import RunRecord, RunStore

log = logging.getLogger(__name__)
MAX_BACKOFF = 5.0


class Subscription:
    """One listener's share of a run: events queued by ``publish``, taken in batches.

    At most ``limit`` live events wait for a reader: one that falls further behind (a
    client that reads slower than the run writes) is let go, ``overflowed`` set, and its
    stream ends without ``done``; the client resumes with ``Last-Event-ID`` from the log,
    which costs the run nothing while the client was away.
    """

    __slots__ = ("closed", "limit", "live", "overflowed", "pending", "waiter")

    def __init__(
        self, backlog: list[RelayedEvent], *, closed: bool = False, limit: int | None = None
    ) -> None:
        self.pending = backlog
        self.closed = closed
        self.limit = limit
        self.live = 0  # events pushed since the reader last took
        self.overflowed = False
        self.waiter: asyncio.Future[None] | None = None

    def push(self, e: RelayedEvent) -> None:
        if self.closed:
            return
        self.live += 1
        if self.limit is not None and self.live > self.limit:
            self.overflowed = True
            self.pending = []
            self.close()
            return
        self.pending.append(e)
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def close(self) -> None:
        self.closed = True
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def take(self, within: float | None = None) -> list[RelayedEvent] | None:
        """Every event queued now, waiting up to ``within`` seconds for the first one.

        Returns ``[]`` when the wait timed out, ``None`` once the run has ended and all of
        its events were taken.
        """
        if not self.pending:
            if self.closed:
                return None
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(within):
                    await self.waiter
            except TimeoutError:
                return []
            finally:
                self.waiter = None
            if not self.pending:
                return None if self.closed else []
        batch, self.pending = self.pending, []
        self.live = 0
        return batch


class RunChannel:
    """One run in memory: its record, its event log, its listeners."""

    __slots__ = ("closed", "events", "record", "subscribers")

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.events: list[RelayedEvent] = []
        self.subscribers: set[Subscription] = set()
        self.closed = False


class EventMux:
    """Every live run's channel plus the batch flusher. Start it, then ``open`` runs."""

    def __init__(
        self,
        store: RunStore,
        *,
        interval: float = 0.05,
        batch: int = 200,
        max_backlog: int | None = 10_000,
    ) -> None:
        self.store = store
        self.max_backlog = max_backlog
        self.interval = interval
        self.batch = batch
        self.channels: dict[str, RunChannel] = {}
        self._pending: list[RelayedEvent] = []
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="event-flusher")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    def open(self, record: RunRecord) -> RunChannel:
        """Hold a new run in memory; its row is stored by the next flush (not awaited here:
        the first event must not wait for a database round trip)."""
        ch = RunChannel(record)
        self.channels[record.run_id] = ch
        self._dirty.add(record.run_id)
        return ch

    def publish(
        self,
        run_id: str,
        type: StreamEventType,
        data: dict[str, Any] | None = None,
        task_id: str | None = None,
        agent_id: str | None = None,
    ) -> RelayedEvent:
        ch = self.channels[run_id]
        event = RelayedEvent(
            run_id, len(ch.events) + 1, type, task_id, agent_id, data or {}, time.time()
        )
        ch.events.append(event)
        ch.record.last_seq = event.seq
        for sub in ch.subscribers:
            sub.push(event)
        self._pending.append(event)
        if len(self._pending) >= self.batch:
            self._wake.set()
        return event

    def touch(self, run_id: str) -> None:
        """The run's record changed: store it with the next flush."""
        self._dirty.add(run_id)

    def close(self, run_id: str, status: RunStatus, answer: str | None) -> None:
        """The run ended (after its ``done`` event): release listeners, persist it soon."""
        ch = self.channels[run_id]
        ch.record.status = status
        ch.record.answer = answer
        ch.record.finished_at = time.time()
        ch.closed = True
        for sub in ch.subscribers:
            sub.close()
        ch.subscribers.clear()
        self._dirty.add(run_id)
        self._wake.set()

    def record(self, run_id: str) -> RunRecord | None:
        """The live record of a run in memory, else None (read-only: the run service's
        projection keeps it current)."""
        ch = self.channels.get(run_id)
        return None if ch is None else ch.record

    async def subscribe(self, run_id: str, after: int = 0) -> Subscription:
        """Events with seq > ``after``: replayed, then live until the run's end.

        Call ``unsubscribe`` when done listening to a live run.
        """
        ch = self.channels.get(run_id)
        if ch is None:
            stored = await self.store.events_after(run_id, after)
            return Subscription([RelayedEvent.of(e) for e in stored], closed=True)
        sub = Subscription(ch.events[max(0, after) :], closed=ch.closed, limit=self.max_backlog)
        if not ch.closed:
            ch.subscribers.add(sub)
        return sub

    def unsubscribe(self, run_id: str, sub: Subscription) -> None:
        ch = self.channels.get(run_id)
        if ch is not None:
            ch.subscribers.discard(sub)

    async def events(self, run_id: str, after: int = 0) -> AsyncIterator[RelayedEvent]:
        """``subscribe`` as one event at a time, until the run's end."""
        sub = await self.subscribe(run_id, after)
        try:
            while (batch := await sub.take()) is not None:
                for e in batch:
                    yield e
        finally:
            self.unsubscribe(run_id, sub)

    async def flush(self) -> bool:
        """Write pending events and dirty runs once; False (logged, all kept for the next
        try) when the store refused."""
        try:
            await self._flush_once()
        except Exception:
            log.exception(
                "could not persist %d events; kept for the next flush", len(self._pending)
            )
            return False
        return True

    async def _flush_once(self) -> None:
        """Write pending events and dirty runs; forget closed runs once they are stored.
        On a store error everything taken is put back first, then the error is raised."""
        events, self._pending = self._pending, []
        dirty, self._dirty = self._dirty, set()
        # Only runs already closed at the snapshot are fully captured by this flush.
        closed = {r for r in dirty if (ch := self.channels.get(r)) is not None and ch.closed}
        try:
            if events:
                await self.store.append_events(events)
            for run_id in dirty:
                record = self.record(run_id)
                if record is not None:
                    await self.store.save_run(record)
        except BaseException:
            self._pending[:0] = events
            self._dirty |= dirty
            raise
        for run_id in closed:
            ch = self.channels.get(run_id)
            if ch is not None and not ch.subscribers and run_id not in self._dirty:
                del self.channels[run_id]

    async def _flush_loop(self) -> None:
        # A store that refuses is retried with exponential back-off and jitter (up to
        # ``MAX_BACKOFF`` s between tries); events wait in memory meanwhile.
        retrying = AsyncRetrying(
            wait=wait_exponential_jitter(
                multiplier=self.interval, max=MAX_BACKOFF, jitter=self.interval
            ),
            retry=retry_if_exception_type(Exception),
            before_sleep=_log_retry,
        )
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            await retrying(self._flush_once)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    log.warning("run store refused a flush (try %d): %r; retrying", state.attempt_number, exc)
