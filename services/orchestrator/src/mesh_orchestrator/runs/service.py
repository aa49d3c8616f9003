"""``RunService``: the one owner of runs. Every route that touches a run calls only this.

It starts runs, answers for live and stored runs alike, hands out event subscriptions, and
cancels. It is a small facade over members with one job each, built together by
``runs.build.build_runs`` (the lifespan calls it) and handed to it:

- ``RunDriver`` (``runs.driving``): the runs live in this process, each driven in its own
  task; pausing, fencing and draining them here;
- ``LeaseKeeper`` (``runs.leases``): leases, self-fencing, orphans, the store's
  notifications, and ``recover``/``shutdown``;
- ``Resumer`` (``runs.resuming``): a claimed run taken up again from its stored log;
- ``Approvals`` (``runs.approval``) and ``Pauses`` (``runs.pausing``): parked runs, approved
  or rejected, paused, resumed, answered;
- ``RunStates`` (``runs.states``): every run's starting state;
- the multiplexer (numbering, fan-out, batched persistence), the run store and ``Wakeups``
  (followers of runs executed elsewhere).

``start`` returns once the ``run`` event is published.

What a client holds is counted in the store, for every replica alike: ``start`` admits a
client's run only while it has fewer than ``max_in_progress`` runs in progress (running or
parked), ``check_approval`` refuses to run a parked one while it has more, and
``take_start`` draws from its token bucket of starts.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mesh_contracts import ExecutionPlan, RunAnswer, RunStarted, RunStatus, SubTask
from mesh_contracts.event_bodies import Made, run_started
from mesh_orchestrator.runs.approval import ApprovalOutcome, Approvals
from mesh_orchestrator.runs.driving import Draining, Prelude, RunDriver
from mesh_orchestrator.runs.emitter import RunEvents
from mesh_orchestrator.runs.leases import LeaseKeeper
from mesh_orchestrator.runs.mux import EventMux, Subscription, reserve
from mesh_orchestrator.runs.pausing import BadAnswer, PauseOutcome, Pauses
from mesh_orchestrator.runs.projection import RunProjection
from mesh_orchestrator.runs.replay import Feed, StoredLog, Wakeups
from mesh_orchestrator.runs.states import RunStates
from mesh_orchestrator.runs.store.base import NO_LIMIT, RunRecord, RunStore
from mesh_orchestrator.tracing import NO_TRACER, Tracer

__all__ = [
    "ApprovalOutcome",
    "BadAnswer",
    "CancelOutcome",
    "Draining",
    "OverQuota",
    "PauseOutcome",
    "RunOutcome",
    "RunService",
]


# Run-level statuses after which a run's stream ends without ``done`` (besides approval).
PARKED = (RunStatus.PAUSED.value, RunStatus.INPUT_REQUIRED.value)
UNBOUNDED = NO_LIMIT  # the runs in progress ``admit`` allows an owner without a limit
# The fields-set of every record a run starts with here: pydantic keeps on each model a set
# of the names it was given (8 here: a 728-byte set, held as long as the run is live), and
# adds the name of every field assigned later (``last_seq``, ``status`` ...). Nothing reads
# a record's (no ``exclude_unset``, no ``model_fields_set``), so the live records share this
# one, which names every field already: an assignment's ``add`` leaves it as it is, and a
# copy (``model_copy``) gets a set of its own, as pydantic copies it.
_SET: set[str] = set(RunRecord.model_fields)
# The same for the plan a run is started with, and its sub-tasks (216 bytes each), which the
# run keeps as long as it is live (``_share_sets``).
_PLAN_SET: set[str] = set(ExecutionPlan.model_fields)
_TASK_SET: set[str] = set(SubTask.model_fields)


def _share_sets(plan: ExecutionPlan) -> None:
    """``plan`` and its sub-tasks given the shared fields-sets (``_PLAN_SET``, ``_TASK_SET``)."""
    object.__setattr__(plan, "__pydantic_fields_set__", _PLAN_SET)
    for t in plan.tasks:
        object.__setattr__(t, "__pydantic_fields_set__", _TASK_SET)


class OverQuota(Exception):
    """The client already has ``limit`` runs in progress (running or parked)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} runs in progress")
        self.limit = limit


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


