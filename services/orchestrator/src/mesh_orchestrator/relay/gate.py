"""Whether a run may start sub-tasks now: open, or closed while the run pauses.

The executor passes every sub-task through its run's gate before the task starts (after
its dependencies and its ``when``): a closed gate holds it there, so a paused run starts
nothing new. ``running`` names the tasks past the gate and not finished; ``idle`` returns
once none is, which is when a pause that lets running sub-tasks finish can park the run.
A run with no gate of its own uses ``OPEN``, which never closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Signal:
    """``asyncio.Event``'s ``set``/``clear``/``is_set``/``wait``, without the deque every
    ``Event`` makes for its waiters (~760 bytes): a run holds a few of these for as long as
    it lives, and nearly always nobody waits on them. The waiters' list exists only while
    someone waits. Not bound to a loop (a shared one, like ``OPEN``'s, serves any)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self, value: bool = False) -> None:
        self._set = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for w in waiters or ():
            if not w.done():
                w.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        """Return True once set (at once when it is)."""
        if self._set:
            return True
        w: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = []
        waiters.append(w)
        try:
            await w
        finally:
            if self._waiters is waiters:  # not released by ``set``: leave the list
                waiters.remove(w)
                if not waiters:
                    self._waiters = None
        return True

    async def wait_within(self, seconds: float, loop: asyncio.AbstractEventLoop) -> bool:
        """``wait``, for ``seconds`` at most, on ``loop`` (the running loop, which the caller
        holds: no look-up, a ``getpid`` system call on Python 3.11, and no ``asyncio.timeout``
        with its own three and its objects): True once set, False when the time ran out."""
        if self._set:
            return True
        w: asyncio.Future[None] = loop.create_future()
        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = []
        waiters.append(w)
        timer = loop.call_later(seconds, _expire, w)
        try:
            await w
        finally:
            timer.cancel()
            if self._waiters is waiters:  # not released by ``set``: leave the list
                waiters.remove(w)
                if not waiters:
                    self._waiters = None
        return self._set


def _expire(w: asyncio.Future[None]) -> None:
    if not w.done():
        w.set_result(None)


class Gate:
    """One run's gate (see the module docstring)."""

    def __init__(self, *, closable: bool = True) -> None:
        self.closable = closable  # False: ``OPEN``, shared by runs without a gate of their own
        self._open = Signal(True)
        self._idle = Signal(True)
        self.running: set[str] = set()
        # Called with a task id when its worker asked the user (``input_required``): the
        # run's driver parks the run once nothing else runs. None: nobody can answer.
        self.on_input: Callable[[str], None] | None = None

    @property
    def closed(self) -> bool:
        return not self._open.is_set()

    def close(self) -> None:
        if self.closable:
            self._open.clear()

    async def enter(self, task_id: str) -> None:
        """Wait until the gate is open, then count ``task_id`` as running."""
        await self._open.wait()
        self.running.add(task_id)
        self._idle.clear()

    def leave(self, task_id: str) -> None:
        self.running.discard(task_id)
        if not self.running:
            self._idle.set()

    async def idle(self) -> None:
        """Return once no task is running (at once when none is)."""
        await self._idle.wait()


OPEN = Gate(closable=False)  # the shared gate of runs without their own never closes
