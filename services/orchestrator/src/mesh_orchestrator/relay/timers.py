"""Timers that share one timer of the loop: task deadlines and the stream client's stall
watch, held by every open stream.

An ``asyncio`` timer (``loop.call_at``) is a ``TimerHandle`` and, under uvloop, a libuv
``UVTimer`` too: ~0.5 KB, for as long as it is armed; a worker call's deadline and its
stream's stall watch are armed as long as the stream is open. Here every armed timer of a
loop is one entry of a heap (``LoopTimers``, ``loop_timers()``), and the loop holds one
timer, for the earliest. An entry that stopped before it came due stays in the heap until it
comes up or the heap is rebuilt (when more than half of it is such entries), so the heap
never holds more than twice the armed entries (plus 64).

``deadline(seconds)`` is ``asyncio.timeout(seconds)`` for the current task: past the
deadline the task is cancelled and the block raises ``TimeoutError`` (unless someone else
cancelled the task too: then ``CancelledError`` goes on, as there).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import weakref
from heapq import heapify, heappop, heappush
from types import TracebackType
from typing import Protocol

__all__ = ["Deadline", "LoopTimers", "Timed", "deadline", "loop_timers"]

log = logging.getLogger(__name__)


class Timed(Protocol):
    """An entry of ``LoopTimers``: ``live`` while armed (the owner sets it False and calls
    ``left`` when it stops one early); ``fire`` is called once it comes due, ``live``
    already False (it may arm itself again)."""

    live: bool

    def fire(self) -> None: ...


class LoopTimers:
    """The armed timers of one loop (see the module docstring)."""

    __slots__ = ("__weakref__", "_at", "_dead", "_handle", "_heap", "_loop", "_seq")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Timed]] = []
        self._dead = 0  # entries stopped before they came due, still in the heap
        self._handle: asyncio.TimerHandle | None = None
        self._at = math.inf  # when the timer fires
        self._seq = itertools.count()

    def __len__(self) -> int:
        """Entries in the heap (armed ones, and stopped ones not dropped yet)."""
        return len(self._heap)

    def later(self, delay: float, entry: Timed) -> None:
        """Arm ``entry`` to fire ``delay`` seconds from now (``live`` set here)."""
        entry.live = True
        when = self._loop.time() + delay
        heappush(self._heap, (when, next(self._seq), entry))
        if when < self._at:
            if self._handle is not None:
                self._handle.cancel()
            self._at = when
            self._handle = self._loop.call_at(when, self._fire)

    def left(self) -> None:
        """An entry was stopped before it came due (its ``live`` is False now)."""
        self._dead += 1
        if self._dead > 64 and self._dead * 2 > len(self._heap):
            self._heap = [item for item in self._heap if item[2].live]
            heapify(self._heap)
            self._dead = 0

    def _fire(self) -> None:
        # No timer while the due ones fire (one armed again is armed below, with the rest).
        self._handle, self._at = None, -math.inf
        heap = self._heap
        now = self._loop.time()
        while heap and heap[0][0] <= now:
            entry = heappop(heap)[2]
            if not entry.live:  # stopped before
                self._dead -= 1
                continue
            entry.live = False
            try:
                entry.fire()
            except Exception:  # one entry's fault must not stop the others
                log.exception("timer entry %r failed", entry)
        self._at = math.inf
        if heap:
            self._at = heap[0][0]
            self._handle = self._loop.call_at(self._at, self._fire)


_TIMERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopTimers] = (
    weakref.WeakKeyDictionary()
)


def loop_timers(loop: asyncio.AbstractEventLoop | None = None) -> LoopTimers:
    """The running loop's ``LoopTimers`` (``loop``: that loop, when the caller has it)."""
    loop = loop or asyncio.get_running_loop()
    timers = _TIMERS.get(loop)
    if timers is None:
        timers = _TIMERS[loop] = LoopTimers(loop)
    return timers


class Deadline:
    """One task's deadline, an ``async with`` block (see the module docstring)."""

    __slots__ = ("cancelling", "expired", "live", "seconds", "task", "timers")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.task: asyncio.Task[object] | None = None
        self.timers: LoopTimers | None = None
        self.cancelling = 0
        self.expired = False
        self.live = False

    async def __aenter__(self) -> Deadline:
        if self.timers is not None:
            raise RuntimeError("a deadline is entered once")
        if self.seconds is None:  # never
            return self
        # The loop looked up once (each lookup is a ``getpid`` system call on Python 3.11):
        # ``current_task()`` without it looks it up again.
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("a deadline is used inside a task")
        self.task = task
        self.cancelling = task.cancelling()
        self.timers = loop_timers(loop)
        self.timers.later(self.seconds, self)
        return self

    def fire(self) -> None:
        assert self.task is not None
        self.expired = True
        self.task.cancel()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self.task = self.task, None
        if task is None:  # no deadline (``None``)
            return
        if self.live:  # ended in time
            self.live = False
            assert self.timers is not None
            self.timers.left()
            return
        if task.uncancel() <= self.cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc


def deadline(seconds: float | None) -> Deadline:
    """A block that may run ``seconds`` (None: no bound), ``asyncio.timeout``'s way."""
    return Deadline(seconds)