def new_run_id() -> str:
    """A new run's id: a time-ordered UUID (version 7, RFC 9562: 48 bits of Unix milliseconds,
    then 74 random bits) as 32 hex digits, built without the ``UUID`` object. Time-ordered, a
    store's index entries for new runs land together at the end of the index instead of on a
    random page each: SQLite writes 12.74 -> 7.25 WAL frames a run (``python -m
    bench.wal_frames``). The id is no capability (every read checks the run's owner); it tells
    when the run was made, which its record says anyway."""
    b = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big") + os.urandom(10))
    b[6] = (b[6] & 0x0F) | 0x70  # version 7
    b[8] = (b[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return b.hex()


class RunService:
    """Runs of this process and of its store. Build it (``build_runs``), ``await
    recover()``, then serve; ``shutdown`` drains. See the module docstring."""

    def __init__(
        self,
        driver: RunDriver,
        keeper: LeaseKeeper,
        approvals: Approvals,
        pauses: Pauses,
        states: RunStates,
        mux: EventMux,
        store: RunStore,
        wakeups: Wakeups,
        *,
        tracer: Tracer = NO_TRACER,
        replica_id: str = "orchestrator",
        lease_seconds: float = 10.0,
        follow_poll_seconds: float = 0.2,
    ) -> None:
        self.driver = driver
        self.keeper = keeper
        self.approvals = approvals
        self.pauses = pauses
        self.states = states
        self.mux = mux
        self.store = store
        self.wakeups = wakeups
        self.tracer = tracer
        self.replica_id = replica_id
        self.lease_seconds = lease_seconds
        self.follow_poll_seconds = follow_poll_seconds
        # The members' operations the routes call, as they are.
        self.get = driver.get
        self.cancel_now = driver.cancel_now
        self.is_live = driver.is_live
        self.recover = keeper.recover
        self.shutdown = keeper.shutdown
        self.approve = approvals.approve
        self.reject = approvals.reject
        self.pause = pauses.pause
        self.resume_paused = pauses.resume_paused
        self.answer = pauses.answer
        self.open_questions = pauses.open_questions
        self.cancel_paused = pauses.cancel_paused

    @property
    def draining(self) -> bool:
        return self.driver.draining

    @property
    def live_count(self) -> int:
        return self.driver.live_count

    @property
    def ended(self) -> Counter[str]:
        """Runs of this process by final status (metrics)."""
        return self.driver.ended

    @property
    def keeper_passes(self) -> int:
        return self.keeper.keeper_passes

    def use_prelude(self, prelude: Prelude) -> None:
        """What each run does before its graph (``runs.threads.Threads.prepare``)."""
        self.driver.prelude = prelude

    async def start(
        self,
        query: str,
        plan: ExecutionPlan | None,
        options: dict[str, Any],
        owner: str | None = None,
        max_in_progress: int | None = None,
        run_id: str | None = None,
        commit: bool = True,
    ) -> RunRecord:
        """Create a run and start driving it; returns once its ``run`` event is out.
        Raises ``Draining`` while this replica shuts down, ``OverQuota`` when ``owner``
        already has ``max_in_progress`` runs in progress (None: not bounded). ``run_id``:
        an id reserved by the caller (a thread's), else a new one. ``commit`` False: the
        store may leave its row's commit open (SQLite), and the caller calls ``committed``
        before it hands the id out (a stream: before its first write, once the run's first
        steps, its worker request, are out)."""
        if self.driver.draining:
            raise Draining
        run_id = run_id or new_run_id()
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
        # Live runs' records share one fields-set that names every field (see ``_SET``).
        object.__setattr__(record, "__pydantic_fields_set__", _SET)
        if plan is not None:  # kept on the row: a resume before its plan event is stored
            _share_sets(plan)
            # (in its ``__dict__``, as ``RunProjection`` writes the plan: no validation
            # either way, its fields-set already names every field)
            record.__dict__["plan"] = [t.model_dump(mode="json") for t in plan.tasks]
            record.__dict__["options"] = {**options, "client_plan": True}
        # Its row is stored before its id goes out (counted with the owner's other runs
        # when bounded; committed here, or by ``committed`` before the stream's first
        # write): a replica that dies right after handing out the id leaves a run that
        # another replica resumes, never an id that names nothing.
        limit = max_in_progress if max_in_progress is not None and owner is not None else None
        reserve(record)
        if not await self.store.admit(record, UNBOUNDED if limit is None else limit, commit=commit):
            raise OverQuota(max_in_progress or 0)
        self.mux.open(record, stored=True)
        events = RunEvents(run_id, self.mux, RunProjection(record))
        # The run span starts here, in the request's context (its link), so that the
        # ``run`` event can carry the trace id (None untraced); the run's task makes it
        # current.
        span = self.tracer.start_run(run_id, query)
        trace_id, span_id = span.trace_id, span.span_id
        events.emit(Made(RunStarted.TYPE, run_started(run_id, query, trace_id, span_id)))
        self.driver.go(events, self.states.new(run_id, owner, query, options, plan), span)
        return record

    def committed(self, run_id: str) -> None:
        """The row of ``run_id``, started with ``commit=False``, committed (a no-op once it
        is). When its commit failed the run is stopped here (it was never stored: its id
        must not go out) and this raises."""
        try:
            self.store.commit_admitted(run_id)
        except BaseException:
            self.driver.cancel_now(run_id)
            raise

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

    async def events(self, run_id: str, after: int = 0) -> Feed | None:
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
        return StoredLog(
            self.store,
            run_id,
            after,
            follow=self.wakeups,
            poll=self.follow_poll_seconds,
            safety=self.lease_seconds,
        )

    def unsubscribe(self, run_id: str, sub: Feed) -> None:
        if isinstance(sub, Subscription):
            self.mux.unsubscribe(run_id, sub)
        sub.close()  # a follower of a remote run stops with it

    async def check_approval(self, record: RunRecord, max_in_progress: int | None) -> None:
        """Raise ``OverQuota`` when approving the parked run ``record`` would leave its
        owner with more than ``max_in_progress`` runs in progress (it counts already, so
        only a client over its limit, e.g. after the limit was lowered, is refused)."""
        if max_in_progress is None or record.owner is None:
            return
        if await self.store.runs_in_progress(record.owner) > max_in_progress:
            raise OverQuota(max_in_progress)

    async def take_start(self, client: str, rate: float, burst: int) -> float:
        """Take a start (a run or a plan) from ``client``'s token bucket, shared by every
        replica: 0 when taken, else the seconds until one is there."""
        return await self.store.take_token(f"starts:{client}", rate, burst)

    async def cancel(self, run_id: str) -> tuple[CancelOutcome, RunRecord | None]:
        """Cancel the run; says whether it was cancelling, had already finished, or is
        unknown, with its record where there is one."""
        if self.driver.cancel_now(run_id):
            return CancelOutcome.CANCELLING, self.mux.record(run_id)
        record = await self.get(run_id)
        if record is None:
            return CancelOutcome.UNKNOWN, None
        if record.status is RunStatus.AWAITING_APPROVAL:  # nothing runs: it ends now
            outcome, ended = await self.approvals.reject(run_id, "cancelled", RunStatus.CANCELLED)
            if outcome is ApprovalOutcome.DONE:
                return CancelOutcome.CANCELLING, ended
        if record.status in (RunStatus.PAUSED, RunStatus.INPUT_REQUIRED):  # it ends now
            ended = await self.pauses.cancel_paused(run_id)
            if ended is not None:
                return CancelOutcome.CANCELLING, ended
        if not record.finished and await self.store.request_cancel(run_id):
            return CancelOutcome.CANCELLING, record  # its owner stops it (notify / renew)
        return CancelOutcome.FINISHED, record

    async def pin(self, run_id: str, pinned: bool) -> bool:
        """Keep the run from retention (or let it go again); False for an unknown run."""
        if run_id in self.mux.channels:  # a run just started is stored before it is pinned
            await self.mux.flush()
        return await self.store.pin(run_id, pinned)

    async def pinned(self, run_id: str) -> bool:
        return await self.store.pinned(run_id)

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
                    elif e.task_id is None and e.data.get("status") in PARKED:  # and here
                        status = RunStatus(e.data["status"])
                    elif e.type == "done":
                        status = RunStatus(e.data.get("status", status))
        finally:
            self.unsubscribe(run_id, sub)
        await self.mux.settled(run_id)  # its end stored: quotas and other replicas see it
        record = await self.get(run_id)
        assert record is not None
        return RunOutcome(record, status, answer)
