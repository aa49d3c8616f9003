"""Retention: finished runs older than their client's retention are removed, with their
event logs, by one replica at a time.

``Retention.run`` wakes every ``every`` seconds; the replica that holds the store's
``retention`` lease (``RunStore.take_singleton``, renewed each pass, lapsing when its holder
dies) removes, in batches of ``batch``, every finished run whose ``finished_at`` is older
than its owner's retention (``ORCH_RETENTION_CLIENTS``: ``client:alice=3600,...``) or, for
every other owner, the global one (``ORCH_RETENTION_SECONDS``). A pinned run
(``POST /v1/runs/{id}/pin``) is kept; runs in progress (running, parked) are never
touched.

In the same pass, with the same ages and batches: threads last active before the owner's
retention whose runs are all gone or finished that long ago (none pinned, none in
progress) go with their ``thread_runs`` rows (``ThreadStore.purge``); webhook deliveries
that are done (delivered or given up) go when their run is gone or they are that old,
and the push configs of gone runs go (``Outbox.purge``); deliveries still due are kept.
The A2A task history rows of gone runs go too (``TaskMessages.purge``). ``removed`` counts
what went (``mesh_retention_removed_total{kind}``: runs, events, artifacts, threads,
deliveries, push_configs, a2a_messages). With no retention configured the object does nothing.

The files mesh workers kept for a run (image-gen's PNGs, lora-trainer's adapters) go with
it: before a batch of runs is removed, each run's log is read for its ``artifact`` events
and each one's ``url`` is deleted on the worker instance that made it (``ArtifactDeleter``:
``DELETE /artifacts/{name}``, the orchestrator's token for that worker, the endpoint
policy). A run whose artifacts could not all be deleted (its worker is down, or not
registered now) is kept, with its log, and tried again at the next pass; other runs go on
meanwhile. Past ``GIVE_UP_SECONDS`` beyond its due time it goes anyway, and what is left on
the worker is logged and counted (``mesh_retention_artifact_failures_total{outcome}``). A
pinned run keeps its artifacts; an artifact that is gone already (404) counts as done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from mesh_orchestrator.relay.artifacts import Deletion
from mesh_orchestrator.runs.store.base import RunStore
from mesh_orchestrator.runs.store.messages import TaskMessages
from mesh_orchestrator.runs.store.outbox import Outbox
from mesh_orchestrator.runs.store.threads import ThreadStore

log = logging.getLogger(__name__)

LEASE = "retention"
MAX_BATCHES = 100  # per owner group and pass: a huge backlog goes over several passes
MAX_KEPT = 1000  # runs kept back in one pass (artifacts left): the rest waits for the next
GIVE_UP_SECONDS = 7 * 86400  # past its due time, a run goes even if its artifacts could not

# (agent id, url) of an artifact event -> what became of it (``relay.artifacts``).
DeleteArtifact = Callable[[str | None, str | None], Awaitable[Deletion]]


class RunArtifacts:
    """The artifacts a run's events recorded, deleted on the workers that made them
    (``delete``; None: nothing is deleted and every run may go)."""

    def __init__(self, store: RunStore, delete: DeleteArtifact | None = None) -> None:
        self.store = store
        self.delete = delete
        self.removed = 0
        self.failures: Counter[str] = Counter()  # retried / given_up (artifacts)

    async def remove(self, run_id: str, give_up: bool) -> bool:
        """Delete the run's artifacts; whether the run may go now (all deleted, gone or not
        the mesh's, or ``give_up``: the rest are left where they are)."""
        if self.delete is None:
            return True
        events = await self.store.events_after(run_id, 0)
        made = dict.fromkeys(
            (e.agent_id, e.data.get("url")) for e in events if e.type == "artifact"
        )
        left = 0
        for agent_id, url in made:
            outcome = await self.delete(agent_id, url if isinstance(url, str) else None)
            if outcome is Deletion.REMOVED:
                self.removed += 1
            elif outcome is Deletion.FAILED:
                left += 1
        if not left:
            return True
        self.failures["given_up" if give_up else "retried"] += left
        if give_up:
            log.warning(
                "retention: run %s goes, %d artifact(s) of it left on workers", run_id, left
            )
        return give_up


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
        threads: ThreadStore | None = None,
        outbox: Outbox | None = None,
        messages: TaskMessages | None = None,
        artifacts: DeleteArtifact | None = None,
    ) -> None:
        self.store = store
        self.artifacts = RunArtifacts(store, artifacts)
        self.threads = threads
        self.outbox = outbox
        self.messages = messages
        self.replica_id = replica_id
        self.seconds = seconds
        self.clients = dict(clients or {})
        self.every = every
        self.batch = batch
        self.removed: Counter[str] = Counter()  # kind (runs, events, ...) -> removed here
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
        counted = Counter(self.removed)
        for owners, seconds in groups:
            exclude = list(self.clients) if owners is None else []
            runs, events = await self._runs(now - seconds, owners, exclude)
            total_runs += runs
            total_events += events
            # After the runs: a thread's runs removed just now no longer hold it.
            await self._batches("threads", self._threads, now - seconds, owners, exclude)
            await self._batches("deliveries", self._outbox, now - seconds, owners, exclude)
            await self._batches("a2a_messages", self._messages, now - seconds, owners, exclude)
        if total_runs or counted != self.removed:
            log.info("retention removed %d runs and %d events (%s in all so far)",
                     total_runs, total_events, dict(self.removed))  # fmt: skip
        return total_runs, total_events

    async def _runs(
        self, before: float, owners: list[str] | None, exclude: list[str]
    ) -> tuple[int, int]:
        """The due runs of one owner group, batch after batch, each run once its artifacts
        are deleted (those whose artifacts are left wait for the next pass)."""
        total_runs = total_events = 0
        kept: list[str] = []
        for _ in range(MAX_BATCHES):
            due = await self.store.due(before, owners, exclude, self.batch, kept)
            if not due:
                break
            going: list[str] = []
            for run_id, finished_at in due:
                give_up = finished_at < before - GIVE_UP_SECONDS
                (going if await self.artifacts.remove(run_id, give_up) else kept).append(run_id)
            runs, events = await self.store.purge(before, owners, exclude, self.batch, going)
            total_runs += runs
            total_events += events
            if len(due) < self.batch or len(kept) >= MAX_KEPT:
                break
        self.removed["runs"] += total_runs
        self.removed["events"] += total_events
        if self.artifacts.removed > self.removed["artifacts"]:
            self.removed["artifacts"] = self.artifacts.removed
        return total_runs, total_events

    async def _threads(
        self, before: float, owners: list[str] | None, exclude: list[str]
    ) -> tuple[int, int]:
        if self.threads is None:
            return 0, 0
        return await self.threads.purge(before, owners, exclude, self.batch), 0

    async def _outbox(
        self, before: float, owners: list[str] | None, exclude: list[str]
    ) -> tuple[int, int]:
        if self.outbox is None:
            return 0, 0
        return await self.outbox.purge(before, owners, exclude, self.batch)

    async def _messages(
        self, before: float, owners: list[str] | None, exclude: list[str]
    ) -> tuple[int, int]:
        """A2A task history rows whose run is gone (removed above, or before)."""
        if self.messages is None:
            return 0, 0
        return await self.messages.purge(self.batch), 0

    async def _batches(
        self,
        kind: str,
        purge: Callable[[float, list[str] | None, list[str]], Awaitable[tuple[int, int]]],
        before: float,
        owners: list[str] | None,
        exclude: list[str],
    ) -> None:
        """``purge`` batch after batch until one is short; counts under ``kind`` (and, for
        the second figure, ``push_configs``)."""
        for _ in range(MAX_BATCHES):
            first, second = await purge(before, owners, exclude)
            for name, n in ((kind, first), ("push_configs", second)):
                if n:
                    self.removed[name] += n
            if first < self.batch and second < self.batch:
                break
