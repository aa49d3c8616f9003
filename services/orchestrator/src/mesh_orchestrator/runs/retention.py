"""Retention: finished runs older than their client's retention are removed, with their
event logs, by one replica at a time.

``Retention.run`` wakes every ``every`` seconds; the replica that holds the store's
``retention`` lease (``RunStore.take_singleton``, renewed each pass, lapsing when its holder
dies) removes, in batches of ``batch``, every finished run whose ``finished_at`` is older
than its owner's retention (``ORCH_RETENTION_CLIENTS``: ``client:alice=3600,...``) or, for
every other owner, the global one (``ORCH_RETENTION_SECONDS``). A pinned run
(``POST /v1/runs/{id}/pin``) is kept; runs in progress (running, parked) are never
touched. ``removed`` counts what went (``mesh_retention_removed_total{kind}``). With no
retention configured the object does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

from mesh_orchestrator.runs.store.base import RunStore

log = logging.getLogger(__name__)

LEASE = "retention"
MAX_BATCHES = 100  # per owner group and pass: a huge backlog goes over several passes


def parse_clients(text: str) -> dict[str, float]:
    """``"client:alice=3600, client:bob=86400"`` as {scope: seconds}; raises ValueError."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        scope, sep, seconds = part.rpartition("=")
        if not sep or not scope.strip():
            raise ValueError(f"retention for {part!r}: expected SCOPE=SECONDS")
        value = float(seconds)
        if value < 0:
            raise ValueError(f"retention for {scope!r} must not be negative")
        out[scope.strip()] = value
    return out


class Retention:
    """The retention task of one replica (see the module docstring)."""

    def __init__(
        self,
        store: RunStore,
        replica_id: str,
        *,
        seconds: float | None,
        clients: dict[str, float] | None = None,
        every: float = 60.0,
        batch: int = 500,
    ) -> None:
        self.store = store
        self.replica_id = replica_id
        self.seconds = seconds
        self.clients = dict(clients or {})
        self.every = every
        self.batch = batch
        self.removed: Counter[str] = Counter()  # kind (runs, events) -> removed by this replica
        self.passes = 0  # passes done while holding the lease (tests wait on it)
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.seconds is not None or bool(self.clients)

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                if await self.store.take_singleton(LEASE, self.replica_id, self.every * 3):
                    await self.sweep()
                    self.passes += 1
            except Exception:
                log.exception("retention pass failed; again in %.0fs", self.every)

    async def sweep(self, now: float | None = None) -> tuple[int, int]:
        """One pass: remove what is due now; returns (runs, events) removed."""
        now = time.time() if now is None else now
        groups: list[tuple[list[str] | None, float]] = [
            ([scope], seconds) for scope, seconds in sorted(self.clients.items())
        ]
        if self.seconds is not None:
            groups.append((None, self.seconds))
        total_runs = total_events = 0
        for owners, seconds in groups:
            exclude = list(self.clients) if owners is None else []
            for _ in range(MAX_BATCHES):
                runs, events = await self.store.purge(now - seconds, owners, exclude, self.batch)
                total_runs += runs
                total_events += events
                self.removed["runs"] += runs
                self.removed["events"] += events
                if runs < self.batch:
                    break
        if total_runs:
            log.info("retention removed %d runs and %d events", total_runs, total_events)
        return total_runs, total_events
