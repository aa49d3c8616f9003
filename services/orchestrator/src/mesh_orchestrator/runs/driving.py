"""How a run is driven here: its own asyncio task running its graph, and how it ends.

``RunDriver`` is the member of ``RunService`` that holds this process's live runs (their
tasks and gates) and drives them: a run lives in its own task, not in the HTTP request that
started it, so a client may leave and come back. Every node of the graph and the executor
emit through the run's ``RunEvents`` (in the run's config under ``EMITTER``): one path,
numbered by the multiplexer as it happens. The graph has no checkpointer (``graph.build``: a
run is taken up again from its stored log, never from a checkpoint). Cancelling the task cancels the executor's calls, which closes
every worker stream (the workers then stop generating); unfinished nodes are reported
``skipped`` and the run ends with ``done {"status": "cancelled"}``. A run is one trace, its
root span (``NO_SPAN`` when tracing is off) current while the graph runs (see ``tracing``);
a run taken up again (resumed, approved) continues that trace.

It also stops live runs without ending them: a pause closes the run's gate and parks the
run once its running sub-tasks are done (``pause_here``; ``runs.pausing`` is the API), a
run whose lease another replica took is silenced (``fenced``), and ``drain`` stops them all
at shutdown (``runs.leases``). The other members (``runs.leases``, ``runs.approval``,
``runs.pausing``, ``runs.resuming``) hold it and call these methods; it knows none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from mesh_contracts import (
    NodeStatus,
    RunAwaitingInput,
    RunEnded,
    RunFailure,
    RunPaused,
    RunStatus,
    TaskStatus,
)
from mesh_contracts.event_bodies import Made, run_ended
from mesh_orchestrator.graph.policy import EMITTER, EPOCH, GATE, REGISTRY_READ, RunState
from mesh_orchestrator.relay.gate import Gate
from mesh_orchestrator.routing.registry import RunRead
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.tracing import NO_SPAN, TracedRun

log = logging.getLogger(__name__)

# What a run does before its graph: given its state and emitter, the state keys to add
# (``runs.threads.Threads.prepare``: wait its turn on a thread, read the conversation).
Prelude = Callable[[RunState, RunEvents], Awaitable[RunState]]


async def no_prelude(state: RunState, events: RunEvents) -> RunState:
    return {}


def _nothing(run_id: str, status: RunStatus) -> None:
    return None


class Draining(Exception):
    """This replica is shutting down and takes no new runs (another replica will)."""


class RunDriver:
    """The live runs of this process and how each is driven (see the module docstring)."""

    def __init__(
        self,
        graph: Any,
        mux: EventMux,
        store: RunStore,
        *,
        registry_read: Callable[[], Awaitable[object]] | None = None,
        read_every_run: bool = False,
    ):
        self.graph = graph
        self.mux = mux
        self.store = store
        # A run's read of discovery (``REGISTRY_READ``): at its start when it is traced (or
        # ``read_every_run``), else only if resolving needs it. None: runs never read.
        self.registry_read = registry_read
        self.read_every_run = read_every_run
        self._reads: set[asyncio.Future[object]] = set()
        self.draining = False  # shutting down: no run starts or is taken up here
        self._silenced: set[str] = set()  # stopped here without ending (fenced, drained)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Each live run's gate (a paused run starts no sub-task), and the runs being paused
        # here: run id -> cancel_running.
        self._gates: dict[str, Gate] = {}
        self._pausing: dict[str, bool] = {}
        self._pauses: set[asyncio.Task[None]] = set()  # waiting for running sub-tasks
        self._asking: set[str] = set()  # parking because a worker asked the user
        self.ended: Counter[str] = Counter()  # runs of this process by final status (metrics)
        # What a run does before its graph (``use_prelude``; threads set theirs).
        self.prelude: Prelude = no_prelude
        # Told of every run that ends here, and how (``runs.withdrawal``: a cancelled run's
        # open A2A questions are withdrawn from their agents).
        self.on_ended: Callable[[str, RunStatus], None] = _nothing

    @property
    def live_count(self) -> int:
        return len(self._tasks)

    def live(self) -> list[str]:
        """The ids of the runs driven here now."""
        return list(self._tasks)

    def is_live(self, run_id: str) -> bool:
        return run_id in self._tasks

    def task(self, run_id: str) -> asyncio.Task[None] | None:
        """The task driving ``run_id`` here, if any (a claim waits for it to park)."""
        return self._tasks.get(run_id)

    def cancel_now(self, run_id: str, *, unless_parked: bool = False) -> bool:
        """Cancel a run live in this process (no await: a client's departure calls it);
        False when it is not live here. ``unless_parked``: not a run whose last event says
        it awaits approval (its client leaving then is expected: it approves later).
        Otherwise (a cancel asked for) it wins over a pause under way: a run pausing, or
        waiting for its other sub-tasks before it parks on a question, ends cancelled."""
        task = self._tasks.get(run_id)
        if task is None or task.done():
            return False
        if unless_parked and self._parking(run_id):
            return False
        if not unless_parked:
            self._pausing.pop(run_id, None)
            self._asking.discard(run_id)
        task.cancel()
        return True

    def go(self, events: RunEvents, state: RunState, span: TracedRun = NO_SPAN) -> None:
        """Drive the run in its own task, ``span`` current while it runs (an untraced run's
        ``NO_SPAN`` has nothing to make current: no ``_traced`` frame is held under it for
        as long as the run goes on, ~0.3 KB of every open stream)."""
        if span is NO_SPAN:
            drive = self._drive(events, state, span)
        else:
            drive = self._traced(events, state, span)
        self._tasks[events.run_id] = asyncio.create_task(drive, name=f"run-{events.run_id}")

    async def _traced(self, events: RunEvents, state: RunState, span: TracedRun) -> None:
        with span.current():
            drive = self._drive(events, state, span)
            del state  # the run's starting state: only the graph's copy is held as it runs
            await drive

    async def _drive(self, events: RunEvents, state: RunState, span: TracedRun) -> None:
        run_id = events.run_id
        status, answer = RunStatus.FAILED, None
        planner = state.get("planner")  # set here for a client plan
        epoch = (self.mux.record(run_id) or RunRecord(run_id=run_id, query="", created_at=0)).epoch
        gate = self._gates.setdefault(run_id, Gate())
        # (a partial, not a lambda: no cells of this frame, held as long as the run is)
        gate.on_input = functools.partial(self._input_asked, run_id)
        conf: dict[str, Any] = {
            EMITTER: events,
            GATE: gate,
            EPOCH: epoch,  # worker calls' idempotency keys name it
        }
        config = {"configurable": conf}
        if self.registry_read is not None:
            read = RunRead(self.registry_read, self._reads)
            conf[REGISTRY_READ] = read
            if self.read_every_run or span.recording:
                read.start()  # alongside planning, in the run's trace
        try:
            state = {**state, **await self.prelude(state, events)}
            # "updates" (what each node returned), not "values" (the whole state after every
            # step): status, answer and planner are all this needs of it.
            # The graph copies the state: this frame holds none of it while the run goes on.
            chunks = self.graph.astream(state, config, stream_mode="updates")
            del state
            async for chunk in chunks:
                if "__interrupt__" in chunk:  # await_approval: the run is parked
                    status = RunStatus.AWAITING_APPROVAL
                    continue
                for update in chunk.values():
                    if isinstance(update, dict):
                        status = update.get("status", status)
                        answer = update.get("answer", answer)
                        planner = update.get("planner", planner)
                        if update.get("budget_used") and (rec := self.mux.record(run_id)):
                            # kept on its row (options): GET /v1/runs/{id} shows it
                            rec.options = {**rec.options, "budget_used": update["budget_used"]}
                # Read: the last node's update is not held while the next node runs.
                del chunk
                update = None
            if status is RunStatus.AWAITING_APPROVAL and (rec := self.mux.record(run_id)):
                # Its row says so before its listeners are let go: whoever saw
                # awaiting_approval may approve it at once, on any replica.
                rec.status = RunStatus.AWAITING_APPROVAL
                self.mux.touch(run_id)
                await self.mux.flush()
        except asyncio.CancelledError:
            if run_id in self._silenced:  # drained or fenced: it goes on elsewhere
                self._tasks.pop(run_id, None)
                self._silenced.discard(run_id)
                raise
            if run_id in self._pausing:  # paused: parked, taken up again by resume
                asking = run_id in self._asking
                status = RunStatus.INPUT_REQUIRED if asking else RunStatus.PAUSED
                await self._park_paused(events, self._pausing[run_id], asking=asking)
            else:
                status = RunStatus.CANCELLED
                skip_unfinished(events, "run cancelled")
        except Exception as exc:
            log.exception("run %s crashed", run_id)
            status = RunStatus.FAILED
            span.crashed(exc)
            events.emit(RunFailure(error=f"internal error: {exc}", code="internal"))
            skip_unfinished(events, "run failed")
        finally:
            if run_id in self._tasks:  # not silenced (drained or fenced)
                span.finish(status, planner)
                if run_id in self.mux.channels and status.terminal:
                    events.emit(Made(RunEnded.TYPE, run_ended(status)))
                if status.terminal:
                    self.ended[str(status)] += 1
                self.mux.close(run_id, status, answer)
                if status.terminal:
                    self.on_ended(run_id, status)
                self._tasks.pop(run_id, None)
            self._gates.pop(run_id, None)
            self._pausing.pop(run_id, None)
            self._asking.discard(run_id)

    async def _park_paused(
        self, events: RunEvents, cancel_running: bool, *, asking: bool = False
    ) -> None:
        """A paused run's end here: the sub-tasks that were stopped go back to ``pending``
        (they run again on resume), ``paused`` (``input_required`` when a worker asked the
        user) goes out and its row says so before its listeners are let go (anyone may
        resume or answer it at once, on any replica)."""
        run_id = events.run_id
        stopped = [n for n in events.projection.nodes.values() if n.status is NodeStatus.RUNNING]
        for node in stopped:
            events.emit(
                TaskStatus(status=NodeStatus.PENDING, reason="stopped by a pause; runs on resume"),
                task_id=node.task_id,
                agent_id=node.assigned_agent,
            )
        stopped_ids = [n.task_id for n in stopped]
        if asking:
            nodes = events.projection.nodes.values()
            open_ = [n.task_id for n in nodes if n.status is NodeStatus.INPUT_REQUIRED]
            events.emit(RunAwaitingInput(tasks=open_))
        else:
            events.emit(RunPaused(cancel_running=cancel_running, stopped=stopped_ids))
        if (rec := self.mux.record(run_id)) is not None:
            rec.status = RunStatus.INPUT_REQUIRED if asking else RunStatus.PAUSED
            self.mux.touch(run_id)
            await self.mux.flush()
        with contextlib.suppress(Exception):
            await self.store.clear_pause(run_id)

    def pause_here(self, run_id: str, cancel_running: bool) -> bool:
        """Pause a run live in this process: its gate closes (nothing new starts) and it
        parks once its running sub-tasks finished, or at once (``cancel_running``: they are
        stopped and go back to ``pending``). False when it is not live here."""
        task = self._tasks.get(run_id)
        gate = self._gates.get(run_id)
        if task is None or task.done() or gate is None:
            return False
        if run_id in self._pausing:  # already pausing: a cancel_running hurries it
            if cancel_running and not self._pausing[run_id]:
                self._pausing[run_id] = True
                task.cancel()
            return True
        self._pausing[run_id] = cancel_running
        gate.close()
        if cancel_running:
            task.cancel()
        else:
            waiter = asyncio.create_task(self._park_when_idle(run_id, task), name=f"pause-{run_id}")
            self._pauses.add(waiter)
            waiter.add_done_callback(self._pauses.discard)
        return True

    async def _park_when_idle(self, run_id: str, task: asyncio.Task[None]) -> None:
        """Park the run once its running sub-tasks finished (nothing new starts meanwhile);
        a run that ends first just ends."""
        gate = self._gates.get(run_id)
        if gate is None:
            return
        idle = asyncio.create_task(gate.idle())
        await asyncio.wait({idle, task}, return_when=asyncio.FIRST_COMPLETED)
        idle.cancel()
        if not task.done():
            task.cancel()
        else:
            with contextlib.suppress(Exception):
                await self.store.clear_pause(run_id)

    def _input_asked(self, run_id: str, task_id: str) -> None:
        """A worker asked the user: park the run as ``input_required`` once its other
        running sub-tasks finished (nothing new starts meanwhile)."""
        self._asking.add(run_id)
        self.pause_here(run_id, False)

    def end(self, events: RunEvents, status: RunStatus) -> None:
        """End a run that is not driven by a task here (rejected while parked, cancelled
        while paused)."""
        events.emit(Made(RunEnded.TYPE, run_ended(status)))
        self.ended[str(status)] += 1
        self.mux.close(events.run_id, status, None)
        self.on_ended(events.run_id, status)

    def fenced(self, run_ids: set[str]) -> None:
        """The store refused writes of these runs (or this replica fenced itself): another
        replica owns them now, so they stop here without ending."""
        for run_id in run_ids:
            log.warning("run %s is now owned by another replica: stopping it here", run_id)
            task = self._tasks.get(run_id)
            if task is not None and not task.done():
                self._silenced.add(run_id)
                task.cancel()

    def stop_taking_runs(self) -> None:
        """Shutting down: from now on no run starts or is taken up here (``Draining``)."""
        self.draining = True

    async def drain(self) -> list[str]:
        """Shutting down: take no new runs, stop every live run here without ending it and
        wait for them, cancel the discovery reads under way. Returns the ids stopped."""
        self.stop_taking_runs()
        live = list(self._tasks.items())
        for run_id, task in live:
            self._silenced.add(run_id)
            task.cancel()
        await asyncio.gather(*(task for _, task in live), return_exceptions=True)
        for read in list(self._reads):
            read.cancel()
        return [run_id for run_id, _ in live]

    def _parking(self, run_id: str) -> bool:
        ch = self.mux.channels.get(run_id)
        last = ch.events[-1] if ch is not None and ch.events else None
        return last is not None and last.data.get("status") == "awaiting_approval"

    async def get(self, run_id: str) -> RunRecord | None:
        """The run's record (plan with node states), live or stored; None if unknown."""
        return self.mux.record(run_id) or await self.store.get_run(run_id)


def skip_unfinished(events: RunEvents, reason: str) -> None:
    """Report the run's unfinished sub-tasks ``skipped`` (``reason``: why)."""
    for node in events.projection.unfinished():
        events.emit(
            TaskStatus(status=NodeStatus.SKIPPED, reason=reason),
            task_id=node.task_id,
            agent_id=node.assigned_agent,
        )
