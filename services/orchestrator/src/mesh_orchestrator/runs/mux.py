"""The stream multiplexer: numbers a run's events, fans them out live, persists them in batches.

It knows nothing of what events mean: the run service's projection (``runs.projection``)
keeps a run's record and node states, and calls ``touch`` when the row must be stored again.

``publish`` is synchronous and cheap (the hot path): it assigns the next ``seq``, appends the
event to the run's in-memory log (until a flush stores it), appends it to every subscription
and queues it for the background flusher, which writes batches to the run store every
``interval`` seconds or as soon as ``batch`` events are waiting. A subscription's listener takes everything queued at
once (one write per batch, not per event), so a slow reader costs fewer writes, never a
delay: nothing waits for a batch to fill. Because ``publish`` and ``subscribe``'s snapshot
never await, a subscriber sees every event exactly once, in seq order, with no gap between
its replay and the live tail.

A run's channel leaves memory once the run has ended, its last events and final row are
stored and nobody listens; later readers are answered from the store a page at a time
(``runs.replay``), as is the part of a resumed run's log from before this replica took it.
After each flush ``on_stored`` hears which runs got events or rows stored (the followers
of those runs on this replica are woken).

Event ids survive the process: the run's row carries ``seq_reserved``, the highest id this
owner may hand out, reserved ``RESERVE`` ids at a time ahead of use. An event past the last
reservation known to be stored is held back from subscribers until the flush that stores
the next one (in practice never: a reservation is renewed half-way), so no id a client has
seen can be handed out again by whoever resumes the run after a crash. Every write names
the run's epoch; a refused one (``Fenced``: another replica owns the run now) is reported
to ``on_fenced`` and the run is dropped from memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from bisect import bisect_right
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from mesh_contracts import RunStatus, StreamEventType
from mesh_orchestrator.emitter import TokenBytes
from mesh_orchestrator.relay.gate import Signal
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.replay import StoredLog
from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.runs.store.outbox import Delivery

log = logging.getLogger(__name__)
_RUN_ID = attrgetter("run_id")
_SEQ = attrgetter("seq")
MAX_BACKOFF = 5.0
RESERVE = 1000  # event ids reserved at a time (see the module docstring)


def _token_events(
    run_id: str,
    first: int,
    n: int,
    task_id: str | None,
    agent_id: str | None,
    now: float,
    block: TokenBytes,
    new: Callable[[type[RelayedEvent]], RelayedEvent] = object.__new__,  # type: ignore[assignment]
) -> list[RelayedEvent]:
    """The ``n`` token events of ``block`` from ``first`` on: what ``RelayedEvent(run_id, seq,
    "token", task_id, agent_id, None, now, block)`` makes for each, with every slot filled
    here rather than in a Python ``__init__`` frame a token (0.55-0.7x the time of the
    constructor calls; a relayed stream makes one a token: bench/README.md, "Round 13:
    CPU a stream")."""
    out: list[RelayedEvent] = []
    append = out.append
    cls = RelayedEvent
    for seq in range(first, first + n):
        e = new(cls)
        e.run_id = run_id
        e.seq = seq
        e.type = "token"
        e.task_id = task_id
        e.agent_id = agent_id
        e._data = None
        e.ts = now
        e.block = block
        append(e)
    return out


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Subscription:
    """One listener's share of a run: events queued by ``publish``, taken in batches.

    At most ``limit`` live events wait for a reader: one that falls further behind (a
    client that reads slower than the run writes) is let go, ``overflowed`` set, and its
    stream ends without ``done``; the client resumes with ``Last-Event-ID`` from the log,
    which costs the run nothing while the client was away. ``prefix``: the stored events
    that come before ``backlog`` (a resumed run's log from before this replica had it),
    read a page at a time as the reader takes them.
    """

    __slots__ = ("closed", "limit", "live", "overflowed", "pending", "prefix", "waiter")

    def __init__(
        self,
        backlog: list[RelayedEvent],
        *,
        closed: bool = False,
        limit: int | None = None,
        prefix: StoredLog | None = None,
    ) -> None:
        self.pending = backlog
        self.closed = closed
        self.limit = limit
        self.prefix = prefix
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

    def push_many(self, events: list[RelayedEvent]) -> None:
        """``push`` of several events at once (one wake-up)."""
        if self.closed:
            return
        self.live += len(events)
        if self.limit is not None and self.live > self.limit:
            self.overflowed = True
            self.pending = []
            self.close()
            return
        self.pending.extend(events)
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def close(self) -> None:
        self.closed = True
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def take(
        self, within: float | None = None, *, loop: asyncio.AbstractEventLoop | None = None
    ) -> list[RelayedEvent] | None:
        """Every event queued now, waiting up to ``within`` seconds for the first one.
        ``loop``: the running loop, when the caller has it (``asyncio.get_running_loop()``
        makes a ``getpid`` system call each time on Python 3.11).

        Returns ``[]`` when the wait timed out, ``None`` once the run has ended and all of
        its events were taken.
        """
        if self.prefix is not None:
            if page := await self.prefix.take():
                return page
            self.prefix = None
        if not self.pending:
            if self.closed:
                return None
            loop = loop or asyncio.get_running_loop()
            waiter = self.waiter = loop.create_future()
            try:
                if within is None:  # a stream's reader: no timeout object per wait
                    await waiter
                else:
                    # A timer that wakes the waiter, not ``asyncio.timeout`` (whose expiry
                    # cancels the task: an exception through its frames, and two ``getpid``s
                    # a wait): the first write's wait of every stream (``api.sse``).
                    timer = loop.call_later(within, _wake, waiter)
                    try:
                        await waiter
                    finally:
                        timer.cancel()
            finally:
                self.waiter = None
            if not self.pending:
                return None if self.closed else []
        batch, self.pending = self.pending, []
        self.live = 0
        return batch


class RunChannel:
    """One run in memory: its record, its event log since ``base`` (the events before it
    are in the store: a resumed run's earlier part, and what flushes stored, but the last),
    its listeners."""

    __slots__ = (
        "base", "closed", "durable", "events", "fields", "held", "record", "stored", "subscribers",
    )  # fmt: skip

    def __init__(self, record: RunRecord, base: int = 0, durable: int | None = None) -> None:
        self.record = record
        # The record's field values: ``publish`` writes ``last_seq`` there, at every event,
        # what pydantic's ``__setattr__`` does (its dict, and the name in the fields-set,
        # which holds it from here on) less its handler's look-up and calls.
        if "last_seq" not in record.__pydantic_fields_set__:
            record.last_seq = record.last_seq
        self.fields: dict[str, Any] = record.__dict__
        self.base = base
        self.events: list[RelayedEvent] = []
        self.subscribers: set[Subscription] = set()
        self.closed = False
        # The reservation known to be stored; events past it wait in ``held``.
        self.durable = record.seq_reserved if durable is None else durable
        self.held: list[RelayedEvent] = []
        self.stored = durable is not None  # its row exists in the store (a claimed run's does)


class EventMux:
    """Every live run's channel plus the batch flusher. Start it, then ``open`` runs."""

    def __init__(
        self,
        store: RunStore,
        *,
        interval: float = 0.05,
        batch: int = 200,
        max_backlog: int | None = 100_000,
        on_fenced: Callable[[set[str]], None] | None = None,
        on_stored: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.store = store
        # Called after a flush with the runs whose row it stored with webhook deliveries
        # (``outbox_for``'s rows): the deliverer posts them now.
        self.on_changed: Callable[[list[RunRecord]], Awaitable[None]] | None = None
        # The webhook outbox rows of the states of the runs given (none of a running run),
        # by run id, stored by ``store_batch`` in the transaction of the runs' rows
        # (push.notifier.Notifier.deliveries). A state is stored with its rows or not at all.
        self.outbox_for: (
            Callable[[list[RunRecord]], Awaitable[Mapping[str, Sequence[Delivery]]]] | None
        ) = None
        self.max_backlog = max_backlog
        self.on_fenced = on_fenced
        self.on_stored = on_stored
        self.interval = interval
        self.batch = batch
        self.channels: dict[str, RunChannel] = {}
        self._pending: list[RelayedEvent] = []
        self._dirty: set[str] = set()
        # What wakes the flusher: a ``Signal`` it waits on with its own loop (no look-up
        # of the running loop a wait, nor an ``asyncio.timeout`` with its three).
        self._wake = Signal()
        self._flusher: asyncio.Task[None] | None = None
        self._stopping = False
        self._begun = 0  # flushes begun by the loop (a retry begins again)
        self._stored = 0  # the number of the last one that succeeded
        self._flushed = Signal()  # set (and replaced) when one succeeds

    async def start(self) -> None:
        self._stopping = False
        self._start_flusher()

    def _start_flusher(self) -> None:
        if self._stopping:
            return
        self._flusher = asyncio.create_task(self._flush_loop(), name="event-flusher")
        self._flusher.add_done_callback(self._flusher_gone)

    def _flusher_gone(self, task: asyncio.Task[None]) -> None:
        """A flusher that ended of itself (not ``stop``'s cancel) is logged and started
        again after ``interval``: without it nothing past admission would be stored until
        shutdown, and nothing would say so."""
        if task.cancelled() or self._stopping:
            return
        exc = task.exception()
        log.error("event flusher stopped: %r; starting it again", exc, exc_info=exc)
        task.get_loop().call_later(self.interval, self._start_flusher)

    async def stop(self) -> None:
        self._stopping = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    def open(self, record: RunRecord, *, stored: bool = False) -> RunChannel:
        """Hold a new run in memory; its row is stored by the next flush (not awaited here:
        the first event must not wait for a database round trip). Its first ``RESERVE`` ids
        go out at once: until its row is stored nobody could resume the run. ``stored``:
        its row was stored already (an admission counted it), with ``reserve(record)``."""
        reserve(record)
        ch = RunChannel(record)
        ch.stored = stored
        self.channels[record.run_id] = ch
        self._dirty.add(record.run_id)
        return ch

    def reopen(self, record: RunRecord) -> RunChannel:
        """Hold a claimed (resumed) run: its ids continue past every id its previous owner
        may have handed out (``seq_reserved``), held back until the new reservation is
        stored. Returns the channel; ``base`` is the last id the run can have used."""
        base = max(record.seq_reserved, record.last_seq)
        durable = base
        record.seq_reserved = base + RESERVE
        record.last_seq = base
        ch = RunChannel(record, base=base, durable=durable)
        self.channels[record.run_id] = ch
        self._dirty.add(record.run_id)
        self._wake.set()
        return ch

    def publish(
        self,
        run_id: str,
        type: StreamEventType,
        data: dict[str, Any] | None = None,
        task_id: str | None = None,
        agent_id: str | None = None,
    ) -> RelayedEvent | None:
        ch = self.channels.get(run_id)
        if ch is None:  # dropped (another replica owns the run now): nothing goes out
            return None
        seq = ch.base + len(ch.events) + 1
        event = RelayedEvent(run_id, seq, type, task_id, agent_id, data or {}, time.time())
        ch.events.append(event)
        ch.fields["last_seq"] = seq  # = ``ch.record.last_seq = seq`` (see ``RunChannel``)
        if seq > ch.durable:  # its id is not reserved in the store yet: hold it back
            ch.held.append(event)
            self._wake.set()
        else:
            for sub in ch.subscribers:
                sub.push(event)
        if seq > ch.record.seq_reserved - RESERVE // 2:  # renew the reservation half-way
            ch.record.seq_reserved += RESERVE
            self._dirty.add(run_id)
            self._wake.set()
        self._pending.append(event)
        if len(self._pending) >= self.batch:
            self._wake.set()
        return event

    def publish_many(
        self,
        run_id: str,
        items: Sequence[tuple[str, dict[str, Any]]],
        task_id: str | None = None,
        agent_id: str | None = None,
    ) -> list[RelayedEvent]:
        """``publish`` of several ``(type, data)`` events of one task at once, as a worker's
        block of events arrives: numbered in order, one timestamp, one append to each
        listener. A ``TokenBytes`` (a block of plain tokens) is kept by its events, no
        ``data`` dict made for them. Returns the events (none when the run was dropped)."""
        ch = self.channels.get(run_id)
        if ch is None or not items:
            return []
        first = ch.base + len(ch.events) + 1
        now = time.time()
        if type(items) is TokenBytes:
            items.first = first
            events = _token_events(run_id, first, len(items), task_id, agent_id, now, items)
        else:
            events = [
                RelayedEvent(run_id, seq, type_, task_id, agent_id, data, now)  # type: ignore[arg-type]
                for seq, (type_, data) in enumerate(items, first)
            ]
        ch.events.extend(events)
        last = first + len(events) - 1
        ch.fields["last_seq"] = last
        ready = events
        if last > ch.durable:  # ids not reserved in the store yet: held back
            cut = max(0, ch.durable - first + 1)
            ready, held = events[:cut], events[cut:]
            ch.held.extend(held)
            self._wake.set()
        if ready:
            for sub in ch.subscribers:
                sub.push_many(ready)
        while last > ch.record.seq_reserved - RESERVE // 2:  # renew the reservation half-way
            ch.record.seq_reserved += RESERVE
            self._dirty.add(run_id)
            self._wake.set()
        self._pending.extend(events)
        if len(self._pending) >= self.batch:
            self._wake.set()
        return events

    def stored(self, run_id: str) -> bool:
        """The run's row has been written at least once (a lease can be renewed)."""
        ch = self.channels.get(run_id)
        return ch is not None and ch.stored

    def touch(self, run_id: str) -> None:
        """The run's record changed: store it with the next flush."""
        self._dirty.add(run_id)

    def drop(self, run_id: str) -> None:
        """Forget a run without storing anything more of it (another replica owns it now,
        or this one let it go): its listeners' streams end without ``done``, so they
        reconnect and follow it wherever it runs."""
        ch = self.channels.pop(run_id, None)
        if ch is None:
            return
        for sub in ch.subscribers:
            sub.close()
        ch.subscribers.clear()
        self._pending = [e for e in self._pending if e.run_id != run_id]
        self._dirty.discard(run_id)

    def close(self, run_id: str, status: RunStatus, answer: str | None) -> None:
        """The run ended (after its ``done`` event), or was parked awaiting approval:
        release listeners, persist it soon."""
        ch = self.channels.get(run_id)
        if ch is None:  # dropped (fenced): someone else finishes it
            return
        # Straight in the record's ``__dict__``, as the projection writes its plan
        # (``RunRecord`` validates no assignment; its fields-set is the live runs' shared
        # one, ``runs.service._SET``): three pydantic ``__setattr__`` calls fewer a run.
        fields = ch.record.__dict__
        fields["status"] = status
        fields["answer"] = answer
        # A run parked awaiting approval has not finished: its listeners are let go all
        # the same (their streams end without ``done``; approval takes it up again).
        fields["finished_at"] = time.time() if RunStatus(status).terminal else None
        ch.closed = True
        if not ch.held:
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
        if ch is None:  # replayed from the store, a page at a time
            return Subscription([], closed=True, prefix=StoredLog(self.store, run_id, after))
        earlier = None
        if after < ch.base:  # a resumed run: what came before is in the store
            earlier = StoredLog(self.store, run_id, after, upto=ch.base)
        start = max(0, after - ch.base)
        sent = ch.events[start : len(ch.events) - len(ch.held)]
        sub = Subscription(
            sent, closed=ch.closed and not ch.held, limit=self.max_backlog, prefix=earlier
        )
        if not ch.closed or ch.held:
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

    async def settled(self, run_id: str, within: float = 5.0) -> None:
        """Wait, at most ``within`` seconds, until the store holds the run past running
        (its final or parked row): a client told that a run ended finds it ended in the
        store too, where its quota is counted and other replicas read it. A run's
        ``done`` can reach its listeners before its final row is written."""
        deadline = time.monotonic() + within
        while True:
            stored = await self.store.get_run(run_id)
            if stored is None or stored.status != RunStatus.RUNNING:
                return
            if time.monotonic() >= deadline:
                log.warning("run %s: its end not stored after %gs", run_id, within)
                return
            self._wake.set()
            await asyncio.sleep(0.01)

    async def persisted(self, within: float = 10.0) -> bool:
        """Wait until everything published so far is stored: the next flush the loop
        begins takes it. True once it is; False (logged) when the store did not take it
        within ``within`` seconds (the events stay pending for later flushes)."""
        if self._flusher is None or self._flusher.done():  # no loop: flush here
            return await self.flush()
        need = self._begun + 1  # one under way took its snapshot before these events
        self._wake.set()
        try:
            async with asyncio.timeout(within):
                while self._stored < need:
                    await self._flushed.wait()
        except TimeoutError:
            log.warning("events not stored after %gs; going on", within)
            return False
        return True

    async def _flush_counted(self) -> None:
        """``_flush_once``, numbered, waking ``persisted``'s waiters when it succeeds."""
        self._begun += 1
        number = self._begun
        await self._flush_once()
        self._stored = number
        flushed, self._flushed = self._flushed, Signal()
        flushed.set()

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
        """Write dirty runs and pending events in one transaction (``store_batch``); forget
        closed runs once they are stored; release held events whose ids are now reserved.
        On a store error everything taken is put back first, then the error is raised."""
        events, self._pending = self._pending, []
        dirty, self._dirty = self._dirty, set()
        runs = set(map(_RUN_ID, events))  # the runs these events are of (a few)
        # Only runs already closed at the snapshot are fully captured by this flush.
        closed = {r for r in dirty if (ch := self.channels.get(r)) is not None and ch.closed}
        try:
            records = [rec for r in dirty if (rec := self.record(r)) is not None]
            outbox: dict[str, Sequence[Delivery]] = {}
            if self.outbox_for is not None:
                asking = records
                for _ in range(3):
                    outbox.update(await self.outbox_for(asking))
                    # A run that left ``running`` while the rows were read: its own rows.
                    asking = [
                        r
                        for r in records
                        if r.status != RunStatus.RUNNING and r.run_id not in outbox
                    ]
                    if not asking:
                        break
                if asking:  # still moving: it and its events wait for the next flush
                    late = {r.run_id for r in asking}
                    self._dirty |= late
                    self._pending[:0] = [e for e in events if e.run_id in late]
                    events = [e for e in events if e.run_id not in late]
                    runs -= late
                    records = [r for r in records if r.run_id not in late]
                    closed -= late
            records = [r for r in records if r.run_id in self.channels]  # not dropped meanwhile
            epochs = {
                run_id: ch.record.epoch for run_id in runs if (ch := self.channels.get(run_id))
            }
            # What the rows carry: ``store_batch`` makes them before its first await.
            reserved = {r.run_id: r.seq_reserved for r in records}
            fenced: set[str] = set()
            if records or events:
                fenced = await self.store.store_batch(records, events, epochs, outbox)
        except BaseException:
            self._pending[:0] = events
            self._dirty |= dirty
            raise
        if events:
            self._forget_stored(events, runs - fenced)
        for run_id, upto in reserved.items():
            ch = self.channels.get(run_id)
            if ch is None or run_id in fenced:
                continue
            ch.stored = True
            if upto > ch.durable:
                ch.durable = upto
                self._release(ch)
        if fenced:
            for run_id in fenced:
                self.drop(run_id)
            if self.on_fenced is not None:
                self.on_fenced(fenced)
        if self.on_stored is not None:
            self.on_stored(runs | (set(reserved) - fenced))
        for run_id in closed:
            ch = self.channels.get(run_id)
            if ch is not None and not ch.subscribers and run_id not in self._dirty:
                del self.channels[run_id]
        if self.on_changed is not None:
            delivered = [r for r in records if outbox.get(r.run_id) and r.run_id not in fenced]
            if delivered:
                await self.on_changed(delivered)

    def _forget_stored(self, events: list[RelayedEvent], runs: set[str]) -> None:
        """A live run's log leaves memory once stored, up to its last event (which
        ``RunService`` reads): a listener that comes later reads that part from the store,
        a page at a time, as it reads a resumed run's earlier part (``subscribe``). An open
        stream then holds none of its run's ``plan`` and ``status`` payloads, and a long
        one not every token it relayed. ``events``: what the flush stored, each run's in
        order; ``runs``: theirs, less any fenced."""
        left = set(runs)
        for e in reversed(events):  # each run's last stored event: a few steps from the end
            run_id = e.run_id
            if run_id not in left:
                continue
            left.discard(run_id)
            ch = self.channels.get(run_id)
            if ch is not None:
                # Never a held event (its id not reserved yet), always the last one kept.
                upto = min(e.seq, ch.durable, ch.base + len(ch.events) - 1)
                if upto > ch.base:
                    del ch.events[: upto - ch.base]
                    ch.base = upto
            if not left:
                break

    @staticmethod
    def _release(ch: RunChannel) -> None:
        """Hand held events to the listeners once their ids are reserved in the store."""
        held = ch.held
        if not held:
            return
        # In seq order (each published past every id before it): a cut, not a look at
        # each event (a flood's blocks hold back hundreds at a time).
        cut = bisect_right(held, ch.durable, key=_SEQ)
        ready, ch.held = held[:cut], held[cut:]
        if ready:
            for sub in ch.subscribers:
                sub.push_many(ready)
        if ch.closed and not ch.held:
            for sub in ch.subscribers:
                sub.close()
            ch.subscribers.clear()

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
        loop = asyncio.get_running_loop()  # once: each wait is given it
        while True:
            await self._wake.wait_within(self.interval, loop)
            self._wake.clear()
            # One more turn of the loop before the snapshot: what the same poll brought in
            # (other runs ending, their last events) joins this flush, not the next one
            # (round 15: ~15% fewer flushes a run at 16 runs in flight, each flush a commit).
            await asyncio.sleep(0)
            # Straight to the store: a busy stream flushes tens of times a second, and a
            # tenacity call costs several times the flush's own Python work. Its back-off
            # starts once the store has refused.
            try:
                await self._flush_counted()
            except Exception as exc:
                log.warning("run store refused a flush: %r; retrying", exc)
                await asyncio.sleep(self.interval)
                await retrying(self._flush_counted)


def reserve(record: RunRecord) -> None:
    """Reserve a new run's first ``RESERVE`` event ids on its record (see ``open``). In
    its ``__dict__`` (as ``close``): called twice a run (its admission, ``open``)."""
    fields = record.__dict__
    if fields["seq_reserved"] < RESERVE:
        fields["seq_reserved"] = RESERVE


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    log.warning("run store refused a flush (try %d): %r; retrying", state.attempt_number, exc)
