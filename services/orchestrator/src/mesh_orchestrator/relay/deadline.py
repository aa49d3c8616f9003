"""Task deadlines that share one timer of the loop.

``Deadlines.within(seconds)`` is ``asyncio.timeout(seconds)`` for the current task: past
the deadline the task is cancelled and the block raises ``TimeoutError`` (unless someone
else cancelled the task too: then ``CancelledError`` goes on, as there). The difference is
the timer: ``asyncio.timeout`` keeps a ``TimerHandle`` of its own (under uvloop a
``TimerHandle`` and a libuv ``UVTimer``, ~0.5 KB) for as long as the block runs, which for
a worker call is as long as its stream is open; here every open deadline is one entry of a
heap, and the loop holds one timer, for the earliest. An entry whose block ended before its
deadline stays in the heap until it comes up or the heap is rebuilt (when more than half of
it is such entries), so the heap never holds more than twice the open deadlines (plus 64).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from heapq import heapify, heappop, heappush
from types import TracebackType

__all__ = ["Deadline", "Deadlines"]


class Deadline:
    """One task's deadline, an ``async with`` block (see the module docstring)."""

    __slots__ = ("cancelling", "expired", "task", "wheel", "when")

    def __init__(self, wheel: Deadlines, seconds: float | None) -> None:
        self.wheel = wheel
        self.when = seconds  # made the loop's time on entry
        self.task: asyncio.Task[object] | None = None
        self.cancelling = 0
        self.expired = False

    async def __aenter__(self) -> Deadline:
        if self.task is not None or self.expired:
            raise RuntimeError("a deadline is entered once")
        if self.when is None:  # never
            return self
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline is used inside a task")
        self.task = task
        self.cancelling = task.cancelling()
        self.wheel.add(self)
        return self

    def expire(self) -> None:
        task = self.task
        assert task is not None
        self.expired = True
        task.cancel()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self.task = self.task, None
        if task is None:  # no deadline (``None``)
            return
        if not self.expired:
            self.wheel.left()
            return
        if task.uncancel() <= self.cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc


class Deadlines:
    """The deadlines of one loop (the first that uses it; another loop starts it afresh)."""

    __slots__ = ("_at", "_dead", "_handle", "_heap", "_loop", "_seq")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heap: list[tuple[float, int, Deadline]] = []
        self._dead = 0  # entries of blocks that ended before their deadline
        self._handle: asyncio.TimerHandle | None = None
        self._at = math.inf  # when the timer fires
        self._seq = itertools.count()

    def within(self, seconds: float | None) -> Deadline:
        """A block that may run ``seconds`` (None: no bound)."""
        return Deadline(self, seconds)

    def __len__(self) -> int:
        """Entries in the heap (open deadlines, and ended ones not dropped yet)."""
        return len(self._heap)

    def add(self, entry: Deadline) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._handle is not None:
                self._handle.cancel()
            self._loop, self._heap, self._dead, self._handle = loop, [], 0, None
            self._at = math.inf
        assert entry.when is not None
        when = entry.when = loop.time() + entry.when
        heappush(self._heap, (when, next(self._seq), entry))
        if when < self._at:
            self._arm(when)

    def left(self) -> None:
        """An entry's block ended before its deadline (its ``task`` is None now)."""
        self._dead += 1
        if self._dead > 64 and self._dead * 2 > len(self._heap):
            self._heap = [item for item in self._heap if item[2].task is not None]
            heapify(self._heap)
            self._dead = 0

    def _arm(self, when: float) -> None:
        assert self._loop is not None
        if self._handle is not None:
            self._handle.cancel()
        self._at = when
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        assert self._loop is not None
        self._handle, self._at = None, math.inf
        heap = self._heap
        now = self._loop.time()
        while heap and heap[0][0] <= now:
            entry = heappop(heap)[2]
            if entry.task is None:  # its block ended before
                self._dead -= 1
            else:
                entry.expire()
        if heap:
            self._arm(heap[0][0])
