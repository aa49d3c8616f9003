"""The stream multiplexer: numbers a run's events, fans them out live, persists them in batches.

``publish`` is synchronous and cheap (the hot path): it assigns the next ``seq``, appends the
event to the run's in-memory log, hands it to every subscriber's queue and queues it for the
background flusher, which writes batches to the run store every ``interval`` seconds or as
soon as ``batch`` events are waiting. Because ``publish`` and ``subscribe``'s snapshot never
await, a subscriber sees every event exactly once, in seq order, with no gap between its
replay and the live tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from mesh_contracts import NodeStatus, PlanNode, StreamEvent, StreamEventType
from mesh_orchestrator.store.base import RunRecord, RunStore

log = logging.getLogger(__name__)


class RunChannel:
    """One run in memory: its record, its event log, its plan's node states, its listeners."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.events: list[StreamEvent] = []
        self.nodes: dict[str, PlanNode] = {}
        self.subscribers: set[asyncio.Queue[StreamEvent | None]] = set()
        self.closed = False

    def apply(self, e: StreamEvent) -> None:
        """Keep the plan's per-node status, output, error and timings current."""
        if e.type == "plan":
            tasks = e.data.get("plan", {}).get("tasks", [])
            self.nodes = {t["task_id"]: PlanNode.model_validate(t) for t in tasks}
            return
        node = self.nodes.get(e.task_id or "")
        if node is None:
            return
        if e.type == "status":
            node.status = NodeStatus(e.data.get("status", node.status))
            if node.status is NodeStatus.RUNNING:
                node.assigned_agent = e.data.get("agent_id")
                node.assigned_instance = e.data.get("instance_id")
                node.started_at = e.ts
            elif node.status.terminal:
                node.finished_at = e.ts
                if (
                    e.data.get("reason")
                    and node.error is None
                    and node.status is not NodeStatus.COMPLETED
                ):
                    node.error = e.data["reason"]
        elif e.type == "result":
            node.output = e.data.get("output")
        elif e.type == "error":
            node.error = e.data.get("error")

    def plan_snapshot(self) -> list[dict[str, Any]] | None:
        if not self.nodes:
            return self.record.plan
        return [n.model_dump(mode="json") for n in self.nodes.values()]


class EventMux:
    """Every live run's channel plus the batch flusher. Start it, then ``open`` runs."""

    def __init__(self, store: RunStore, *, interval: float = 0.05, batch: int = 200) -> None:
        self.store = store
        self.interval = interval
        self.batch = batch
        self.channels: dict[str, RunChannel] = {}
        self._pending: list[StreamEvent] = []
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="event-flusher")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.flush()

    def open(self, record: RunRecord) -> RunChannel:
        ch = RunChannel(record)
        self.channels[record.run_id] = ch
        return ch

    def publish(
        self,
        run_id: str,
        type: StreamEventType,
        data: dict[str, Any] | None = None,
        task_id: str | None = None,
        agent_id: str | None = None,
    ) -> StreamEvent:
        ch = self.channels[run_id]
        event = StreamEvent.model_construct(
            run_id=run_id,
            seq=len(ch.events) + 1,
            type=type,
            task_id=task_id,
            agent_id=agent_id,
            data=data or {},
            ts=time.time(),
        )
        ch.events.append(event)
        ch.record.last_seq = event.seq
        ch.apply(event)
        for q in ch.subscribers:
            q.put_nowait(event)
        self._pending.append(event)
        if event.type in ("plan", "status", "result", "done"):
            self._dirty.add(run_id)
        if len(self._pending) >= self.batch:
            self._wake.set()
        return event

    def close(self, run_id: str, status: str, answer: str | None) -> None:
        """The run ended (after its ``done`` event): release listeners, persist it soon."""
        ch = self.channels[run_id]
        ch.record.status = status
        ch.record.answer = answer
        ch.record.finished_at = time.time()
        ch.closed = True
        for q in ch.subscribers:
            q.put_nowait(None)
        ch.subscribers.clear()
        self._dirty.add(run_id)
        self._wake.set()

    def record(self, run_id: str) -> RunRecord | None:
        """The live record (plan included) of a run in memory, else None."""
        ch = self.channels.get(run_id)
        if ch is None:
            return None
        ch.record.plan = ch.plan_snapshot()
        return ch.record

    async def subscribe(self, run_id: str, after: int = 0) -> AsyncIterator[StreamEvent]:
        """Events with seq > ``after``: replayed, then live until the run's end."""
        ch = self.channels.get(run_id)
        if ch is None:
            for e in await self.store.events_after(run_id, after):
                yield e
            return
        backlog = [e for e in ch.events if e.seq > after]
        if ch.closed:
            for e in backlog:
                yield e
            return
        queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()
        ch.subscribers.add(queue)
        try:
            for e in backlog:
                yield e
            while (e2 := await queue.get()) is not None:
                yield e2
        finally:
            ch.subscribers.discard(queue)

    async def flush(self) -> None:
        """Write pending events and dirty runs; forget closed runs once they are stored."""
        events, self._pending = self._pending, []
        dirty, self._dirty = self._dirty, set()
        # Only runs already closed at the snapshot are fully captured by this flush.
        closed = {r for r in dirty if (ch := self.channels.get(r)) is not None and ch.closed}
        try:
            if events:
                await self.store.append_events(events)
            for run_id in dirty:
                record = self.record(run_id)
                if record is not None:
                    await self.store.save_run(record)
        except Exception:
            log.exception("could not persist %d events; retrying", len(events))
            self._pending[:0] = events
            self._dirty |= dirty
            return
        for run_id in closed:
            ch = self.channels.get(run_id)
            if ch is not None and not ch.subscribers and run_id not in self._dirty:
                del self.channels[run_id]

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()
