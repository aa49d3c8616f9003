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
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mesh_contracts import (
    ExecutionPlan,
    NodeStatus,
    RunAnswer,
    RunEnded,
    RunFailure,
    RunStarted,
    RunStatus,
    TaskStatus,
)
from mesh_orchestrator.graph.policy import EMITTER, RunState
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.mux import EventMux, Subscription
from mesh_orchestrator.runs.projection import RunProjection
from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.tracing import RunSpan, RunTracer

log = logging.getLogger(__name__)


class CancelOutcome(StrEnum):
    CANCELLING = "cancelling"  # the run was live here; its task is being cancelled
    FINISHED = "finished"  # the run had already ended
    UNKNOWN = "unknown"


@dataclass
class RunOutcome:
    """How a run ended, for callers that wait for it (``POST /orchestrate``)."""

    record: RunRecord
    status: RunStatus
    answer: RunAnswer | None


class RunService:
    """Runs of this process and of its store. Build it, ``await recover()``, then serve."""

    def __init__(
        self,
        graph: Any,
        mux: EventMux,
        store: RunStore,
        *,
        max_replans: int = 1,
        max_llm_attempts: int = 2,
        tracer: RunTracer | None = None,
    ):
        self.graph = graph
        self.tracer = tracer
        self.mux = mux
        self.store = store
        self.max_replans = max_replans
        self.max_llm_attempts = max_llm_attempts
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, RunEvents] = {}
        self.ended: Counter[str] = Counter()  # runs of this process by final status (metrics)

    # ---- lifecycle ---------------------------------------------------------------------

    async def recover(self) -> list[str]:
        """At start-up: runs left ``running`` by a previous process become ``interrupted``."""
        interrupted = await self.store.mark_interrupted()
        if interrupted:
            log.warning("runs interrupted by the last shutdown: %s", ", ".join(interrupted))
        return interrupted

    async def shutdown(self) -> None:
        """Cancel every live run (their workers stop) and wait for them to end."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    @property
    def live_count(self) -> int:
        return len(self._tasks)

    def is_live(self, run_id: str) -> bool:
        return run_id in self._tasks

    # ---- the API -----------------------------------------------------------------------

    async def start(
        self, query: str, plan: ExecutionPlan | None, options: dict[str, Any]
    ) -> RunRecord:
        """Create a run and start driving it; returns once its ``run`` event is out."""
        run_id = uuid.uuid4().hex
        record = RunRecord(run_id=run_id, query=query, created_at=time.time(), options=options)
        if plan is not None:
            record.plan = [t.model_dump(mode="json") for t in plan.tasks]
        self.mux.open(record)  # stored by the multiplexer's next flush
        events = RunEvents(run_id, self.mux, RunProjection(record))
        self._live[run_id] = events
        # Traced, the run span starts here, in the request's context (its link), so that
        # the ``run`` event can carry the trace id; the run's task makes it current.
        span = self.tracer.start_run(run_id, query) if self.tracer is not None else None
        trace_id = span.trace_id if span is not None else None
        events.emit(RunStarted(run_id=run_id, query=query, trace_id=trace_id))
        state: RunState = {
            "run_id": run_id,
            "query": query,
            "client_plan": plan,
            "timeout_seconds": options.get("timeout_seconds"),
            "replans": 0,
            "max_replans": self.max_replans,
            "max_llm_attempts": self.max_llm_attempts,
        }
        if plan is not None:  # no planning step: the graph goes straight to resolve
            state["plan"] = plan
            state["planner"] = "client"
            state["reason"] = "plan supplied by the client"
        drive = self._drive(events, state) if span is None else self._traced(events, state, span)
        self._tasks[run_id] = asyncio.create_task(drive, name=f"run-{run_id}")
        return record

    async def get(self, run_id: str) -> RunRecord | None:
        """The run's record (plan with node states), live or stored; None if unknown."""
        return self.mux.record(run_id) or await self.store.get_run(run_id)

    async def list(self, limit: int = 20) -> list[RunRecord]:
        """Newest first, live and stored."""
        # Snapshot the live runs first: a run leaves memory only after its final row is
        # stored, and a run just started may not be stored yet.
        live = {run_id: self.mux.record(run_id) for run_id in list(self.mux.channels)}
        stored = await self.store.list_runs(limit)
        runs = {r.run_id: r for r in stored} | {k: r for k, r in live.items() if r is not None}
        return sorted(runs.values(), key=lambda r: r.created_at, reverse=True)[:limit]

    async def events(self, run_id: str, after: int = 0) -> Subscription | None:
        """Events with seq > ``after``: replayed, then live until the run's end. None for an
        unknown run. Call ``unsubscribe`` when done listening."""
        if self.mux.record(run_id) is None and await self.store.get_run(run_id) is None:
            return None
        return await self.mux.subscribe(run_id, after)

    def unsubscribe(self, run_id: str, sub: Subscription) -> None:
        self.mux.unsubscribe(run_id, sub)

    def cancel_now(self, run_id: str) -> bool:
        """Cancel a run live in this process (no await: a client's departure calls it);
        False when it is not live here."""
        task = self._tasks.get(run_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    async def cancel(self, run_id: str) -> tuple[CancelOutcome, RunRecord | None]:
        """Cancel the run; says whether it was cancelling, had already finished, or is
        unknown, with its record where there is one."""
        if self.cancel_now(run_id):
            return CancelOutcome.CANCELLING, self.mux.record(run_id)
        record = await self.get(run_id)
        if record is None:
            return CancelOutcome.UNKNOWN, None
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
                    elif e.type == "done":
                        status = RunStatus(e.data.get("status", status))
        finally:
            self.unsubscribe(run_id, sub)
        record = await self.get(run_id)
        assert record is not None
        return RunOutcome(record, status, answer)

    # ---- driving a run -----------------------------------------------------------------

    async def _traced(self, events: RunEvents, state: RunState, span: RunSpan) -> None:
        with span.current():
            await self._drive(events, state, span)

    async def _drive(self, events: RunEvents, state: RunState, span: RunSpan | None = None) -> None:
        run_id = events.run_id
        status, answer = RunStatus.FAILED, None
        planner = state.get("planner")  # set here for a client plan
        config = {"configurable": {"thread_id": run_id, EMITTER: events}}
        try:
            # "updates" (what each node returned), not "values" (the whole state after every
            # step): status, answer and planner are all this needs of it.
            async for chunk in self.graph.astream(
                state, config, stream_mode="updates", durability="exit"
            ):
                for update in chunk.values():
                    if isinstance(update, dict):
                        status = update.get("status", status)
                        answer = update.get("answer", answer)
                        planner = update.get("planner", planner)
        except asyncio.CancelledError:
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
            if span is not None:
                span.finish(status, planner)
            events.emit(RunEnded(status=status))
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
