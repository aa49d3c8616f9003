"""Runs that wait for a person: approve (with the announced plan, or an edited one) or reject.

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
import contextlib
import time
from enum import StrEnum
from typing import Any

from mesh_contracts import ExecutionPlan, PhaseStatus, PlanChosen, RunFailure, RunStatus
from mesh_orchestrator.graph.policy import initial_state
from mesh_orchestrator.runs.driving import Draining, RunDriver
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.in_doubt import Decision, fail_doubted
from mesh_orchestrator.runs.resume import Recovered
from mesh_orchestrator.runs.store.base import RunRecord

# How long approve/reject wait for a run that is still running to be parked (see
# ``_take_waiting``) before answering that it does not await approval.
PARK_WAIT_SECONDS = 2.0


class ApprovalOutcome(StrEnum):
    DONE = "done"  # approved (running again) or rejected (ended)
    NOT_WAITING = "not_waiting"  # the run exists but does not await approval
    UNKNOWN = "unknown"


class ApprovedRuns(RunDriver):
    """Approving and rejecting parked runs (see the module docstring)."""

    async def approve(
        self, run_id: str, plan: ExecutionPlan | None = None, *, decision: str = "rerun"
    ) -> tuple[ApprovalOutcome, RunRecord | None]:
        """Approve a run awaiting approval, on whichever replica parked it: it runs from
        its announced plan, or from ``plan`` (already validated like a client's plan; its
        ``plan`` event goes out first, so a later resume runs it too). Returns the outcome
        and the run's record. Raises ``Draining`` while this replica shuts down.

        A run parked because tasks were in doubt (``runs.in_doubt``) goes on from its log
        (completed tasks kept): ``decision`` ``rerun`` runs those tasks again as new attempts
        (new idempotency keys), ``fail`` fails them (their dependents are skipped)."""
        taken = await self._take_waiting(run_id)
        if isinstance(taken, ApprovalOutcome):
            return taken, await self.get(run_id)
        record, rec, events = taken
        if plan is not None:
            events.emit(PlanChosen(plan=plan, planner="client", reason="plan edited at approval"))
            rec.plan, rec.planner, rec.reason = plan, "client", "plan edited at approval"
        doubted = rec.in_doubt if plan is None else {}
        events.emit(
            PhaseStatus(
                phase="approval",
                status="approved",
                edited=True if plan else None,
                decision=decision if doubted else None,
            )
        )
        if rec.plan is None:  # its log lost the plan: nothing to run
            events.emit(RunFailure(error="the approved run has no plan", code="internal"))
            self._end(events, RunStatus.FAILED)
            await self.mux.flush()
            return ApprovalOutcome.DONE, record
        self._live[run_id] = events
        state = initial_state(
            run_id,
            record.owner,
            record.query,
            record.options,
            max_replans=0,  # what was approved runs; it is not replanned behind one's back
            max_llm_attempts=self.max_llm_attempts,
            plan=rec.plan,
            planner=rec.planner or rec.plan.planner,
            reason=rec.reason or "",
            approved=True,
            plan_announced=True,
            budget_used=rec.budget_used,
        )
        if doubted:  # go on from the log: what completed stays, the rest as decided
            done: dict[str, dict[str, Any]] = dict(rec.done)
            if decision == Decision.FAIL:
                done |= fail_doubted(events, doubted, "marked failed at approval")
            state["resume_done"] = done
            state["resume_attempts"] = rec.attempts
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
