"""Wake blocking queries when the registry index moves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class IndexWatch:
    """Lets any number of waiters sleep until the index differs from the one they saw.

    The owner calls ``changed()`` after every index bump; waiters call ``wait``. One
    ``asyncio.Event`` per generation: setting it wakes everyone at once, and a fresh one
    replaces it so later waiters block again.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def changed(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, current: Callable[[], int], index: int, timeout: float) -> int:  # noqa: ASYNC109
        """Return ``current()`` once it differs from ``index``, or when ``timeout`` elapses."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while (now := current()) == index:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return now
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return current()
        return now
