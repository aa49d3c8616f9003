"""The worker's concurrency limit: slots that a request takes now or is refused, and that
stay taken until the work they admitted has really ended.

Framework-free. A request's slot is given back when the request is over *and* its run has
ended: a run cancelled on client disconnect or timeout may take a while to stop (a GPU
step, a checkpoint being written), and until it does the model is still busy, so a new
request must get 429 rather than start beside it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

log = logging.getLogger(__name__)


class Slots:
    """A non-blocking concurrency limit: ``try_acquire`` gives a ``Slot`` now, or None.

    Refusing (429 with Retry-After) rather than queueing keeps a busy worker's latency
    bounded and lets the caller pick another replica. ``grace`` is how long a released
    slot waits on its still-running run before that is logged as a warning (the slot stays
    taken regardless: ``in_flight`` counts work, not open requests).
    """

    def __init__(self, limit: int, *, grace: float = 30.0) -> None:
        self.limit = limit
        self.grace = grace
        self.in_flight = 0

    def try_acquire(self, name: str = "request") -> Slot | None:
        """A slot for the request called ``name`` (used in logs), or None when all are taken."""
        if self.in_flight >= self.limit:
            return None
        self.in_flight += 1
        return Slot(self, name)

    def free(self) -> None:
        """One slot fewer in use (called by ``Slot``; not for request handlers)."""
        self.in_flight = max(0, self.in_flight - 1)


class Slot:
    """One taken slot. Given back exactly once: at ``release``, or, when a run was attached
    with ``hold_until_done`` and has not ended by then, when that run ends."""

    def __init__(self, slots: Slots, name: str) -> None:
        self._slots = slots
        self._name = name
        self._run: asyncio.Task[Any] | None = None
        self._released = False
        self._given_back = False
        self._waiting_since: float | None = None
        self._overdue: asyncio.TimerHandle | None = None

    def hold_until_done(self, run: asyncio.Task[Any]) -> None:
        """Keep the slot taken until ``run`` has ended, even if ``release`` comes first."""
        self._run = run
        run.add_done_callback(self._run_ended)

    def release(self) -> None:
        """The request is over (idempotent). Gives the slot back now if no run is still going;
        else once it ends, with a warning if that takes longer than the grace period."""
        if self._released:
            return
        self._released = True
        run = self._run
        if run is None or run.done():
            self._give_back()
            return
        self._waiting_since = time.monotonic()
        log.info("%s: waiting for its cancelled run to end before freeing its slot", self._name)
        self._overdue = asyncio.get_running_loop().call_later(self._slots.grace, self._warn)

    def _run_ended(self, run: asyncio.Task[Any]) -> None:
        if self._overdue is not None:
            self._overdue.cancel()
        if self._waiting_since is not None:
            waited = time.monotonic() - self._waiting_since
            log.info("%s: run ended %.1fs after cancellation; slot freed", self._name, waited)
        if self._released:
            self._give_back()

    def _warn(self) -> None:
        log.warning(
            "%s: its cancelled run is still going %.0fs later; its slot stays taken until it "
            "ends (does blocking work check a cancel flag? see mesh_worker.threads)",
            self._name,
            self._slots.grace,
        )

    def _give_back(self) -> None:
        if not self._given_back:
            self._given_back = True
            self._slots.free()
