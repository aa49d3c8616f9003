"""``RunService``: the one owner of runs. Every route that touches a run calls only this.

It starts runs, drives each one's graph in its own asyncio task, answers for live and
stored runs alike, hands out event subscriptions, and cancels. Underneath it owns the
multiplexer (numbering, fan-out, batched persistence), each live run's projection (node
states, ``runs.projection``) and the run store.

A run lives in its own task, not in the HTTP request that started it, so a client may leave
and come back (``events``). ``start`` returns once the ``run`` event is published. Every
node of the graph and the executor emit through the run's ``RunEvents`` (in the run's
config under ``EMITTER``): one path, numbered by the multiplexer as it happens. LangGraph
checkpoints the run when its graph ends (``durability="exit"``). Cancelling the task
cancels the executor's calls, which closes every worker stream (the workers then stop
generating); unfinished nodes are reported ``skipped`` and the run ends with
``done {"status": "cancelled"}``. With a ``tracer`` the run is one trace, its root span
open while the graph runs (see ``tracing``).

A run started with ``options.approval = "required"`` is parked after planning: the graph's
``await_approval`` node announces the plan and interrupts, the graph's stream ends, the run's
row says ``awaiting_approval`` and its task ends (nothing of it stays in memory, no lease is
kept, the keeper never resumes it). ``approve`` (on any replica) takes the row back to
``running`` under a new epoch and starts the graph again from the plan in the run's stored
log, the way a resumed run starts (approved, so it does not stop again); ``reject`` ends it
with ``done {"status": "rejected"}``. A restart while it waits loses nothing.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mesh_contracts import (
    ExecutionPlan,
    NodeStatus,
    PhaseStatus,
    PlanChosen,
    RunAnswer,
    RunEnded,
    RunFailure,
    RunResumed,
    RunStarted,
    RunStatus,
    StreamEvent,
    TaskStatus,
)
from mesh_orchestrator.graph.policy import EMITTER, REGISTRY_READ, RunState
from mesh_orchestrator.routing.registry import RunRead
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.events import RelayedEvent
from mesh_orchestrator.runs.mux import EventMux, Subscription
from mesh_orchestrator.runs.projection import RunProjection
from mesh_orchestrator.runs.resume import Recovered, recover
from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.tracing import RunSpan, RunTracer

log = logging.getLogger(__name__)


class CancelOutcome(StrEnum):
    CANCELLING = "cancelling"  # the run was live here; its task is being cancelled
    FINISHED = "finished"  # the run had already ended
    UNKNOWN = "unknown"


# How long approve/reject wait for a run that is still running to be parked (see
# ``_take_waiting``) before answering that it does not await approval.
PARK_WAIT_SECONDS = 2.0


class ApprovalOutcome(StrEnum):
    DONE = "done"  # approved (running again) or rejected (ended)
    NOT_WAITING = "not_waiting"  # the run exists but does not await approval
    UNKNOWN = "unknown"


@dataclass
class RunOutcome:
    """How a run ended, for callers that wait for it (``POST /orchestrate``)."""

    record: RunRecord
    status: RunStatus
    answer: RunAnswer | None


class Draining(Exception):
    """This replica is shutting down and takes no new runs (another replica will)."""


class RunService:
    """Runs of this process and of its store. Build it, ``await recover()``, then serve.

    Each run this replica executes is held by a lease in the store (``replica_id``, an
    epoch, an expiry ``lease_seconds`` ahead, renewed every third of that by the keeper).
    The keeper also claims orphaned runs (their owner's lease lapsed; or this replica's
    previous incarnation held them) and resumes them from their stored log: completed
    sub-tasks keep their outputs and are not run again, ids continue past every id the
    previous owner may have handed out. A write refused because another replica took the
    run over (fencing) stops the run here without a word. ``shutdown`` drains: no new
    runs, leases released so another replica (or this one restarted) resumes them.
    """

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
    ):
        self.graph = graph
        # A run's read of discovery (``REGISTRY_READ``): at its start when it is traced (or
        # ``read_every_run``), else only if resolving needs it. None: runs never read.
        self.registry_read = registry_read
        self.read_every_run = read_every_run
        self._reads: set[asyncio.Future[object]] = set()
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        self.follow_poll_seconds = follow_poll_seconds
        self.draining = False
        self._silenced: set[str] = set()  # stopped here without ending (fenced, drained)
        self._keeper: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._wakeups: dict[str, set[asyncio.Event]] = {}  # followers of remote runs
        self._followers: set[asyncio.Task[None]] = set()
        mux.on_fenced = self._fenced
        self.tracer = tracer
        self.mux = mux
        self.store = store
        self.max_replans = max_replans
        self.max_llm_attempts = max_llm_attempts
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, RunEvents] = {}
        self.ended: Counter[str] = Counter()  # runs of this process by final status (metrics)
        self.keeper_passes = 0  # lease renewals and orphan scans done (tests wait on it)

    # ---- lifecycle ---------------------------------------------------------------------

    async def recover(self) -> list[str]:
        """At start-up: take up the runs this replica's previous incarnation left running
        (and any orphan), then keep leases and watch for orphans until ``shutdown``.
        Returns the ids of the runs resumed now."""
        resumed = await self._claim_orphans()
        self._keeper = asyncio.create_task(self._keep(), name="run-leases")
        listen = getattr(self.store, "listen", None)
        if listen is not None:
            self._listener = asyncio.create_task(self._listen(listen), name="run-notifies")
        return resumed

    async def shutdown(self) -> None:
        """Drain: take no new runs, stop this replica's runs without ending them, store
        what they produced and release their leases, so they resume elsewhere (or here
        after a restart) with nothing completed run again."""
        self.draining = True
        for bg in (self._keeper, self._listener):
            if bg is not None:
                bg.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await bg
        live = list(self._tasks.items())
        for run_id, task in live:
            self._silenced.add(run_id)
            task.cancel()
        await asyncio.gather(*(task for _, task in live), return_exceptions=True)
        for read in list(self._reads):
            read.cancel()
        await self.mux.flush()
        for run_id, _ in live:
            record = self.mux.record(run_id)
            if record is not None:
                with contextlib.suppress(Exception):
                    await self.store.release(run_id, record.epoch)
                self.mux.drop(run_id)

    @property
    def live_count(self) -> int:
        return len(self._tasks)

    def is_live(self, run_id: str) -> bool:
        return run_id in self._tasks

    def live_runs_of(self, owner: str) -> int:
        """How many runs ``owner`` has live in this process (the per-client bound)."""
        return sum(
            1
            for run_id in list(self._tasks)
            if (r := self.mux.record(run_id)) is not None and r.owner == owner
        )

    # ---- the API -----------------------------------------------------------------------

    async def start(
        self,
        query: str,
        plan: ExecutionPlan | None,
        options: dict[str, Any],
        owner: str | None = None,
    ) -> RunRecord:
        """Create a run and start driving it; returns once its ``run`` event is out.
        Raises ``Draining`` while this replica shuts down."""
        if self.draining:
            raise Draining
        run_id = uuid.uuid4().hex
        now = time.time()
        record = RunRecord(
            run_id=run_id,
            query=query,
            created_at=now,
            options=options,
            owner=owner,
            lease_owner=self.replica_id,
            epoch=1,
            lease_expires_at=now + self.lease_seconds,
        )
        if plan is not None:  # kept on the row: a resume before its plan event is stored
            record.plan = [t.model_dump(mode="json") for t in plan.tasks]
            record.options = {**options, "client_plan": True}
        self.mux.open(record)  # stored by the multiplexer's next flush
        events = RunEvents(run_id, self.mux, RunProjection(record))
        self._live[run_id] = events
        # Traced, the run span starts here, in the request's context (its link), so that
        # the ``run`` event can carry the trace id; the run's task makes it current.
        span = self.tracer.start_run(run_id, query) if self.tracer is not None else None
        trace_id = span.trace_id if span is not None else None
        span_id = span.span_id if span is not None else None
        events.emit(RunStarted(run_id=run_id, query=query, trace_id=trace_id, span_id=span_id))
        state: RunState = {
            "run_id": run_id,
            "query": query,
            "client_plan": plan,
            "timeout_seconds": options.get("timeout_seconds"),
            "replans": 0,
            "max_replans": self.max_replans,
            "max_llm_attempts": self.max_llm_attempts,
            "approval": options.get("approval"),
        }
        if plan is not None:  # no planning step: the graph goes straight to resolve
            state["plan"] = plan
            state["planner"] = "client"
            state["reason"] = "plan supplied by the client"
        self._go(events, state, span)
        return record

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

    async def get(self, run_id: str) -> RunRecord | None:
        """The run's record (plan with node states), live or stored; None if unknown."""
        return self.mux.record(run_id) or await self.store.get_run(run_id)

    async def list(self, limit: int = 20, owner: str | None = None) -> list[RunRecord]:
        """Newest first, live and stored; with ``owner``, only the runs it started."""
        # Snapshot the live runs first: a run leaves memory only after its final row is
        # stored, and a run just started may not be stored yet.
        live = {run_id: self.mux.record(run_id) for run_id in list(self.mux.channels)}
        stored = await self.store.list_runs(limit, owner)
        runs = {r.run_id: r for r in stored} | {
            k: r for k, r in live.items() if r is not None and (owner is None or r.owner == owner)
        }
        return sorted(runs.values(), key=lambda r: r.created_at, reverse=True)[:limit]

    async def events(self, run_id: str, after: int = 0) -> Subscription | None:
        """Events with seq > ``after``: replayed, then live until the run's end. None for an
        unknown run. Call ``unsubscribe`` when done listening."""
        if self.mux.record(run_id) is not None:
            return await self.mux.subscribe(run_id, after)
        record = await self.store.get_run(run_id)
        if record is None:
            return None
        if record.finished:
            return await self.mux.subscribe(run_id, after)
        # Executed by another replica (or about to be resumed): followed through the store.
        sub = Subscription([], limit=self.mux.max_backlog)
        follower = asyncio.create_task(self._follow(run_id, sub, after), name=f"follow-{run_id}")
        self._followers.add(follower)
        follower.add_done_callback(self._followers.discard)
        return sub

    def unsubscribe(self, run_id: str, sub: Subscription) -> None:
        self.mux.unsubscribe(run_id, sub)
        sub.close()  # a follower of a remote run stops with it

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

    def _parking(self, run_id: str) -> bool:
        ch = self.mux.channels.get(run_id)
        last = ch.events[-1] if ch is not None and ch.events else None
        return last is not None and last.data.get("status") == "awaiting_approval"

    async def cancel(self, run_id: str) -> tuple[CancelOutcome, RunRecord | None]:
        """Cancel the run; says whether it was cancelling, had already finished, or is
        unknown, with its record where there is one."""
        if self.cancel_now(run_id):
            return CancelOutcome.CANCELLING, self.mux.record(run_id)
        record = await self.get(run_id)
        if record is None:
            return CancelOutcome.UNKNOWN, None
        if record.status is RunStatus.AWAITING_APPROVAL:  # nothing runs: it ends now
            outcome, ended = await self.reject(run_id, "cancelled", RunStatus.CANCELLED)
            if outcome is ApprovalOutcome.DONE:
                return CancelOutcome.CANCELLING, ended
        if not record.finished and await self.store.request_cancel(run_id):
            return CancelOutcome.CANCELLING, record  # its owner stops it (notify / renew)
        return CancelOutcome.FINISHED, record

    async def outcome(self, run_id: str) -> RunOutcome | None:
        """Wait for the run's end (following its events) and say how it ended."""
        sub = await self.events(run_id, 0)
        if sub is None:
            return None
        answer: RunAnswer | None = None
        status = RunStatus.FAILED
        try:
            while (batch := await sub.take()) is not None:
                for e in batch:
                    if e.type == "result" and e.task_id is None:
                        answer = RunAnswer.model_validate(e.data)
                    elif e.data.get("status") == "awaiting_approval":  # its stream ends here
                        status = RunStatus.AWAITING_APPROVAL
                    elif e.type == "done":
                        status = RunStatus(e.data.get("status", status))
        finally:
            self.unsubscribe(run_id, sub)
        record = await self.get(run_id)
        assert record is not None
        return RunOutcome(record, status, answer)

    # ---- approval ----------------------------------------------------------------------

    async def approve(
        self, run_id: str, plan: ExecutionPlan | None = None
    ) -> tuple[ApprovalOutcome, RunRecord | None]:
        """Approve a run awaiting approval, on whichever replica parked it: it runs from
        its announced plan, or from ``plan`` (already validated like a client's plan; its
        ``plan`` event goes out first, so a later resume runs it too). Returns the outcome
        and the run's record. Raises ``Draining`` while this replica shuts down."""
        taken = await self._take_waiting(run_id)
        if isinstance(taken, ApprovalOutcome):
            return taken, await self.get(run_id)
        record, rec, events = taken
        if plan is not None:
            events.emit(PlanChosen(plan=plan, planner="client", reason="plan edited at approval"))
            rec.plan, rec.planner, rec.reason = plan, "client", "plan edited at approval"
        events.emit(PhaseStatus(phase="approval", status="approved", edited=True if plan else None))
        if rec.plan is None:  # its log lost the plan: nothing to run
            events.emit(RunFailure(error="the approved run has no plan", code="internal"))
            self._end(events, RunStatus.FAILED)
            await self.mux.flush()
            return ApprovalOutcome.DONE, record
        self._live[run_id] = events
        state: RunState = {
            "run_id": run_id,
            "query": record.query,
            "client_plan": rec.plan,
            "plan": rec.plan,
            "planner": rec.planner or rec.plan.planner,
            "reason": rec.reason,
            "timeout_seconds": record.options.get("timeout_seconds"),
            "replans": 0,
            "max_replans": 0,  # what was approved runs; it is not replanned behind one's back
            "max_llm_attempts": self.max_llm_attempts,
            "approval": record.options.get("approval"),
            "approved": True,
            "plan_announced": True,
        }
        self._go(events, state, self._continued(record, rec, "approved"))
        return ApprovalOutcome.DONE, record

    async def reject(
        self, run_id: str, reason: str = "rejected", status: RunStatus = RunStatus.REJECTED
    ) -> tuple[ApprovalOutcome, RunRecord | None]:
        """End a run awaiting approval: its nodes ``skipped``, then ``done`` with ``status``
        (``rejected``; ``cancelled`` when it was cancelled while waiting)."""
        taken = await self._take_waiting(run_id)
        if isinstance(taken, ApprovalOutcome):
            return taken, await self.get(run_id)
        record, _, events = taken
        events.emit(PhaseStatus(phase="approval", status="rejected", reason=reason))
        self._skip_unfinished(events, f"plan {reason}")
        self._end(events, status)
        await self.mux.flush()
        return ApprovalOutcome.DONE, record

    async def _take_waiting(
        self, run_id: str
    ) -> ApprovalOutcome | tuple[RunRecord, Recovered, RunEvents]:
        """Claim a run awaiting approval for this replica and reopen it from its log."""
        if self.draining:
            raise Draining
        # A client acts on the awaiting_approval event, which goes out just before the run
        # is parked (its task ends, its row is stored): give a run that is still running a
        # moment (PARK_WAIT_SECONDS) to be parked, here or on the replica executing it.
        deadline = time.monotonic() + PARK_WAIT_SECONDS
        while True:
            task = self._tasks.get(run_id)
            if task is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(task), PARK_WAIT_SECONDS)
            if run_id in self.mux.channels:  # parked here just now: store its row first
                await self.mux.flush()
            record = await self.store.claim_waiting(run_id, self.replica_id, self.lease_seconds)
            if record is not None:
                break
            known = await self.get(run_id)
            if known is None:
                return ApprovalOutcome.UNKNOWN
            if known.status is not RunStatus.RUNNING or time.monotonic() > deadline:
                return ApprovalOutcome.NOT_WAITING
            await asyncio.sleep(0.05)
        rec, events, _ = await self._reopen(record)
        return record, rec, events

    async def _reopen(
        self, record: RunRecord
    ) -> tuple[Recovered, RunEvents, builtins.list[StreamEvent]]:
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

    # ---- driving a run -----------------------------------------------------------------

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
        config = {"configurable": {"thread_id": f"{run_id}:{epoch}", EMITTER: events}}
        if self.registry_read is not None:
            read = RunRead(self.registry_read, self._reads)
            config["configurable"][REGISTRY_READ] = read
            if self.read_every_run or (span is not None and span.recording):
                read.start()  # alongside planning, in the run's trace
        try:
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

    @staticmethod
    def _skip_unfinished(events: RunEvents, reason: str) -> None:
        for node in events.projection.unfinished():
            events.emit(
                TaskStatus(status=NodeStatus.SKIPPED, reason=reason),
                task_id=node.task_id,
                agent_id=node.assigned_agent,
            )

    # ---- leases, resuming, following -----------------------------------------------------

    def _fenced(self, run_ids: set[str]) -> None:
        """The store refused writes of these runs: another replica owns them now."""
        for run_id in run_ids:
            log.warning("run %s is now owned by another replica: stopping it here", run_id)
            task = self._tasks.get(run_id)
            if task is not None and not task.done():
                self._silenced.add(run_id)
                task.cancel()

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
                    for run_id in list(self._tasks)
                    if (rec := self.mux.record(run_id)) is not None and self.mux.stored(run_id)
                }
                fenced, cancels = await self.store.renew(
                    epochs, self.replica_id, self.lease_seconds
                )
                if fenced:
                    for run_id in fenced:
                        self.mux.drop(run_id)
                    self._fenced(fenced)
                for run_id in cancels:
                    self.cancel_now(run_id)
                await self._claim_orphans()
                self.keeper_passes += 1
            except Exception:
                log.exception("lease keeping failed; trying again in %.1fs", every)

    async def _claim_orphans(self) -> builtins.list[str]:
        if self.draining:
            return []
        resumed: builtins.list[str] = []
        for run_id in await self.store.orphans(self.replica_id):
            # Live here, or just ended here and its final row not stored yet (its channel
            # is still in memory): not an orphan, whatever the stored row says.
            if run_id in self._tasks or run_id in self.mux.channels:
                continue
            record = await self.store.claim(run_id, self.replica_id, self.lease_seconds)
            if record is not None:
                await self._resume(record)
                resumed.append(run_id)
        return resumed

    async def _resume(self, record: RunRecord) -> None:
        """Take up a claimed run from its stored log (see ``runs.resume``)."""
        run_id = record.run_id
        rec, events, stored = await self._reopen(record)
        if rec.ended or rec.answered:
            # Only the end was missing: say how it ended (its answer is in the log).
            result = next(
                (e for e in reversed(stored) if e.type == "result" and e.task_id is None), None
            )
            data = result.data if result is not None else {}
            status = RunStatus(data.get("status", RunStatus.FAILED))
            if not rec.ended:
                events.emit(RunEnded(status=status))
            self.mux.close(run_id, status, data.get("answer"))
            return
        events.emit(
            RunResumed(
                owner=self.replica_id,
                epoch=record.epoch,
                kept=sorted(rec.done),
                restarted=rec.restarted,
                last_stored_seq=rec.last_seq,
                first_seq=record.last_seq + 1,
            )
        )
        log.info(
            "resumed run %s (epoch %d): kept %s, restarting %s",
            run_id,
            record.epoch,
            sorted(rec.done) or "-",
            rec.restarted or "-",
        )
        self._live[run_id] = events
        options = record.options
        state: RunState = {
            "run_id": run_id,
            "query": record.query,
            "client_plan": None,
            "timeout_seconds": options.get("timeout_seconds"),
            "replans": 0,
            "max_replans": self.max_replans,
            "max_llm_attempts": self.max_llm_attempts,
            # a run that had asked for approval asks again unless its log says it had it
            "approval": options.get("approval"),
            "approved": rec.approved,
        }
        if rec.plan is not None:  # planned already: straight to resolve, then execute
            state["client_plan"] = rec.plan
            state["plan"] = rec.plan
            state["planner"] = rec.planner or rec.plan.planner
            state["reason"] = rec.reason
            state["resume_attempts"] = rec.attempts
            if rec.plan_stored:  # else the plan event goes out now
                state["resume_done"] = rec.done
        self._go(events, state, self._continued(record, rec, "resumed"))

    async def _follow(self, run_id: str, sub: Subscription, after: int) -> None:
        """Feed ``sub`` with a run executed elsewhere, from the store, until its ``done``
        (woken by the store's notifications where it has them, else by polling)."""
        wake = asyncio.Event()
        self._wakeups.setdefault(run_id, set()).add(wake)
        last = after
        try:
            while not sub.closed:
                for e in await self.store.events_after(run_id, last):
                    last = e.seq
                    sub.push(RelayedEvent.of(e))
                    if e.type == "done":
                        sub.close()
                        return
                if sub.closed:
                    return
                record = await self.store.get_run(run_id)
                parked = record is not None and record.status is RunStatus.AWAITING_APPROVAL
                if record is None or ((record.finished or parked) and last >= record.last_seq):
                    sub.close()  # a parked run's stream ends too (no done): see approve
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.follow_poll_seconds):
                        await wake.wait()
                wake.clear()
        except Exception:
            log.exception("following run %s failed", run_id)
            sub.close()
        finally:
            waiting = self._wakeups.get(run_id)
            if waiting is not None:
                waiting.discard(wake)
                if not waiting:
                    del self._wakeups[run_id]

    async def _listen(self, listen: Any) -> None:
        """Postgres notifications: wake the followers of a run when its events are stored;
        stop a run live here when its cancel was asked for on another replica."""
        from mesh_orchestrator.runs.store.postgres import CANCEL_CHANNEL, EVENTS_CHANNEL

        while True:
            try:
                async for channel, payload in listen(EVENTS_CHANNEL, CANCEL_CHANNEL):
                    if channel == CANCEL_CHANNEL:
                        self.cancel_now(payload)
                        continue
                    for run_id in payload.split(","):
                        for wake in self._wakeups.get(run_id, ()):
                            wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listening for run notifications failed; again in 1s")
                await asyncio.sleep(1.0)
