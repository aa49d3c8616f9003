"""How a run is driven here: its own asyncio task running its graph, and how it ends.

``RunDriver`` holds what every part of ``RunService`` shares (the graph, the multiplexer,
the store, the live runs' tasks and emitters, the tracer) and drives runs: a run lives in
its own task, not in the HTTP request that started it, so a client may leave and come back.
Every node of the graph and the executor emit through the run's ``RunEvents`` (in the run's
config under ``EMITTER``): one path, numbered by the multiplexer as it happens. LangGraph
checkpoints the run when its graph ends (``durability="exit"``). Cancelling the task
cancels the executor's calls, which closes every worker stream (the workers then stop
generating); unfinished nodes are reported ``skipped`` and the run ends with
``done {"status": "cancelled"}``. With a ``tracer`` the run is one trace, its root span
open while the graph runs (see ``tracing``); a run taken up again (resumed, approved)
continues that trace.

The leases (``runs.leases``), approval (``runs.approval``) and the API (``runs.service``)
build on it.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    StreamEvent,
    TaskStatus,
)
from mesh_orchestrator.graph.policy import EMITTER, GATE, REGISTRY_READ, RunState
from mesh_orchestrator.relay.gate import Gate
from mesh_orchestrator.routing.registry import RunRead
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.in_doubt import InDoubtPolicy, InFlightCheck
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.replay import Wakeups
from mesh_orchestrator.runs.resume import Recovered, recover
from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.tracing import RunSpan, RunTracer

log = logging.getLogger(__name__)

# What a run does before its graph: given its state and emitter, the state keys to add
# (``runs.threads.Threads.prepare``: wait its turn on a thread, read the conversation).
Prelude = Callable[[RunState, RunEvents], Awaitable[RunState]]


async def no_prelude(state: RunState, events: RunEvents) -> RunState:
    return {}


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
        max_replans: int = 1,
        max_llm_attempts: int = 2,
        tracer: RunTracer | None = None,
        replica_id: str = "orchestrator",
        lease_seconds: float = 10.0,
        follow_poll_seconds: float = 0.2,
        registry_read: Callable[[], Awaitable[object]] | None = None,
        read_every_run: bool = False,
        in_flight_check: InFlightCheck | None = None,
        in_doubt: InDoubtPolicy = InDoubtPolicy.PARK,
    ):
        self.graph = graph
        # A run's read of discovery (``REGISTRY_READ``): at its start when it is traced (or
        # ``read_every_run``), else only if resolving needs it. None: runs never read.
        self.registry_read = registry_read
        self.read_every_run = read_every_run
        self._reads: set[asyncio.Future[object]] = set()
        # A resumed run's tasks whose call was out (``runs.in_doubt``): the executor's
        # ``in_flight`` asks their workers; None restarts them all.
        self.in_flight_check = in_flight_check
        self.in_doubt_policy = InDoubtPolicy(in_doubt)
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        self.follow_poll_seconds = follow_poll_seconds
        self.draining = False
        self._silenced: set[str] = set()  # stopped here without ending (fenced, drained)
        self._keeper: asyncio.Task[None] | None = None
        self._fence_watch: asyncio.Task[None] | None = None
        self._renewed_at = 0.0  # monotonic time of the last successful lease renewal
        self.self_fenced = 0  # runs this replica stopped itself, cut off from the store
        self._listener: asyncio.Task[None] | None = None
        # Followers of runs executed elsewhere, woken as the store gets their events: by
        # this process's flushes, and (Postgres) every replica's notifications once heard.
        self.wakeups = Wakeups(listening=getattr(store, "listen", None) is None)
        mux.on_stored = self.wakeups.wake
        mux.on_fenced = self._fenced  # a store refusing this replica's writes stops runs
        self.tracer = tracer
        self.mux = mux
        self.store = store
        self.max_replans = max_replans
        self.max_llm_attempts = max_llm_attempts
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, RunEvents] = {}
        # Each live run's gate (a paused run starts no sub-task), and the runs being paused
        # here: run id -> cancel_running (``runs.pausing``).
        self._gates: dict[str, Gate] = {}
        self._pausing: dict[str, bool] = {}
        self._pauses: set[asyncio.Task[None]] = set()  # waiting for running sub-tasks
        self._asking: set[str] = set()  # parking because a worker asked the user
        self.ended: Counter[str] = Counter()  # runs of this process by final status (metrics)
        self.prelude: Prelude = no_prelude  # threads set theirs (``runs.threads``)
        self.keeper_passes = 0  # lease renewals and orphan scans done (tests wait on it)

    @property
    def live_count(self) -> int:
        return len(self._tasks)

    def is_live(self, run_id: str) -> bool:
        return run_id in self._tasks

    def cancel_now(self, run_id: str, *, unless_parked: bool = False) -> bool:
        """Cancel a run live in this process (no await: a client's departure calls it);
        False when it is not live here. ``unless_parked``: not a run whose last event says
        it awaits approval (its client leaving then is expected: it approves later)."""
        task = self._tasks.get(run_id)
        if task is None or task.done():
            return False
        if unless_parked and self._parking(run_id):
            return False
        task.cancel()
        return True

    def _go(self, events: RunEvents, state: RunState, span: RunSpan | None) -> None:
        """Drive the run in its own task (inside ``span`` when traced)."""
        drive = self._drive(events, state) if span is None else self._traced(events, state, span)
        self._tasks[events.run_id] = asyncio.create_task(drive, name=f"run-{events.run_id}")

    def _continued(self, record: RunRecord, rec: Recovered, why: str) -> RunSpan | None:
        """The span of a run taken up again here, in its own trace (None untraced)."""
        if self.tracer is None:
            return None
        return self.tracer.continue_run(
            record.run_id, record.query, rec.trace, epoch=record.epoch, why=why
        )

    async def _traced(self, events: RunEvents, state: RunState, span: RunSpan) -> None:
        with span.current():
            await self._drive(events, state, span)

    async def _drive(self, events: RunEvents, state: RunState, span: RunSpan | None = None) -> None:
        run_id = events.run_id
        status, answer = RunStatus.FAILED, None
        planner = state.get("planner")  # set here for a client plan
        # One checkpoint thread per run and epoch: a resumed run starts from its stored log,
        # never from what its previous owner checkpointed.
        epoch = (self.mux.record(run_id) or RunRecord(run_id=run_id, query="", created_at=0)).epoch
        gate = self._gates.setdefault(run_id, Gate())
        gate.on_input = lambda task_id: self._input_asked(run_id, task_id)
        config = {"configurable": {"thread_id": f"{run_id}:{epoch}", EMITTER: events, GATE: gate}}
        if self.registry_read is not None:
            read = RunRead(self.registry_read, self._reads)
            config["configurable"][REGISTRY_READ] = read
            if self.read_every_run or (span is not None and span.recording):
                read.start()  # alongside planning, in the run's trace
        try:
            state = {**state, **await self.prelude(state, events)}
            # "updates" (what each node returned), not "values" (the whole state after every
            # step): status, answer and planner are all this needs of it.
            async for chunk in self.graph.astream(
                state, config, stream_mode="updates", durability="exit"
            ):
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
            if status is RunStatus.AWAITING_APPROVAL and (rec := self.mux.record(run_id)):
                # Its row says so before its listeners are let go: whoever saw
                # awaiting_approval may approve it at once, on any replica.
                rec.status = RunStatus.AWAITING_APPROVAL
                self.mux.touch(run_id)
                await self.mux.flush()
        except asyncio.CancelledError:
            if run_id in self._silenced:  # drained or fenced: it goes on elsewhere
                self._tasks.pop(run_id, None)
                self._live.pop(run_id, None)
                self._silenced.discard(run_id)
                raise
            if run_id in self._pausing:  # paused: parked, taken up again by resume
                asking = run_id in self._asking
                status = RunStatus.INPUT_REQUIRED if asking else RunStatus.PAUSED
                await self._park_paused(events, self._pausing[run_id], asking=asking)
            else:
                status = RunStatus.CANCELLED
                self._skip_unfinished(events, "run cancelled")
        except Exception as exc:
            log.exception("run %s crashed", run_id)
            status = RunStatus.FAILED
            if span is not None:
                span.crashed(exc)
            events.emit(RunFailure(error=f"internal error: {exc}", code="internal"))
            self._skip_unfinished(events, "run failed")
        finally:
            if run_id in self._tasks:  # not silenced (drained or fenced)
                if span is not None:
                    span.finish(status, planner)
                if run_id in self.mux.channels and status.terminal:
                    events.emit(RunEnded(status=status))
                if status.terminal:
                    self.ended[str(status)] += 1
                self.mux.close(run_id, status, answer)
                self._tasks.pop(run_id, None)
                self._live.pop(run_id, None)
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

    def _input_asked(self, run_id: str, task_id: str) -> None:
        """A worker of the run asked the user (``runs.pausing`` parks the run)."""

    async def _pause_requested(self, run_ids: list[str]) -> None:
        """The keeper's hook for pauses asked for on other replicas (``runs.pausing``)."""

    @staticmethod
    def _skip_unfinished(events: RunEvents, reason: str) -> None:
        for node in events.projection.unfinished():
            events.emit(
                TaskStatus(status=NodeStatus.SKIPPED, reason=reason),
                task_id=node.task_id,
                agent_id=node.assigned_agent,
            )

    async def _reopen(self, record: RunRecord) -> tuple[Recovered, RunEvents, list[StreamEvent]]:
        """Hold a claimed run in memory again, rebuilt from its stored log (returned too)."""
        stored = await self.store.events_after(record.run_id, 0)
        rec, projection = recover(record, stored)
        record.last_seq = max(record.last_seq, rec.last_seq)
        self.mux.reopen(record)
        return rec, RunEvents(record.run_id, self.mux, projection), stored

    def _end(self, events: RunEvents, status: RunStatus) -> None:
        """End a run that is not driven by a task here (rejected while parked)."""
        events.emit(RunEnded(status=status))
        self.ended[str(status)] += 1
        self.mux.close(events.run_id, status, None)

    def _fenced(self, run_ids: set[str]) -> None:
        """The store refused writes of these runs: another replica owns them now."""
        for run_id in run_ids:
            log.warning("run %s is now owned by another replica: stopping it here", run_id)
            task = self._tasks.get(run_id)
            if task is not None and not task.done():
                self._silenced.add(run_id)
                task.cancel()

    def _parking(self, run_id: str) -> bool:
        ch = self.mux.channels.get(run_id)
        last = ch.events[-1] if ch is not None and ch.events else None
        return last is not None and last.data.get("status") == "awaiting_approval"

    async def get(self, run_id: str) -> RunRecord | None:
        """The run's record (plan with node states), live or stored; None if unknown."""
        return self.mux.record(run_id) or await self.store.get_run(run_id)
