"""Runs that wait for a person: approve (with the announced plan, or an edited one) or reject.

A run started with ``options.approval = "required"`` is parked after planning: the graph's
``await_approval`` node announces the plan and interrupts, the graph's stream ends, the run's
row says ``awaiting_approval`` and its task ends (nothing of it stays in memory, no lease is
kept, the keeper never resumes it). ``approve`` (on any replica) takes the row back to
``running`` under a new epoch and starts the graph again from the plan in the run's stored
log, the way a resumed run starts (approved, so it does not stop again); ``reject`` ends it
with ``done {"status": "rejected"}``. A restart while it waits loses nothing.

``Approvals`` is the member of ``RunService`` that does this: it claims the parked row,
has the ``Resumer`` reopen the run from its log, builds its state with ``RunStates`` and
hands it to the ``RunDriver``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from enum import StrEnum
from typing import Any

from mesh_contracts import ExecutionPlan, PhaseStatus, PlanChosen, RunFailure, RunStatus
from mesh_orchestrator.runs.driving import Draining, RunDriver, skip_unfinished
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.in_doubt import Decision, fail_doubted
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.resume import Recovered
from mesh_orchestrator.runs.resuming import Resumer
from mesh_orchestrator.runs.states import RunStates
from mesh_orchestrator.runs.store.base import RunRecord, RunStore

# How long approve/reject wait for a run that is still running to be parked (see
# ``_take_waiting``) before answering that it does not await approval.
PARK_WAIT_SECONDS = 2.0


class ApprovalOutcome(StrEnum):
    DONE = "done"  # approved (running again) or rejected (ended)
    NOT_WAITING = "not_waiting"  # the run exists but does not await approval
    UNKNOWN = "unknown"


class Approvals:
    """Approving and rejecting parked runs (see the module docstring)."""

    def __init__(
        self,
        driver: RunDriver,
        resumer: Resumer,
        mux: EventMux,
        store: RunStore,
        states: RunStates,
        *,
        replica_id: str = "orchestrator",
        lease_seconds: float = 10.0,
    ) -> None:
        self.driver = driver
        self.resumer = resumer
        self.mux = mux
        self.store = store
        self.states = states
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds

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
            return taken, await self.driver.get(run_id)
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
            self.driver.end(events, RunStatus.FAILED)
            await self.mux.flush()
            return ApprovalOutcome.DONE, record
        done: dict[str, Any] | None = None
        if doubted:  # go on from the log: what completed stays, the rest as decided
            done = dict(rec.done)
            if decision == Decision.FAIL:
                done |= fail_doubted(events, doubted, "marked failed at approval")
        state = self.states.approved(record, rec.plan, rec, done=done)
        self.driver.go(events, state, self.resumer.continued(record, rec, "approved"))
        return ApprovalOutcome.DONE, record

    async def reject(
        self, run_id: str, reason: str = "rejected", status: RunStatus = RunStatus.REJECTED
    ) -> tuple[ApprovalOutcome, RunRecord | None]:
        """End a run awaiting approval: its nodes ``skipped``, then ``done`` with ``status``
        (``rejected``; ``cancelled`` when it was cancelled while waiting)."""
        taken = await self._take_waiting(run_id)
        if isinstance(taken, ApprovalOutcome):
            return taken, await self.driver.get(run_id)
        record, _, events = taken
        events.emit(PhaseStatus(phase="approval", status="rejected", reason=reason))
        skip_unfinished(events, f"plan {reason}")
        self.driver.end(events, status)
        await self.mux.flush()
        return ApprovalOutcome.DONE, record

    async def _take_waiting(
        self, run_id: str
    ) -> ApprovalOutcome | tuple[RunRecord, Recovered, RunEvents]:
        """Claim a run awaiting approval for this replica and reopen it from its log."""
        if self.driver.draining:
            raise Draining
        # A client acts on the awaiting_approval event, which goes out just before the run
        # is parked (its task ends, its row is stored): give a run that is still running a
        # moment (PARK_WAIT_SECONDS) to be parked, here or on the replica executing it.
        deadline = time.monotonic() + PARK_WAIT_SECONDS
        while True:
            task = self.driver.task(run_id)
            if task is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(task), PARK_WAIT_SECONDS)
            if run_id in self.mux.channels:  # parked here just now: store its row first
                await self.mux.flush()
            record = await self.store.claim_waiting(run_id, self.replica_id, self.lease_seconds)
            if record is not None:
                break
            known = await self.driver.get(run_id)
            if known is None:
                return ApprovalOutcome.UNKNOWN
            # Its record says awaiting_approval from the moment that event is projected,
            # before its row is stored as parked: both states are "not parked yet".
            parking = known.status in (RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL)
            if not parking or time.monotonic() > deadline:
                return ApprovalOutcome.NOT_WAITING
            await self.mux.flush()
            await asyncio.sleep(0.05)
        rec, events, _ = await self.resumer.reopen(record)
        return record, rec, events
