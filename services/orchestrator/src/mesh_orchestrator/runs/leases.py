"""Runs across replicas: leases, fencing, taking up orphans, notifications from the store.

``LeaseKeeper`` is the member of ``RunService`` that holds this replica's leases. Each run
this replica executes is held by a lease in the store (``replica_id``, an epoch, an expiry
``lease_seconds`` ahead, renewed every third of that by the keeper). The keeper also claims
orphaned runs (their owner's lease lapsed; or this replica's previous incarnation held them)
and has the ``Resumer`` take them up from their stored log (``runs.resuming``). A write
refused because another replica took the run over (fencing) stops the run here without a
word (``RunDriver.fenced``); so does a lease this replica could not renew for
``SELF_FENCE`` of its time. The store's notifications (Postgres LISTEN/NOTIFY) wake the
followers of runs executed elsewhere (``Wakeups``, ``runs.replay``) and bring a cancel asked
for on another replica to the owner; a pause asked for elsewhere is applied at the keeper's
next pass. ``shutdown`` drains: no new runs, leases released so another replica (or this
one restarted) resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from mesh_orchestrator.runs.driving import RunDriver
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.replay import Wakeups
from mesh_orchestrator.runs.resuming import Resumer
from mesh_orchestrator.runs.store.base import RunStore

log = logging.getLogger(__name__)

# The share of the lease time without a successful renewal after which a replica stops its
# own runs: before the lease runs out and another replica may claim them.
SELF_FENCE = 0.75


class LeaseKeeper:
    """Lease keeping, orphans and the store's notifications (see the module docstring)."""

    def __init__(
        self,
        driver: RunDriver,
        resumer: Resumer,
        mux: EventMux,
        store: RunStore,
        wakeups: Wakeups,
        *,
        replica_id: str = "orchestrator",
        lease_seconds: float = 10.0,
    ) -> None:
        self.driver = driver
        self.resumer = resumer
        self.mux = mux
        self.store = store
        self.wakeups = wakeups
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        self._keeper: asyncio.Task[None] | None = None
        self._fence_watch: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._renewed_at = 0.0  # monotonic time of the last successful lease renewal
        self.self_fenced = 0  # runs this replica stopped itself, cut off from the store
        self.keeper_passes = 0  # lease renewals and orphan scans done (tests wait on it)

    async def recover(self) -> list[str]:
        """At start-up: take up the runs this replica's previous incarnation left running
        (and any orphan), then keep leases and watch for orphans until ``shutdown``.
        Returns the ids of the runs resumed now."""
        resumed = await self._claim_orphans()
        self._renewed_at = time.monotonic()
        self._keeper = asyncio.create_task(self._keep(), name="run-leases")
        self._fence_watch = asyncio.create_task(self._watch_renewals(), name="run-self-fence")
        listen = getattr(self.store, "listen", None)
        if listen is not None:
            self._listener = asyncio.create_task(self._listen(listen), name="run-notifies")
        return resumed

    async def shutdown(self) -> None:
        """Drain: take no new runs, stop this replica's runs without ending them, store
        what they produced and release their leases, so they resume elsewhere (or here
        after a restart) with nothing completed run again."""
        self.driver.stop_taking_runs()
        for bg in (self._keeper, self._listener, self._fence_watch):
            if bg is not None:
                bg.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await bg
        live = await self.driver.drain()
        await self.mux.flush()
        for run_id in live:
            record = self.mux.record(run_id)
            if record is not None:
                with contextlib.suppress(Exception):
                    await self.store.release(run_id, record.epoch)
                self.mux.drop(run_id)

    async def _keep(self) -> None:
        """Renew this replica's leases every third of the lease time; stop fenced runs and
        runs whose cancel was asked for elsewhere; claim orphans. Never raises."""
        every = self.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            try:
                # Only runs whose row is stored: a run started less than a flush ago has
                # none yet, which a renewal would take for a lost lease.
                epochs = {
                    run_id: rec.epoch
                    for run_id in self.driver.live()
                    if (rec := self.mux.record(run_id)) is not None and self.mux.stored(run_id)
                }
                # Bounded: a store that does not answer must not hold the keeper (the
                # watchdog fences this replica meanwhile).
                async with asyncio.timeout(every):
                    fenced, cancels = await self.store.renew(
                        epochs, self.replica_id, self.lease_seconds
                    )
                self._renewed_at = time.monotonic()
                if fenced:
                    for run_id in fenced:
                        self.mux.drop(run_id)
                    self.driver.fenced(fenced)
                for run_id in cancels:
                    self.driver.cancel_now(run_id)
                # pauses asked for on other replicas of the runs executed here
                for run_id, cancel_running in (
                    await self.store.pause_requests(list(epochs))
                ).items():
                    self.driver.pause_here(run_id, cancel_running)
                await self._claim_orphans()
                self.keeper_passes += 1
            except Exception:
                log.exception("lease keeping failed; trying again in %.1fs", every)

    async def _watch_renewals(self) -> None:
        """Self-fencing: when no renewal has succeeded for ``SELF_FENCE`` of the lease time,
        this replica may be cut off from the store while its leases run out, and another
        replica will soon claim its runs: stop them here first (their worker calls are
        cancelled, which closes the workers' streams), so no task runs on two replicas at
        once. They are not ended: the replica that claims them resumes them from the log
        (this one too, once the store answers again)."""
        limit = self.lease_seconds * SELF_FENCE
        while True:
            await asyncio.sleep(self.lease_seconds / 12)
            stale = time.monotonic() - self._renewed_at
            if stale <= limit or not self.driver.live_count:
                continue
            live = set(self.driver.live())
            log.warning(
                "no lease renewal for %.1fs (limit %.1fs): fencing myself, stopping %d runs",
                stale,
                limit,
                len(live),
            )
            self.self_fenced += len(live)
            self.driver.fenced(live)
            for run_id in live:
                self.mux.drop(run_id)

    async def _claim_orphans(self) -> list[str]:
        if self.driver.draining:
            return []
        resumed: list[str] = []
        for run_id in await self.store.orphans(self.replica_id):
            # Live here, or just ended here and its final row not stored yet (its channel
            # is still in memory): not an orphan, whatever the stored row says.
            if self.driver.is_live(run_id) or run_id in self.mux.channels:
                continue
            record = await self.store.claim(run_id, self.replica_id, self.lease_seconds)
            if record is not None:
                await self.resumer.resume(record)
                resumed.append(run_id)
        return resumed

    async def _listen(self, listen: Any) -> None:
        """Postgres notifications: wake the followers of a run when its events (or its
        parked or final row) are stored; stop a run live here when its cancel was asked for
        on another replica. While the connection is down, followers poll."""
        from mesh_orchestrator.runs.store.postgres import CANCEL_CHANNEL, EVENTS_CHANNEL

        wakeups = self.wakeups
        while True:
            try:
                async for channel, payload in listen(EVENTS_CHANNEL, CANCEL_CHANNEL):
                    if channel == CANCEL_CHANNEL:
                        self.driver.cancel_now(payload)
                    elif channel == EVENTS_CHANNEL:
                        wakeups.wake(payload.split(","))
                    else:  # listening (again): whatever was missed meanwhile is read now
                        wakeups.listening = True
                        wakeups.wake_all()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listening for run notifications failed; again in 1s")
            finally:
                wakeups.listening = False
            await asyncio.sleep(1.0)
