"""Runs across replicas: leases, fencing, taking up orphans, following runs executed elsewhere.

Each run this replica executes is held by a lease in the store (``replica_id``, an epoch, an
expiry ``lease_seconds`` ahead, renewed every third of that by the keeper). The keeper also
claims orphaned runs (their owner's lease lapsed; or this replica's previous incarnation
held them) and resumes them from their stored log (``runs.resume``): completed sub-tasks
keep their outputs and are not run again, ids continue past every id the previous owner may
have handed out. A write refused because another replica took the run over (fencing) stops
the run here without a word (``RunDriver._fenced``). A run executed by another replica is
followed through the store (``runs.replay``), its followers woken by the store's
notifications (Postgres LISTEN/NOTIFY); a cancel asked for on another replica reaches the
owner the same way. ``shutdown``
drains: no new runs, leases released so another replica (or this one restarted) resumes
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from mesh_contracts import PhaseStatus, RunEnded, RunResumed, RunStatus
from mesh_orchestrator.graph.policy import initial_state
from mesh_orchestrator.runs.driving import RunDriver
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.in_doubt import InDoubtPolicy, announce, fail_doubted, settle
from mesh_orchestrator.runs.resume import Recovered
from mesh_orchestrator.runs.store.base import RunRecord

log = logging.getLogger(__name__)

# The share of the lease time without a successful renewal after which a replica stops its
# own runs: before the lease runs out and another replica may claim them.
SELF_FENCE = 0.75


class LeasedRuns(RunDriver):
    """Lease keeping, resuming and following (see the module docstring)."""

    async def recover(self) -> list[str]:
        """At start-up: take up the runs this replica's previous incarnation left running
        (and any orphan), then keep leases and watch for orphans until ``shutdown``.
        Returns the ids of the runs resumed now."""
        resumed = await self._claim_orphans()
        self._renewed_at = time.monotonic()
        self._keeper = asyncio.create_task(self._keep(), name="run-leases")
        self._fence_watch = asyncio.create_task(self._watch_renewals(), name="run-self-fence")
        listen = getattr(self.store, "listen", None)
        if listen is not None:
            self._listener = asyncio.create_task(self._listen(listen), name="run-notifies")
        return resumed

    async def shutdown(self) -> None:
        """Drain: take no new runs, stop this replica's runs without ending them, store
        what they produced and release their leases, so they resume elsewhere (or here
        after a restart) with nothing completed run again."""
        self.draining = True
        for bg in (self._keeper, self._listener, self._fence_watch):
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
                # Bounded: a store that does not answer must not hold the keeper (the
                # watchdog fences this replica meanwhile).
                async with asyncio.timeout(every):
                    fenced, cancels = await self.store.renew(
                        epochs, self.replica_id, self.lease_seconds
                    )
                self._renewed_at = time.monotonic()
                if fenced:
                    for run_id in fenced:
                        self.mux.drop(run_id)
                    self._fenced(fenced)
                for run_id in cancels:
                    self.cancel_now(run_id)
                await self._pause_requested(list(epochs))  # pauses asked for elsewhere
                await self._claim_orphans()
                self.keeper_passes += 1
            except Exception:
                log.exception("lease keeping failed; trying again in %.1fs", every)

    async def _watch_renewals(self) -> None:
        """Self-fencing: when no renewal has succeeded for ``SELF_FENCE`` of the lease time,
        this replica may be cut off from the store while its leases run out, and another
        replica will soon claim its runs: stop them here first (their worker calls are
        cancelled, which closes the workers' streams), so no task runs on two replicas at
        once. They are not ended: the replica that claims them resumes them from the log
        (this one too, once the store answers again)."""
        limit = self.lease_seconds * SELF_FENCE
        while True:
            await asyncio.sleep(self.lease_seconds / 12)
            stale = time.monotonic() - self._renewed_at
            if stale <= limit or not self._tasks:
                continue
            live = set(self._tasks)
            log.warning(
                "no lease renewal for %.1fs (limit %.1fs): fencing myself, stopping %d runs",
                stale,
                limit,
                len(live),
            )
            self.self_fenced += len(live)
            self._fenced(live)
            for run_id in live:
                self.mux.drop(run_id)

    async def _claim_orphans(self) -> list[str]:
        if self.draining:
            return []
        resumed: list[str] = []
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

    async def _resume(
        self,
        record: RunRecord,
        reason: str | None = None,
        before: Callable[[RunEvents, Recovered], None] | None = None,
    ) -> None:
        """Take up a claimed run from its stored log (see ``runs.resume``); ``reason``: why,
        when a client asked for it (``resumed after pause``); ``before`` is called once the
        run is reopened, before it goes on (an answer to a question goes into its log)."""
        run_id = record.run_id
        rec, events, stored = await self._reopen(record)
        if before is not None:
            before(events, rec)
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
                reason=reason,
            )
        )
        log.info(
            "resumed run %s (epoch %d): kept %s, restarting %s",
            run_id,
            record.epoch,
            sorted(rec.done) or "-",
            rec.restarted or "-",
        )
        settled = await settle(self.in_flight_check, run_id, rec)
        failed: dict[str, dict[str, Any]] = {}
        if settled.in_doubt:
            announce(events, run_id, settled.in_doubt)
            if self.in_doubt_policy is InDoubtPolicy.PARK:
                await self._park_in_doubt(events, sorted(settled.in_doubt))
                return
            failed = fail_doubted(events, settled.in_doubt, "ORCH_IN_DOUBT=fail")
        self._live[run_id] = events
        # a run that had asked for approval asks again unless its log says it had it
        state = initial_state(
            run_id,
            record.owner,
            record.query,
            record.options,
            max_replans=self.max_replans,
            max_llm_attempts=self.max_llm_attempts,
            plan=rec.plan,
            planner=(rec.planner or rec.plan.planner) if rec.plan is not None else "client",
            reason=rec.reason or "",
            approved=rec.approved,
            budget_used=rec.budget_used,
        )
        if rec.plan is not None:  # planned already: straight to resolve, then execute
            state["resume_attempts"] = rec.attempts
            state["resume_inputs"] = rec.inputs
            state["resume_loops"] = {k: p.public() for k, p in rec.loops.items()}
            if rec.plan_stored:  # else the plan event goes out now
                state["resume_done"] = rec.done | failed
            if settled.pinned:
                state["resume_pinned"] = settled.pinned
        self._go(events, state, self._continued(record, rec, "resumed"))

    async def _park_in_doubt(self, events: RunEvents, tasks: list[str]) -> None:
        """Park a resumed run for a person's decision on its tasks in doubt: its row says
        ``awaiting_approval`` (counted, kept, resumed by nobody) until approve (``rerun``
        or ``fail``) or reject."""
        run_id = events.run_id
        events.emit(
            PhaseStatus(
                phase="approval",
                status="awaiting_approval",
                in_doubt=tasks,
                reason=(
                    f"tasks in doubt: {', '.join(tasks)}; POST /v1/runs/{{id}}/approve with "
                    '{"decision": "rerun"} or {"decision": "fail"}, or /reject'
                ),
            )
        )
        log.warning("run %s parked: tasks in doubt %s", run_id, tasks)
        if (rec := self.mux.record(run_id)) is not None:
            rec.status = RunStatus.AWAITING_APPROVAL
            self.mux.touch(run_id)
        await self.mux.flush()
        self.mux.close(run_id, RunStatus.AWAITING_APPROVAL, None)

    async def _listen(self, listen: Any) -> None:
        """Postgres notifications: wake the followers of a run when its events (or its
        parked or final row) are stored; stop a run live here when its cancel was asked for
        on another replica. While the connection is down, followers poll."""
        from mesh_orchestrator.runs.store.postgres import CANCEL_CHANNEL, EVENTS_CHANNEL

        wakeups = self.wakeups
        while True:
            try:
                async for channel, payload in listen(EVENTS_CHANNEL, CANCEL_CHANNEL):
                    if channel == CANCEL_CHANNEL:
                        self.cancel_now(payload)
                    elif channel == EVENTS_CHANNEL:
                        wakeups.wake(payload.split(","))
                    else:  # listening (again): whatever was missed meanwhile is read now
                        wakeups.listening = True
                        wakeups.wake_all()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listening for run notifications failed; again in 1s")
            finally:
                wakeups.listening = False
            await asyncio.sleep(1.0)
