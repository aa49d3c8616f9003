"""Taking a claimed run up again here, from its stored log.

``Resumer`` is the member of ``RunService`` that holds a run claimed by this replica in
memory again (``reopen``: its log read back, ``runs.resume``) and drives it on from there
(``resume``): completed sub-tasks keep their outputs and are not run again, ids continue
past every id the previous owner may have handed out, and a ``resumed`` status says what
was kept and what runs. The lease keeper takes up orphans through it, the pauses resumed
and answered runs; approvals reopen parked runs with it. Tasks whose call was out when the
run changed hands are asked of their workers first (``runs.in_doubt``): a task in doubt
parks the run for a person's decision (``ORCH_IN_DOUBT=park``) or fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mesh_contracts import PhaseStatus, RunEnded, RunResumed, RunStatus, StreamEvent
from mesh_orchestrator.runs.driving import RunDriver
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.in_doubt import (
    InDoubtPolicy,
    InFlightCheck,
    announce,
    fail_doubted,
    settle,
)
from mesh_orchestrator.runs.mux import EventMux
from mesh_orchestrator.runs.resume import Recovered, recover
from mesh_orchestrator.runs.states import RunStates
from mesh_orchestrator.runs.store.base import RunRecord, RunStore
from mesh_orchestrator.tracing import NO_TRACER, TracedRun, Tracer

log = logging.getLogger(__name__)


class Resumer:
    """Reopens claimed runs and drives them on from their logs (see the module docstring)."""

    def __init__(
        self,
        driver: RunDriver,
        mux: EventMux,
        store: RunStore,
        states: RunStates,
        *,
        replica_id: str = "orchestrator",
        tracer: Tracer = NO_TRACER,
        in_flight_check: InFlightCheck | None = None,
        in_doubt: InDoubtPolicy = InDoubtPolicy.PARK,
    ) -> None:
        self.driver = driver
        self.mux = mux
        self.store = store
        self.states = states
        self.replica_id = replica_id
        self.tracer = tracer
        # A resumed run's tasks whose call was out (``runs.in_doubt``): the executor's
        # ``in_flight`` asks their workers; None restarts them all.
        self.in_flight_check = in_flight_check
        self.in_doubt_policy = InDoubtPolicy(in_doubt)

    async def reopen(self, record: RunRecord) -> tuple[Recovered, RunEvents, list[StreamEvent]]:
        """Hold a claimed run in memory again, rebuilt from its stored log (returned too)."""
        stored = await self.store.events_after(record.run_id, 0)
        rec, projection = recover(record, stored)
        record.last_seq = max(record.last_seq, rec.last_seq)
        self.mux.reopen(record)
        return rec, RunEvents(record.run_id, self.mux, projection), stored

    def continued(self, record: RunRecord, rec: Recovered, why: str) -> TracedRun:
        """The span of a run taken up again here, in its own trace (``NO_SPAN`` untraced)."""
        return self.tracer.continue_run(
            record.run_id, record.query, rec.trace, epoch=record.epoch, why=why
        )

    async def resume(
        self,
        record: RunRecord,
        reason: str | None = None,
        before: Callable[[RunEvents, Recovered], None] | None = None,
    ) -> None:
        """Take up a claimed run from its stored log (see ``runs.resume``); ``reason``: why,
        when a client asked for it (``resumed after pause``); ``before`` is called once the
        run is reopened, before it goes on (an answer to a question goes into its log)."""
        run_id = record.run_id
        rec, events, stored = await self.reopen(record)
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
        settled = await settle(self.in_flight_check, run_id, rec, record.epoch)
        failed: dict[str, dict[str, Any]] = {}
        if settled.in_doubt:
            announce(events, run_id, settled.in_doubt)
            if self.in_doubt_policy is InDoubtPolicy.PARK:
                await self._park_in_doubt(events, sorted(settled.in_doubt))
                return
            failed = fail_doubted(events, settled.in_doubt, "ORCH_IN_DOUBT=fail")
        state = self.states.resumed(record, rec, failed=failed, pinned=settled.pinned)
        self.driver.go(events, state, self.continued(record, rec, "resumed"))

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
