"""Threads: conversations of runs, and what a run on one sees of the others.

``Threads`` is the one owner of threads (routes call only it, as they call ``RunService``
for runs). A thread belongs to the client that made it, as a run does. ``start`` starts a
run on a thread and decides what happens when the thread is busy (its last run still
running), by the request's ``multitask_strategy`` (double-texting):

* ``reject``: ``ThreadBusy`` (the API answers 409), nothing starts;
* ``enqueue`` (default): the run starts now and waits, before it plans, until the busy run
  has ended (a ``status`` event ``{"phase": "thread", "status": "queued"}`` says so), so it
  plans against that run's answer;
* ``interrupt``: the busy run is cancelled (on whichever replica runs it) and the new one
  waits for it to end, as with ``enqueue``.

Which run came last is a compare-and-set in the store (``ThreadStore.append_run``): two
replicas starting runs on one thread at once order them, neither is lost. The new run's
options carry its thread and the run it waits for, so a replica that resumes it after a
crash knows both.

``prepare`` is the run driver's prelude (``RunService.use_prelude``): for a run on a thread it
waits its turn and gives the state its ``conversation`` (the thread's earlier turns, read
from the store when its turn comes; or an OpenAI request's own earlier messages, carried in
its options). Off a thread it does nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mesh_contracts import ExecutionPlan, PhaseStatus, RunStatus
from mesh_orchestrator.conversation import Conversation, Turn, turn_of
from mesh_orchestrator.graph.policy import RunState
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.service import new_run_id
from mesh_orchestrator.runs.store.base import RunRecord
from mesh_orchestrator.runs.store.threads import ThreadRecord, ThreadStore

if TYPE_CHECKING:
    from mesh_orchestrator.runs.service import RunService

THREAD_OPTION = "thread_id"  # where a run keeps its thread (record.options)
AFTER_OPTION = "after_run"  # the run it waits for before it plans
MESSAGES_OPTION = "conversation"  # an OpenAI request's earlier turns: [{"query", "answer"}]
TURNS = 5  # a run sees at most this many earlier turns
APPEND_TRIES = 5


class Strategy(StrEnum):
    REJECT = "reject"
    ENQUEUE = "enqueue"
    INTERRUPT = "interrupt"


class ThreadBusy(Exception):
    """``reject``: the thread's last run is still running."""

    def __init__(self, thread_id: str, run_id: str) -> None:
        super().__init__(f"thread {thread_id} is busy with run {run_id}")
        self.run_id = run_id


class ThreadMissing(Exception):
    """The thread is not there (or not this caller's)."""


class Threads:
    """Threads of the run store, runs started on them, and the driver's prelude."""

    def __init__(self, runs: RunService, store: ThreadStore) -> None:
        self.runs = runs
        self.store = store
        runs.use_prelude(self.prepare)  # each run's prelude: its turn on its thread

    async def create(
        self,
        owner: str | None,
        thread_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ThreadRecord | None:
        """A new thread (an id of the caller's choosing, or a fresh one); None when the id
        is taken."""
        record = ThreadRecord(
            thread_id=thread_id or uuid.uuid4().hex,
            owner=owner,
            created_at=time.time(),
            metadata=metadata or {},
        )
        return record if await self.store.create_thread(record) else None

    async def get(self, thread_id: str) -> ThreadRecord | None:
        return await self.store.get_thread(thread_id)

    async def runs_of(self, thread_id: str, limit: int = 100) -> list[RunRecord]:
        """The thread's runs, oldest first (live ones as they are now)."""
        found = [await self.runs.get(r) for r in await self.store.thread_runs(thread_id, limit)]
        return [r for r in found if r is not None]

    async def start(
        self,
        thread: ThreadRecord,
        query: str,
        plan: ExecutionPlan | None,
        options: dict[str, Any],
        strategy: Strategy = Strategy.ENQUEUE,
        *,
        owner: str | None = None,
        max_in_progress: int | None = None,
    ) -> RunRecord:
        """Start a run on ``thread`` (see the module docstring); raises ``ThreadBusy``
        (``reject``), ``OverQuota`` and ``Draining`` as ``RunService.start`` does."""
        run_id = new_run_id()
        for _ in range(APPEND_TRIES):
            current = await self.store.get_thread(thread.thread_id)
            if current is None:
                raise ThreadMissing(thread.thread_id)
            last = current.last_run_id
            busy = last is not None and await self._running(last)
            if busy and strategy is Strategy.REJECT:
                assert last is not None
                raise ThreadBusy(thread.thread_id, last)
            if await self.store.append_run(thread.thread_id, run_id, last):
                break
        else:  # another start won every race: its turn, then ours
            raise ThreadBusy(thread.thread_id, last or "")
        if busy and strategy is Strategy.INTERRUPT:
            assert last is not None
            await self.runs.cancel(last)
        opts = {**options, THREAD_OPTION: thread.thread_id, AFTER_OPTION: last}
        return await self.runs.start(
            query, plan, opts, owner=owner, max_in_progress=max_in_progress, run_id=run_id
        )

    async def _running(self, run_id: str) -> bool:
        record = await self.runs.get(run_id)
        return record is not None and record.status is RunStatus.RUNNING

    async def prepare(self, state: RunState, events: RunEvents) -> RunState:
        """The driver's prelude: wait for the run before this one, then its conversation."""
        record = self.runs.mux.record(events.run_id)
        options = record.options if record is not None else {}
        thread_id = options.get(THREAD_OPTION)
        if thread_id is None and not options.get(MESSAGES_OPTION):
            return {}
        before = options.get(AFTER_OPTION)
        if before is not None and await self._running(before):
            events.emit(PhaseStatus(phase="thread", status="queued", reason=f"after run {before}"))
            await self._wait_for(before)
            events.emit(PhaseStatus(phase="thread", status="running"))
        turns = [Turn.model_validate(t) for t in options.get(MESSAGES_OPTION) or []]
        if thread_id is not None:
            turns += await self._turns(thread_id, events.run_id)
        return {
            "thread_id": thread_id,
            "after_run": before,
            "conversation": Conversation(turns=turns[-TURNS:]).model_dump(mode="json"),
        }

    async def _wait_for(self, run_id: str) -> None:
        """Until ``run_id`` is no longer running (ended, or parked awaiting approval),
        wherever it runs: its events are followed to their end."""
        while await self._running(run_id):
            outcome = await self.runs.outcome(run_id)
            if outcome is None:
                return
            await asyncio.sleep(0)  # its final row may lag its last event by one flush
            if await self._running(run_id):
                await asyncio.sleep(self.runs.follow_poll_seconds)

    async def _turns(self, thread_id: str, run_id: str) -> list[Turn]:
        ids = await self.store.thread_runs(thread_id, limit=TURNS + 50)
        if run_id in ids:
            ids = ids[: ids.index(run_id)]
        turns = []
        for rid in ids[-TURNS:]:
            r = await self.runs.get(rid)
            if r is not None and r.status is not RunStatus.RUNNING:
                turns.append(turn_of(r.run_id, r.query, r.answer, r.plan))
        return turns
