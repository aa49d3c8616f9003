"""A run's stored log read in pages as its reader takes them: bounded memory whatever the
log's size.

``StoredLog`` is what a listener gets of a run that is not in this process's memory: the
replay of a finished run (a page at a time, until the end of the log), the part of a
resumed run's log from before this replica took it up (``upto``), and a run executed by
another replica, followed live (``follow``). A follower does not poll: it waits for a
wake-up (``Wakeups``) when the store says it has stored events of the run: Postgres
notifications from every replica (``runs.leases``), and this process's own flushes, which is
all there is with SQLite (one replica). It polls every ``poll`` seconds only while the
notifications are down (the listening connection lost), and every ``safety`` seconds
otherwise, in case one was missed while it reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Protocol

from mesh_contracts import RunStatus
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.store.base import RunStore

#: One page: at most this many events, and no more than this much stored ``data`` (a page
#: holds at least one event, however large).
PAGE_EVENTS = 500
PAGE_BYTES = 4 << 20


class Feed(Protocol):
    """What a listener reads a run through: the multiplexer's ``Subscription`` or a
    ``StoredLog``. ``take`` returns the next events, ``[]`` when ``within`` passed first,
    None at the end; ``overflowed`` says the reader fell too far behind a live run."""

    overflowed: bool

    async def take(self, within: float | None = None) -> list[RelayedEvent] | None: ...

    def close(self) -> None: ...


class Wakeups:
    """The followers of runs on this replica, woken when their runs' events are stored.
    ``listening``: whether every replica's stores reach ``wake`` (Postgres notifications
    connected, or one replica alone on SQLite)."""

    def __init__(self, *, listening: bool) -> None:
        self.listening = listening
        self._waiting: dict[str, set[asyncio.Event]] = {}

    def register(self, run_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiting.setdefault(run_id, set()).add(event)
        return event

    def unregister(self, run_id: str, event: asyncio.Event) -> None:
        waiting = self._waiting.get(run_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self._waiting[run_id]

    def wake(self, run_ids: Iterable[str]) -> None:
        for run_id in run_ids:
            for event in self._waiting.get(run_id, ()):
                event.set()

    def wake_all(self) -> None:
        self.wake(list(self._waiting))


class StoredLog:
    """The events of ``run_id`` with seq > ``after`` (and <= ``upto`` when given), read from
    the store a page at a time as ``take`` is called. With ``follow`` it goes on until the
    run's ``done`` (or until the run is parked or gone and its log read to the end),
    waiting for wake-ups between pages; without, it ends at the end of the stored log."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        after: int = 0,
        *,
        upto: int | None = None,
        follow: Wakeups | None = None,
        poll: float = 0.2,
        safety: float = 5.0,
        page: int = PAGE_EVENTS,
        page_bytes: int = PAGE_BYTES,
    ) -> None:
        self.store, self.run_id, self.last, self.upto = store, run_id, after, upto
        self.page, self.page_bytes = page, page_bytes
        self.poll, self.safety = poll, safety
        self.overflowed = False
        self.closed = False
        self._follow = follow
        self._wake = follow.register(run_id) if follow is not None else None

    async def take(self, within: float | None = None) -> list[RelayedEvent] | None:
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while not self.closed:
            if self._wake is not None:
                self._wake.clear()  # before reading: a wake-up during the read is kept
            if events := await self._page():
                return events
            if self._follow is None or await self._ending():
                # Events stored between that page and the row just read come first.
                if self._follow is not None and (events := await self._page()):
                    return events
                self.close()
                return None
            wait = self.poll if not self._follow.listening else self.safety
            if deadline is not None:
                wait = min(wait, deadline - loop.time())
                if wait <= 0:
                    return []
            assert self._wake is not None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
        return None

    async def _page(self) -> list[RelayedEvent]:
        """The next page (none past ``upto``; none past ``done``, which ends the log)."""
        events = await self.store.events_after(self.run_id, self.last, self.page, self.page_bytes)
        if self.upto is not None:
            events = [e for e in events if e.seq <= self.upto]
        if not events:
            return []
        done = next((i for i, e in enumerate(events) if e.type == "done"), None)
        if done is not None:
            events = events[: done + 1]
            self.close()
        self.last = events[-1].seq
        return [RelayedEvent.of(e) for e in events]

    async def _ending(self) -> bool:
        """The followed run stores nothing more for this reader: gone, ended (its final row
        is stored after its last events), or parked (its stream ends without ``done``: see
        approval) and read up to its last event."""
        record = await self.store.get_run(self.run_id)
        if record is None or record.finished:
            return True
        parked = record.status is RunStatus.AWAITING_APPROVAL
        return parked and self.last >= record.last_seq

    def close(self) -> None:
        self.closed = True
        if self._wake is not None and self._follow is not None:
            self._wake.set()  # a take waiting for a wake-up returns now
            self._follow.unregister(self.run_id, self._wake)
