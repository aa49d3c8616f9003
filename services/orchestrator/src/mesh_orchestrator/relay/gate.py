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


class Gate:
    """One run's gate (see the module docstring)."""

    def __init__(self, *, closable: bool = True) -> None:
        self.closable = closable  # False: ``OPEN``, shared by runs without a gate of their own
        self._open = asyncio.Event()
        self._open.set()
        self._idle = asyncio.Event()
        self._idle.set()
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
